//! Driving the backup and restore operations over ARM.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{Emulator, Reply, HSM_API, SUB};

pub fn action_path(group: &str, name: &str, action: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{name}/{action}?api-version={HSM_API}"
    )
}

/// POSTs `action` (`backup`, `restore`, `validateBackupProperties`, ...).
pub async fn post(
    emulator: &Emulator,
    group: &str,
    name: &str,
    action: &str,
    body: Value,
) -> Reply {
    emulator
        .call(Method::POST, &action_path(group, name, action), Some(body))
        .await
}

/// Starts `action` and waits for it: asserts the 202 and its headers and
/// returns the final operation status (with `properties`, the result).
pub async fn run(emulator: &Emulator, group: &str, name: &str, action: &str, body: Value) -> Value {
    let reply = post(emulator, group, name, action, body).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    assert!(
        reply.header("retry-after").is_some(),
        "no Retry-After: {reply:?}"
    );
    // The SDK pollers read `retry-after-ms` first: a sub-second hint, so a
    // short job is not stretched to a second per poll.
    let hint: u64 = reply
        .header("retry-after-ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric retry-after-ms: {reply:?}"));
    assert!((10..=1000).contains(&hint), "retry-after-ms {hint}");
    assert!(reply.header("location").is_some(), "no Location: {reply:?}");
    let status_url = reply
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    emulator.wait_async_operation(&status_url).await
}

pub fn backup_body(container_uri: &str) -> Value {
    json!({ "azureStorageBlobContainerUri": container_uri })
}

pub fn restore_body(container_uri: &str, backup_id: &str) -> Value {
    json!({ "azureStorageBlobContainerUri": container_uri, "backupId": backup_id })
}
