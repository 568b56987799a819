//! Acknowledged writes and running operations survive `kill -9`; SIGTERM
//! shuts down cleanly; a restart keeps every resource.

use cloudhsm_e2e_tests::{cluster_body, cluster_path, group_path, Emulator};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let emu = Emulator::start().await;
    for i in 0..5 {
        let reply = emu
            .call(
                Method::PUT,
                &group_path(&format!("rg{i}")),
                Some(json!({"location": "eastus"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    // Killed right after the last acknowledgement: no graceful flush.
    let emu = emu.restart().await;
    for i in 0..5 {
        assert_eq!(
            emu.call(Method::GET, &group_path(&format!("rg{i}")), None)
                .await
                .status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn provisioning_interrupted_by_kill_9_finishes_after_restart() {
    let emu = Emulator::start_with(&["--provisioning-delay", "5s"]).await;
    emu.put_group("rg").await;
    let created = emu
        .call(
            Method::PUT,
            &cluster_path("rg", "chsm1"),
            Some(cluster_body()),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let op_url = created.header("azure-asyncoperation").unwrap();
    let op_path = op_url
        .split_once("/subscriptions/")
        .map(|(_, p)| format!("/subscriptions/{p}"))
        .unwrap();

    let emu = emu.restart().await;
    let during = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(
        during.body["properties"]["provisioningState"], "Provisioning",
        "killed mid-provisioning"
    );
    // The operation is still known after the restart, and ends.
    let status = emu.wait_async_operation(&op_path).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let after = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(after.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(after.body["properties"]["activationState"], "NotActivated");
}

#[tokio::test]
async fn deletion_interrupted_by_kill_9_finishes_after_restart() {
    let emu = Emulator::start_with(&["--provisioning-delay", "2s"]).await;
    emu.put_group("rg").await;
    emu.create_cluster("rg", "chsm1").await;
    let deleted = emu
        .call(Method::DELETE, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    let location = deleted.header("location").unwrap();
    let location_path = location
        .split_once("/subscriptions/")
        .map(|(_, p)| format!("/subscriptions/{p}"))
        .unwrap();
    let emu = emu.restart().await;
    assert_eq!(
        emu.wait_location(&location_path).await.status,
        StatusCode::NO_CONTENT
    );
    emu.call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly_and_a_restart_keeps_everything() {
    let mut emu = Emulator::start().await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    let token_before = emu.token().to_string();
    let ca_path = emu.endpoints.ca_certificate.clone().unwrap();
    let ca_before = std::fs::read(&ca_path).unwrap();
    let status = emu.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let emu = emu.restart().await;
    let again = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, cluster, "the cluster is exactly as it was");
    // The CA is kept, so clients keep trusting it, and tokens issued before
    // the restart still validate.
    assert_eq!(std::fs::read(&ca_path).unwrap(), ca_before);
    let reply = emu
        .http
        .get(emu.url(&group_path("rg")))
        .bearer_auth(token_before)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

/// With no arguments the emulator uses its embedded defaults: state under
/// `./.cloudhsm-emulator/`, HTTPS on 127.0.0.1:8443, the well-known identity.
#[tokio::test]
async fn no_arguments_means_embedded_defaults() {
    let cwd = tempfile::tempdir().unwrap();
    let port_free = std::net::TcpListener::bind("127.0.0.1:8443")
        .map(drop)
        .is_ok();
    let mut child = std::process::Command::new(cloudhsm_e2e_tests::emulator_binary())
        .current_dir(cwd.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let endpoints = cwd.path().join(".cloudhsm-emulator/endpoints.json");
    if !port_free {
        // Someone else holds a default port: the emulator must say so and stop.
        let output = child.wait_with_output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("8443") || stderr.contains("2225"),
            "{stderr}"
        );
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !endpoints.exists() {
        assert!(std::time::Instant::now() < deadline, "no endpoints.json");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&endpoints).unwrap()).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(v["resourceManager"], "https://127.0.0.1:8443/");
    assert_eq!(v["authority"], "https://127.0.0.1:8443/");
    assert_eq!(v["subscriptionId"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(v["tenantId"], "00000000-0000-0000-0000-00000000c10d");
    assert_eq!(v["clientId"], "00000000-0000-0000-0000-0000000c11e7");
    assert!(v["clientSecret"].as_str().is_some_and(|s| !s.is_empty()));
    let ca = v["caCertificate"].as_str().unwrap();
    assert!(std::path::Path::new(ca).is_absolute() && std::path::Path::new(ca).exists());
    assert_eq!(v["eventHubs"]["amqp"], "sb://127.0.0.1:5672/", "{v}");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 8, "exactly the documented keys: {keys:?}");
}

#[tokio::test]
async fn plain_http_has_no_ca() {
    let emu = Emulator::start_with(&["--http"]).await;
    assert!(emu.endpoints.resource_manager.starts_with("http://"));
    assert!(emu.endpoints.ca_certificate.is_none());
    assert_eq!(
        emu.call(Method::GET, "/subscriptions?api-version=2022-12-01", None)
            .await
            .status,
        StatusCode::OK
    );
}
