//! `Microsoft.EventHub`: the Event Hubs control plane. Namespaces (tracked),
//! their event hubs, consumer groups and shared-access authorization rules
//! with their keys. Writes answer synchronously with `provisioningState`
//! `Succeeded` (no operation to poll); the data plane (AMQP, Kafka, REST send)
//! is not emulated yet, so the endpoints shown are Azure's host names.
//!
//! Every child record is stored under its parent's storage key, so a
//! namespace's deletion (or its group's) is one prefix deletion per kind.

mod access_keys;
pub mod authorization_rules;
pub mod consumer_groups;
pub mod directory;
pub mod hubs;
mod names;
pub mod namespaces;

use axum::Router;

use crate::{
    arm::{
        api_version::VersionedType, error::ArmError, resource_id::type_prefix_in_group,
        validation::LOCATIONS,
    },
    state::AppState,
    store::WriteSet,
};

pub const NAMESPACE: &str = "Microsoft.EventHub";

/// The versions `az` 2.91 (2026-07-01-preview; 2018-01-01-preview in its
/// hybrid profile's authorization-rule commands), azure-mgmt-eventhub 12
/// (2026-01-01) and the documented 2024-01-01 send, newest first.
const API_VERSIONS: &[&str] = &[
    "2026-07-01-preview",
    "2026-01-01",
    "2024-01-01",
    "2018-01-01-preview",
];

macro_rules! event_hubs_type {
    ($name:ident, $resource_type:literal) => {
        pub struct $name;
        impl VersionedType for $name {
            const NAMESPACE: &'static str = NAMESPACE;
            const RESOURCE_TYPE: &'static str = $resource_type;
            const SUPPORTED: &'static [&'static str] = API_VERSIONS;
        }
    };
}

event_hubs_type!(Namespaces, "namespaces");
event_hubs_type!(EventHubs, "namespaces/eventhubs");
event_hubs_type!(ConsumerGroups, "namespaces/eventhubs/consumergroups");
event_hubs_type!(NamespaceAuthorizationRules, "namespaces/authorizationRules");
event_hubs_type!(
    EventHubAuthorizationRules,
    "namespaces/eventhubs/authorizationRules"
);

/// Route prefix of one namespace (its path parameters as the spec names them).
const NAMESPACE_PATH: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.EventHub/namespaces/{namespaceName}";
const EVENT_HUB_PATH: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.EventHub/namespaces/{namespaceName}/eventhubs/{eventHubName}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(namespaces::routes())
        .merge(hubs::routes())
        .merge(consumer_groups::routes())
        .merge(authorization_rules::routes())
}

/// The display name Event Hubs answers `location` with (`East US 2`), as the
/// service does; records keep the normalised name.
fn display_location(location: &str) -> &str {
    LOCATIONS
        .iter()
        .find(|(name, _)| *name == location)
        .map(|(_, display)| *display)
        .unwrap_or(location)
}

/// ARM's answer for a nested resource whose parent is missing.
fn parent_not_found(parent_name: &str) -> ArmError {
    ArmError::NotFound {
        code: "ParentResourceNotFound",
        message: format!(
            "Can not perform requested operation on nested resource. Parent resource '{parent_name}' not found."
        ),
    }
}

/// Part of a resource group's deletion: its namespaces and everything in them.
pub fn delete_in_group(
    state: &AppState,
    group_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    let prefix = type_prefix_in_group(group_id, NAMESPACE, Namespaces::RESOURCE_TYPE);
    namespaces::delete_contents(state, &prefix, writes)?;
    Ok(state
        .store
        .delete_under::<namespaces::StoredNamespace>(&prefix, writes)?)
}
