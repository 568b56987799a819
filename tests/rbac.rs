//! Role-based access on every ARM call: principals hold what their role
//! assignments in scope give them, inherited downwards, and nothing else.

use cloudhsm_e2e_tests::{
    group_path, identity_path,
    rbac::{CONTRIBUTOR, OWNER, READER},
    Emulator, Reply, SUB,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn group_id(group: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}")
}

/// ARM's 403, naming the client, the action and the scope.
fn expect_forbidden(reply: &Reply, client: &str, action: &str, scope: &str) {
    let error = reply.expect_error(StatusCode::FORBIDDEN, "AuthorizationFailed");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("The client '{client}'"))
            && message.contains(&format!("perform action '{action}'"))
            && message.contains(&format!("over scope '{scope}'")),
        "{message}"
    );
}

#[tokio::test]
async fn reader_reads_contributor_writes_owner_assigns() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    emu.put_group("other").await;
    let reader = emu.create_service_principal("reader").await;
    let contributor = emu.create_service_principal("contributor").await;
    let owner = emu.create_service_principal("owner").await;

    // No assignment: nothing, not even the subscription.
    let reply = emu
        .call_as(
            &reader.token,
            Method::GET,
            &format!("/subscriptions/{SUB}?api-version=2022-12-01"),
            None,
        )
        .await;
    expect_forbidden(
        &reply,
        &reader.app_id,
        "Microsoft.Resources/subscriptions/read",
        &format!("/subscriptions/{SUB}"),
    );

    for (principal, role) in [
        (&reader, READER),
        (&contributor, CONTRIBUTOR),
        (&owner, OWNER),
    ] {
        let reply = emu
            .assign(&group_id("rg"), &principal.object_id, role)
            .await;
        assert!(reply.status.is_success(), "{reply:?}");
    }

    // Reader: reads the group and below, writes nothing.
    let read = emu
        .call_as(&reader.token, Method::GET, &group_path("rg"), None)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    let put = emu
        .call_as(
            &reader.token,
            Method::PUT,
            &identity_path("rg", "id1"),
            Some(json!({"location": "eastus2"})),
        )
        .await;
    expect_forbidden(
        &put,
        &reader.app_id,
        "Microsoft.ManagedIdentity/userAssignedIdentities/write",
        &format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
            group_id("rg")
        ),
    );
    // Inherited downwards only: another group is out of scope.
    let elsewhere = emu
        .call_as(&reader.token, Method::GET, &group_path("other"), None)
        .await;
    expect_forbidden(
        &elsewhere,
        &reader.app_id,
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        &group_id("other"),
    );

    // Contributor: writes resources, cannot assign roles.
    let put = emu
        .call_as(
            &contributor.token,
            Method::PUT,
            &identity_path("rg", "id1"),
            Some(json!({"location": "eastus2"})),
        )
        .await;
    assert!(put.status.is_success(), "{put:?}");
    let identity_principal = put.body["properties"]["principalId"]
        .as_str()
        .expect("principalId")
        .to_string();
    let assign = emu
        .assign_as(
            &contributor.token,
            &group_id("rg"),
            &identity_principal,
            READER,
        )
        .await;
    assert_eq!(assign.status, StatusCode::FORBIDDEN, "{assign:?}");
    assert!(
        assign.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Microsoft.Authorization/roleAssignments/write")),
        "{assign:?}"
    );

    // Owner: assigns roles in its scope, and the assignment takes effect.
    let assign = emu
        .assign_as(&owner.token, &group_id("rg"), &identity_principal, READER)
        .await;
    assert!(assign.status.is_success(), "{assign:?}");
    let outside = emu
        .assign_as(
            &owner.token,
            &group_id("other"),
            &identity_principal,
            READER,
        )
        .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN, "{outside:?}");

    // Nothing half-applied: the refused writes left nothing behind.
    assert_eq!(
        emu.status_of(&identity_path("other", "id1")).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_the_well_known_principal_administers_principals() {
    let emu = Emulator::start().await;
    let sp = emu.create_service_principal("app").await;
    let reply = emu
        .call_as(
            &sp.token,
            Method::POST,
            "/emulator/servicePrincipals",
            Some(json!({"displayName": "x"})),
        )
        .await;
    reply.expect_error(StatusCode::FORBIDDEN, "AuthorizationFailed");
    let listed = emu
        .call(Method::GET, "/emulator/servicePrincipals", None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let entry = &listed.body["value"][0];
    assert_eq!(entry["appId"], sp.app_id.as_str());
    assert!(
        entry.get("clientSecret").is_none(),
        "secrets are shown once: {listed:?}"
    );
    // Graph knows it (what `az role assignment --assignee` resolves).
    let graph_token = emu
        .token_for_scope("https://graph.microsoft.com/.default")
        .await;
    let found = emu
        .graph_call(
            Method::GET,
            &format!("/v1.0/servicePrincipals?$filter=appId eq '{}'", sp.app_id),
            Some(&graph_token),
            None,
        )
        .await;
    assert_eq!(
        found.body["value"][0]["id"],
        sp.object_id.as_str(),
        "{found:?}"
    );

    // A wrong secret is the identity platform's invalid_client.
    let refused = emu.token_request(&sp.app_id, "not-the-secret-at-all").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // Deleted: its tokens stop being issued.
    let deleted = emu
        .call(
            Method::DELETE,
            &format!("/emulator/servicePrincipals/{}", sp.app_id),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let gone = emu.token_request(&sp.app_id, &sp.secret).await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_default_owner_the_well_known_principal_needs_a_role_too() {
    let emu = Emulator::start_with(&["--provisioning-delay", "200ms", "--no-default-owner"]).await;
    let reply = emu.call(Method::GET, &group_path("rg"), None).await;
    reply.expect_error(StatusCode::FORBIDDEN, "AuthorizationFailed");
    // Listing subscriptions needs no role.
    let subs = emu
        .call(Method::GET, "/subscriptions?api-version=2022-12-01", None)
        .await;
    assert_eq!(subs.status, StatusCode::OK);
}

#[tokio::test]
async fn start_up_principals_exist_from_the_first_request() {
    let app = "11111111-2222-3333-4444-555555555555";
    let secret = "start-up-secret-0123456789";
    let emu = Emulator::start_with(&[
        "--provisioning-delay",
        "200ms",
        "--service-principal",
        &format!("{app}:{secret}"),
    ])
    .await;
    let token = emu.token_of(app, secret).await;
    let reply = emu
        .call_as(&token, Method::GET, &group_path("rg"), None)
        .await;
    reply.expect_error(StatusCode::FORBIDDEN, "AuthorizationFailed");
}

/// A deployment runs each of its resources as its caller: a Contributor's
/// template may create an identity but not assign it a role.
#[tokio::test]
async fn deployments_check_each_resource_as_the_caller() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let contributor = emu.create_service_principal("deployer").await;
    let reply = emu
        .assign(&group_id("rg"), &contributor.object_id, CONTRIBUTOR)
        .await;
    assert!(reply.status.is_success(), "{reply:?}");
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                "apiVersion": "2023-01-31",
                "name": "deployed-id",
                "location": "eastus2"
            },
            {
                "type": "Microsoft.Authorization/roleAssignments",
                "apiVersion": "2022-04-01",
                "name": "[guid(resourceGroup().id, 'deployed-id')]",
                "dependsOn": ["deployed-id"],
                "properties": {
                    "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
                    "principalId": "[reference('deployed-id').principalId]",
                    "principalType": "ServicePrincipal"
                }
            }
        ]
    });
    let path = cloudhsm_e2e_tests::deployment_path("rg", "as-contributor");
    let started = emu
        .call_as(
            &contributor.token,
            Method::PUT,
            &path,
            Some(json!({ "properties": { "mode": "Incremental", "template": template } })),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{started:?}");
    let status_url = started
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    let status = emu.wait_deployment_status(&status_url).await;
    assert_eq!(status["status"], "Failed", "{status}");
    assert!(
        status.to_string().contains("AuthorizationFailed"),
        "{status}"
    );
    // The identity, which the caller may create, was.
    assert_eq!(
        emu.status_of(&identity_path("rg", "deployed-id")).await,
        StatusCode::OK
    );
}
