//! Request size bounds: an oversized body gets a clean error answer (ARM's
//! 413 on the control plane, the data plane's own 413), never a reset, and
//! the emulator keeps serving afterwards.

use cloudhsm_e2e_tests::{group_path, Emulator, Reply};
use reqwest::{Method, StatusCode};
use serde_json::json;

const MIB: usize = 1024 * 1024;

/// A JSON body of about `size` bytes (one long string property).
fn body_of(size: usize) -> Vec<u8> {
    let filler = "a".repeat(size);
    serde_json::to_vec(&json!({ "location": "eastus", "properties": { "filler": filler } }))
        .expect("JSON")
}

async fn put_raw(emu: &Emulator, path: &str, body: Vec<u8>, authenticated: bool) -> Reply {
    let mut request = if authenticated {
        emu.request(Method::PUT, path)
    } else {
        emu.http.request(Method::PUT, emu.url(path))
    };
    request = request
        .header("content-type", "application/json")
        .body(body);
    Reply::from(request.send().await.expect("an answer, not a reset")).await
}

#[tokio::test]
async fn control_plane_bodies_over_4_mb_are_refused_with_arms_413() {
    let emu = Emulator::start().await;
    let path = group_path("big");

    for authenticated in [true, false] {
        let reply = put_raw(&emu, &path, body_of(12 * MIB), authenticated).await;
        let error = reply.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "RequestContentTooLarge");
        assert_eq!(
            error["message"],
            "The request content size exceeds the maximum size of 4 MB."
        );
    }
    // Far beyond what is worth reading: still an answer.
    let reply = put_raw(&emu, &path, body_of(80 * MIB), true).await;
    reply.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "RequestContentTooLarge");

    // Under the limit, the body reaches the handler and its checks (here the
    // schema refuses the unknown property; what matters is it is not a 413).
    let reply = put_raw(&emu, &path, body_of(3 * MIB), true).await;
    assert_ne!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        reply.status
    );
    assert!(
        reply.status.is_client_error() || reply.status.is_success(),
        "{:?}",
        reply.status
    );

    // And the emulator keeps serving.
    emu.put_group("after").await;
    assert_eq!(emu.status_of(&group_path("after")).await, StatusCode::OK);
}

#[tokio::test]
async fn data_plane_bodies_over_1_mib_are_refused_with_a_413() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    let login = emu.hsm_url(&cluster, "/login");

    for size in [2 * MIB, 12 * MIB] {
        let reply = Reply::from(
            emu.http
                .post(&login)
                .header("content-type", "application/json")
                .body(vec![b' '; size])
                .send()
                .await
                .expect("an answer, not a reset"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{reply:?}");
        assert_eq!(reply.body["code"], "RET_DATA_LEN_TOO_LARGE", "{reply:?}");
    }

    // A normal request is still served: a wrong login is a clean refusal.
    let reply = Reply::from(
        emu.http
            .post(&login)
            .json(&json!({ "role": "CU", "username": "nobody", "password": "x" }))
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert!(reply.status.is_client_error(), "{reply:?}");
    assert_ne!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The host:port of a listener's URL (`http://127.0.0.1:1234/...`).
fn address_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a URL with a host")
        .to_string()
}

/// Reads until the server closes the connection; how long that took.
async fn time_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Duration {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

use std::time::Duration;

#[tokio::test]
async fn slow_loris_headers_and_idle_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let emu = Emulator::start_with(&[
        "--http",
        "--provisioning-delay",
        "100ms",
        "--idle-timeout",
        "1500ms",
        "--header-read-timeout",
        "3s",
    ])
    .await;
    let data_plane: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(emu.data_dir().join("data-plane.json")).expect("data-plane.json"),
    )
    .expect("JSON");
    let listeners = [
        address_of(&emu.endpoints.resource_manager),
        address_of(data_plane["endpoint"].as_str().expect("endpoint")),
    ];
    for address in &listeners {
        // Slow loris: a header line every 200 ms, never the blank line.
        let mut loris = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        loris
            .write_all(b"GET /metadata/endpoints HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        let dribble = async {
            for i in 0..50 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if loris
                    .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
            }
        };
        let mut reader = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        reader
            .write_all(b"GET /metadata/endpoints HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        // The second connection, answered and then left idle, is closed
        // after the idle timeout (not kept forever by keep-alive).
        let (_, idle_for) = tokio::join!(
            dribble,
            time_until_closed(&mut reader, Duration::from_secs(10))
        );
        assert!(
            idle_for >= Duration::from_millis(1400),
            "{address}: closed after {idle_for:?}"
        );
        // The loris kept the connection busy (never idle) but never finished
        // its headers: closed by the header timeout, 3 s after it began.
        let closed_after = time_until_closed(&mut loris, Duration::from_secs(10)).await;
        assert!(
            closed_after < Duration::from_secs(8),
            "{address}: {closed_after:?}"
        );
        // A connection that never says anything is closed too.
        let mut silent = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        time_until_closed(&mut silent, Duration::from_secs(10)).await;
    }
    // And the emulator goes on serving.
    let reply = emu
        .call(
            Method::PUT,
            &group_path("after-loris"),
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert!(reply.status.is_success(), "{reply:?}");
}
