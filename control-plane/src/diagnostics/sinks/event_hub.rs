//! Event Hubs destination (`eventHubAuthorizationRuleId` + `eventHubName`):
//! records batched as Azure Monitor sends them, `{"records":[...]}` bodies
//! with several records each and no partition key. A setting without a hub
//! name streams to `insights-logs-hsmserviceoperations`, which Azure Monitor
//! creates in the namespace; so does the emulator, through its own hub store.
//!
//! The broker is reached through [`EventHubPublisher`], so the sink knows
//! nothing of AMQP; the control plane's adapter fills it in.

use std::sync::Arc;

use super::{Sink, SinkError};

/// The hub Azure Monitor creates for the category when the setting names none.
pub const DEFAULT_HUB: &str = "insights-logs-hsmserviceoperations";
/// Azure Monitor keeps events well under the 1 MB (Standard) limit.
const MAX_EVENT_BYTES: usize = 256 * 1024;
const MAX_RECORDS_PER_EVENT: usize = 500;

/// What the sink needs of Event Hubs: the namespace by its ARM id (as the
/// setting's rule id names it), the hub by name.
#[async_trait::async_trait]
pub trait EventHubPublisher: Send + Sync {
    /// Creates the hub if `create_if_missing` and it is not there (the
    /// default hub), else fails with `Missing` when it is not there.
    async fn ensure_hub(
        &self,
        namespace_id: &str,
        hub: &str,
        create_if_missing: bool,
    ) -> Result<(), SinkError>;
    /// Appends the events to the hub, in order, without partition key.
    async fn publish(
        &self,
        namespace_id: &str,
        hub: &str,
        bodies: Vec<Vec<u8>>,
    ) -> Result<(), SinkError>;
}

pub struct EventHubSink {
    pub publisher: Arc<dyn EventHubPublisher>,
    pub namespace_id: String,
    pub hub: String,
    /// The setting named no hub: this is Azure Monitor's, created on demand.
    pub default_hub: bool,
}

impl EventHubSink {
    pub fn new(
        publisher: Arc<dyn EventHubPublisher>,
        rule_id: &str,
        hub_name: Option<&str>,
    ) -> Self {
        // The namespace id is the rule id without `/authorizationRules/{rule}`.
        let namespace_id = rule_id
            .rsplitn(3, '/')
            .nth(2)
            .unwrap_or_default()
            .to_string();
        Self {
            publisher,
            namespace_id,
            hub: hub_name.unwrap_or(DEFAULT_HUB).to_string(),
            default_hub: hub_name.is_none(),
        }
    }
}

/// `{"records":[...]}` bodies, each under the size and count limits (a
/// record bigger than the limit goes alone).
pub fn event_bodies(records: &[String]) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    let mut body = Vec::new();
    let mut count = 0;
    for record in records {
        if count > 0
            && (count == MAX_RECORDS_PER_EVENT || body.len() + record.len() + 3 > MAX_EVENT_BYTES)
        {
            body.extend_from_slice(b"]}");
            bodies.push(std::mem::take(&mut body));
            count = 0;
        }
        body.extend_from_slice(if count == 0 { b"{\"records\":[" } else { b"," });
        body.extend_from_slice(record.as_bytes());
        count += 1;
    }
    if count > 0 {
        body.extend_from_slice(b"]}");
        bodies.push(body);
    }
    bodies
}

#[async_trait::async_trait]
impl Sink for EventHubSink {
    fn describe(&self) -> String {
        format!("event hub {}/eventhubs/{}", self.namespace_id, self.hub)
    }

    async fn deliver(&self, records: &[String]) -> Result<(), SinkError> {
        self.publisher
            .ensure_hub(&self.namespace_id, &self.hub, self.default_hub)
            .await?;
        self.publisher
            .publish(&self.namespace_id, &self.hub, event_bodies(records))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_batched_into_records_arrays() {
        let records: Vec<String> = (0..1001).map(|i| format!("{{\"n\":{i}}}")).collect();
        let bodies = event_bodies(&records);
        assert_eq!(bodies.len(), 3);
        let first: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
        assert_eq!(first["records"].as_array().unwrap().len(), 500);
        assert_eq!(first["records"][0]["n"], 0);
        let last: serde_json::Value = serde_json::from_slice(&bodies[2]).unwrap();
        assert_eq!(last["records"][0]["n"], 1000);
        assert!(event_bodies(&[]).is_empty());
    }
}
