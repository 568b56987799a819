//! The engine clusters behind `cloudHsmClusters`: provisioned when a create
//! finishes, destroyed (key material included) when a delete does. The
//! control plane reads activation and node health from them.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
};

use cloudhsm_data_plane::{
    engine::{audit::AuditSink, store::EngineStore},
    Cluster, ClusterConfig, EngineError,
};

/// The audit sink of the cluster stored under a key (the diagnostics
/// outbox of that cluster).
pub type AuditSinks = Arc<dyn Fn(&str) -> Arc<dyn AuditSink> + Send + Sync>;

use crate::arm::resource_id::storage_key;

pub struct HsmClusters {
    store: EngineStore,
    /// The emulator-wide backup key (see `backup_format`).
    backup_key: [u8; 32],
    config: ClusterConfig,
    open: Mutex<HashMap<String, Arc<Cluster>>>,
    /// Clusters whose deletion has started: no longer served, whatever the
    /// engine store still holds until the deletion finishes.
    retired: Mutex<HashSet<String>>,
    /// Given to every cluster opened, so its operations reach diagnostic
    /// settings.
    audit_sinks: Option<AuditSinks>,
    /// A cluster was destroyed since memory was last trimmed.
    freed: AtomicBool,
}

/// What ARM shows of an engine cluster.
pub struct LiveStatus {
    pub activated: bool,
    pub nodes_up: Vec<bool>,
}

impl HsmClusters {
    pub fn open(dir: &Path) -> Result<Self, String> {
        let store = EngineStore::open(dir).map_err(|e| format!("opening the data plane: {e}"))?;
        let backup_key = cloudhsm_data_plane::engine::backup_format::load_or_create_key(dir)
            .map_err(|e| format!("loading the backup key: {e}"))?;
        Ok(Self {
            store,
            backup_key,
            config: ClusterConfig::default(),
            open: Mutex::new(HashMap::new()),
            retired: Mutex::new(HashSet::new()),
            audit_sinks: None,
            freed: AtomicBool::new(false),
        })
    }

    /// Where the clusters' audit events go (set before any is opened).
    pub fn with_audit_sinks(mut self, sinks: AuditSinks) -> Self {
        self.audit_sinks = Some(sinks);
        self
    }

    fn attach_sink(&self, key: &str, cluster: &Cluster) {
        if let Some(sinks) = &self.audit_sinks {
            cluster.set_audit_sink(sinks(key));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Cluster>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates the engine cluster of a resource, or opens the one it has
    /// (so a provisioning interrupted by a crash can simply run again).
    pub fn provision(&self, resource_id: &str) -> Result<Arc<Cluster>, EngineError> {
        let key = storage_key(resource_id);
        let mut open = self.lock();
        if let Some(cluster) = open.get(&key) {
            return Ok(cluster.clone());
        }
        let cluster = self.open_cluster(&key)?;
        open.insert(key, cluster.clone());
        Ok(cluster)
    }

    /// The engine cluster stored under `key`, opened from its records.
    fn open_cluster(&self, key: &str) -> Result<Arc<Cluster>, EngineError> {
        let cluster = Cluster::open(
            self.config.clone(),
            self.store.cluster(key, self.config.nodes)?,
        )?;
        self.attach_sink(key, &cluster);
        Ok(Arc::new(cluster))
    }

    /// The engine cluster of a provisioned resource.
    pub fn get(&self, resource_id: &str) -> Option<Arc<Cluster>> {
        let key = storage_key(resource_id);
        if self.is_retired(&key) {
            return None;
        }
        if let Some(cluster) = self.lock().get(&key) {
            return Some(cluster.clone());
        }
        if self.store.has_cluster(&key).unwrap_or(false) {
            self.provision(resource_id).ok()
        } else {
            None
        }
    }

    fn is_retired(&self, key: &str) -> bool {
        self.retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }

    /// Stops serving a resource's engine cluster: its deletion has started.
    pub fn retire(&self, resource_id: &str) {
        let key = storage_key(resource_id);
        self.retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone());
        self.lock().remove(&key);
    }

    /// Destroys a resource's engine cluster and its key material.
    pub fn destroy(&self, resource_id: &str) -> Result<(), EngineError> {
        let key = storage_key(resource_id);
        self.lock().remove(&key);
        self.store.destroy(&key)?;
        self.freed.store(true, Ordering::Release);
        // A cluster of the same name made later is a new one.
        self.retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        Ok(())
    }

    /// Hands the memory of clusters destroyed since the last call back to
    /// the system (once per batch of deletions: the operation worker calls
    /// it when it has finished what was due).
    pub fn release_freed_memory(&self) {
        if self.freed.swap(false, Ordering::AcqRel) {
            crate::memory::trim();
        }
    }

    /// Key handles per cluster (`--key-capacity`).
    pub fn with_key_capacity(mut self, key_capacity: usize) -> Self {
        self.config.key_capacity = key_capacity;
        self
    }

    pub fn backup_key(&self) -> &[u8; 32] {
        &self.backup_key
    }

    /// Every record of a cluster's store, decrypted (for a backup).
    pub fn export_records(&self, resource_id: &str) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        self.get(resource_id)
            .ok_or_else(|| EngineError::Storage("the HSM cluster does not exist".into()))?
            .export_records()
    }

    /// Replaces a not-yet-activated cluster's records with a backup's and
    /// opens it with them, so it serves the restored state at once.
    pub fn restore_records(
        &self,
        resource_id: &str,
        records: &[(String, Vec<u8>)],
    ) -> Result<(), EngineError> {
        let key = storage_key(resource_id);
        let cluster = self
            .get(resource_id)
            .ok_or_else(|| EngineError::Storage("the HSM cluster does not exist".into()))?;
        let mut open = self.lock();
        let started = std::time::Instant::now();
        let loaded = cluster.replace_records(records)?;
        let replaced = started.elapsed();
        open.remove(&key);
        let restored = Cluster::open_loaded(
            self.config.clone(),
            self.store.cluster(&key, self.config.nodes)?,
            loaded,
        )?;
        self.attach_sink(&key, &restored);
        open.insert(key, Arc::new(restored));
        tracing::info!(
            records = records.len(),
            write_and_parse_ms = replaced.as_millis() as u64,
            open_ms = (started.elapsed() - replaced).as_millis() as u64,
            "restore landed"
        );
        Ok(())
    }

    pub fn status(&self, resource_id: &str) -> Option<LiveStatus> {
        let cluster = self.get(resource_id)?;
        Some(LiveStatus {
            activated: cluster.is_activated(),
            nodes_up: cluster.nodes_up(),
        })
    }
}

/// Resolves HSM addresses (`properties.hsms[].fqdn`) to engine clusters and
/// nodes for the data-plane listener. Addresses are cached; a miss (a new
/// cluster) or a stale entry (a deleted one) rebuilds the cache.
pub struct Directory {
    state: crate::state::AppState,
    addresses: std::sync::RwLock<HashMap<String, (String, usize)>>,
}

impl Directory {
    pub fn new(state: crate::state::AppState) -> Self {
        Self {
            state,
            addresses: Default::default(),
        }
    }

    fn rebuild(&self) -> Option<()> {
        let clusters = self
            .state
            .store
            .list::<crate::providers::cloud_hsm::model::StoredCluster>("", None, usize::MAX)
            .ok()?;
        let mut addresses = HashMap::new();
        for (_, stored) in clusters {
            let properties = &stored.resource.properties;
            if !properties.hsms_serve() {
                continue;
            }
            for (node, hsm) in properties.hsms.iter().enumerate() {
                addresses.insert(
                    hsm.fqdn.to_ascii_lowercase(),
                    (stored.resource.id.clone(), node),
                );
            }
        }
        *self.addresses.write().unwrap_or_else(|p| p.into_inner()) = addresses;
        Some(())
    }

    /// From memory only: the data plane asks for every request and every
    /// streamed operation. A cluster being deleted is retired from
    /// [`HsmClusters`] when its deletion starts, so it is not found here.
    fn lookup(&self, address: &str) -> Option<(Arc<Cluster>, usize)> {
        let addresses = self.addresses.read().unwrap_or_else(|p| p.into_inner());
        let (id, node) = addresses.get(address)?;
        self.state.hsm_clusters.get(id).map(|c| (c, *node))
    }
}

impl cloudhsm_data_plane::server::ClusterDirectory for Directory {
    fn resolve(&self, hsm_address: &str) -> Option<(Arc<Cluster>, usize)> {
        let address = hsm_address.to_ascii_lowercase();
        self.lookup(&address).or_else(|| {
            self.rebuild()?;
            self.lookup(&address)
        })
    }
}
