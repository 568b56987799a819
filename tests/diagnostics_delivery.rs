//! Diagnostic settings deliver the cluster's HSM operation log: records in
//! Azure Monitor's resource-log schema, appended to Azure Monitor's blobs in
//! a real Azurite and as `{"records":[...]}` events in the Event Hubs
//! broker (read from its partition logs once the emulator stopped); faults
//! (Azurite down, the emulator killed, hub deleted and made again, key
//! regenerated) lose nothing that was acknowledged.

use cloudhsm_data_plane::{
    engine::attributes::{ids, Attribute},
    KeySpec,
};
use cloudhsm_e2e_tests::{
    azurite::Azurite,
    cluster_id,
    diagnostics::{
        blob_names, broker_events, broker_events_by_hub, emulator_for_azurite, operation_names,
        put_setting, reader_token, records_of, storage_account_id, wait_for_records,
        wait_until_delivered,
    },
    eventhubs_path, insights_path, namespace_id, Emulator,
};
use reqwest::Method;
use serde_json::{json, Value};

const CU_PASSWORD: &str = "user-secret-1234";
const LABEL: &str = "payments-signing-key";

fn signing() -> Vec<(u32, Attribute)> {
    vec![
        (ids::SIGN, Attribute::Bool(true)),
        (ids::VERIFY, Attribute::Bool(true)),
        (ids::LABEL, Attribute::Text(LABEL.into())),
    ]
}

/// An active cluster `chsm1` in `rg` and a crypto user `cu1`.
async fn active_cluster(emu: &Emulator) -> Value {
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    officer.create_user("CU", "cu1", CU_PASSWORD).await.unwrap();
    officer.logout().await.unwrap();
    cluster
}

/// The crypto user logs in, makes a key pair, signs `signs` times, logs out.
/// Returns the key handles (which no record may carry).
async fn crypto_user_session(emu: &Emulator, cluster: &Value, signs: usize) -> (u64, u64) {
    let cu = emu.hsm_client(cluster);
    cu.login("CU", "cu1", CU_PASSWORD).await.unwrap();
    let (public, private) = cu
        .generate_key_pair(KeySpec::Rsa { bits: 2048 }, signing())
        .await
        .unwrap();
    for i in 0..signs {
        cu.sign(
            private,
            "SHA256_RSA_PKCS",
            format!("payment {i}").as_bytes(),
        )
        .await
        .unwrap();
    }
    cu.logout().await.unwrap();
    (public, private)
}

fn session_names(signs: usize) -> Vec<String> {
    let mut names = vec!["CN_LOGIN".to_string(), "CN_GENERATE_KEY_PAIR".to_string()];
    names.extend((0..signs).map(|_| "CN_SIGN".to_string()));
    names.push("CN_LOGOUT".into());
    names
}

fn count(records: &[Value], name: &str) -> usize {
    records
        .iter()
        .filter(|r| r["operationName"] == name)
        .count()
}

#[tokio::test]
async fn storage_destination_receives_every_operation_in_order_and_no_secret() {
    let (emu, port) = emulator_for_azurite(&[]).await;
    let azurite = Azurite::start_on(&emu, port).await;
    let cluster = active_cluster(&emu).await;
    // Before any setting: nothing is recorded for later (no backfill).
    crypto_user_session(&emu, &cluster, 1).await;
    put_setting(
        &emu,
        "rg",
        "chsm1",
        "to-storage",
        json!({ "storageAccountId": storage_account_id("rg") }),
    )
    .await;
    let (public, private) = crypto_user_session(&emu, &cluster, 3).await;
    let token = reader_token(&emu, "rg").await;
    let records = wait_for_records(&azurite, &token, |r| r.len() >= 6).await;

    assert_eq!(operation_names(&records), session_names(3));
    let resource_id = cluster_id("rg", "chsm1").to_ascii_uppercase();
    for record in &records {
        assert_eq!(record["resourceId"], resource_id.as_str(), "{record}");
        assert_eq!(record["category"], "HsmServiceOperations");
        assert_eq!(record["resultType"], "Success");
        assert_eq!(record["location"], cluster["location"]);
        for field in ["time", "correlationId", "callerIpAddress", "level"] {
            assert!(record[field].is_string(), "{field} in {record}");
        }
        assert!(record["durationMs"].is_u64(), "{record}");
        assert!(record["properties"]["Opcode"].is_string(), "{record}");
        // Never a secret, user name, label or key handle.
        let text = record.to_string();
        for secret in ["cu1", CU_PASSWORD, "officer-password", LABEL, "admin"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        // Durations are numbers that may equal a handle by chance: look for
        // handles in everything else.
        let mut without_durations = record.clone();
        if let Some(o) = without_durations.as_object_mut() {
            o.remove("durationMs");
        }
        if let Some(o) = without_durations["properties"].as_object_mut() {
            o.remove("DurationMs");
        }
        let text = without_durations.to_string();
        for handle in [public, private] {
            assert!(
                !text.contains(&format!(":{handle},")) && !text.contains(&format!(":{handle}}}")),
                "handle {handle} in {text}"
            );
            assert!(
                !text.contains(&format!("\"{handle}\"")),
                "handle {handle} in {text}"
            );
        }
    }
    // Azure Monitor's layout: the cluster's id, then the hour.
    let names = blob_names(&azurite, &token).await;
    let hour = chrono_like_hour(&records[0]["time"]);
    assert!(
        names
            .iter()
            .any(|n| n == &format!("resourceId={resource_id}/{hour}/m=00/PT1H.json")),
        "{names:?}"
    );

    // Deleted, the setting gets nothing more.
    let reply = emu
        .call(
            Method::DELETE,
            &insights_path("rg", "chsm1", "diagnosticSettings/to-storage"),
            None,
        )
        .await;
    assert!(reply.status.is_success(), "{reply:?}");
    crypto_user_session(&emu, &cluster, 1).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let after = cloudhsm_e2e_tests::diagnostics::delivered_records(&azurite, &token).await;
    assert_eq!(after.len(), records.len());
}

/// `y=2026/m=12/d=02/h=01` of an RFC 3339 time.
fn chrono_like_hour(time: &Value) -> String {
    let t = time.as_str().expect("time");
    format!(
        "y={}/m={}/d={}/h={}",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..13]
    )
}

#[tokio::test]
async fn a_setting_with_its_category_disabled_gets_nothing() {
    let (emu, port) = emulator_for_azurite(&[]).await;
    let azurite = Azurite::start_on(&emu, port).await;
    let cluster = active_cluster(&emu).await;
    put_setting(
        &emu,
        "rg",
        "chsm1",
        "off",
        json!({
            "storageAccountId": storage_account_id("rg"),
            "logs": [{ "category": "HsmServiceOperations", "enabled": false }],
        }),
    )
    .await;
    put_setting(
        &emu,
        "rg",
        "chsm1",
        "on",
        json!({
            "storageAccountId": storage_account_id("rg"),
            "logs": [{ "category": "HsmServiceOperations", "enabled": true }],
        }),
    )
    .await;
    crypto_user_session(&emu, &cluster, 1).await;
    let token = reader_token(&emu, "rg").await;
    // One enabled setting: each record once (both write the same blob in
    // Azure too; the disabled one adds nothing).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let records = wait_for_records(&azurite, &token, |r| r.len() >= 4).await;
    assert_eq!(operation_names(&records), session_names(1));
    let (_, body) = azurite
        .get_blob(
            &token,
            "insights-logs-hsmserviceoperations",
            &blob_names(&azurite, &token).await[0],
        )
        .await;
    assert_eq!(String::from_utf8_lossy(&body).lines().count(), 4);
}

#[tokio::test]
async fn azurite_down_then_back_gets_the_backlog_in_order() {
    let (emu, port) = emulator_for_azurite(&[]).await;
    let mut azurite = Azurite::start_on(&emu, port).await;
    let cluster = active_cluster(&emu).await;
    put_setting(
        &emu,
        "rg",
        "chsm1",
        "to-storage",
        json!({ "storageAccountId": storage_account_id("rg") }),
    )
    .await;
    azurite.stop();
    // Acknowledged while the account is unreachable.
    crypto_user_session(&emu, &cluster, 5).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    // Back (empty: a new Azurite); the backlog arrives, in order.
    let azurite = Azurite::start_on(&emu, port).await;
    let token = reader_token(&emu, "rg").await;
    let records = wait_for_records(&azurite, &token, |r| r.len() >= 8).await;
    assert_eq!(operation_names(&records), session_names(5));
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_record() {
    // A long batch interval: the records are still in the outbox when the
    // emulator is killed.
    let (emu, port) = emulator_for_azurite(&["--diagnostics-batch-interval", "5s"]).await;
    let azurite = Azurite::start_on(&emu, port).await;
    let cluster = active_cluster(&emu).await;
    put_setting(
        &emu,
        "rg",
        "chsm1",
        "to-storage",
        json!({ "storageAccountId": storage_account_id("rg") }),
    )
    .await;
    let token = reader_token(&emu, "rg").await;
    crypto_user_session(&emu, &cluster, 4).await;
    let mut emu = emu;
    emu.kill();
    let emu = emu.restart().await;
    crypto_user_session(&emu, &cluster, 2).await;
    let records = wait_for_records(&azurite, &token, |r| count(r, "CN_SIGN") >= 6).await;
    let mut expected = session_names(4);
    expected.extend(session_names(2));
    assert_eq!(operation_names(&records), expected);
}

/// Namespace `logs-ns` with a one-partition hub `hsm-logs` (one partition:
/// the order of events is the order records were sent) and a rule `diag`.
async fn namespace_with_hub(emu: &Emulator) {
    emu.put_namespace("rg", "logs-ns", "Standard").await;
    put_hub(emu, "hsm-logs").await;
    let rule = emu
        .call(
            Method::PUT,
            &eventhubs_path("rg", "logs-ns", "/authorizationRules/diag"),
            Some(json!({"properties": {"rights": ["Manage", "Send", "Listen"]}})),
        )
        .await;
    assert!(rule.status.is_success(), "{rule:?}");
}

async fn put_hub(emu: &Emulator, name: &str) {
    let hub = emu
        .call(
            Method::PUT,
            &eventhubs_path("rg", "logs-ns", &format!("/eventhubs/{name}")),
            Some(json!({"properties": {"partitionCount": 1}})),
        )
        .await;
    assert!(hub.status.is_success(), "{hub:?}");
}

fn rule_id() -> String {
    format!("{}/authorizationRules/diag", namespace_id("rg", "logs-ns"))
}

#[tokio::test]
async fn event_hub_destination_survives_key_regeneration_and_hub_recreation() {
    let mut emu = Emulator::start().await;
    let cluster = active_cluster(&emu).await;
    namespace_with_hub(&emu).await;
    put_setting(
        &emu,
        "rg",
        "chsm1",
        "to-hub",
        json!({ "eventHubAuthorizationRuleId": rule_id(), "eventHubName": "hsm-logs" }),
    )
    .await;
    crypto_user_session(&emu, &cluster, 3).await;
    // A new key changes nothing for delivery (Azure Monitor's is its own).
    let renewed = emu
        .call(
            Method::POST,
            &eventhubs_path("rg", "logs-ns", "/authorizationRules/diag/regenerateKeys"),
            Some(json!({"keyType": "PrimaryKey"})),
        )
        .await;
    assert!(renewed.status.is_success(), "{renewed:?}");
    crypto_user_session(&emu, &cluster, 1).await;
    wait_until_delivered(emu.data_dir()).await;
    assert!(emu.terminate().success());
    let events = broker_events(emu.data_dir());
    let records = records_of(&events);
    // Several records per event, as Azure Monitor batches them.
    assert!(
        events.len() < records.len(),
        "{} events, {} records",
        events.len(),
        records.len()
    );
    let mut expected = session_names(3);
    expected.extend(session_names(1));
    assert_eq!(operation_names(&records), expected);
    for record in &records {
        let text = record.to_string();
        for secret in ["cu1", CU_PASSWORD, LABEL] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(record["category"], "HsmServiceOperations");
    }

    // The hub goes (its events with it, as in Azure); what happens
    // meanwhile waits for a hub of that name to be back.
    let emu = emu.restart().await;
    let deleted = emu
        .call(
            Method::DELETE,
            &eventhubs_path("rg", "logs-ns", "/eventhubs/hsm-logs"),
            None,
        )
        .await;
    assert!(deleted.status.is_success(), "{deleted:?}");
    crypto_user_session(&emu, &cluster, 2).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    put_hub(&emu, "hsm-logs").await;
    wait_until_delivered(emu.data_dir()).await;
    let mut emu = emu;
    assert!(emu.terminate().success());
    // The hub made again is a new one (the old one's log may linger until
    // the broker's maintenance drops it): the newest holds the records.
    let hubs = broker_events_by_hub(emu.data_dir());
    let records = records_of(hubs.last().expect("a hub with events"));
    assert_eq!(operation_names(&records), session_names(2));
}

#[tokio::test]
async fn a_setting_without_hub_name_streams_to_the_hub_azure_monitor_creates() {
    let emu = Emulator::start().await;
    let cluster = active_cluster(&emu).await;
    namespace_with_hub(&emu).await;
    put_setting(
        &emu,
        "rg",
        "chsm1",
        "to-namespace",
        json!({ "eventHubAuthorizationRuleId": rule_id() }),
    )
    .await;
    crypto_user_session(&emu, &cluster, 1).await;
    wait_until_delivered(emu.data_dir()).await;
    let hub = emu
        .call(
            Method::GET,
            &eventhubs_path(
                "rg",
                "logs-ns",
                "/eventhubs/insights-logs-hsmserviceoperations",
            ),
            None,
        )
        .await;
    assert_eq!(hub.status, reqwest::StatusCode::OK, "{hub:?}");
    let mut emu = emu;
    assert!(emu.terminate().success());
    let records = records_of(&broker_events(emu.data_dir()));
    let mut names = operation_names(&records);
    names.sort();
    let mut expected = session_names(1);
    expected.sort();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn the_shipped_bicep_template_deploys_a_cluster_whose_log_reaches_its_event_hub() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bicep/templates/cluster-diagnostics-event-hub.bicep");
    let compiled = bicep::compile_file(&source);
    let template: Value =
        serde_json::from_str(&compiled.template.expect("the template compiles")).unwrap();
    let deployed = emu
        .deploy(
            &cloudhsm_e2e_tests::deployment_path("rg", "diagnostics"),
            json!({"properties": {
                "mode": "Incremental",
                "template": template,
                "parameters": {
                    "clusterName": {"value": "chsm1"},
                    "namespaceName": {"value": "logs-ns"},
                },
            }}),
        )
        .await;
    assert_eq!(
        deployed["properties"]["provisioningState"], "Succeeded",
        "{deployed}"
    );
    let cluster = emu
        .call(
            Method::GET,
            &cloudhsm_e2e_tests::cluster_path("rg", "chsm1"),
            None,
        )
        .await
        .body;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    officer.create_user("CU", "cu1", CU_PASSWORD).await.unwrap();
    officer.logout().await.unwrap();
    crypto_user_session(&emu, &cluster, 2).await;
    wait_until_delivered(emu.data_dir()).await;
    let mut emu = emu;
    assert!(emu.terminate().success());
    // The template's hub has two partitions: order holds per partition only.
    let records = records_of(&broker_events(emu.data_dir()));
    let mut names = operation_names(&records);
    names.sort();
    let mut expected = session_names(2);
    // The setting came with the cluster: activation is logged too, then
    // the officer's session.
    expected.extend(
        [
            "CN_LOGIN",
            "CN_GET_CERT_REQ",
            "CN_STORE_CERT",
            "CN_STORE_CERT",
            "CN_CHANGE_PSWD",
            "CN_LOGOUT",
            "CN_LOGIN",
            "CN_CREATE_USER",
            "CN_LOGOUT",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(names, expected);
}
