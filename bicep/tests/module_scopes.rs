//! Modules deployed to another scope than the file's: `tenant()`, `managementGroup(...)`,
//! `subscription(...)`, `resourceGroup(...)`. Each pinned with the JSON the official compiler
//! emits: the scope's properties, a location for any deployment not going to a resource
//! group, and the module's id fully qualified by its scope wherever it is referenced.

mod support;

use serde_json::json;
use support::{compile_path, Workspace};

fn compile_with_modules(main: &str) -> serde_json::Value {
    let workspace = Workspace::new();
    workspace.file(
        "tenant.bicep",
        "targetScope = 'tenant'\noutput o string = 't'\n",
    );
    workspace.file(
        "group.bicep",
        "targetScope = 'managementGroup'\noutput o string = 'g'\n",
    );
    workspace.file(
        "sub.bicep",
        "targetScope = 'subscription'\noutput o string = 's'\n",
    );
    workspace.file("rg.bicep", "output o string = 'r'\n");
    compile_path(&workspace.file("main.bicep", main))
}

#[test]
fn a_tenant_file_deploys_to_a_management_group_by_its_unqualified_id_and_to_a_subscription_by_id() {
    let template = compile_with_modules(
        "targetScope = 'tenant'\nmodule g 'group.bicep' = {\n  name: 'g'\n  scope: managementGroup('mg1')\n}\nmodule s 'sub.bicep' = {\n  name: 's'\n  scope: subscription('0000')\n}\noutput a string = g.outputs.o\noutput b string = s.outputs.o\n",
    );
    let group = &template["resources"][0];
    assert_eq!(
        group["scope"],
        json!("[format('Microsoft.Management/managementGroups/{0}', 'mg1')]")
    );
    assert_eq!(group["location"], json!("[deployment().location]"));
    let subscription = &template["resources"][1];
    assert_eq!(subscription["subscriptionId"], json!("0000"));
    assert_eq!(subscription["location"], json!("[deployment().location]"));
    assert_eq!(
        template["outputs"]["a"]["value"],
        json!("[reference(extensionResourceId(tenantResourceId('Microsoft.Management/managementGroups', 'mg1'), 'Microsoft.Resources/deployments', 'g'), '2025-04-01').outputs.o.value]")
    );
    assert_eq!(
        template["outputs"]["b"]["value"],
        json!("[reference(subscriptionResourceId('0000', 'Microsoft.Resources/deployments', 's'), '2025-04-01').outputs.o.value]")
    );
}

#[test]
fn a_group_file_reaches_the_tenant_with_slash_and_other_groups_by_extension_ids() {
    let template = compile_with_modules(
        "module t 'tenant.bicep' = {\n  name: 't'\n  scope: tenant()\n}\nmodule other 'rg.bicep' = {\n  name: 'other'\n  scope: resourceGroup('0000', 'rg2')\n}\nmodule here 'sub.bicep' = {\n  name: 'here'\n  scope: subscription()\n}\noutput a string = t.outputs.o\noutput b string = other.outputs.o\n",
    );
    let tenant = &template["resources"][0];
    assert_eq!(tenant["scope"], json!("/"));
    // deployment() has no location at a resource group.
    assert_eq!(tenant["location"], json!("[resourceGroup().location]"));
    let other = &template["resources"][1];
    assert_eq!(other["subscriptionId"], json!("0000"));
    assert_eq!(other["resourceGroup"], json!("rg2"));
    assert!(other.get("location").is_none());
    let here = &template["resources"][2];
    assert_eq!(
        here["subscriptionId"],
        json!("[subscription().subscriptionId]")
    );
    assert_eq!(here["location"], json!("[resourceGroup().location]"));
    assert_eq!(
        template["outputs"]["a"]["value"],
        json!("[reference(tenantResourceId('Microsoft.Resources/deployments', 't'), '2025-04-01').outputs.o.value]")
    );
    assert_eq!(
        template["outputs"]["b"]["value"],
        json!("[reference(extensionResourceId(format('/subscriptions/{0}/resourceGroups/{1}', '0000', 'rg2'), 'Microsoft.Resources/deployments', 'other'), '2025-04-01').outputs.o.value]")
    );
}

#[test]
fn a_subscription_file_addresses_a_management_group_by_its_tenant_resource_id() {
    let template = compile_with_modules(
        "targetScope = 'subscription'\nmodule g 'group.bicep' = {\n  name: 'g'\n  scope: managementGroup('mg1')\n}\n",
    );
    assert_eq!(
        template["resources"][0]["scope"],
        json!("[tenantResourceId('Microsoft.Management/managementGroups', 'mg1')]")
    );
}
