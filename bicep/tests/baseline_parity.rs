//! Differences found by compiling the official compiler's test baselines, each pinned with a
//! small snippet of our own and the JSON the official compiler (0.38.x) emits for it.

mod support;

use serde_json::json;
use support::{compile, compile_path, Workspace};

#[test]
fn depends_on_is_ordered_by_fully_qualified_symbol_name() {
    // `zone::leaf` sorts after `zone`: the parent first, though `leaf` < `zone`.
    let template = compile(
        "resource zone 'My.Rp/zones@2020-01-01' = {\n  name: 'z'\n  resource leaf 'records' = {\n    name: 'l'\n  }\n}\nresource user 'My.Rp/users@2020-01-01' = {\n  name: 'u'\n  properties: {\n    a: zone::leaf.id\n    b: zone.id\n  }\n}\n",
    );
    assert_eq!(
        template["resources"][2]["dependsOn"],
        json!([
            "[resourceId('My.Rp/zones', 'z')]",
            "[resourceId('My.Rp/zones/records', 'z', 'l')]"
        ])
    );
}

#[test]
fn a_nested_loop_is_named_by_its_fully_qualified_symbol() {
    let template = compile(
        "resource zone 'My.Rp/zones@2020-01-01' = {\n  name: 'z'\n  resource leaf 'records' = [for i in range(0, 2): {\n    name: 'l${i}'\n  }]\n}\nresource after 'My.Rp/users@2020-01-01' = {\n  name: 'u'\n  dependsOn: [\n    zone::leaf\n  ]\n}\n",
    );
    assert_eq!(
        template["resources"][0]["copy"],
        json!({"name": "zone::leaf", "count": "[length(range(0, 2))]"})
    );
    assert_eq!(template["resources"][2]["dependsOn"], json!(["zone::leaf"]));
}

#[test]
fn language_version_2_keys_nested_resources_by_qualified_name() {
    let template = compile(
        "type t = string\nresource zone 'My.Rp/zones@2020-01-01' = {\n  name: 'z'\n  resource leaf 'records' = {\n    name: 'l'\n  }\n}\noutput o object = zone::leaf.properties\n",
    );
    assert!(template["resources"]["zone::leaf"].is_object());
    assert_eq!(
        template["resources"]["zone::leaf"]["dependsOn"],
        json!(["zone"])
    );
    assert_eq!(
        template["outputs"]["o"]["value"],
        json!("[reference('zone::leaf')]")
    );
}

#[test]
fn modules_deploy_with_the_2025_04_01_deployments_api() {
    let workspace = Workspace::new();
    workspace.file("child.bicep", "output o string = 'x'\n");
    let main = workspace.file(
        "main.bicep",
        "module child 'child.bicep' = {\n  name: 'c'\n}\noutput o string = child.outputs.o\n",
    );
    let template = compile_path(&main);
    assert_eq!(template["resources"][0]["apiVersion"], json!("2025-04-01"));
    assert_eq!(
        template["outputs"]["o"]["value"],
        json!("[reference(resourceId('Microsoft.Resources/deployments', 'c'), '2025-04-01').outputs.o.value]")
    );
}

#[test]
fn only_strings_read_as_expressions_are_escaped() {
    // ARM reads a string as an expression when it starts with '[' and ends with ']'.
    let template = compile(
        "var open = '[open'\nvar closed = '[closed]'\nvar empty = '[]'\nvar middle = 'a[b]'\n",
    );
    assert_eq!(
        template["variables"],
        json!({"open": "[open", "closed": "[[closed]", "empty": "[[]", "middle": "a[b]"})
    );
}

#[test]
fn parameter_bounds_are_written_min_before_max() {
    // Key order is only visible in the text (serde_json's Value sorts keys).
    let workspace = Workspace::new();
    let path = workspace.file(
        "main.bicep",
        "@maxLength(9)\n@minLength(2)\nparam s string\n@maxValue(5)\n@minValue(1)\nparam i int\n",
    );
    let text = bicep::compile_file(&path).template.unwrap_or_default();
    assert!(text.contains(
        "\"s\": {\n      \"type\": \"string\",\n      \"minLength\": 2,\n      \"maxLength\": 9\n    }"
    ));
    assert!(text.contains(
        "\"i\": {\n      \"type\": \"int\",\n      \"minValue\": 1,\n      \"maxValue\": 5\n    }"
    ));
}

#[test]
fn management_group_resources_are_qualified_by_the_group_and_tenant_ones_scoped_to_root() {
    let template = compile(
        "targetScope = 'managementGroup'\nresource first 'My.Rp/things@2020-01-01' = {\n  name: 'a'\n}\nresource second 'My.Rp/things@2020-01-01' = {\n  name: 'b'\n  dependsOn: [\n    first\n  ]\n}\nresource top 'My.Rp/roots@2020-01-01' = {\n  scope: tenant()\n  name: 't'\n}\n",
    );
    assert_eq!(
        template["resources"][1]["dependsOn"],
        json!(["[extensionResourceId(managementGroup().id, 'My.Rp/things', 'a')]"])
    );
    assert_eq!(template["resources"][2]["scope"], json!("/"));
}
