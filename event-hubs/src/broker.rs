//! The broker: the logs of every hub's partitions and the one publish path.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use tokio::sync::watch;

use crate::{
    directory::{Directory, DirectoryError, HubInfo},
    log::{LogOptions, PartitionLog, PartitionState, StartPosition, StoredEvent},
    message::{self, IncomingEvent},
};

/// An event to publish.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventData {
    pub body: Vec<u8>,
    /// Shown to consumers as the event's application properties.
    pub application_properties: Vec<(String, serde_json::Value)>,
    /// Events with the same key go to the same partition.
    pub partition_key: Option<String>,
}

/// An event read from a partition.
pub type ReceivedEvent = StoredEvent;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("The messaging entity '{namespace}/{hub}' could not be found.")]
    HubNotFound { namespace: String, hub: String },
    #[error("The partition '{partition}' of event hub '{hub}' does not exist: its partitions are 0 to {}.", count.saturating_sub(1))]
    PartitionNotFound {
        hub: String,
        partition: String,
        count: u32,
    },
    #[error("The consumer group '{group}' of event hub '{hub}' could not be found.")]
    ConsumerGroupNotFound { hub: String, group: String },
    #[error("The event log failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("The directory failed: {0}")]
    Directory(#[from] DirectoryError),
    #[error("{0}")]
    Malformed(#[from] message::MalformedMessage),
    /// The broker is paused (an injected fault): nothing is appended.
    #[error("The service is busy (the emulator's broker is paused); please retry the operation.")]
    Paused,
}

#[derive(Debug, Clone)]
pub struct BrokerOptions {
    pub log: LogOptions,
    /// How often the background flusher syncs and applies retention.
    pub maintenance_interval: Duration,
    /// `host:port` of the AMQP listener, for the connection strings the
    /// control plane shows (`Endpoint=sb://{this}/`).
    pub amqp_endpoint: Option<String>,
    /// `https://host:port` of the REST send API.
    pub rest_endpoint: Option<String>,
    /// An AMQP connection on which nothing happens this long (no frame but
    /// heartbeats from the client, no event sent to it) is closed with
    /// `amqp:connection:forced`, as the service's link tracker does after
    /// five minutes; the SDKs reconnect when they next need it.
    pub idle_connection_timeout: Duration,
}

impl Default for BrokerOptions {
    fn default() -> Self {
        BrokerOptions {
            log: LogOptions::default(),
            maintenance_interval: Duration::from_secs(1),
            amqp_endpoint: None,
            rest_endpoint: None,
            idle_connection_timeout: Duration::from_secs(300),
        }
    }
}

/// A partition's log and the signal live receivers wait on.
pub struct Partition {
    pub(crate) log: Mutex<PartitionLog>,
    /// The next sequence number: changes on every append.
    appended: watch::Sender<i64>,
}

struct HubLog {
    uid: String,
    retention: Mutex<Duration>,
    partitions: Vec<Arc<Partition>>,
}

struct Inner {
    dir: PathBuf,
    directory: Arc<dyn Directory>,
    options: BrokerOptions,
    hubs: Mutex<HashMap<String, Arc<HubLog>>>,
    round_robin: AtomicUsize,
    /// While set, appends are refused: `Some(None)` until resumed,
    /// `Some(Some(t))` until `t`.
    paused: Mutex<Option<Option<Instant>>>,
}

/// The Event Hubs broker; cheap to clone.
#[derive(Clone)]
pub struct Broker(Arc<Inner>);

/// What `$management` answers for a partition.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionInfo {
    pub hub: HubInfo,
    pub partition: u32,
    pub state: PartitionState,
}

/// A directory name for a hub's uid: only characters safe in a path.
fn uid_dir(uid: &str) -> String {
    uid.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The partition for a key: a stable hash, so a key keeps its partition
/// across restarts (FNV-1a; Azure's own hash is not documented).
fn partition_for_key(key: &str, count: u32) -> u32 {
    let mut hash: u32 = 0x811c9dc5;
    for byte in key.as_bytes() {
        hash ^= *byte as u32;
        hash = hash.wrapping_mul(0x01000193);
    }
    hash % count.max(1)
}

impl Broker {
    pub fn open(dir: &Path, directory: Arc<dyn Directory>) -> Result<Broker, BrokerError> {
        Self::open_with(dir, directory, BrokerOptions::default())
    }

    pub fn open_with(
        dir: &Path,
        directory: Arc<dyn Directory>,
        options: BrokerOptions,
    ) -> Result<Broker, BrokerError> {
        std::fs::create_dir_all(dir.join("hubs"))?;
        let broker = Broker(Arc::new(Inner {
            dir: dir.to_path_buf(),
            directory,
            options,
            hubs: Mutex::new(HashMap::new()),
            round_robin: AtomicUsize::new(0),
            paused: Mutex::new(None),
        }));
        broker.remove_deleted_hubs()?;
        let maintenance_interval = broker.0.options.maintenance_interval;
        let weak = Arc::downgrade(&broker.0);
        // A plain thread: the broker works with or without a tokio runtime.
        std::thread::Builder::new()
            .name("event-hubs-maintenance".into())
            .spawn(move || loop {
                std::thread::sleep(maintenance_interval);
                let Some(inner) = weak.upgrade() else { return };
                if let Err(e) = Broker(inner).maintain() {
                    tracing::warn!("event log maintenance failed: {e}");
                }
            })?;
        Ok(broker)
    }

    /// See [`BrokerOptions::idle_connection_timeout`].
    pub fn idle_connection_timeout(&self) -> Duration {
        self.0.options.idle_connection_timeout
    }

    /// `host:port` where the AMQP listener is reached, when it is listening.
    pub fn amqp_endpoint(&self) -> Option<&str> {
        self.0.options.amqp_endpoint.as_deref()
    }

    /// `https://host:port` of the REST send API, when it is listening.
    pub fn rest_endpoint(&self) -> Option<&str> {
        self.0.options.rest_endpoint.as_deref()
    }

    /// Refuses every append (`BrokerError::Paused`) until [`Self::resume`],
    /// or for `duration`: an injected outage for testing senders' retries.
    /// Readers keep reading what is in the logs.
    pub fn pause(&self, duration: Option<Duration>) {
        *self.paused_lock() = Some(duration.map(|d| Instant::now() + d));
    }

    pub fn resume(&self) {
        *self.paused_lock() = None;
    }

    /// Whether appends are refused now, and for how long yet (`None`: until
    /// resumed).
    pub fn paused(&self) -> Option<Option<Duration>> {
        let mut paused = self.paused_lock();
        match *paused {
            Some(Some(until)) => match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(Some(left)),
                _ => {
                    *paused = None;
                    None
                }
            },
            Some(None) => Some(None),
            None => None,
        }
    }

    fn paused_lock(&self) -> std::sync::MutexGuard<'_, Option<Option<Instant>>> {
        self.0.paused.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.0.directory
    }

    /// The hub or `HubNotFound`.
    pub fn hub(&self, namespace: &str, hub: &str) -> Result<HubInfo, BrokerError> {
        self.0
            .directory
            .hub(namespace, hub)?
            .ok_or_else(|| BrokerError::HubNotFound {
                namespace: namespace.to_string(),
                hub: hub.to_string(),
            })
    }

    fn hub_log(&self, info: &HubInfo) -> Result<Arc<HubLog>, BrokerError> {
        let mut hubs = self.0.hubs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(log) = hubs.get(&info.uid) {
            if log.partitions.len() >= info.partition_count as usize {
                *log.retention.lock().unwrap_or_else(|p| p.into_inner()) = info.retention;
                return Ok(log.clone());
            }
        }
        // First use, or the hub has gained partitions (Premium).
        let existing = hubs
            .get(&info.uid)
            .map(|l| l.partitions.clone())
            .unwrap_or_default();
        let mut partitions = existing;
        for p in partitions.len()..info.partition_count as usize {
            let dir = self
                .0
                .dir
                .join("hubs")
                .join(uid_dir(&info.uid))
                .join(p.to_string());
            let log = PartitionLog::open(&dir, self.0.options.log)?;
            let (appended, _) = watch::channel(log.next_sequence());
            partitions.push(Arc::new(Partition {
                log: Mutex::new(log),
                appended,
            }));
        }
        let log = Arc::new(HubLog {
            uid: info.uid.clone(),
            retention: Mutex::new(info.retention),
            partitions,
        });
        hubs.insert(info.uid.clone(), log.clone());
        Ok(log)
    }

    pub(crate) fn partition(
        &self,
        info: &HubInfo,
        partition: &str,
    ) -> Result<Arc<Partition>, BrokerError> {
        let not_found = || BrokerError::PartitionNotFound {
            hub: info.name.clone(),
            partition: partition.to_string(),
            count: info.partition_count,
        };
        let index: usize = partition.parse().map_err(|_| not_found())?;
        if partition != index.to_string() {
            return Err(not_found());
        }
        self.hub_log(info)?
            .partitions
            .get(index)
            .cloned()
            .ok_or_else(not_found)
    }

    /// Appends the events to one partition of `namespace/hub` (round-robin
    /// when they have no partition key, by the first one's key otherwise),
    /// in order; when it returns Ok they survive `kill -9` of the process.
    pub fn publish(
        &self,
        namespace: &str,
        hub: &str,
        events: Vec<EventData>,
    ) -> Result<(), BrokerError> {
        let incoming = events
            .into_iter()
            .map(|e| IncomingEvent {
                partition_key: e.partition_key,
                sections: message::encode_event_sections(&e.application_properties, &e.body),
            })
            .collect();
        let info = self.hub(namespace, hub)?;
        self.append(&info, None, incoming).map(drop)
    }

    /// Appends encoded events to `partition`, or to the one their key (or
    /// the round-robin) picks. Returns the partition and sequence numbers.
    pub fn append(
        &self,
        info: &HubInfo,
        partition: Option<&str>,
        events: Vec<IncomingEvent>,
    ) -> Result<Option<(u32, i64, i64)>, BrokerError> {
        if self.paused().is_some() {
            return Err(BrokerError::Paused);
        }
        if events.is_empty() {
            return Ok(None);
        }
        let index = match partition {
            Some(p) => p.to_string(),
            None => match &events[0].partition_key {
                Some(key) => partition_for_key(key, info.partition_count).to_string(),
                None => (self.0.round_robin.fetch_add(1, Ordering::Relaxed)
                    % info.partition_count.max(1) as usize)
                    .to_string(),
            },
        };
        let target = self.partition(info, &index)?;
        let records: Vec<(Option<String>, Vec<u8>)> = events
            .into_iter()
            .map(|e| (e.partition_key, e.sections))
            .collect();
        let appended = {
            let mut log = target.log.lock().unwrap_or_else(|p| p.into_inner());
            let range = log.append(&records, Utc::now().timestamp_millis())?;
            target.appended.send_replace(log.next_sequence());
            range
        };
        Ok(appended.map(|(first, last)| (index.parse().unwrap_or(0), first, last)))
    }

    pub fn partition_info(
        &self,
        info: &HubInfo,
        partition: &str,
    ) -> Result<PartitionInfo, BrokerError> {
        let target = self.partition(info, partition)?;
        let state = target.log.lock().unwrap_or_else(|p| p.into_inner()).state();
        Ok(PartitionInfo {
            hub: info.clone(),
            partition: partition.parse().unwrap_or(0),
            state,
        })
    }

    /// A reader's first sequence number for `start`, and the signal that
    /// changes on each append to that partition.
    pub fn position(
        &self,
        info: &HubInfo,
        partition: &str,
        start: &StartPosition,
    ) -> Result<(i64, watch::Receiver<i64>), BrokerError> {
        let target = self.partition(info, partition)?;
        let log = target.log.lock().unwrap_or_else(|p| p.into_inner());
        Ok((log.first_sequence_for(start), target.appended.subscribe()))
    }

    /// Events from `from_sequence` on (none yet: empty).
    pub fn read(
        &self,
        info: &HubInfo,
        partition: &str,
        from_sequence: i64,
        max_events: usize,
    ) -> Result<Vec<ReceivedEvent>, BrokerError> {
        let target = self.partition(info, partition)?;
        let log = target.log.lock().unwrap_or_else(|p| p.into_inner());
        Ok(log.read(from_sequence, max_events, 1024 * 1024)?)
    }

    /// Syncs what is unsynced, applies retention, forgets deleted hubs.
    fn maintain(&self) -> Result<(), BrokerError> {
        let hubs: Vec<Arc<HubLog>> = self
            .0
            .hubs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let now = Utc::now().timestamp_millis();
        for hub in hubs {
            let retention = *hub.retention.lock().unwrap_or_else(|p| p.into_inner());
            for partition in &hub.partitions {
                let mut log = partition.log.lock().unwrap_or_else(|p| p.into_inner());
                log.sync()?;
                log.prune(retention, now)?;
            }
        }
        self.remove_deleted_hubs()
    }

    /// Deletes the logs of hubs that no longer exist: a hub made again under
    /// the same name has a new uid and starts empty.
    fn remove_deleted_hubs(&self) -> Result<(), BrokerError> {
        let live: std::collections::HashSet<String> = self
            .0
            .directory
            .hub_uids()?
            .iter()
            .map(|u| uid_dir(u))
            .collect();
        self.0
            .hubs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|uid, _| live.contains(&uid_dir(uid)));
        for entry in std::fs::read_dir(self.0.dir.join("hubs"))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !live.contains(&name) {
                tracing::info!(hub = %name, "deleting the event log of a deleted event hub");
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        Ok(())
    }
}

impl HubLog {
    #[allow(dead_code)]
    fn uid(&self) -> &str {
        &self.uid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{AccessRule, Rights};

    #[derive(Default)]
    pub struct FixedDirectory {
        pub hubs: Mutex<Vec<HubInfo>>,
    }
    impl Directory for FixedDirectory {
        fn hub(&self, namespace: &str, name: &str) -> Result<Option<HubInfo>, DirectoryError> {
            Ok(self
                .hubs
                .lock()
                .unwrap()
                .iter()
                .find(|h| h.namespace == namespace && h.name == name)
                .cloned())
        }
        fn rules_named(&self, _: &str) -> Result<Vec<AccessRule>, DirectoryError> {
            Ok(vec![AccessRule {
                namespace: "ns".into(),
                hub: None,
                key_name: "k".into(),
                primary_key: "p".into(),
                secondary_key: "s".into(),
                rights: Rights::default(),
            }])
        }
        fn hub_uids(&self) -> Result<Vec<String>, DirectoryError> {
            Ok(self
                .hubs
                .lock()
                .unwrap()
                .iter()
                .map(|h| h.uid.clone())
                .collect())
        }
    }

    fn hub(uid: &str, partitions: u32) -> HubInfo {
        HubInfo {
            uid: uid.into(),
            namespace: "ns".into(),
            name: "orders".into(),
            partition_count: partitions,
            retention: Duration::from_secs(3600),
            created_at: Utc::now(),
            consumer_groups: vec!["$Default".into()],
        }
    }

    #[test]
    fn publish_spreads_keyless_events_and_keeps_a_key_on_one_partition() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Arc::new(FixedDirectory::default());
        directory.hubs.lock().unwrap().push(hub("uid-1", 2));
        let broker = Broker::open(dir.path(), directory.clone()).unwrap();
        for i in 0..4 {
            let event = EventData {
                body: format!("e{i}").into_bytes(),
                ..Default::default()
            };
            broker.publish("ns", "orders", vec![event]).unwrap();
        }
        let info = broker.hub("ns", "orders").unwrap();
        assert_eq!(broker.read(&info, "0", 0, 10).unwrap().len(), 2);
        assert_eq!(broker.read(&info, "1", 0, 10).unwrap().len(), 2);
        let keyed = |body: &str| EventData {
            body: body.as_bytes().to_vec(),
            application_properties: vec![("n".into(), serde_json::json!(1))],
            partition_key: Some("tenant-7".into()),
        };
        broker
            .publish("ns", "orders", vec![keyed("x"), keyed("y")])
            .unwrap();
        let p = partition_for_key("tenant-7", 2).to_string();
        let read = broker.read(&info, &p, 2, 10).unwrap();
        assert_eq!(
            read.iter().map(|e| e.body()).collect::<Vec<_>>(),
            [b"x".to_vec(), b"y".to_vec()]
        );
        assert!(matches!(
            broker.publish("ns", "missing", vec![EventData::default()]),
            Err(BrokerError::HubNotFound { .. })
        ));
        assert!(matches!(
            broker.partition(&info, "2"),
            Err(BrokerError::PartitionNotFound { .. })
        ));
        assert!(matches!(
            broker.partition(&info, "01"),
            Err(BrokerError::PartitionNotFound { .. })
        ));
    }

    #[test]
    fn a_paused_broker_refuses_appends_until_resumed_or_its_time_is_up() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Arc::new(FixedDirectory::default());
        directory.hubs.lock().unwrap().push(hub("uid-1", 1));
        let broker = Broker::open(dir.path(), directory.clone()).unwrap();
        let event = || vec![EventData::default()];
        broker.pause(None);
        assert_eq!(broker.paused(), Some(None));
        assert!(matches!(
            broker.publish("ns", "orders", event()),
            Err(BrokerError::Paused)
        ));
        let info = broker.hub("ns", "orders").unwrap();
        assert!(
            broker.read(&info, "0", 0, 10).unwrap().is_empty(),
            "nothing half-appended"
        );
        broker.resume();
        broker.publish("ns", "orders", event()).unwrap();
        broker.pause(Some(Duration::from_millis(50)));
        assert!(broker.publish("ns", "orders", event()).is_err());
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(broker.paused(), None);
        broker.publish("ns", "orders", event()).unwrap();
        assert_eq!(broker.read(&info, "0", 0, 10).unwrap().len(), 2);
    }

    #[test]
    fn a_recreated_hub_starts_empty_and_events_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Arc::new(FixedDirectory::default());
        directory.hubs.lock().unwrap().push(hub("uid-1", 1));
        {
            let broker = Broker::open(dir.path(), directory.clone()).unwrap();
            broker
                .publish(
                    "ns",
                    "orders",
                    vec![EventData {
                        body: b"kept".to_vec(),
                        ..Default::default()
                    }],
                )
                .unwrap();
        }
        let broker = Broker::open(dir.path(), directory.clone()).unwrap();
        let info = broker.hub("ns", "orders").unwrap();
        assert_eq!(broker.read(&info, "0", 0, 10).unwrap()[0].body(), b"kept");
        // Deleted and made again: a new uid.
        *directory.hubs.lock().unwrap() = vec![hub("uid-2", 1)];
        broker.remove_deleted_hubs().unwrap();
        let info = broker.hub("ns", "orders").unwrap();
        assert!(broker.read(&info, "0", 0, 10).unwrap().is_empty());
        assert!(!dir.path().join("hubs/uid-1").exists());
    }
}
