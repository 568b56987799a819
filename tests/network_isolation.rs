//! `publicNetworkAccess: Disabled` enforced (`--network-isolation`): a
//! cluster's HSMs answer only on the private-link names of an approved
//! private endpoint connection, and a rejected or deleted connection closes
//! that path at once.

use cloudhsm_data_plane::client::{ClientConfig, ClientError, HsmClient};
use cloudhsm_e2e_tests::{backup_jobs::action_path, endpoint_body, endpoint_path, Emulator};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "officer-pass-1";

/// A client for the given HSM names, with the emulator's endpoint and CA.
fn client_for(emu: &Emulator, hsms: Vec<String>) -> HsmClient {
    let file =
        std::fs::read_to_string(emu.data_dir().join("data-plane.json")).expect("data-plane.json");
    let v: Value = serde_json::from_str(&file).expect("JSON");
    HsmClient::new(ClientConfig {
        endpoint: v["endpoint"].as_str().expect("endpoint").to_string(),
        hsm_addresses: hsms,
        ca_pem: v["caCertificate"]
            .as_str()
            .map(|p| std::fs::read(p).expect("CA")),
        local_socket: v["localSocket"].as_str().map(Into::into),
    })
    .expect("client")
}

fn public_names(cluster: &Value) -> Vec<String> {
    cluster["properties"]["hsms"]
        .as_array()
        .expect("hsms")
        .iter()
        .map(|h| h["fqdn"].as_str().expect("fqdn").to_string())
        .collect()
}

/// The private-link names the endpoint reports (`customDnsConfigs`).
async fn dns_names(emu: &Emulator, endpoint: &str) -> Vec<String> {
    let got = emu
        .call(Method::GET, &endpoint_path("rg", endpoint), None)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{got:?}");
    got.body["properties"]["customDnsConfigs"]
        .as_array()
        .expect("customDnsConfigs")
        .iter()
        .map(|c| {
            assert!(
                c["ipAddresses"].as_array().is_some_and(|a| !a.is_empty()),
                "{c}"
            );
            c["fqdn"].as_str().expect("fqdn").to_string()
        })
        .collect()
}

/// A login as the activated officer: Ok when the path is open.
async fn login(client: &HsmClient) -> Result<(), ClientError> {
    client.login("CO", "admin", PASSWORD).await
}

#[track_caller]
fn assert_closed(result: Result<(), ClientError>, why: &str) {
    let error = result.expect_err("the path is closed");
    assert_eq!(error.status, 403, "{error:?}");
    assert_eq!(error.code, "RET_NETWORK_ACCESS_DENIED", "{error:?}");
    assert!(error.message.contains(why), "{error:?}");
}

#[tokio::test]
async fn only_approved_private_endpoints_reach_a_cluster_closed_to_the_public() {
    let log_dir = tempfile::tempdir().expect("temp dir");
    let log = log_dir.path().join("emulator.log");
    let emu = Emulator::start_logging(
        &["--provisioning-delay", "100ms", "--network-isolation"],
        "info",
        &log,
    )
    .await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    assert_eq!(cluster["properties"]["publicNetworkAccess"], "Disabled");
    let cluster_id = cluster["id"].as_str().expect("id").to_string();
    let public = client_for(&emu, public_names(&cluster));

    // No connection: the public names are refused, the log says why.
    assert_closed(
        public.activate_with_new_owner(PASSWORD).await.map(|_| ()),
        "not reachable over the public network",
    );
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("network path closed") && text.contains("publicNetworkAccess"),
        "{text}"
    );

    // A manual endpoint, pending: no DNS names yet, the private names closed.
    let put = emu
        .call(
            Method::PUT,
            &endpoint_path("rg", "pe1"),
            Some(endpoint_body(&cluster_id, true, json!(["cloudHsm"]))),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{put:?}");
    assert!(dns_names(&emu, "pe1").await.is_empty());
    let derived: Vec<String> = public_names(&cluster)
        .iter()
        .map(|n| {
            let mut labels = n.splitn(3, '.');
            let (hsm, host) = (labels.next().unwrap(), labels.next().unwrap());
            format!("{hsm}.{host}.privatelink.cloudhsm.localhost")
        })
        .collect();
    assert_closed(
        login(&client_for(&emu, derived.clone())).await,
        "no approved private endpoint connection",
    );

    // Approved: the endpoint reports the private-link names; they answer,
    // the public ones still do not.
    let pec = action_path("rg", "chsm1", "privateEndpointConnections/pe1");
    let approve =
        json!({"properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}});
    assert_eq!(
        emu.call(Method::PUT, &pec, Some(approve)).await.status,
        StatusCode::OK
    );
    let private_names = dns_names(&emu, "pe1").await;
    assert_eq!(private_names, derived);
    let private = client_for(&emu, private_names.clone());
    private
        .activate_with_new_owner(PASSWORD)
        .await
        .expect("activate over the private link");
    login(&private).await.expect("login over the private link");
    assert_closed(
        login(&client_for(&emu, public_names(&cluster))).await,
        "not reachable over the public network",
    );

    // Rejected: closed at once, for a client already logged in too.
    let reject =
        json!({"properties": {"privateLinkServiceConnectionState": {"status": "Rejected"}}});
    assert_eq!(
        emu.call(Method::PUT, &pec, Some(reject)).await.status,
        StatusCode::OK
    );
    assert_closed(
        login(&client_for(&emu, private_names.clone())).await,
        "no approved private endpoint connection",
    );
    assert!(dns_names(&emu, "pe1").await.is_empty());

    // A second, automatic endpoint opens it again; deleting its connection
    // closes it as soon as the deletion is accepted.
    let put = emu
        .call(
            Method::PUT,
            &endpoint_path("rg", "pe2"),
            Some(endpoint_body(&cluster_id, false, json!(["cloudHsm"]))),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{put:?}");
    assert_eq!(dns_names(&emu, "pe2").await, private_names);
    login(&client_for(&emu, private_names.clone()))
        .await
        .expect("open again");
    let pec2 = action_path("rg", "chsm1", "privateEndpointConnections/pe2");
    let deleting = emu.call(Method::DELETE, &pec2, None).await;
    assert_eq!(deleting.status, StatusCode::ACCEPTED, "{deleting:?}");
    assert_closed(
        login(&client_for(&emu, private_names.clone())).await,
        "no approved private endpoint connection",
    );
    emu.wait_location(&deleting.header("location").expect("Location"))
        .await;

    // Deleting a private endpoint takes its connection: closed at once.
    let put = emu
        .call(
            Method::PUT,
            &endpoint_path("rg", "pe3"),
            Some(endpoint_body(&cluster_id, false, json!(["cloudHsm"]))),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{put:?}");
    login(&client_for(&emu, private_names.clone()))
        .await
        .expect("open through pe3");
    let deleted = emu
        .call(Method::DELETE, &endpoint_path("rg", "pe3"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    assert_closed(
        login(&client_for(&emu, private_names)).await,
        "no approved private endpoint connection",
    );
}

/// Without `--network-isolation` the public names answer as before, and an
/// approved connection's private-link names answer as well.
#[tokio::test]
async fn without_isolation_public_and_private_names_both_answer() {
    let emu = Emulator::start_with(&["--provisioning-delay", "100ms"]).await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    let cluster_id = cluster["id"].as_str().expect("id").to_string();
    client_for(&emu, public_names(&cluster))
        .activate_with_new_owner(PASSWORD)
        .await
        .expect("activate on the public names");
    let put = emu
        .call(
            Method::PUT,
            &endpoint_path("rg", "pe1"),
            Some(endpoint_body(&cluster_id, false, json!(["cloudHsm"]))),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{put:?}");
    let private_names = dns_names(&emu, "pe1").await;
    assert_eq!(private_names.len(), 3);
    login(&client_for(&emu, private_names))
        .await
        .expect("private names");
    login(&client_for(&emu, public_names(&cluster)))
        .await
        .expect("public names");
}
