//! Diagnostic-settings delivery: an emulator whose storage accounts live in
//! a real Azurite, a setting on a cluster, and the delivered records read
//! back (deduplicated, since delivery is at-least-once).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    azurite::{free_port, storage_token, Azurite, ACCOUNT},
    insights_path, Emulator, SUB,
};

/// Azure Monitor's container for the cluster's category.
pub const CONTAINER: &str = "insights-logs-hsmserviceoperations";

/// An emulator told that storage accounts are at the Azurite on `port`
/// (started next with [`Azurite::start_on`], once the emulator's CA exists).
pub async fn emulator_for_azurite(extra: &[&str]) -> (Emulator, u16) {
    let port = free_port();
    let endpoint = format!("https://127.0.0.1:{port}/{{account}}");
    let mut args = vec![
        "--provisioning-delay",
        "200ms",
        "--storage-blob-endpoint",
        endpoint.as_str(),
    ];
    args.extend_from_slice(extra);
    (Emulator::start_with(&args).await, port)
}

pub fn storage_account_id(group: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}")
}

/// PUTs a diagnostic setting on `cluster` with `properties`, all logs on.
pub async fn put_setting(
    emu: &Emulator,
    group: &str,
    cluster: &str,
    name: &str,
    mut properties: Value,
) {
    if properties.get("logs").is_none() {
        properties["logs"] = json!([{ "categoryGroup": "audit", "enabled": true }]);
    }
    let reply = emu
        .call(
            Method::PUT,
            &insights_path(group, cluster, &format!("diagnosticSettings/{name}")),
            Some(json!({ "properties": properties })),
        )
        .await;
    assert!(reply.status.is_success(), "{reply:?}");
}

/// A token Azurite takes for reading (any identity's: Azurite checks the
/// token, not roles).
pub async fn reader_token(emu: &Emulator, group: &str) -> String {
    let identity = emu.put_identity(group, "log-reader").await;
    storage_token(emu, &identity).await
}

/// Names of the blobs in the container (empty when it does not exist).
pub async fn blob_names(azurite: &Azurite, token: &str) -> Vec<String> {
    let url = format!(
        "{}?restype=container&comp=list",
        azurite.container_uri(CONTAINER)
    );
    let (status, body) = azurite.raw_get(token, url).await;
    if !status.is_success() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&body);
    text.split("<Name>")
        .skip(1)
        .filter_map(|s| s.split("</Name>").next())
        .map(str::to_string)
        .collect()
}

/// Every record in the container's blobs, one per line, in blob then line
/// order, without the repeats an at-least-once retry may add.
pub async fn delivered_records(azurite: &Azurite, token: &str) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut names = blob_names(azurite, token).await;
    names.sort();
    for name in names {
        let (status, body) = azurite.get_blob(token, CONTAINER, &name).await;
        assert!(status.is_success(), "reading {name}: {status}");
        for line in String::from_utf8_lossy(&body).lines() {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a blob line is not JSON ({e}): {line}"));
            if seen.insert(record["correlationId"].to_string()) {
                out.push(record);
            }
        }
    }
    out
}

/// Waits until `count` records with an operation name in `names` arrived
/// and returns them all.
pub async fn wait_for_records(
    azurite: &Azurite,
    token: &str,
    wanted: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let records = delivered_records(azurite, token).await;
        if wanted(&records) {
            return records;
        }
        assert!(
            Instant::now() < deadline,
            "the records did not arrive; delivered so far: {:#?}",
            operation_names(&records)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn operation_names(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["operationName"].as_str().unwrap_or_default().to_string())
        .collect()
}
