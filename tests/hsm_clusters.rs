//! The engine behind each cloudHsmClusters resource: provisioned by create,
//! reflected in `activationState`, destroyed with its keys by delete.

use cloudhsm_data_plane::{engine::store::EngineStore, Cluster, ClusterConfig};
use cloudhsm_e2e_tests::{cluster_path, group_path, Emulator, SUB};
use reqwest::{Method, StatusCode};

fn engine_id(group: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{name}")
        .to_ascii_lowercase()
}

#[tokio::test]
async fn create_provisions_activation_shows_delete_destroys() {
    let mut emu = Emulator::start().await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    assert_eq!(cluster["properties"]["activationState"], "NotActivated");
    emu.create_cluster("rg", "chsm2").await;
    let status = emu.terminate();
    assert!(status.success());

    // The emulator is stopped, so its engine store can be opened here: the
    // cluster exists, with the default pre-crypto-officer. Activate it.
    let engine_dir = emu.data_dir().join("data-plane");
    {
        let store = EngineStore::open(&engine_dir).unwrap();
        let mut ids = store.cluster_ids();
        ids.sort();
        assert_eq!(
            ids,
            vec![engine_id("rg", "chsm1"), engine_id("rg", "chsm2")]
        );
        let engine = Cluster::open(
            ClusterConfig::default(),
            store.cluster(&engine_id("rg", "chsm1"), 3).unwrap(),
        )
        .unwrap();
        cloudhsm_data_plane::onboarding::activate_cluster(&engine, "officer-password").unwrap();
        engine.stop_node(1).unwrap();
    }

    let mut emu = emu.restart().await;
    let got = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(
        got.body["properties"]["activationState"], "Active",
        "{got:?}"
    );
    let states: Vec<&str> = got.body["properties"]["hsms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["Active", "Failed", "Active"]);
    let other = emu
        .call(Method::GET, &cluster_path("rg", "chsm2"), None)
        .await;
    assert_eq!(other.body["properties"]["activationState"], "NotActivated");

    // Deleting the resource destroys the engine cluster and its keys.
    let deleted = emu
        .call(Method::DELETE, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(
        emu.wait_location(&deleted.header("location").unwrap())
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(emu.terminate().success());
    assert_eq!(
        EngineStore::open(&engine_dir).unwrap().cluster_ids(),
        vec![engine_id("rg", "chsm2")]
    );

    // So does deleting its resource group.
    let emu = emu.restart().await;
    let deleted = emu.call(Method::DELETE, &group_path("rg"), None).await;
    emu.wait_location(&deleted.header("location").unwrap())
        .await;
    let mut emu = emu;
    assert!(emu.terminate().success());
    assert!(EngineStore::open(&engine_dir)
        .unwrap()
        .cluster_ids()
        .is_empty());
}
