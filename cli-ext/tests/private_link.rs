//! `cloudhsm private-link-resource` and `cloudhsm private-endpoint-connection`
//! through the real binary. The endpoint itself is made from the consumer's
//! side (a `Microsoft.Network/privateEndpoints` resource), as in Azure; the
//! CLI is the cluster owner's tool.

mod common;

use cloudhsm_e2e_tests::SUB;
use common::Cli;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NETWORK_API: &str = "2024-05-01";

fn endpoint_path(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/privateEndpoints/{name}?api-version={NETWORK_API}")
}

/// A manual (approval-needing) endpoint to the cluster.
async fn request_endpoint(cli: &Cli, name: &str, cluster_id: &str) {
    let body = json!({
        "location": "eastus2",
        "properties": {
            "subnet": {"id": format!("/subscriptions/{SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe")},
            "manualPrivateLinkServiceConnections": [{
                "name": "to-hsm",
                "properties": {"privateLinkServiceId": cluster_id, "groupIds": ["cloudHsm"], "requestMessage": "please approve"}
            }]
        }
    });
    let reply = cli
        .emulator
        .call(Method::PUT, &endpoint_path(name), Some(body))
        .await;
    assert!(reply.status.is_success(), "{reply:?}");
}

/// The connection state the endpoint's side sees.
async fn endpoint_state(cli: &Cli, name: &str) -> Value {
    let endpoint = cli
        .emulator
        .call(Method::GET, &endpoint_path(name), None)
        .await
        .body;
    endpoint["properties"]["manualPrivateLinkServiceConnections"][0]["properties"]
        ["privateLinkServiceConnectionState"]
        .clone()
}

#[tokio::test]
async fn the_owner_lists_approves_rejects_and_deletes_connections() {
    let cli = Cli::logged_in().await;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    let cluster = cli.json(&["cloudhsm", "create", "-g", "rg1", "-n", "chsm1"]);
    let cluster_id = cluster["id"].as_str().unwrap();

    let resources = cli.json(&[
        "cloudhsm",
        "private-link-resource",
        "list",
        "-g",
        "rg1",
        "--cluster-name",
        "chsm1",
    ]);
    assert_eq!(resources[0]["properties"]["groupId"], "cloudHsm");
    assert_eq!(
        resources[0]["properties"]["requiredMembers"],
        json!(["hsm1", "hsm2", "hsm3"])
    );
    assert_eq!(
        cli.run(&[
            "cloudhsm",
            "private-link-resource",
            "list",
            "-g",
            "rg1",
            "-n",
            "chsm1",
            "-o",
            "table"
        ])
        .stdout,
        "Name      GroupId   RequiredMembers   RequiredZoneNames\n\
         --------  --------  ----------------  ------------------------------\n\
         cloudHsm  cloudHsm  hsm1, hsm2, hsm3  privatelink.cloudhsm.azure.net\n"
    );

    assert_eq!(
        cli.json(&[
            "cloudhsm",
            "private-endpoint-connection",
            "list",
            "-g",
            "rg1",
            "-n",
            "chsm1"
        ]),
        json!([])
    );
    request_endpoint(&cli, "pe1", cluster_id).await;
    request_endpoint(&cli, "pe2", cluster_id).await;
    let list = cli.json(&[
        "cloudhsm",
        "private-endpoint-connection",
        "list",
        "-g",
        "rg1",
        "-n",
        "chsm1",
        "--query",
        "sort([].name)",
    ]);
    assert_eq!(list, json!(["pe1", "pe2"]));
    let pe1 = ["-g", "rg1", "-n", "chsm1", "--pe-connection-name", "pe1"];
    let shown = cli.json(
        &[
            &["cloudhsm", "private-endpoint-connection", "show"][..],
            &pe1,
        ]
        .concat(),
    );
    assert_eq!(
        shown["properties"]["privateLinkServiceConnectionState"]["status"],
        "Pending"
    );
    assert_eq!(
        shown["properties"]["privateEndpoint"]["id"]
            .as_str()
            .map(|s| s.ends_with("/privateEndpoints/pe1")),
        Some(true)
    );

    // Approve: the endpoint's side sees the owner's decision and reason.
    let approved = cli.json(
        &[
            &["cloudhsm", "private-endpoint-connection", "approve"][..],
            &pe1,
            &["--description", "ok by security"],
        ]
        .concat(),
    );
    assert_eq!(
        approved["properties"]["privateLinkServiceConnectionState"]["status"],
        "Approved"
    );
    let seen = endpoint_state(&cli, "pe1").await;
    assert_eq!(
        (seen["status"].as_str(), seen["description"].as_str()),
        (Some("Approved"), Some("ok by security"))
    );

    // Reject; a rejected connection cannot be approved again (service error, exit 1, unchanged).
    cli.json(
        &[
            &["cloudhsm", "private-endpoint-connection", "reject"][..],
            &pe1,
        ]
        .concat(),
    );
    assert_eq!(endpoint_state(&cli, "pe1").await["status"], "Rejected");
    cli.run(
        &[
            &["cloudhsm", "private-endpoint-connection", "approve"][..],
            &pe1,
        ]
        .concat(),
    )
    .expect_error(1, "(InvalidPrivateEndpointConnectionStatusChange)");
    assert_eq!(endpoint_state(&cli, "pe1").await["status"], "Rejected");
    let table = cli
        .run(&[
            "cloudhsm",
            "private-endpoint-connection",
            "list",
            "-g",
            "rg1",
            "-n",
            "chsm1",
            "-o",
            "table",
        ])
        .stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("Name  Status    Description"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("pe1   Rejected  ok by security"),
        "{table}"
    );
    assert!(
        lines[3].starts_with("pe2   Pending   please approve"),
        "{table}"
    );

    // Delete asks first; then the connection goes and the endpoint is disconnected.
    cli.run(
        &[
            &["cloudhsm", "private-endpoint-connection", "delete"][..],
            &pe1,
        ]
        .concat(),
    )
    .expect_error(2, "Use --yes");
    cli.quiet(
        &[
            &["cloudhsm", "private-endpoint-connection", "delete"][..],
            &pe1,
            &["--yes"],
        ]
        .concat(),
    );
    assert_eq!(endpoint_state(&cli, "pe1").await["status"], "Disconnected");
    cli.run(
        &[
            &["cloudhsm", "private-endpoint-connection", "show"][..],
            &pe1,
        ]
        .concat(),
    )
    .expect_error(3, "NotFound");
    // --no-wait starts the delete and returns; the list shows the end.
    cli.quiet(&[
        "cloudhsm",
        "private-endpoint-connection",
        "delete",
        "-g",
        "rg1",
        "-n",
        "chsm1",
        "--pe-connection-name",
        "pe2",
        "--yes",
        "--no-wait",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while cli.json(&[
        "cloudhsm",
        "private-endpoint-connection",
        "list",
        "-g",
        "rg1",
        "-n",
        "chsm1",
    ]) != json!([])
    {
        assert!(std::time::Instant::now() < deadline, "pe2 never went");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let gone = cli
        .emulator
        .call(
            Method::GET,
            &format!(
                "{}/privateEndpointConnections/pe2?api-version=2025-03-31",
                cluster_id
            ),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    // A connection that never existed.
    cli.run(&[
        "cloudhsm",
        "private-endpoint-connection",
        "approve",
        "-g",
        "rg1",
        "-n",
        "chsm1",
        "--pe-connection-name",
        "nope",
    ])
    .expect_error(3, "NotFound");
}
