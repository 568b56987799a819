//! For the PKCS#11 tests and benchmark: the module built in the profile of
//! the test run, and an activated cluster with crypto user `cu1`
//! (`user1234`) described by a client configuration file as the utility's
//! `saveConfig` writes it.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use serde_json::{json, Value};

use crate::Emulator;

/// The PIN of the crypto user every PKCS#11 test logs in as.
pub const USER_PIN: &str = "cu1:user1234";
pub const OFFICER_PIN: &str = "admin:officer-password";

/// `libazcloudhsm_pkcs11.so` under the target dir, built if needed.
pub fn module_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Ok(path) = std::env::var("AZCLOUDHSM_PKCS11_MODULE") {
            return PathBuf::from(path);
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace.join("target"));
        let release = !cfg!(debug_assertions);
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "-q", "-p", "azcloudhsm-pkcs11"]);
        if release {
            build.arg("--release");
        }
        let status = build
            .current_dir(&workspace)
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building the PKCS#11 module failed");
        target
            .join(if release { "release" } else { "debug" })
            .join("libazcloudhsm_pkcs11.so")
    })
    .clone()
}

/// Activates cluster `chsm1`, creates `cu1`, and writes the client
/// configuration next to the emulator's data; answers its path.
pub async fn cluster_config(emu: &Emulator) -> PathBuf {
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .expect("officer login");
    officer
        .create_user("CU", "cu1", "user1234")
        .await
        .expect("create cu1");
    officer.logout().await.expect("officer logout");
    let data_plane: Value = serde_json::from_str(
        &std::fs::read_to_string(emu.data_dir().join("data-plane.json")).expect("data-plane.json"),
    )
    .expect("data-plane.json is JSON");
    let hsms: Vec<Value> = cluster["properties"]["hsms"]
        .as_array()
        .expect("hsms")
        .iter()
        .map(|h| h["fqdn"].clone())
        .collect();
    let path = emu.data_dir().join("azcloudhsm_client.json");
    let config = json!({
        "endpoint": data_plane["endpoint"],
        "caCertificate": data_plane["caCertificate"],
        "hsms": hsms,
        "localSocket": data_plane["localSocket"],
    });
    std::fs::write(&path, config.to_string()).expect("writing the client configuration");
    path
}

/// A copy of the configuration at `path` without `localSocket`, as on a
/// machine other than the emulator's: the module then uses the TCP
/// endpoint with TLS. Answers the copy's path.
pub fn over_the_network(path: &Path) -> PathBuf {
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("client configuration"))
            .expect("client configuration is JSON");
    config
        .as_object_mut()
        .expect("client configuration is an object")
        .remove("localSocket");
    let copy = path.with_file_name("azcloudhsm_client_tcp.json");
    std::fs::write(&copy, config.to_string()).expect("writing the client configuration");
    copy
}
