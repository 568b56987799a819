//! Cluster activation for tests that need an active cluster. Today a cluster
//! activates when the pre-crypto-officer `admin` changes its default
//! password; when activation also needs the PO/POAC certificate steps, swap
//! the body of [`activate`] for that flow and every caller follows.

use serde_json::Value;

use crate::Emulator;

/// Activates `cluster`; `admin` becomes a crypto officer with `password`.
pub async fn activate(emulator: &Emulator, cluster: &Value, password: &str) {
    let officer = emulator.hsm_client(cluster);
    officer
        .login("PRECO", "admin", "password")
        .await
        .expect("PRECO login");
    officer
        .change_password("admin", password)
        .await
        .expect("activation by password change");
    let _ = officer.logout().await;
}
