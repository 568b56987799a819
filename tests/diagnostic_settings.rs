//! `Microsoft.Insights/diagnosticSettings` and `diagnosticSettingsCategories`
//! on a Cloud HSM cluster, through the real binary: the control plane only
//! (delivery is `diagnostics_delivery.rs`'s).

use cloudhsm_e2e_tests::{
    cluster_id, cluster_path, eventhubs_path, group_path, insights_path, namespace_id, Emulator,
    SUB,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A group `rg` with cluster `chsm1` and a Standard namespace `logs-ns`
/// holding hub `hsm-logs`, a `sender` rule (Send only) and its default
/// `RootManageSharedAccessKey`.
async fn emulator_with_cluster_and_hub() -> Emulator {
    // A small page size proves the settings list is not paged.
    let emu = Emulator::start_with(&["--page-size", "2"]).await;
    emu.put_group("rg").await;
    emu.create_cluster("rg", "chsm1").await;
    emu.put_namespace("rg", "logs-ns", "Standard").await;
    let hub = emu
        .call(
            Method::PUT,
            &eventhubs_path("rg", "logs-ns", "/eventhubs/hsm-logs"),
            Some(json!({"properties": {}})),
        )
        .await;
    assert!(hub.status.is_success(), "{hub:?}");
    let rule = emu
        .call(
            Method::PUT,
            &eventhubs_path("rg", "logs-ns", "/authorizationRules/sender"),
            Some(json!({"properties": {"rights": ["Send"]}})),
        )
        .await;
    assert!(rule.status.is_success(), "{rule:?}");
    emu
}

fn rule_id(rule: &str) -> String {
    format!(
        "{}/authorizationRules/{rule}",
        namespace_id("rg", "logs-ns")
    )
}

fn storage_id(account: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}")
}

fn setting(name: &str) -> String {
    insights_path("rg", "chsm1", &format!("diagnosticSettings/{name}"))
}

fn to_event_hub(rule: &str, hub: Option<&str>) -> Value {
    let mut properties = json!({
        "eventHubAuthorizationRuleId": rule_id(rule),
        "logs": [{"categoryGroup": "allLogs", "enabled": true}],
    });
    if let Some(hub) = hub {
        properties["eventHubName"] = json!(hub);
    }
    json!({ "properties": properties })
}

#[tokio::test]
async fn categories_list_the_clusters_one_log_category() {
    let emu = emulator_with_cluster_and_hub().await;
    for api in ["2021-05-01-preview", "2017-05-01-preview"] {
        let path = insights_path("rg", "chsm1", "diagnosticSettingsCategories")
            .replace("2021-05-01-preview", api);
        let list = emu.call(Method::GET, &path, None).await;
        assert_eq!(list.status, StatusCode::OK, "{list:?}");
        assert_eq!(
            list.body["value"],
            json!([{
                "id": format!("{}/providers/microsoft.insights/diagnosticSettingsCategories/HsmServiceOperations", cluster_id("rg", "chsm1")),
                "type": "microsoft.insights/diagnosticSettingsCategories",
                "name": "HsmServiceOperations",
                "properties": {"categoryType": "Logs", "categoryGroups": ["allLogs", "audit"]},
            }])
        );
    }
    let one = emu
        .call(
            Method::GET,
            &insights_path(
                "rg",
                "chsm1",
                "diagnosticSettingsCategories/hsmserviceoperations",
            ),
            None,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{one:?}");
    assert_eq!(one.body["name"], "HsmServiceOperations");
    emu.call(
        Method::GET,
        &insights_path("rg", "chsm1", "diagnosticSettingsCategories/AuditEvent"),
        None,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    emu.call(
        Method::GET,
        &insights_path("rg", "chsm9", "diagnosticSettingsCategories"),
        None,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
}

#[tokio::test]
async fn settings_crud_and_list() {
    let emu = emulator_with_cluster_and_hub().await;
    let list_path = insights_path("rg", "chsm1", "diagnosticSettings");
    assert_eq!(
        emu.call(Method::GET, &list_path, None).await.body["value"],
        json!([])
    );

    let body = json!({"properties": {
        "eventHubAuthorizationRuleId": rule_id("RootManageSharedAccessKey"),
        "eventHubName": "hsm-logs",
        "storageAccountId": storage_id("devstoreaccount1"),
        "workspaceId": "",
        "logs": [{"category": "hsmserviceoperations", "enabled": true}],
    }});
    let created = emu.call(Method::PUT, &setting("to-hub"), Some(body)).await;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
    let expected = json!({
        "id": format!("{}/providers/microsoft.insights/diagnosticSettings/to-hub", cluster_id("rg", "chsm1")),
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": "to-hub",
        "properties": {
            "eventHubAuthorizationRuleId": rule_id("RootManageSharedAccessKey"),
            "eventHubName": "hsm-logs",
            "storageAccountId": storage_id("devstoreaccount1"),
            "workspaceId": "",
            "logs": [{"category": "HsmServiceOperations", "enabled": true, "retentionPolicy": {"enabled": false, "days": 0}}],
            "metrics": [],
        },
    });
    assert_eq!(created.body, expected);
    let shown = emu.call(Method::GET, &setting("TO-HUB"), None).await;
    assert_eq!(shown.status, StatusCode::OK, "{shown:?}");
    assert_eq!(shown.body, expected);

    // A PUT again replaces it.
    let updated = emu
        .call(Method::PUT, &setting("to-hub"), Some(json!({"properties": {"storageAccountId": storage_id("other"), "logs": [{"categoryGroup": "audit", "enabled": true}]}})))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{updated:?}");
    assert_eq!(
        updated.body["properties"]["storageAccountId"],
        storage_id("other")
    );
    assert!(updated.body["properties"]["eventHubName"].is_null());

    let listed = emu.call(Method::GET, &list_path, None).await;
    assert_eq!(listed.body["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed.body["value"][0]["name"], "to-hub");

    assert_eq!(
        emu.call(Method::DELETE, &setting("to-hub"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        emu.call(Method::DELETE, &setting("to-hub"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    emu.call(Method::GET, &setting("to-hub"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
}

#[tokio::test]
async fn bodies_azure_refuses_are_refused_with_its_errors() {
    let emu = emulator_with_cluster_and_hub().await;
    let refused = |body: Value| {
        let emu = &emu;
        async move {
            let reply = emu.call(Method::PUT, &setting("bad"), Some(body)).await;
            reply.expect_error(StatusCode::BAD_REQUEST, "BadRequest");
            reply.body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let logs = json!([{"categoryGroup": "allLogs", "enabled": true}]);
    let message = refused(json!({"properties": {"logs": logs}})).await;
    assert!(message.contains("at least one destination"), "{message}");

    let message = refused(json!({"properties": {"storageAccountId": storage_id("a"), "logs": [{"category": "AuditEvent", "enabled": true}]}})).await;
    assert_eq!(message, "Category 'AuditEvent' is not supported.");
    let message = refused(json!({"properties": {"storageAccountId": storage_id("a"), "logs": [{"categoryGroup": "everything", "enabled": true}]}})).await;
    assert!(
        message.starts_with("CategoryGroup: 'everything' is not supported"),
        "{message}"
    );
    let message = refused(json!({"properties": {"storageAccountId": storage_id("a"), "metrics": [{"category": "AllMetrics", "enabled": true}]}})).await;
    assert_eq!(
        message,
        "Metric category 'AllMetrics' is not supported, supported categories are: ''"
    );
    let message = refused(json!({"properties": {"storageAccountId": storage_id("a"), "logs": [{"categoryGroup": "allLogs", "enabled": true, "retentionPolicy": {"enabled": true, "days": 30}}]}})).await;
    assert_eq!(
        message,
        "Diagnostic settings does not support retention for new diagnostic settings."
    );

    // Event Hubs: a namespace rule with Manage, unless a hub of the namespace is named.
    let message = refused(to_event_hub("sender", None)).await;
    assert!(
        message.contains("requires manage|send|listen access"),
        "{message}"
    );
    let message = refused(to_event_hub("sender", Some("no-such-hub"))).await;
    assert!(
        message.contains("does not have 'manage' access"),
        "{message}"
    );
    let ok = emu
        .call(
            Method::PUT,
            &setting("send-only"),
            Some(to_event_hub("sender", Some("hsm-logs"))),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    let message = refused(to_event_hub("missing", None)).await;
    assert!(message.contains("was not found"), "{message}");
    let hub_rule = format!(
        "{}/eventhubs/hsm-logs/authorizationRules/x",
        namespace_id("rg", "logs-ns")
    );
    let message =
        refused(json!({"properties": {"eventHubAuthorizationRuleId": hub_rule, "logs": logs}}))
            .await;
    assert!(message.starts_with("Resource type 'microsoft.eventhub/namespaces/eventhubs/authorizationrules' is invalid for property 'properties.eventHubAuthorizationRuleId'"), "{message}");

    // Storage: any well-formed account id (Azurite's accounts are not ARM resources).
    let message = refused(
        json!({"properties": {"storageAccountId": namespace_id("rg", "logs-ns"), "logs": logs}}),
    )
    .await;
    assert!(
        message.contains("Expected types are 'microsoft.storage/storageaccounts'"),
        "{message}"
    );
    emu.call(
        Method::PUT,
        &setting("bad"),
        Some(json!({"properties": {"storageAccountId": "devstoreaccount1", "logs": logs}})),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "LinkedInvalidPropertyId");
    emu.call(Method::PUT, &setting("bad"), Some(json!({"properties": {"storageAccountId": storage_id("a"), "logs": [{"enabled": "yes"}]}})))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    emu.call(Method::PUT, &setting("bad"), None)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    emu.call(
        Method::PUT,
        &setting("bad").replace("2021-05-01-preview", "2099-01-01"),
        Some(to_event_hub("RootManageSharedAccessKey", None)),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "NoRegisteredProviderFound");
    assert_eq!(
        emu.call(Method::GET, &setting("bad"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn at_most_five_settings_per_cluster() {
    let emu = emulator_with_cluster_and_hub().await;
    let body = json!({"properties": {"storageAccountId": storage_id("a"), "logs": [{"categoryGroup": "allLogs", "enabled": true}]}});
    for i in 0..5 {
        let reply = emu
            .call(Method::PUT, &setting(&format!("s{i}")), Some(body.clone()))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
    let sixth = emu
        .call(Method::PUT, &setting("s5"), Some(body.clone()))
        .await;
    sixth.expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    // Updating one of the five is not a sixth.
    assert_eq!(
        emu.call(Method::PUT, &setting("s0"), Some(body))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn only_on_clusters_that_exist_and_gone_with_them() {
    let emu = emulator_with_cluster_and_hub().await;
    let body = json!({"properties": {"storageAccountId": storage_id("a"), "logs": [{"categoryGroup": "allLogs", "enabled": true}]}});
    let missing = insights_path("rg", "chsm9", "diagnosticSettings/s");
    let reply = emu.call(Method::PUT, &missing, Some(body.clone())).await;
    let error = reply.expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cloudHsmClusters/chsm9"),
        "{error}"
    );
    emu.call(
        Method::GET,
        &insights_path("nogroup", "chsm1", "diagnosticSettings"),
        None,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceGroupNotFound");

    // Deleting the cluster deletes its settings: a cluster of the same name starts with none.
    assert_eq!(
        emu.call(Method::PUT, &setting("s"), Some(body.clone()))
            .await
            .status,
        StatusCode::OK
    );
    let deleted = emu
        .call(Method::DELETE, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED, "{deleted:?}");
    let location = deleted.header("location").expect("Location");
    emu.wait_location(&location).await;
    emu.create_cluster("rg", "chsm1").await;
    let list = emu
        .call(
            Method::GET,
            &insights_path("rg", "chsm1", "diagnosticSettings"),
            None,
        )
        .await;
    assert_eq!(list.body["value"], json!([]), "{list:?}");

    // And deleting the group deletes them too.
    assert_eq!(
        emu.call(Method::PUT, &setting("s"), Some(body))
            .await
            .status,
        StatusCode::OK
    );
    let gone = emu.call(Method::DELETE, &group_path("rg"), None).await;
    emu.wait_location(&gone.header("location").expect("Location"))
        .await;
    emu.put_group("rg").await;
    emu.create_cluster("rg", "chsm1").await;
    let list = emu
        .call(
            Method::GET,
            &insights_path("rg", "chsm1", "diagnosticSettings"),
            None,
        )
        .await;
    assert_eq!(list.body["value"], json!([]), "{list:?}");
}

#[tokio::test]
async fn microsoft_insights_is_a_registered_provider() {
    let emu = Emulator::start().await;
    let provider = emu
        .call(
            Method::GET,
            &format!("/subscriptions/{SUB}/providers/Microsoft.Insights?api-version=2021-04-01"),
            None,
        )
        .await;
    assert_eq!(provider.status, StatusCode::OK, "{provider:?}");
    let types: Vec<&str> = provider.body["resourceTypes"]
        .as_array()
        .expect("types")
        .iter()
        .filter_map(|t| t["resourceType"].as_str())
        .collect();
    assert_eq!(
        types,
        ["diagnosticSettings", "diagnosticSettingsCategories"]
    );
}
