//! What every request handler shares.

use std::{ops::Deref, sync::Arc};

use crate::{
    arm::{lro::OperationQueue, schema::SchemaRegistry},
    config::EmulatorConfig,
    hsm_clusters::HsmClusters,
    identity::{signing_key::SigningKey, tokens::ValidatedTokens},
    store::Store,
};

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: EmulatorConfig,
    pub store: Store,
    pub signing_key: SigningKey,
    pub schemas: SchemaRegistry,
    pub operations: OperationQueue,
    /// The data-plane engine clusters behind the resources.
    pub hsm_clusters: HsmClusters,
    pub validated_tokens: ValidatedTokens,
    /// Blob Storage for cluster backups.
    pub backup_storage: crate::backup_storage::BackupStorage,
    /// Delivery of the clusters' operation log to diagnostic settings.
    pub diagnostics: std::sync::Arc<crate::diagnostics::Diagnostics>,
    /// Deployments running now, so `cancel` can stop them.
    pub deployment_runs: crate::providers::deployments::DeploymentRuns,
    /// `config.arm_audiences()`, computed once.
    pub arm_audiences: Vec<String>,
    /// `config.graph_audiences()`, computed once.
    pub graph_audiences: Vec<String>,
    /// The Event Hubs data plane: the hubs' event logs (publish, read).
    pub event_hubs: cloudhsm_event_hubs::Broker,
    /// Faults switched on through `/emulator/faults` or `--faults`.
    pub faults: crate::faults::Faults,
    /// ARM's request buckets (`--arm-throttling` makes them refuse).
    pub throttle: crate::arm::throttling::Throttle,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
