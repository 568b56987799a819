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
