//! Delivery of the HSM operation log to diagnostic settings' destinations:
//! audit events -> resource-log records -> durable outbox -> sinks (Event
//! Hub, blob), as Azure Monitor delivers resource logs.
//!
//! - [`ClusterLog`] is the engine's [`AuditSink`] of one cluster. While the
//!   cluster has an enabled setting it renders each event as a record and
//!   appends it to the cluster's [`outbox::Outbox`] before the operation
//!   returns; otherwise it does nothing (one atomic load).
//! - [`Diagnostics::sync_cluster`] turns the cluster's stored settings into
//!   delivery workers, one per (setting, destination), each with its own
//!   cursor, so a destination that is down holds up only itself. A new
//!   setting's cursor starts at the end: no backfill, as in Azure.
//! - A worker wakes every `--diagnostics-batch-interval`, fsyncs the outbox,
//!   delivers what is past its cursor, and moves the cursor only once the
//!   destination took it; failures are retried with exponential backoff
//!   (hub deleted, Azurite down) until they succeed or the setting goes.

pub mod broker_adapter;
pub mod outbox;
pub mod record;
pub mod sinks;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, OnceLock, RwLock,
    },
    time::Duration,
};

use cloudhsm_data_plane::engine::audit::{AuditEvent, AuditSink};
use serde_json::Value;

use crate::{
    arm::resource_id::storage_key,
    providers::{
        cloud_hsm::model::StoredCluster, insights::diagnostic_settings::StoredDiagnosticSetting,
    },
    state::AppState,
};
use outbox::Outbox;
use record::RecordContext;
use sinks::{
    blob::BlobAccounts,
    event_hub::{EventHubPublisher, EventHubSink},
    Sink,
};

/// Records read per delivery batch, at most.
const MAX_BATCH_BYTES: u64 = 4 * 1024 * 1024;
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(10);
/// How often settings removed with their cluster or group are noticed.
const RECONCILE_EVERY: Duration = Duration::from_secs(2);

/// The flags.
#[derive(Clone)]
pub struct DiagnosticsOptions {
    pub batch_interval: Duration,
    pub max_backlog_bytes: u64,
    pub blob_endpoint: String,
    pub storage_account_key: String,
}

/// Azurite's blob endpoint, path style.
pub const DEFAULT_BLOB_ENDPOINT: &str = "http://127.0.0.1:10000/{account}";
/// Azurite's well-known `devstoreaccount1` key (public, documented by
/// Microsoft for the storage emulators).
pub const AZURITE_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// One cluster's operation log: the engine's sink and the outbox behind it.
pub struct ClusterLog {
    key: String,
    dir: PathBuf,
    max_backlog: u64,
    /// Some enabled setting listens: records are written.
    active: AtomicBool,
    context: RwLock<Option<Arc<RecordContext>>>,
    outbox: Mutex<Option<Outbox>>,
}

impl ClusterLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Outbox>> {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The outbox, opened on first use.
    fn with_outbox<T>(
        &self,
        f: impl FnOnce(&mut Outbox) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut guard = self.lock();
        if guard.is_none() {
            *guard = Some(Outbox::open(&self.dir, self.max_backlog)?);
            let _ = std::fs::write(self.dir.join("cluster.txt"), &self.key);
        }
        match guard.as_mut() {
            Some(outbox) => f(outbox),
            None => Err("the outbox is not open".into()),
        }
    }

    /// Lines past `position` (at most one batch) and the position after them.
    fn read(&self, position: u64) -> Result<(Vec<String>, u64), String> {
        let located = self.with_outbox(|o| Ok((o.locate(position), o.current_file()?)))?;
        match located {
            (None, _) => Ok((Vec::new(), position)),
            (Some((path, offset, available)), current) => {
                // A batch boundary: what is delivered is on disk first. Off
                // the lock, so operations keep appending meanwhile.
                current
                    .sync_data()
                    .map_err(|e| format!("syncing the outbox: {e}"))?;
                let (lines, used) = outbox::read_lines(&path, offset, available, MAX_BATCH_BYTES)?;
                // Positions are global: the segment's first offset plus the
                // offset in it (past a cleaned-up segment if need be).
                let segment_start = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0);
                Ok((lines, segment_start + offset + used))
            }
        }
    }
}

impl AuditSink for ClusterLog {
    fn record(&self, event: &AuditEvent) -> Result<(), String> {
        if !self.active.load(Ordering::Acquire) {
            return Ok(());
        }
        let context = self
            .context
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(context) = context else {
            return Ok(());
        };
        let line = record::render(&context, event);
        self.with_outbox(|o| o.append(&line, &self.key)).map(|_| ())
    }
}

struct Worker {
    /// What it delivers to; a change restarts the worker (same cursor).
    fingerprint: String,
    stop: Arc<AtomicBool>,
}

pub struct Diagnostics {
    dir: PathBuf,
    options: DiagnosticsOptions,
    blob_accounts: BlobAccounts,
    logs: Mutex<HashMap<String, Arc<ClusterLog>>>,
    /// By cluster key, then cursor name.
    workers: tokio::sync::Mutex<HashMap<String, HashMap<String, Worker>>>,
    publisher: OnceLock<Arc<dyn EventHubPublisher>>,
}

/// What one (setting, destination) pair delivers to.
struct Destination {
    cursor: String,
    fingerprint: String,
    sink: Arc<dyn Sink>,
}

/// A cursor file name: the setting's name (hex, any characters are safe)
/// and the destination kind.
fn cursor_name(setting: &str, kind: &str) -> String {
    let hex: String = setting
        .to_ascii_lowercase()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}.{kind}")
}

/// Whether a setting sends the cluster's one category: an enabled entry
/// for `HsmServiceOperations` or for a group holding it (`allLogs`, `audit`).
fn logs_enabled(properties: &Value) -> bool {
    properties["logs"].as_array().is_some_and(|logs| {
        logs.iter()
            .any(|entry| entry["enabled"].as_bool() == Some(true))
    })
}

impl Diagnostics {
    pub fn new(
        data_dir: &std::path::Path,
        options: DiagnosticsOptions,
        http: reqwest013::Client,
    ) -> Arc<Self> {
        Arc::new(Self {
            dir: data_dir.join("diagnostics"),
            blob_accounts: BlobAccounts {
                http,
                endpoint_template: options.blob_endpoint.clone(),
                account_key: options.storage_account_key.clone(),
            },
            options,
            logs: Mutex::new(HashMap::new()),
            workers: tokio::sync::Mutex::new(HashMap::new()),
            publisher: OnceLock::new(),
        })
    }

    /// The log of the cluster stored under `key` (the engine's sink).
    pub fn cluster_log(&self, key: &str) -> Arc<ClusterLog> {
        let key = key.to_ascii_lowercase();
        self.logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_insert_with(|| {
                let folder = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes());
                Arc::new(ClusterLog {
                    dir: self.dir.join(folder.to_string()),
                    key,
                    max_backlog: self.options.max_backlog_bytes,
                    active: AtomicBool::new(false),
                    context: RwLock::new(None),
                    outbox: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Drops a destroyed cluster's log entry (entries were never removed:
    /// each cluster ever created kept one). Delivery, if any ran, stops with
    /// its settings, which go with the cluster.
    pub fn forget_cluster(&self, key: &str) {
        self.logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key.to_ascii_lowercase());
    }

    /// What [`crate::hsm_clusters::HsmClusters`] gives every cluster.
    pub fn audit_sinks(self: &Arc<Self>) -> crate::hsm_clusters::AuditSinks {
        let this = self.clone();
        Arc::new(move |key: &str| this.cluster_log(key) as Arc<dyn AuditSink>)
    }

    /// Starts delivery for the stored settings and keeps it in step with
    /// settings removed along with their cluster or group.
    pub async fn start(self: &Arc<Self>, state: AppState, publisher: Arc<dyn EventHubPublisher>) {
        let _ = self.publisher.set(publisher);
        self.reconcile(&state).await;
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECONCILE_EVERY).await;
                this.reconcile(&state).await;
            }
        });
    }

    /// Every cluster with settings, or with delivery running, or with an
    /// outbox on disk from before a restart.
    async fn reconcile(&self, state: &AppState) {
        let mut clusters: Vec<String> =
            match state
                .store
                .list::<StoredDiagnosticSetting>("", None, usize::MAX)
            {
                Ok(settings) => settings
                    .into_iter()
                    .filter_map(|(_, s)| {
                        s.id.to_ascii_lowercase()
                            .split("/providers/microsoft.insights/")
                            .next()
                            .map(str::to_string)
                    })
                    .collect(),
                Err(e) => {
                    tracing::warn!("diagnostics: reading the settings: {e}");
                    return;
                }
            };
        clusters.extend(self.workers.lock().await.keys().cloned());
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                if let Ok(key) = std::fs::read_to_string(entry.path().join("cluster.txt")) {
                    clusters.push(key);
                }
            }
        }
        clusters.sort();
        clusters.dedup();
        for cluster in clusters {
            self.sync_cluster(state, &cluster).await;
        }
    }

    fn destinations(
        &self,
        cluster_id: &str,
        setting: &StoredDiagnosticSetting,
    ) -> Vec<Destination> {
        let properties = &setting.properties;
        let mut out = Vec::new();
        let set = |name: &str| {
            properties[name]
                .as_str()
                .filter(|v| !v.trim().is_empty())
                .map(str::to_string)
        };
        if let Some(account_id) = set("storageAccountId") {
            let account = account_id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            match self.blob_accounts.sink(&account, cluster_id) {
                Ok(sink) => out.push(Destination {
                    cursor: cursor_name(&setting.name, "blob"),
                    fingerprint: format!("blob:{}", account_id.to_ascii_lowercase()),
                    sink: Arc::new(sink),
                }),
                Err(e) => tracing::error!("diagnostics: {e}"),
            }
        }
        if let (Some(rule), Some(publisher)) =
            (set("eventHubAuthorizationRuleId"), self.publisher.get())
        {
            let hub = set("eventHubName");
            out.push(Destination {
                cursor: cursor_name(&setting.name, "eventhub"),
                fingerprint: format!(
                    "eventhub:{}:{}",
                    rule.to_ascii_lowercase(),
                    hub.clone().unwrap_or_default().to_ascii_lowercase()
                ),
                sink: Arc::new(EventHubSink::new(publisher.clone(), &rule, hub.as_deref())),
            });
        }
        out
    }

    /// Brings a cluster's delivery in line with its stored settings: call
    /// after a setting is written or deleted.
    pub async fn sync_cluster(&self, state: &AppState, cluster_id: &str) {
        let key = storage_key(cluster_id);
        let log = self.cluster_log(&key);
        let cluster = state.store.get::<StoredCluster>(&key).ok().flatten();
        let settings = match &cluster {
            Some(_) => state
                .store
                .list::<StoredDiagnosticSetting>(
                    &storage_key(&format!(
                        "{key}/providers/microsoft.insights/diagnosticSettings/"
                    )),
                    None,
                    usize::MAX,
                )
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let mut desired: HashMap<String, Destination> = HashMap::new();
        if let Some(cluster) = &cluster {
            *log.context.write().unwrap_or_else(|p| p.into_inner()) =
                Some(Arc::new(RecordContext::new(
                    &cluster.resource.id,
                    &cluster.resource.location,
                    &cluster.resource.sku.name,
                )));
            for (_, setting) in settings.iter().filter(|(_, s)| logs_enabled(&s.properties)) {
                for destination in self.destinations(&cluster.resource.id, setting) {
                    desired.insert(destination.cursor.clone(), destination);
                }
            }
        }
        let mut workers = self.workers.lock().await;
        let running = workers.entry(key.clone()).or_default();
        running.retain(|cursor, worker| {
            let keep = desired
                .get(cursor)
                .is_some_and(|d| d.fingerprint == worker.fingerprint);
            if !keep {
                worker.stop.store(true, Ordering::Release);
            }
            keep
        });
        if desired.is_empty() {
            log.active.store(false, Ordering::Release);
            workers.remove(&key);
            // Nothing listens: the records and cursors can go.
            let mut guard = log.lock();
            *guard = None;
            drop(guard);
            if log.dir.exists() {
                let _ = std::fs::remove_dir_all(&log.dir);
            }
            return;
        }
        // Cursors of destinations no longer there.
        let stale: Vec<String> = log
            .with_outbox(|o| Ok(o.cursor_names()))
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !desired.contains_key(c))
            .collect();
        for cursor in stale {
            let _ = log.with_outbox(|o| {
                o.remove_cursor(&cursor);
                Ok(())
            });
        }
        for (cursor, destination) in desired {
            if running.contains_key(&cursor) {
                continue;
            }
            let start = match log.with_outbox(|o| o.add_cursor(&cursor)) {
                Ok(start) => start,
                Err(e) => {
                    tracing::error!(cluster = key, "diagnostics: starting delivery: {e}");
                    continue;
                }
            };
            let stop = Arc::new(AtomicBool::new(false));
            running.insert(
                cursor.clone(),
                Worker {
                    fingerprint: destination.fingerprint.clone(),
                    stop: stop.clone(),
                },
            );
            tokio::spawn(deliver(
                log.clone(),
                cursor,
                start,
                destination.sink,
                self.options.batch_interval,
                stop,
            ));
        }
        log.active.store(true, Ordering::Release);
    }
}

/// One destination's delivery loop.
async fn deliver(
    log: Arc<ClusterLog>,
    cursor: String,
    mut position: u64,
    sink: Arc<dyn Sink>,
    interval: Duration,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Acquire) {
        tokio::time::sleep(interval).await;
        let (records, next) = match log.read(position) {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(cluster = log.key, "diagnostics: reading the outbox: {e}");
                continue;
            }
        };
        if records.is_empty() {
            position = next;
            continue;
        }
        let mut delay = FIRST_RETRY;
        let mut failures = 0u32;
        loop {
            if stop.load(Ordering::Acquire) {
                return;
            }
            match sink.deliver(&records).await {
                Ok(()) => break,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(
                            cluster = log.key,
                            destination = sink.describe(),
                            attempts = failures,
                            "diagnostics: delivery failed, retrying: {e}"
                        );
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(LONGEST_RETRY);
                }
            }
        }
        if failures > 0 {
            tracing::info!(
                cluster = log.key,
                destination = sink.describe(),
                "diagnostics: delivering again"
            );
        }
        if stop.load(Ordering::Acquire) {
            return;
        }
        position = next;
        if let Err(e) = log.with_outbox(|o| o.set_cursor(&cursor, position)) {
            tracing::error!(cluster = log.key, "diagnostics: saving the cursor: {e}");
        }
    }
}
