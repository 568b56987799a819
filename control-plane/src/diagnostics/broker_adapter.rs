//! The control plane's side of [`EventHubPublisher`]: hubs are looked up
//! (and Azure Monitor's default hub created) in the control plane's own hub
//! store; events go to the Event Hubs broker.
//!
//! Events go to `Shared::event_hubs` (crate `cloudhsm_event_hubs`), the
//! broker the Event Hubs SDKs read from: no partition key (round-robin over
//! the partitions, as Azure Monitor sends), appended in order; once
//! `publish` returns they survive `kill -9`, so the outbox cursor may move.

use cloudhsm_event_hubs::{BrokerError, EventData};

use super::sinks::{event_hub::EventHubPublisher, SinkError};
use crate::{
    arm::resource_id::storage_key,
    providers::event_hubs::hubs::{self, StoredEventHub},
    state::AppState,
};

pub struct ControlPlaneEventHubs {
    pub state: AppState,
}

#[async_trait::async_trait]
impl EventHubPublisher for ControlPlaneEventHubs {
    async fn ensure_hub(
        &self,
        namespace_id: &str,
        hub: &str,
        create_if_missing: bool,
    ) -> Result<(), SinkError> {
        let key = storage_key(&format!("{namespace_id}/eventhubs/{hub}"));
        let exists = self
            .state
            .store
            .get::<StoredEventHub>(&key)
            .map_err(|e| SinkError::Unavailable(e.to_string()))?
            .is_some();
        if exists {
            return Ok(());
        }
        if create_if_missing
            && hubs::create_if_missing(&self.state, namespace_id, hub)
                .await
                .map_err(|e| SinkError::Unavailable(format!("creating event hub {hub}: {e:?}")))?
        {
            tracing::info!(
                namespace = namespace_id,
                hub,
                "diagnostics: created the event hub Azure Monitor creates for the category"
            );
            return Ok(());
        }
        Err(SinkError::Missing(format!(
            "event hub {hub} does not exist in {namespace_id}"
        )))
    }

    async fn publish(
        &self,
        namespace_id: &str,
        hub: &str,
        bodies: Vec<Vec<u8>>,
    ) -> Result<(), SinkError> {
        // The broker knows namespaces by name (they are global).
        let namespace = namespace_id.rsplit('/').next().unwrap_or_default();
        let events = bodies
            .into_iter()
            .map(|body| EventData {
                body,
                application_properties: Vec::new(),
                partition_key: None,
            })
            .collect();
        let broker = self.state.event_hubs.clone();
        let (namespace, hub) = (namespace.to_string(), hub.to_string());
        // File writes: off the async workers.
        tokio::task::spawn_blocking(move || broker.publish(&namespace, &hub, events))
            .await
            .map_err(|e| SinkError::Unavailable(format!("the Event Hubs broker: {e}")))?
            .map_err(|e| match e {
                BrokerError::HubNotFound { .. } => SinkError::Missing(e.to_string()),
                other => SinkError::Unavailable(other.to_string()),
            })
    }
}
