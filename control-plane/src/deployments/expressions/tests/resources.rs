use serde_json::json;

use super::{eval, eval_err, SUBSCRIPTION};

#[test]
fn resource_id_overloads() {
    assert_eq!(
        eval("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'default')]"),
        json!(format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/myRg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default"))
    );
    assert_eq!(
        eval("[resourceId('otherRg', 'Microsoft.Storage/storageAccounts', 'sa')]"),
        json!(format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/otherRg/providers/Microsoft.Storage/storageAccounts/sa"))
    );
    assert_eq!(
        eval("[resourceId('sub1', 'rg1', 'Microsoft.HardwareSecurityModules/cloudHsmClusters', 'hsm')]"),
        json!("/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/hsm")
    );
    let e = eval_err("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet')]");
    assert!(e.message.contains("the type 'Microsoft.Network/virtualNetworks/subnets' requires '2' resource name argument(s)"), "{e}");
    assert!(eval_err("[resourceId('a', 'b', 'c', 'd')]")
        .message
        .contains("multi-segmented"));
}

#[test]
fn other_scopes() {
    assert_eq!(
        eval("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]"),
        json!(format!(
            "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/abc"
        ))
    );
    assert_eq!(
        eval("[tenantResourceId('Microsoft.Management/managementGroups', 'mg')]"),
        json!("/providers/Microsoft.Management/managementGroups/mg")
    );
    assert_eq!(
        eval("[extensionResourceId(resourceGroup().id, 'Microsoft.Authorization/locks', 'lock')]"),
        json!(format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/myRg/providers/Microsoft.Authorization/locks/lock"))
    );
    assert_eq!(
        eval("[managementGroupResourceId('mg1', 'Microsoft.Authorization/policyDefinitions', 'p')]"),
        json!("/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyDefinitions/p")
    );
    assert!(eval_err(
        "[managementGroupResourceId('Microsoft.Authorization/policyDefinitions', 'p')]"
    )
    .message
    .contains("not supported"));
    assert!(eval_err("[managementGroup()]")
        .message
        .contains("not supported"));
}

#[test]
fn context_functions() {
    assert_eq!(eval("[resourceGroup().location]"), json!("westus2"));
    assert_eq!(eval("[subscription().subscriptionId]"), json!(SUBSCRIPTION));
    assert_eq!(
        eval("[tenant().tenantId]"),
        json!("11111111-1111-1111-1111-111111111111")
    );
    assert_eq!(eval("[deployment().name]"), json!("deploy1"));
    assert_eq!(
        eval("[environment().suffixes.storage]"),
        json!("core.windows.net")
    );
    assert_eq!(
        eval("[concat(variables('prefix'), parameters('name'))]"),
        json!("prehsm1")
    );
    let e = eval_err("[parameters('absent')]");
    assert!(
        e.message.contains("'parameters'") && e.message.contains("'absent' is not found"),
        "{e}"
    );
}

#[test]
fn reference_and_list_actions() {
    assert_eq!(
        eval("[reference('sa')]"),
        json!({"resource": "sa", "apiVersion": null, "full": false})
    );
    assert_eq!(
        eval("[reference('sa', '2023-01-01', 'Full')]"),
        json!({"resource": "sa", "apiVersion": "2023-01-01", "full": true})
    );
    assert_eq!(
        eval("[listKeys('/x/sa', '2023-01-01').action]"),
        json!("listKeys")
    );
    assert_eq!(
        eval("[listAccountSas('/x/sa', '2023-01-01', createObject('a', 1)).body]"),
        json!({"a": 1})
    );
    assert!(eval_err("[listKeys('/x/sa')]")
        .message
        .contains("at least 2"));
}

#[test]
fn pick_zones_and_providers() {
    assert_eq!(
        eval("[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2')]"),
        json!(["1"])
    );
    assert_eq!(
        eval("[pickZones('Microsoft.Compute', 'virtualMachines', 'West US 2', 3)]"),
        json!(["1", "2", "3"])
    );
    assert_eq!(
        eval("[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', 2, 1)]"),
        json!(["2", "3"])
    );
    assert_eq!(
        eval("[pickZones('Microsoft.Compute', 'virtualMachines', 'northcentralus')]"),
        json!([])
    );
    assert!(eval_err("[providers('Microsoft.Web')]")
        .message
        .contains("deprecated"));
}
