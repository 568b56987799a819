//! The Event Hubs broker's view of this control plane's store: which hubs
//! exist (with their partitions, retention and consumer groups) and which
//! shared access rules with which keys.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cloudhsm_event_hubs::{AccessRule, Directory, DirectoryError, HubInfo, Rights};

use super::{
    authorization_rules::StoredAuthorizationRule, consumer_groups::StoredConsumerGroup,
    hubs::StoredEventHub, namespaces::StoredNamespace,
};
use crate::{arm::resource_id::storage_key, store::Store};

pub struct StoreDirectory {
    store: Store,
}

impl StoreDirectory {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn failed(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError(e.to_string())
}

/// A hub's identity for its log: its id and its creation time (kept to
/// 100 ns), so a hub deleted and made again under the same name is another.
fn hub_uid(hub: &StoredEventHub) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{}@{}", storage_key(&hub.id), hub.created_at).as_bytes(),
    )
    .to_string()
}

/// `.../namespaces/{name}/...` of a resource id.
fn namespace_of(id: &str) -> Option<&str> {
    let lower = id.to_ascii_lowercase();
    let at = lower.find("/namespaces/")? + "/namespaces/".len();
    id[at..].split('/').next()
}

impl Directory for StoreDirectory {
    fn hub(&self, namespace: &str, name: &str) -> Result<Option<HubInfo>, DirectoryError> {
        // Namespace names are global, so the name alone finds it.
        let namespaces = self
            .store
            .list::<StoredNamespace>("", None, usize::MAX)
            .map_err(failed)?;
        let Some((_, ns)) = namespaces
            .into_iter()
            .find(|(_, ns)| ns.name.eq_ignore_ascii_case(namespace))
        else {
            return Ok(None);
        };
        let hub_key = storage_key(&super::hubs::hub_id(&ns, name));
        let Some(hub) = self.store.get::<StoredEventHub>(&hub_key).map_err(failed)? else {
            return Ok(None);
        };
        let consumer_groups = self
            .store
            .list::<StoredConsumerGroup>(&format!("{hub_key}/consumergroups/"), None, usize::MAX)
            .map_err(failed)?
            .into_iter()
            .map(|(_, group)| group.name)
            .collect();
        let created_at = DateTime::parse_from_rfc3339(&hub.created_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        Ok(Some(HubInfo {
            uid: hub_uid(&hub),
            namespace: ns.name,
            name: hub.name,
            partition_count: hub.partition_count,
            retention: Duration::from_secs(u64::from(hub.retention_hours) * 3600),
            created_at,
            consumer_groups,
        }))
    }

    fn rules_named(&self, key_name: &str) -> Result<Vec<AccessRule>, DirectoryError> {
        Ok(self
            .store
            .list::<StoredAuthorizationRule>("", None, usize::MAX)
            .map_err(failed)?
            .into_iter()
            .map(|(_, rule)| rule)
            .filter(|rule| rule.name.eq_ignore_ascii_case(key_name))
            .filter_map(|rule| {
                Some(AccessRule {
                    namespace: namespace_of(&rule.id)?.to_string(),
                    hub: rule.entity_path.clone(),
                    key_name: rule.name,
                    primary_key: rule.primary_key,
                    secondary_key: rule.secondary_key,
                    rights: Rights::from_names(&rule.rights),
                })
            })
            .collect())
    }

    fn hub_uids(&self) -> Result<Vec<String>, DirectoryError> {
        Ok(self
            .store
            .list::<StoredEventHub>("", None, usize::MAX)
            .map_err(failed)?
            .iter()
            .map(|(_, hub)| hub_uid(hub))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::namespace_of;

    #[test]
    fn rules_name_their_namespace() {
        assert_eq!(
            namespace_of("/subscriptions/s/resourceGroups/g/providers/Microsoft.EventHub/namespaces/NS1/eventhubs/h/authorizationRules/r"),
            Some("NS1")
        );
        assert_eq!(namespace_of("/subscriptions/s"), None);
    }
}
