//! The fault-injection surface (`/emulator/faults`, `--faults FILE`): only
//! the admin may use it, bad input gets ARM's errors, and each fault is seen
//! by a real client: long-running operations that fail or take longer, an
//! HSM node replaced under a signing client, an outage of every HSM (503,
//! then dropped connections), and a paused Event Hubs broker whose backlog
//! the diagnostics pipeline delivers afterwards.

use std::time::{Duration, Instant};

use cloudhsm_data_plane::{
    engine::{
        attributes::{ids, Attribute},
        keys::Curve,
    },
    KeySpec,
};
use cloudhsm_e2e_tests::{
    cluster_body, cluster_id, cluster_path,
    diagnostics::{
        broker_events, delivered_now, operation_names, put_setting, records_of,
        wait_until_delivered,
    },
    eventhubs_path, group_path, namespace_id, Emulator,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CLUSTERS: &str = "Microsoft.HardwareSecurityModules/cloudHsmClusters";

fn signing() -> Vec<(u32, Attribute)> {
    vec![
        (ids::SIGN, Attribute::Bool(true)),
        (ids::VERIFY, Attribute::Bool(true)),
    ]
}

/// An active cluster `chsm1` in `rg` with crypto user `cu1`.
async fn active_cluster(emu: &Emulator) -> Value {
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    officer.create_user("CU", "cu1", "user1234").await.unwrap();
    officer.logout().await.unwrap();
    cluster
}

#[tokio::test]
async fn only_the_admin_injects_faults_and_bad_input_gets_arm_errors() {
    let emu = Emulator::start().await;
    let url = emu.url("/emulator/faults");
    let anonymous = emu.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
    let other = emu.create_service_principal("not-admin").await;
    let refused = emu
        .http
        .put(emu.url("/emulator/faults/dataPlane"))
        .bearer_auth(&other.token)
        .json(&json!({"mode": "unavailable", "duration": "1m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AuthorizationFailed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&other.app_id),
        "{body}"
    );
    // The refused request changed nothing.
    let shown = emu.fault(Method::GET, "", None).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(
        shown.body,
        json!({"operations": [], "dataPlane": null, "eventHubs": {"paused": false}})
    );

    let bad = [
        (
            "/operations",
            json!({"resourceType": "Microsoft.Nope/things", "error": {"code": "X", "message": "y"}}),
            "InvalidResourceType",
            Some("resourceType"),
        ),
        (
            "/operations",
            json!({"resourceType": CLUSTERS}),
            "InvalidParameter",
            Some("error"),
        ),
        (
            "/operations",
            json!({"resourceType": CLUSTERS, "duration": "soon"}),
            "InvalidParameter",
            Some("duration"),
        ),
        (
            "/operations",
            json!({"resourceType": CLUSTERS, "duration": "2h"}),
            "InvalidParameter",
            Some("duration"),
        ),
        (
            "/operations",
            json!({"resourceType": CLUSTERS, "count": 0, "duration": "1s"}),
            "InvalidParameter",
            Some("count"),
        ),
        (
            "/operations",
            json!({"resourceType": CLUSTERS, "operation": "restart", "duration": "1s"}),
            "InvalidParameter",
            Some("operation"),
        ),
        (
            "/operations",
            json!({"resourceType": CLUSTERS, "error": {"code": "X", "message": "y", "status": 200}}),
            "InvalidParameter",
            Some("error.status"),
        ),
        (
            "/operations",
            json!({"resourceType": CLUSTERS, "duration": "1s", "colour": "red"}),
            "InvalidRequestContent",
            None,
        ),
        (
            "/hsmNodes",
            json!({"clusterId": cluster_id("rg", "missing"), "node": 0, "action": "stop"}),
            "ResourceNotFound",
            None,
        ),
        (
            "/eventHubs",
            json!({"paused": false, "duration": "1s"}),
            "InvalidParameter",
            Some("duration"),
        ),
    ];
    for (path, body, code, target) in bad {
        let method = if path == "/eventHubs" {
            Method::PUT
        } else {
            Method::POST
        };
        let reply = emu.fault(method, path, Some(body.clone())).await;
        let status = if code == "ResourceNotFound" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        let error = reply.expect_error(status, code);
        assert_eq!(error["target"].as_str(), target, "{body}: {reply:?}");
    }
    let reply = emu
        .fault(
            Method::PUT,
            "/dataPlane",
            Some(json!({"mode": "sideways", "duration": "1s"})),
        )
        .await;
    assert_eq!(
        reply.expect_error(StatusCode::BAD_REQUEST, "InvalidParameter")["target"],
        "mode"
    );

    // An existing cluster: a node it does not have, an unknown action.
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    let id = cluster["id"].as_str().unwrap();
    for (body, target) in [
        (
            json!({"clusterId": id, "node": 7, "action": "stop"}),
            "node",
        ),
        (
            json!({"clusterId": id, "node": 0, "action": "explode"}),
            "action",
        ),
        (
            json!({"clusterId": id, "node": 0, "action": "stop", "downFor": "1s"}),
            "downFor",
        ),
    ] {
        let reply = emu.fault(Method::POST, "/hsmNodes", Some(body)).await;
        assert_eq!(
            reply.expect_error(StatusCode::BAD_REQUEST, "InvalidParameter")["target"],
            target
        );
    }
    // Nothing was applied by the refusals.
    let shown = emu.fault(Method::GET, "", None).await;
    assert_eq!(shown.body["operations"], json!([]));
}

#[tokio::test]
async fn injected_operation_failures_and_delays_reach_the_poller() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let rule = emu
        .inject(
            Method::POST,
            "/operations",
            json!({"resourceType": CLUSTERS, "operation": "create", "error": {"code": "InjectedCapacityError", "message": "No capacity in eastus2 (injected).", "status": 503}}),
        )
        .await;
    assert_eq!(rule["remaining"], 1);

    // The create is accepted, then its operation fails with the rule's error.
    let reply = emu
        .call(
            Method::PUT,
            &cluster_path("rg", "failing"),
            Some(cluster_body()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let status_url = reply.header("azure-asyncoperation").unwrap();
    let status = emu.wait_async_operation(&status_url).await;
    assert_eq!(status["status"], "Failed", "{status}");
    assert_eq!(status["error"]["code"], "InjectedCapacityError");
    assert_eq!(
        status["error"]["message"],
        "No capacity in eastus2 (injected)."
    );
    let failed = emu
        .call(Method::GET, &cluster_path("rg", "failing"), None)
        .await;
    assert_eq!(failed.body["properties"]["provisioningState"], "Failed");
    assert_eq!(failed.body["properties"]["hsms"][0]["state"], "Failed");
    // The rule is used up: the next create succeeds, and the failed one
    // deletes as any other.
    assert_eq!(
        emu.fault(Method::GET, "/operations", None).await.body["value"],
        json!([])
    );
    emu.create_cluster("rg", "working").await;
    let deleted = emu
        .call(Method::DELETE, &cluster_path("rg", "failing"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    let gone = emu
        .wait_location(&deleted.header("location").unwrap())
        .await;
    assert!(gone.status.is_success(), "{gone:?}");

    // A delete that fails leaves the cluster, Failed; a Location poll
    // answers with the rule's status and ARM's error body.
    emu.inject(
        Method::POST,
        "/operations",
        json!({"resourceType": CLUSTERS, "operation": "delete", "error": {"code": "Conflict", "message": "The HSM is busy (injected).", "status": 409}}),
    )
    .await;
    let deleting = emu
        .call(Method::DELETE, &cluster_path("rg", "working"), None)
        .await;
    let answer = emu
        .wait_location(&deleting.header("location").unwrap())
        .await;
    answer.expect_error(StatusCode::CONFLICT, "Conflict");
    let kept = emu
        .call(Method::GET, &cluster_path("rg", "working"), None)
        .await;
    assert_eq!(kept.status, StatusCode::OK);
    assert_eq!(kept.body["properties"]["provisioningState"], "Failed");
    assert_eq!(
        kept.body["properties"]["statusMessage"],
        "The HSM is busy (injected)."
    );

    // A group whose deletion fails is still there, with what is in it.
    emu.inject(
        Method::POST,
        "/operations",
        json!({"resourceType": "Microsoft.Resources/resourceGroups", "error": {"code": "ResourceGroupDeletionBlocked", "message": "Blocked (injected)."}}),
    )
    .await;
    let deleting = emu.call(Method::DELETE, &group_path("rg"), None).await;
    let answer = emu
        .wait_location(&deleting.header("location").unwrap())
        .await;
    answer.expect_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ResourceGroupDeletionBlocked",
    );
    let group = emu.call(Method::GET, &group_path("rg"), None).await;
    assert_eq!(group.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        emu.status_of(&cluster_path("rg", "working")).await,
        StatusCode::OK
    );

    // Two slow creates: each takes the rule's time, and says so in Retry-After.
    emu.inject(
        Method::POST,
        "/operations",
        json!({"resourceType": CLUSTERS, "operation": "create", "count": 2, "duration": "2s"}),
    )
    .await;
    for name in ["slow1", "slow2"] {
        let started = Instant::now();
        let reply = emu
            .call(Method::PUT, &cluster_path("rg", name), Some(cluster_body()))
            .await;
        assert_eq!(reply.header("retry-after").as_deref(), Some("2"));
        let status = emu
            .wait_async_operation(&reply.header("azure-asyncoperation").unwrap())
            .await;
        assert_eq!(status["status"], "Succeeded");
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    emu.create_cluster("rg", "quick").await;
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_data_plane_outage_answers_503_then_drops_connections_then_ends() {
    let emu = Emulator::start().await;
    let cluster = active_cluster(&emu).await;
    let cu = emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let (_, private) = cu
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, signing())
        .await
        .unwrap();

    let shown = emu
        .inject(
            Method::PUT,
            "/dataPlane",
            json!({"mode": "unavailable", "duration": "1m"}),
        )
        .await;
    assert_eq!(shown["mode"], "unavailable");
    let refused = cu.sign(private, "ECDSA", b"during").await.unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (503, "RET_HSM_UNAVAILABLE"),
        "{refused:?}"
    );
    let raw = emu
        .http
        .get(emu.hsm_url(&cluster, "/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["code"], "RET_HSM_UNAVAILABLE");
    assert!(body["message"].as_str().unwrap().contains("injected"));
    // The admin routes still answer.
    let events = cu.audit_events(emu.token()).await.unwrap();
    assert!(!events.is_empty());

    emu.inject(
        Method::PUT,
        "/dataPlane",
        json!({"mode": "drop", "duration": "1m"}),
    )
    .await;
    // No answer: the connection closes before a response is complete.
    let dropped = match emu.http.get(emu.hsm_url(&cluster, "/users")).send().await {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(dropped, "a dropped connection answered");
    let refused = cu.sign(private, "ECDSA", b"during").await.unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (0, "RET_NO_HSM_AVAILABLE"),
        "{refused:?}"
    );

    let ended = emu.fault(Method::DELETE, "/dataPlane", None).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    cu.sign(private, "ECDSA", b"after").await.unwrap();

    // An outage ends by itself.
    emu.inject(
        Method::PUT,
        "/dataPlane",
        json!({"mode": "unavailable", "duration": "500ms"}),
    )
    .await;
    assert!(cu.sign(private, "ECDSA", b"short").await.is_err());
    tokio::time::sleep(Duration::from_millis(700)).await;
    cu.sign(private, "ECDSA", b"over").await.unwrap();
    assert_eq!(
        emu.fault(Method::GET, "", None).await.body["dataPlane"],
        Value::Null
    );
}

#[tokio::test]
async fn the_client_signs_on_through_a_node_replacement() {
    let emu = Emulator::start().await;
    let cluster = active_cluster(&emu).await;
    let cu = std::sync::Arc::new(emu.hsm_client(&cluster));
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let (public, private) = cu
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, signing())
        .await
        .unwrap();
    let signer = {
        let cu = cu.clone();
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            let until = Instant::now() + Duration::from_millis(2500);
            while Instant::now() < until {
                match cu.sign(private, "ECDSA", b"through the replacement").await {
                    Ok(_) => ok += 1,
                    Err(e) => failed.push(e),
                }
            }
            (ok, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Node 0 (the client's first HSM) goes down, and a new HSM replaces it a
    // second later.
    let answer = emu
        .inject(
            Method::POST,
            "/hsmNodes",
            json!({"clusterId": cluster["id"], "node": 0, "action": "replace", "downFor": "1s"}),
        )
        .await;
    assert_eq!(answer["nodes"][0], json!({"node": 0, "up": false}));
    let arm = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(arm.body["properties"]["hsms"][0]["state"], "Failed");
    // A key made while it is down reaches the new HSM.
    let made_meanwhile = cu
        .generate_key(KeySpec::Aes { bits: 256 }, vec![])
        .await
        .unwrap();
    let (ok, failed) = signer.await.unwrap();
    println!(
        "signatures through the replacement: {ok} ok, {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "{failed:?}");
    assert!(ok > 10, "{ok}");
    let arm = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(arm.body["properties"]["hsms"][0]["state"], "Active");
    for key in [public, private, made_meanwhile] {
        assert_eq!(
            cu.find_single_key(key).await.unwrap(),
            vec![(0, true), (1, true), (2, true)]
        );
    }
    // The new HSM has the users too: cu1 logs in there.
    let listings = cu.node_listings().await.unwrap();
    assert!(
        listings
            .iter()
            .all(|n| n.up && n.digest == listings[0].digest),
        "{listings:?}"
    );
}

#[tokio::test]
async fn diagnostics_deliver_the_backlog_after_the_broker_pause() {
    let mut emu = Emulator::start().await;
    let cluster = active_cluster(&emu).await;
    emu.put_namespace("rg", "logs-ns", "Standard").await;
    let hub = emu
        .call(
            Method::PUT,
            &eventhubs_path("rg", "logs-ns", "/eventhubs/hsm-logs"),
            Some(json!({"properties": {"partitionCount": 1}})),
        )
        .await;
    assert!(hub.status.is_success(), "{hub:?}");
    let rule = emu
        .call(
            Method::PUT,
            &eventhubs_path("rg", "logs-ns", "/authorizationRules/diag"),
            Some(json!({"properties": {"rights": ["Manage", "Send", "Listen"]}})),
        )
        .await;
    assert!(rule.status.is_success(), "{rule:?}");
    put_setting(
        &emu,
        "rg",
        "chsm1",
        "to-hub",
        json!({
            "eventHubAuthorizationRuleId": format!("{}/authorizationRules/diag", namespace_id("rg", "logs-ns")),
            "eventHubName": "hsm-logs",
        }),
    )
    .await;

    let shown = emu
        .inject(Method::PUT, "/eventHubs", json!({"paused": true}))
        .await;
    assert_eq!(shown, json!({"paused": true, "remaining": null}));
    let cu = emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let (_, private) = cu
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, signing())
        .await
        .unwrap();
    for i in 0..5 {
        cu.sign(private, "ECDSA", format!("payment {i}").as_bytes())
            .await
            .unwrap();
    }
    cu.logout().await.unwrap();
    // Paused: the records wait in the outbox.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !delivered_now(emu.data_dir()),
        "delivered while the broker was paused"
    );
    // A sender sees the broker busy, too.
    let busy = emu.fault(Method::GET, "", None).await;
    assert_eq!(busy.body["eventHubs"]["paused"], true);

    let resumed = emu.fault(Method::DELETE, "/eventHubs", None).await;
    assert_eq!(resumed.status, StatusCode::NO_CONTENT);
    wait_until_delivered(emu.data_dir()).await;
    assert!(emu.terminate().success());
    let records = records_of(&broker_events(emu.data_dir()));
    let mut expected = vec!["CN_LOGIN", "CN_GENERATE_KEY_PAIR"];
    expected.extend(["CN_SIGN"; 5]);
    expected.push("CN_LOGOUT");
    assert_eq!(
        operation_names(&records),
        expected,
        "the backlog after the pause"
    );
}

#[tokio::test]
async fn faults_from_a_file_apply_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faults.json");
    std::fs::write(
        &file,
        json!({
            "operations": [{"resourceType": CLUSTERS, "operation": "create", "error": {"code": "StartupFault", "message": "From the file."}}],
            "dataPlane": {"mode": "unavailable", "duration": "10m"},
            "eventHubs": {"paused": true, "duration": "10m"},
        })
        .to_string(),
    )
    .unwrap();
    let emu = Emulator::start_with(&[
        "--provisioning-delay",
        "100ms",
        "--faults",
        file.to_str().unwrap(),
    ])
    .await;
    let shown = emu.fault(Method::GET, "", None).await.body;
    assert_eq!(shown["operations"][0]["error"]["code"], "StartupFault");
    assert_eq!(shown["dataPlane"]["mode"], "unavailable");
    assert_eq!(shown["eventHubs"]["paused"], true);
    emu.put_group("rg").await;
    let reply = emu
        .call(
            Method::PUT,
            &cluster_path("rg", "from-file"),
            Some(cluster_body()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let status = emu
        .wait_async_operation(&reply.header("azure-asyncoperation").unwrap())
        .await;
    assert_eq!(status["error"]["code"], "StartupFault");

    // A file the emulator cannot take stops it at start, saying why.
    std::fs::write(
        &file,
        r#"{"dataPlane": {"mode": "sideways", "duration": "1s"}}"#,
    )
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(cloudhsm_e2e_tests::emulator_binary())
        .args([
            "--port",
            "0",
            "--data-plane-port",
            "0",
            "--event-hubs-port",
            "0",
            "--event-hubs-rest-port",
            "0",
            "--faults",
        ])
        .arg(&file)
        .arg("--data-dir")
        .arg(data_dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--faults") && stderr.contains("sideways"),
        "{stderr}"
    );
}
