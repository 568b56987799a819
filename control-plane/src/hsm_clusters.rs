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
    server::Unreachable,
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

/// How an address reaches its HSM.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NetworkPath {
    /// The public name of a cluster with public network access enabled, or
    /// the private-link name of a cluster with an approved connection.
    Open,
    /// The public name of a cluster whose `publicNetworkAccess` is `Disabled`.
    PublicDisabled,
    /// The private-link name of a cluster with no approved connection.
    NoApprovedConnection,
}

struct Route {
    cluster_id: String,
    node: usize,
    path: NetworkPath,
}

/// The addresses as of one [`crate::store::Store::addressing_epoch`].
#[derive(Default)]
struct Addresses {
    epoch: Option<u64>,
    routes: HashMap<String, Route>,
}

/// Resolves HSM addresses to engine clusters and nodes for the data-plane
/// listener: every HSM's public name (`properties.hsms[].fqdn`) and its
/// private-link name, each open or closed as the cluster's
/// `publicNetworkAccess` and private endpoint connections say. Addresses are
/// cached; a miss (a new cluster) or a changed addressing epoch (a cluster
/// or connection written) rebuilds the cache, so a closed path closes at
/// once.
///
/// The public names of a cluster whose `publicNetworkAccess` is `Disabled`
/// (the only value the 2025-03-31 API takes) are closed only with
/// `--network-isolation`: otherwise every cluster would need a private
/// endpoint before its first use, unlike any other local emulator.
pub struct Directory {
    state: crate::state::AppState,
    addresses: std::sync::RwLock<Addresses>,
    isolate: bool,
}

impl Directory {
    pub fn new(state: crate::state::AppState, isolate: bool) -> Self {
        Self {
            state,
            addresses: Default::default(),
            isolate,
        }
    }

    fn rebuild(&self) -> Option<()> {
        use crate::providers::cloud_hsm::{
            model::{private_link_fqdn, StoredCluster},
            private_endpoint_connections::of_cluster,
        };
        // Read before the records: a write landing meanwhile bumps it again,
        // so the next lookup rebuilds once more.
        let epoch = self.state.store.addressing_epoch();
        let clusters = self
            .state
            .store
            .list::<StoredCluster>("", None, usize::MAX)
            .ok()?;
        let mut routes = HashMap::new();
        for (_, stored) in clusters {
            let properties = &stored.resource.properties;
            if !properties.hsms_serve() {
                continue;
            }
            // A connection being deleted no longer carries traffic.
            let approved = of_cluster(&self.state, &stored.resource.id)
                .iter()
                .any(|c| {
                    c.properties
                        .private_link_service_connection_state
                        .status
                        .eq_ignore_ascii_case("Approved")
                        && c.properties.provisioning_state != "Deleting"
                });
            let public = if properties.public_access() || !self.isolate {
                NetworkPath::Open
            } else {
                NetworkPath::PublicDisabled
            };
            let private = if approved {
                NetworkPath::Open
            } else {
                NetworkPath::NoApprovedConnection
            };
            for (node, hsm) in properties.hsms.iter().enumerate() {
                let fqdn = hsm.fqdn.to_ascii_lowercase();
                if let Some(private_fqdn) = private_link_fqdn(&fqdn) {
                    routes.insert(
                        private_fqdn,
                        Route {
                            cluster_id: stored.resource.id.clone(),
                            node,
                            path: private,
                        },
                    );
                }
                routes.insert(
                    fqdn,
                    Route {
                        cluster_id: stored.resource.id.clone(),
                        node,
                        path: public,
                    },
                );
            }
        }
        *self.addresses.write().unwrap_or_else(|p| p.into_inner()) = Addresses {
            epoch: Some(epoch),
            routes,
        };
        Some(())
    }

    /// From memory only: the data plane asks for every request and every
    /// streamed operation, so the freshness check is one atomic load. A
    /// cluster being deleted is retired from [`HsmClusters`] when its
    /// deletion starts, so it is not found here. `None`: not cached (or,
    /// when `fresh_only`, the cache is stale).
    fn lookup(
        &self,
        address: &str,
        fresh_only: bool,
    ) -> Option<Result<(Arc<Cluster>, usize), Unreachable>> {
        let addresses = self.addresses.read().unwrap_or_else(|p| p.into_inner());
        if fresh_only && addresses.epoch != Some(self.state.store.addressing_epoch()) {
            return None;
        }
        let route = addresses.routes.get(address)?;
        let cluster = self.state.hsm_clusters.get(&route.cluster_id)?;
        let why = match route.path {
            NetworkPath::Open => return Some(Ok((cluster, route.node))),
            NetworkPath::PublicDisabled => format!(
                "the HSM is not reachable over the public network: publicNetworkAccess of cluster '{}' is Disabled; use its private-link address ({}) through an approved private endpoint connection",
                route.cluster_id,
                crate::providers::cloud_hsm::model::private_link_fqdn(address).unwrap_or_default()
            ),
            NetworkPath::NoApprovedConnection => format!(
                "cluster '{}' has no approved private endpoint connection, so its private-link addresses are closed",
                route.cluster_id
            ),
        };
        tracing::warn!(hsm = address, reason = %why, "data-plane request refused: network path closed");
        Some(Err(Unreachable::Closed(why)))
    }
}

impl cloudhsm_data_plane::server::ClusterDirectory for Directory {
    fn resolve(&self, hsm_address: &str) -> Result<(Arc<Cluster>, usize), Unreachable> {
        let address = hsm_address.to_ascii_lowercase();
        if let Some(found) = self.lookup(&address, true) {
            return found;
        }
        if self.rebuild().is_none() {
            return Err(Unreachable::Unknown);
        }
        // The table just built, even if another write has bumped the epoch
        // since (under steady ARM writes it always may): it is as fresh as
        // this request. Requiring the epoch again answered "no HSM has the
        // address" to clients of clusters nobody was changing.
        self.lookup(&address, false)
            .unwrap_or(Err(Unreachable::Unknown))
    }
}
