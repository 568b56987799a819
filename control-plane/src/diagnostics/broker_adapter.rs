//! The control plane's side of [`EventHubPublisher`]: hubs are looked up
//! (and Azure Monitor's default hub created) in the control plane's own hub
//! store; events go to the Event Hubs broker.
//!
//! The broker (crate `cloudhsm_event_hubs`, `Shared::event_hubs`) is built
//! on another branch. Until it is merged, [`ControlPlaneEventHubs::publish`]
//! reports the data plane unavailable, so Event Hub destinations keep their
//! backlog (bounded) and deliver it once a build has the broker: replace the
//! body of `publish` with
//! `state.event_hubs.publish(namespace_name, hub, events)`.

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
        _namespace_id: &str,
        _hub: &str,
        _bodies: Vec<Vec<u8>>,
    ) -> Result<(), SinkError> {
        Err(SinkError::Unavailable(
            "this build has no Event Hubs broker to publish to (branch event-hubs-broker)".into(),
        ))
    }
}
