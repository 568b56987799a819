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

/// Waits until every delivery cursor of the emulator's outboxes has reached
/// the end of its outbox: all records acknowledged so far are delivered.
pub async fn wait_until_delivered(data_dir: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !delivered_now(data_dir) {
        assert!(
            Instant::now() < deadline,
            "diagnostics delivery did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether every delivery cursor is at the end of its outbox now (false
/// before any destination has a cursor).
pub fn delivered_now(data_dir: &std::path::Path) -> bool {
    let mut caught_up = true;
    let mut any = false;
    if let Ok(clusters) = std::fs::read_dir(data_dir.join("diagnostics")) {
        for cluster in clusters.flatten() {
            let mut end = 0u64;
            for segment in std::fs::read_dir(cluster.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = segment.file_name().to_string_lossy().into_owned();
                if let Some(base) = name
                    .strip_suffix(".jsonl")
                    .and_then(|b| b.parse::<u64>().ok())
                {
                    let len = segment.metadata().map(|m| m.len()).unwrap_or(0);
                    end = end.max(base + len);
                }
            }
            for cursor in std::fs::read_dir(cluster.path().join("cursors"))
                .into_iter()
                .flatten()
                .flatten()
            {
                if cursor.file_name().to_string_lossy().ends_with(".tmp") {
                    continue;
                }
                any = true;
                let at: u64 = std::fs::read_to_string(cursor.path())
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0);
                caught_up &= at >= end;
            }
        }
    }
    any && caught_up
}

/// The events the broker holds, hub by hub (each hub's partitions in order,
/// hubs with events by their first event's time), read from its logs under
/// the data dir (stop the emulator first). Each is a `{"records":[...]}` body.
pub fn broker_events_by_hub(data_dir: &std::path::Path) -> Vec<Vec<Value>> {
    let mut hubs: Vec<(i64, Vec<Value>)> = Vec::new();
    for hub in std::fs::read_dir(data_dir.join("event-hubs").join("hubs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let mut partitions: Vec<_> = std::fs::read_dir(hub.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|p| p.path())
            .collect();
        partitions.sort();
        let mut first = i64::MAX;
        let mut events = Vec::new();
        for partition in partitions {
            let log = cloudhsm_event_hubs::log::PartitionLog::open(&partition, Default::default())
                .expect("a partition log");
            for event in log
                .read(0, usize::MAX, usize::MAX)
                .expect("reading a partition")
            {
                assert_eq!(
                    event.partition_key, None,
                    "diagnostics set no partition key"
                );
                first = first.min(event.enqueued_ms);
                events.push(serde_json::from_slice(&event.body()).expect("an event body is JSON"));
            }
        }
        if !events.is_empty() {
            hubs.push((first, events));
        }
    }
    hubs.sort_by_key(|(first, _)| *first);
    hubs.into_iter().map(|(_, events)| events).collect()
}

/// The events of the only hub with events.
pub fn broker_events(data_dir: &std::path::Path) -> Vec<Value> {
    let mut hubs = broker_events_by_hub(data_dir);
    assert_eq!(hubs.len(), 1, "events in {} hubs", hubs.len());
    hubs.remove(0)
}

/// The records of `{"records":[...]}` events, without repeats.
pub fn records_of(events: &[Value]) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    events
        .iter()
        .flat_map(|e| e["records"].as_array().cloned().expect("a records array"))
        .filter(|r| seen.insert(r["correlationId"].to_string()))
        .collect()
}
