//! `az-cloudhsm deployment`: Bicep compiled in-process and ARM JSON
//! templates deployed through the real emulator, outputs and resources
//! checked against the emulator's own answers; compile errors as the Bicep
//! CLI prints them.

mod common;

use cloudhsm_e2e_tests::{cluster_path, identity_path};
use common::Cli;
use reqwest::{Method, StatusCode};

fn template(file: &str) -> String {
    format!("{}/../bicep/templates/{file}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn bicep_and_json_templates_deploy_with_outputs() {
    let cli = Cli::logged_in().await;
    cli.run(&["group", "create", "-n", "rg", "-l", "eastus2", "-o", "none"])
        .expect_ok();

    let bicep = template("cluster-with-identity.bicep");
    let deployed = cli.json(&[
        "deployment",
        "group",
        "create",
        "-g",
        "rg",
        "-f",
        &bicep,
        "-p",
        "clusterName=chsmcli",
    ]);
    assert_eq!(deployed["name"], "cluster-with-identity");
    assert_eq!(
        deployed["properties"]["provisioningState"], "Succeeded",
        "{deployed}"
    );
    assert_eq!(
        deployed["properties"]["outputs"]["hsmFqdns"]["value"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let identity = cli
        .emulator
        .call(Method::GET, &identity_path("rg", "chsmcli-backup"), None)
        .await;
    assert_eq!(
        deployed["properties"]["outputs"]["identityPrincipalId"]["value"],
        identity.body["properties"]["principalId"]
    );

    // A .bicepparam file brings its template; a JSON template takes
    // name=value parameters typed by its declarations.
    let params = template("cluster-with-identity.bicepparam");
    let from_params = cli.json(&["deployment", "group", "create", "-g", "rg", "-p", &params]);
    assert_eq!(from_params["properties"]["provisioningState"], "Succeeded");
    let cluster = cli
        .emulator
        .call(Method::GET, &cluster_path("rg", "chsm-params"), None)
        .await;
    assert_eq!(cluster.body["tags"]["Source"], "bicepparam");
    let json = template("clusters-copy.json");
    let copies = cli.json(&[
        "deployment",
        "group",
        "create",
        "-g",
        "rg",
        "-n",
        "copies",
        "-f",
        &json,
        "-p",
        "count=2",
    ]);
    assert_eq!(
        copies["properties"]["outputs"]["names"]["value"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Named after their files, the .bicepparam deployment replaced the first.
    let listed = cli.json(&["deployment", "group", "list", "-g", "rg"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    cli.run(&["deployment", "group", "delete", "-g", "rg", "-n", "copies"])
        .expect_ok();
    cli.run(&["deployment", "group", "show", "-g", "rg", "-n", "copies"])
        .expect_error(3, "(DeploymentNotFound)");
}

#[tokio::test]
async fn compile_errors_stop_before_anything_is_sent() {
    let cli = Cli::logged_in().await;
    cli.run(&["group", "create", "-n", "rg", "-l", "eastus2", "-o", "none"])
        .expect_ok();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.bicep");
    // `name` is used too, so no linter warning comes before the error.
    std::fs::write(
        &broken,
        "param name string\n\noutput x string = nmae\noutput y string = name\n",
    )
    .unwrap();
    let broken = broken.to_str().unwrap();
    cli.run(&["deployment", "group", "create", "-g", "rg", "-f", broken])
        .expect_error(1, "broken.bicep(3,19) : Error BCP057: The name \"nmae\" does not exist in the current context.");
    let deployments = cli
        .emulator
        .call(
            Method::GET,
            &format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Resources/deployments?api-version=2025-04-01", cloudhsm_e2e_tests::SUB),
            None,
        )
        .await;
    assert_eq!(deployments.status, StatusCode::OK);
    assert_eq!(deployments.body["value"].as_array().map(Vec::len), Some(0));
}
