//! The engine clusters behind `cloudHsmClusters`: provisioned when a create
//! finishes, destroyed (key material included) when a delete does. The
//! control plane reads activation and node health from them.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
};

use cloudhsm_data_plane::{engine::store::EngineStore, Cluster, ClusterConfig, EngineError};

use crate::arm::resource_id::storage_key;

pub struct HsmClusters {
    store: EngineStore,
    open: Mutex<HashMap<String, Arc<Cluster>>>,
}

/// What ARM shows of an engine cluster.
pub struct LiveStatus {
    pub activated: bool,
    pub nodes_up: Vec<bool>,
}

impl HsmClusters {
    pub fn open(dir: &Path) -> Result<Self, String> {
        let store = EngineStore::open(dir).map_err(|e| format!("opening the data plane: {e}"))?;
        Ok(Self {
            store,
            open: Mutex::new(HashMap::new()),
        })
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
        let config = ClusterConfig::default();
        let cluster = Arc::new(Cluster::open(
            config.clone(),
            self.store.cluster(&key, config.nodes)?,
        )?);
        open.insert(key, cluster.clone());
        Ok(cluster)
    }

    /// The engine cluster of a provisioned resource.
    pub fn get(&self, resource_id: &str) -> Option<Arc<Cluster>> {
        let key = storage_key(resource_id);
        if let Some(cluster) = self.lock().get(&key) {
            return Some(cluster.clone());
        }
        if self.store.cluster_ids().contains(&key) {
            self.provision(resource_id).ok()
        } else {
            None
        }
    }

    /// Destroys a resource's engine cluster and its key material.
    pub fn destroy(&self, resource_id: &str) -> Result<(), EngineError> {
        let key = storage_key(resource_id);
        self.lock().remove(&key);
        self.store.destroy(&key)
    }

    pub fn status(&self, resource_id: &str) -> Option<LiveStatus> {
        let cluster = self.get(resource_id)?;
        Some(LiveStatus {
            activated: cluster.is_activated(),
            nodes_up: cluster.node_listings().iter().map(|n| n.up).collect(),
        })
    }
}

/// Resolves HSM addresses (`properties.hsms[].fqdn`) to engine clusters and
/// nodes for the data-plane listener.
pub struct Directory {
    pub state: crate::state::AppState,
}

impl cloudhsm_data_plane::server::ClusterDirectory for Directory {
    fn resolve(&self, hsm_address: &str) -> Option<(Arc<Cluster>, usize)> {
        let clusters = self
            .state
            .store
            .list::<crate::providers::cloud_hsm::model::StoredCluster>("", None, usize::MAX)
            .ok()?;
        clusters.into_iter().find_map(|(_, stored)| {
            let properties = &stored.resource.properties;
            if properties.provisioning_state != "Succeeded"
                && properties.provisioning_state != "Updating"
            {
                return None;
            }
            let node = properties
                .hsms
                .iter()
                .position(|h| h.fqdn.eq_ignore_ascii_case(hsm_address))?;
            Some((self.state.hsm_clusters.get(&stored.resource.id)?, node))
        })
    }
}
