//! Resource bodies of the emulator's own types checked against its JSON Schemas:
//! warnings as the official compiler gives for known types, and the template still emitted.

mod support;

use support::{diagnostics, Workspace};

const CLAUSE: &str =
    " If this is a resource type definition inaccuracy, report it using https://aka.ms/bicep-type-issues.";

fn warnings(text: &str) -> Vec<(usize, usize, String, String)> {
    let found = diagnostics(text);
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", text);
    let compilation = bicep::compile_file(&path);
    assert!(
        compilation.template.is_some(),
        "warnings must not stop emission: {found:?}"
    );
    found
}

#[test]
fn a_missing_required_property_is_bcp035() {
    let found = warnings("resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: 'id1'\n}\n");
    assert_eq!(
        found,
        vec![(
            1,
            10,
            "BCP035".to_string(),
            format!("The specified \"resource\" declaration is missing the following required properties: \"location\".{CLAUSE}")
        )]
    );
}

#[test]
fn an_unknown_property_is_bcp037_with_the_permissible_ones() {
    let found = warnings("resource hsm 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = {\n  name: 'h'\n  location: 'eastus'\n  sku: {\n    family: 'B'\n    name: 'Standard_B1'\n    size: 3\n  }\n}\n");
    assert_eq!(
        found,
        vec![(
            7,
            5,
            "BCP037".to_string(),
            format!("The property \"size\" is not allowed on objects of type \"sku\". Permissible properties include \"capacity\".{CLAUSE}")
        )]
    );
}

#[test]
fn a_wrong_literal_is_bcp036() {
    let found = warnings("resource hsm 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = {\n  name: 'h'\n  location: 1\n  sku: {\n    family: 'C'\n    name: 'Standard_B1'\n    capacity: 'three'\n  }\n}\n");
    assert_eq!(
        found,
        vec![
            (3, 13, "BCP036".to_string(), format!("The property \"location\" expected a value of type \"string\" but the provided value is of type \"1\".{CLAUSE}")),
            (5, 13, "BCP036".to_string(), format!("The property \"family\" expected a value of type \"'B'\" but the provided value is of type \"'C'\".{CLAUSE}")),
            (7, 15, "BCP036".to_string(), format!("The property \"capacity\" expected a value of type \"int\" but the provided value is of type \"'three'\".{CLAUSE}")),
        ]
    );
}

#[test]
fn nested_objects_and_arrays_are_checked_through_refs() {
    let found = warnings("resource pe 'Microsoft.Network/privateEndpoints@2023-04-01' = {\n  name: 'pe'\n  location: 'eastus'\n  properties: {\n    subnet: {}\n    privateLinkServiceConnections: [\n      {\n        name: 'c'\n        properties: {\n          groupIds: ['cloudHsm', 2]\n        }\n      }\n    ]\n  }\n}\n");
    let codes: Vec<(usize, usize, &str)> = found
        .iter()
        .map(|(l, c, code, _)| (*l, *c, code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![(5, 5, "BCP035"), (9, 9, "BCP035"), (10, 34, "BCP036")]
    );
    assert!(found[0].3.starts_with("The specified \"object\" declaration is missing the following required properties: \"id\"."));
    assert!(found[1].3.contains("\"privateLinkServiceId\""));
}

#[test]
fn expressions_of_unknown_type_and_known_resources_pass() {
    let found = warnings("param location string\nparam principal string\nresource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: 'id1'\n  location: location\n  tags: {\n    env: 'dev'\n  }\n  properties: {\n    isolationScope: 'None'\n    principalId: 'read-only, ignored'\n  }\n}\nresource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: guid('x')\n  scope: id\n  properties: {\n    roleDefinitionId: '/x'\n    principalId: principal\n    description: null\n  }\n}\nresource rg 'Microsoft.Resources/resourceGroups@2024-03-01' existing = {\n  name: 'rg'\n}\nresource other 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'sa'\n  anything: 1\n}\n");
    assert_eq!(found, vec![]);
}

#[test]
fn a_spread_body_is_not_required_to_name_everything() {
    let found = warnings("var common = {\n  location: 'eastus'\n}\nresource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: 'id1'\n  ...common\n}\n");
    assert_eq!(found, vec![]);
}
