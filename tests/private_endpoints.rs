//! Private endpoints to a Cloud HSM cluster, as a user makes them: create a
//! `Microsoft.Network/privateEndpoints` resource that targets the cluster,
//! then approve, reject or delete the cluster's connection.

use cloudhsm_e2e_tests::{
    backup_jobs::action_path, cluster_path, endpoint_body, endpoint_path, Emulator, Reply, SUB,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// PUTs a private endpoint to the cluster's `cloudHsm` group.
async fn put_endpoint(emu: &Emulator, name: &str, cluster_id: &str, manual: bool) -> Reply {
    emu.call(
        Method::PUT,
        &endpoint_path("rg", name),
        Some(endpoint_body(cluster_id, manual, json!(["cloudHsm"]))),
    )
    .await
}

async fn setup(emu: &Emulator) -> String {
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    cluster["id"].as_str().expect("cluster id").to_string()
}

fn connection_state(endpoint: &Value) -> &Value {
    let props = &endpoint["properties"];
    let list = if props["privateLinkServiceConnections"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        &props["privateLinkServiceConnections"]
    } else {
        &props["manualPrivateLinkServiceConnections"]
    };
    &list[0]["properties"]["privateLinkServiceConnectionState"]
}

#[tokio::test]
async fn an_automatic_endpoint_is_approved_and_shows_on_the_cluster() {
    let emu = Emulator::start_with(&["--provisioning-delay", "100ms"]).await;
    let cluster_id = setup(&emu).await;

    let links = emu
        .call(
            Method::GET,
            &action_path("rg", "chsm1", "privateLinkResources"),
            None,
        )
        .await;
    assert_eq!(links.status, StatusCode::OK, "{links:?}");
    let link = &links.body["value"][0];
    assert_eq!(link["properties"]["groupId"], "cloudHsm");
    assert_eq!(
        link["properties"]["requiredMembers"],
        json!(["hsm1", "hsm2", "hsm3"])
    );
    assert_eq!(
        link["properties"]["requiredZoneNames"],
        json!(["privatelink.cloudhsm.azure.net"])
    );

    let created = emu
        .call(
            Method::PUT,
            &endpoint_path("rg", "pe1"),
            Some(endpoint_body(&cluster_id, false, json!(["cloudHsm"]))),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(connection_state(&created.body)["status"], "Approved");
    assert_eq!(
        created.body["properties"]["privateLinkServiceConnections"][0]["properties"]
            ["privateLinkServiceId"],
        cluster_id
    );

    let cluster = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    let connections = cluster.body["properties"]["privateEndpointConnections"]
        .as_array()
        .expect("array")
        .clone();
    assert_eq!(connections.len(), 1, "{cluster:?}");
    assert_eq!(connections[0]["name"], "pe1");
    assert_eq!(
        connections[0]["properties"]["privateEndpoint"]["id"],
        created.body["id"]
    );
    assert_eq!(
        connections[0]["properties"]["groupIds"],
        json!(["cloudHsm"])
    );

    let listed = emu
        .call(
            Method::GET,
            &action_path("rg", "chsm1", "privateEndpointConnections"),
            None,
        )
        .await;
    assert_eq!(
        listed.body["value"].as_array().map(Vec::len),
        Some(1),
        "{listed:?}"
    );
    let got = emu
        .call(
            Method::GET,
            &action_path("rg", "chsm1", "privateEndpointConnections/pe1"),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.body["properties"]["privateLinkServiceConnectionState"]["status"],
        "Approved"
    );
    assert!(got.header("etag").is_some());

    // Deleting the endpoint removes the cluster's connection.
    let deleted = emu
        .call(Method::DELETE, &endpoint_path("rg", "pe1"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let cluster = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(
        cluster.body["properties"]["privateEndpointConnections"],
        json!([])
    );
    let again = emu
        .call(Method::DELETE, &endpoint_path("rg", "pe1"), None)
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_manual_connection_is_approved_rejected_and_deleted_by_the_cluster_owner() {
    let emu = Emulator::start_with(&["--provisioning-delay", "100ms"]).await;
    let cluster_id = setup(&emu).await;
    let created = put_endpoint(&emu, "pe-manual", &cluster_id, true).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(connection_state(&created.body)["status"], "Pending");
    assert_eq!(
        connection_state(&created.body)["description"],
        "please approve"
    );

    let pec = action_path("rg", "chsm1", "privateEndpointConnections/pe-manual");
    let approve = json!({"properties": {"privateLinkServiceConnectionState": {"status": "Approved", "description": "ok by security"}}});
    let approved = emu.call(Method::PUT, &pec, Some(approve.clone())).await;
    assert_eq!(approved.status, StatusCode::OK, "{approved:?}");
    assert_eq!(
        approved.body["properties"]["privateLinkServiceConnectionState"]["status"],
        "Approved"
    );
    let endpoint = emu
        .call(Method::GET, &endpoint_path("rg", "pe-manual"), None)
        .await;
    assert_eq!(
        connection_state(&endpoint.body)["status"],
        "Approved",
        "the endpoint sees the owner's decision"
    );
    assert_eq!(
        connection_state(&endpoint.body)["description"],
        "ok by security"
    );

    // A stale ETag is refused.
    let stale = emu
        .request(Method::PUT, &pec)
        .header("If-Match", "\"not-the-etag\"")
        .json(&approve)
        .send()
        .await
        .expect("sent");
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);

    let reject =
        json!({"properties": {"privateLinkServiceConnectionState": {"status": "Rejected"}}});
    let rejected = emu.call(Method::PUT, &pec, Some(reject)).await;
    assert_eq!(
        rejected.body["properties"]["privateLinkServiceConnectionState"]["status"],
        "Rejected"
    );
    emu.call(Method::PUT, &pec, Some(approve))
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "InvalidPrivateEndpointConnectionStatusChange",
        );
    let unchanged = emu.call(Method::GET, &pec, None).await;
    assert_eq!(
        unchanged.body["properties"]["privateLinkServiceConnectionState"]["status"],
        "Rejected"
    );

    // The owner deletes the connection (long-running); the endpoint stays, disconnected.
    let deleting = emu.call(Method::DELETE, &pec, None).await;
    assert_eq!(deleting.status, StatusCode::ACCEPTED, "{deleting:?}");
    let done = emu
        .wait_location(&deleting.header("location").expect("Location"))
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{done:?}");
    emu.call(Method::GET, &pec, None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    let endpoint = emu
        .call(Method::GET, &endpoint_path("rg", "pe-manual"), None)
        .await;
    assert_eq!(connection_state(&endpoint.body)["status"], "Disconnected");
    assert_eq!(
        emu.call(Method::DELETE, &pec, None).await.status,
        StatusCode::NO_CONTENT
    );

    // Connections survive a restart.
    let created = put_endpoint(&emu, "pe-two", &cluster_id, false).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let emu = emu.restart().await;
    let got = emu
        .call(
            Method::GET,
            &action_path("rg", "chsm1", "privateEndpointConnections/pe-two"),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{got:?}");

    // Deleting the cluster takes its connections; the endpoint shows it.
    let deleting = emu
        .call(Method::DELETE, &cluster_path("rg", "chsm1"), None)
        .await;
    emu.wait_location(&deleting.header("location").expect("Location"))
        .await;
    let endpoint = emu
        .call(Method::GET, &endpoint_path("rg", "pe-two"), None)
        .await;
    assert_eq!(connection_state(&endpoint.body)["status"], "Disconnected");
}

#[tokio::test]
async fn bad_private_endpoint_requests_get_clear_errors_and_change_nothing() {
    let emu = Emulator::start_with(&["--provisioning-delay", "100ms"]).await;
    let cluster_id = setup(&emu).await;
    let cases = [
        (
            endpoint_body(&cluster_id, false, json!([])),
            StatusCode::BAD_REQUEST,
            "MissingParameterOnPrivateLinkServiceConnection",
        ),
        (
            endpoint_body(&cluster_id, false, json!(["vault"])),
            StatusCode::BAD_REQUEST,
            "InvalidGroupIdOnPrivateLinkServiceConnection",
        ),
        (
            endpoint_body(
                &format!(
                    "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
                ),
                false,
                json!(["cloudHsm"]),
            ),
            StatusCode::BAD_REQUEST,
            "LinkedInvalidPropertyId",
        ),
        (
            endpoint_body(
                &cluster_id.replace("chsm1", "nosuch"),
                false,
                json!(["cloudHsm"]),
            ),
            StatusCode::BAD_REQUEST,
            "PrivateLinkServiceNotFound",
        ),
        (
            json!({"location": "eastus2", "properties": {}}),
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
        ),
    ];
    for (body, status, code) in cases {
        let reply = emu
            .call(Method::PUT, &endpoint_path("rg", "pe-bad"), Some(body))
            .await;
        reply.expect_error(status, code);
    }
    let mut two = endpoint_body(&cluster_id, false, json!(["cloudHsm"]));
    let first = two["properties"]["privateLinkServiceConnections"][0].clone();
    two["properties"]["manualPrivateLinkServiceConnections"] = json!([first]);
    emu.call(Method::PUT, &endpoint_path("rg", "pe-bad"), Some(two))
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "InvalidPrivateEndpointConnectionCount",
        );
    put_endpoint(&emu, "-bad-name", &cluster_id, false)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidResourceName");
    emu.call(Method::GET, &endpoint_path("rg", "pe-bad"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    let cluster = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(
        cluster.body["properties"]["privateEndpointConnections"],
        json!([])
    );

    // The cluster side cannot invent a connection, and validates what it gets.
    let approve =
        json!({"properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}});
    emu.call(
        Method::PUT,
        &action_path("rg", "chsm1", "privateEndpointConnections/nosuch"),
        Some(approve.clone()),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "PrivateEndpointConnectionNotFound");
    emu.call(
        Method::PUT,
        &action_path("rg", "chsm1", "privateEndpointConnections/a.b"),
        Some(approve.clone()),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "InvalidResourceName");
    let bad_status =
        json!({"properties": {"privateLinkServiceConnectionState": {"status": "Disconnected"}}});
    emu.call(
        Method::PUT,
        &action_path("rg", "chsm1", "privateEndpointConnections/nosuch"),
        Some(bad_status),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    emu.call(
        Method::GET,
        &action_path("rg", "nosuch", "privateEndpointConnections"),
        None,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    emu.call(
        Method::GET,
        &action_path("rg", "nosuch", "privateLinkResources"),
        None,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
}
