//! `Microsoft.EventHub/namespaces/eventhubs`: partitions and retention within
//! the namespace tier's limits. A new hub comes with its `$Default` consumer
//! group, as on Azure.

use axum::{
    extract::{OriginalUri, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    authorization_rules, consumer_groups, display_location, names,
    namespaces::{self, StoredNamespace, Tier},
    EventHubs, EVENT_HUB_PATH, NAMESPACE_PATH,
};
use crate::{
    arm::{
        api_version::ApiVersion,
        error::ArmError,
        paging::list_records,
        resource_id::storage_key,
        schema::{ArmJson, ValidatedBody},
        system_data::arm_time,
    },
    identity::tokens::Principal,
    providers::resource_groups,
    state::AppState,
    store::{Record, WriteSet},
};

const WIRE_TYPE: &str = "Microsoft.EventHub/Namespaces/EventHubs";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEventHub {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub location: String,
    pub partition_count: u32,
    pub retention_hours: u32,
    pub cleanup_policy: String,
    pub tombstone_retention_hours: Option<u32>,
    pub status: String,
    pub user_metadata: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Record for StoredEventHub {
    const KIND: &'static str = "eventHub";
    const VERSION: u32 = 1;
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RetentionInput {
    cleanup_policy: Option<String>,
    retention_time_in_hours: Option<u32>,
    tombstone_retention_time_in_hours: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EventHubPutProperties {
    message_retention_in_days: Option<u32>,
    partition_count: Option<u32>,
    status: Option<String>,
    retention_description: Option<RetentionInput>,
    user_metadata: Option<String>,
}

#[derive(Deserialize)]
pub struct EventHubPut {
    properties: Option<EventHubPutProperties>,
}
impl ValidatedBody for EventHubPut {
    const SCHEMA: &'static str = "eventHubs.put";
}

const DEFAULT_PARTITIONS: u32 = 4;

fn max_partitions(tier: Tier) -> u32 {
    match tier {
        Tier::Basic | Tier::Standard => 32,
        Tier::Premium => 100,
    }
}

/// Basic keeps events a day, Standard a week, Premium 90 days.
fn max_retention_hours(tier: Tier) -> u32 {
    match tier {
        Tier::Basic => 24,
        Tier::Standard => 168,
        Tier::Premium => 2160,
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{NAMESPACE_PATH}/eventhubs"), get(list))
        .route(
            EVENT_HUB_PATH,
            get(show).put(create_or_update).delete(delete),
        )
}

pub fn hub_id(namespace: &StoredNamespace, name: &str) -> String {
    format!("{}/eventhubs/{name}", namespace.id)
}

fn stored(
    state: &AppState,
    namespace: &StoredNamespace,
    name: &str,
) -> Result<Option<StoredEventHub>, ArmError> {
    Ok(state
        .store
        .get::<StoredEventHub>(&storage_key(&hub_id(namespace, name)))?)
}

/// The hub a child resource (consumer group, rule) lives in: missing group,
/// namespace or hub are each named as ARM names them.
pub fn parent(
    state: &AppState,
    sub: &str,
    group: &str,
    namespace: &str,
    hub: &str,
) -> Result<(StoredNamespace, StoredEventHub), ArmError> {
    let namespace = namespaces::parent(state, sub, group, namespace)?;
    let hub = stored(state, &namespace, hub)?.ok_or_else(|| super::parent_not_found(hub))?;
    Ok((namespace, hub))
}

fn render(hub: StoredEventHub) -> Value {
    let mut retention = json!({
        "cleanupPolicy": hub.cleanup_policy,
        "retentionTimeInHours": hub.retention_hours,
    });
    if let Some(tombstone) = hub.tombstone_retention_hours {
        retention["tombstoneRetentionTimeInHours"] = json!(tombstone);
    }
    let partition_ids: Vec<String> = (0..hub.partition_count).map(|i| i.to_string()).collect();
    let mut properties = json!({
        "messageRetentionInDays": hub.retention_hours.div_ceil(24),
        "partitionCount": hub.partition_count,
        "partitionIds": partition_ids,
        "status": hub.status,
        "createdAt": hub.created_at,
        "updatedAt": hub.updated_at,
        "retentionDescription": retention,
    });
    if let Some(metadata) = &hub.user_metadata {
        properties["userMetadata"] = json!(metadata);
    }
    json!({
        "id": hub.id,
        "name": hub.name,
        "type": WIRE_TYPE,
        "location": display_location(&hub.location),
        "properties": properties,
    })
}

fn bad_request(message: String, target: &str) -> ArmError {
    ArmError::BadRequest {
        code: "BadRequest",
        message,
        target: Some(target.into()),
    }
}

/// The partition count asked for, within the tier's limits; a Basic or
/// Standard hub's count is fixed once created, a Premium one only grows.
fn partition_count(
    requested: Option<u32>,
    existing: Option<&StoredEventHub>,
    tier: Tier,
) -> Result<u32, ArmError> {
    let count = requested
        .or(existing.map(|h| h.partition_count))
        .unwrap_or(DEFAULT_PARTITIONS);
    let max = max_partitions(tier);
    if !(1..=max).contains(&count) {
        return Err(bad_request(
            format!("The partition count {count} is not valid for the {} tier: it must be from 1 to {max}.", tier.as_str()),
            "properties.partitionCount",
        ));
    }
    if let Some(hub) = existing {
        if count != hub.partition_count && (tier != Tier::Premium || count < hub.partition_count) {
            return Err(bad_request(
                format!(
                    "The partition count of event hub '{}' cannot change from {} to {count}: only Premium and Dedicated event hubs can add partitions, and none can remove them.",
                    hub.name, hub.partition_count
                ),
                "properties.partitionCount",
            ));
        }
    }
    Ok(count)
}

/// Retention in hours: `retentionDescription` wins over the older
/// `messageRetentionInDays`; then what the hub had; then the tier's maximum
/// up to a week (what the service gives a hub created without one).
fn retention_hours(
    props: &EventHubPutProperties,
    existing: Option<&StoredEventHub>,
    tier: Tier,
) -> Result<u32, ArmError> {
    let max = max_retention_hours(tier);
    let hours = props
        .retention_description
        .as_ref()
        .and_then(|r| r.retention_time_in_hours)
        .or(props
            .message_retention_in_days
            .map(|d| d.saturating_mul(24)))
        .or(existing.map(|h| h.retention_hours))
        .unwrap_or(max.min(168));
    if !(1..=max).contains(&hours) {
        return Err(bad_request(
            format!(
                "The message retention of {hours} hours is not valid for the {} tier: it must be from 1 hour to {max} hours ({} days).",
                tier.as_str(),
                max / 24
            ),
            "properties.retentionDescription.retentionTimeInHours",
        ));
    }
    Ok(hours)
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<EventHubs>,
    Path((sub, group, namespace, name)): Path<(String, String, String, String)>,
) -> Result<Json<Value>, ArmError> {
    let ns = namespaces::parent(&state, &sub, &group, &namespace)?;
    let hub = stored(&state, &ns, &name)?.ok_or_else(|| {
        namespaces::child_not_found(&group, &ns.name, &format!("eventhubs/{name}"))
    })?;
    Ok(Json(render(hub)))
}

async fn list(
    State(state): State<AppState>,
    _: ApiVersion<EventHubs>,
    Path((sub, group, namespace)): Path<(String, String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let ns = namespaces::parent(&state, &sub, &group, &namespace)?;
    list_records(
        &state,
        &storage_key(&format!("{}/eventhubs/", ns.id)),
        &uri,
        render,
    )
}

async fn create_or_update(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<EventHubs>,
    Path((sub, group, namespace, name)): Path<(String, String, String, String)>,
    ArmJson(body): ArmJson<EventHubPut>,
) -> Result<Response, ArmError> {
    names::check_event_hub(&name)?;
    let props = body.properties.unwrap_or_default();
    let _guard = state.store.lock_writes().await;
    resource_groups::writable_group(&state, &sub, &group)?;
    let ns = namespaces::parent(&state, &sub, &group, &namespace)?;
    let existing = stored(&state, &ns, &name)?;
    let partitions = partition_count(props.partition_count, existing.as_ref(), ns.tier)?;
    let hours = retention_hours(&props, existing.as_ref(), ns.tier)?;
    let retention = props.retention_description.unwrap_or_default();
    let now = arm_time(Utc::now());
    let mut writes = WriteSet::new();
    // The spec answers 200 for a create as for an update.
    let hub = match existing {
        Some(mut hub) => {
            hub.partition_count = partitions;
            hub.retention_hours = hours;
            if let Some(policy) = retention.cleanup_policy {
                hub.cleanup_policy = policy;
            }
            hub.tombstone_retention_hours = retention
                .tombstone_retention_time_in_hours
                .or(hub.tombstone_retention_hours);
            hub.status = props.status.unwrap_or(hub.status);
            hub.user_metadata = props.user_metadata.or(hub.user_metadata);
            hub.updated_at = now;
            hub
        }
        None => {
            let hub = StoredEventHub {
                id: hub_id(&ns, &name),
                name,
                namespace: ns.name.clone(),
                location: ns.location.clone(),
                partition_count: partitions,
                retention_hours: hours,
                cleanup_policy: retention.cleanup_policy.unwrap_or_else(|| "Delete".into()),
                tombstone_retention_hours: retention.tombstone_retention_time_in_hours,
                status: props.status.unwrap_or_else(|| "Active".into()),
                user_metadata: props.user_metadata,
                created_at: now.clone(),
                updated_at: now,
            };
            consumer_groups::stage_default(&hub, &mut writes)?;
            hub
        }
    };
    writes.put(&storage_key(&hub.id), &hub)?;
    state.store.commit(writes).await?;
    Ok((StatusCode::OK, Json(render(hub))).into_response())
}

/// Creates hub `name` with the tier's defaults in the namespace `namespace_id`
/// unless it exists: what Azure Monitor does for a diagnostic setting that
/// names no hub (`insights-logs-{category}`). `Ok(false)` when the namespace
/// is gone.
pub async fn create_if_missing(
    state: &AppState,
    namespace_id: &str,
    name: &str,
) -> Result<bool, ArmError> {
    let _guard = state.store.lock_writes().await;
    let Some(ns) = state
        .store
        .get::<StoredNamespace>(&storage_key(namespace_id))?
    else {
        return Ok(false);
    };
    if stored(state, &ns, name)?.is_some() {
        return Ok(true);
    }
    let props = EventHubPutProperties::default();
    let now = arm_time(Utc::now());
    let hub = StoredEventHub {
        id: hub_id(&ns, name),
        name: name.to_string(),
        namespace: ns.name.clone(),
        location: ns.location.clone(),
        partition_count: partition_count(None, None, ns.tier)?,
        retention_hours: retention_hours(&props, None, ns.tier)?,
        cleanup_policy: "Delete".into(),
        tombstone_retention_hours: None,
        status: "Active".into(),
        user_metadata: None,
        created_at: now.clone(),
        updated_at: now,
    };
    let mut writes = WriteSet::new();
    consumer_groups::stage_default(&hub, &mut writes)?;
    writes.put(&storage_key(&hub.id), &hub)?;
    state.store.commit(writes).await?;
    Ok(true)
}

/// 200 when deleted (with its consumer groups and rules), 204 when there was
/// nothing to delete.
async fn delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<EventHubs>,
    Path((sub, group, namespace, name)): Path<(String, String, String, String)>,
) -> Result<StatusCode, ArmError> {
    let _guard = state.store.lock_writes().await;
    let ns = namespaces::parent(&state, &sub, &group, &namespace)?;
    let key = storage_key(&hub_id(&ns, &name));
    if state.store.get::<StoredEventHub>(&key)?.is_none() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut writes = WriteSet::new();
    let children = format!("{key}/");
    state
        .store
        .delete_under::<consumer_groups::StoredConsumerGroup>(&children, &mut writes)?;
    authorization_rules::delete_under(&state, &children, &mut writes)?;
    writes.delete::<StoredEventHub>(&key);
    state.store.commit(writes).await?;
    Ok(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(partitions: u32) -> StoredEventHub {
        StoredEventHub {
            id: "h".into(),
            name: "h".into(),
            namespace: "n".into(),
            location: "eastus2".into(),
            partition_count: partitions,
            retention_hours: 24,
            cleanup_policy: "Delete".into(),
            tombstone_retention_hours: None,
            status: "Active".into(),
            user_metadata: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn partitions_by_tier() {
        assert_eq!(partition_count(None, None, Tier::Basic).unwrap(), 4);
        assert_eq!(partition_count(Some(32), None, Tier::Standard).unwrap(), 32);
        assert!(partition_count(Some(33), None, Tier::Standard).is_err());
        assert!(partition_count(Some(0), None, Tier::Premium).is_err());
        assert_eq!(
            partition_count(None, Some(&hub(2)), Tier::Standard).unwrap(),
            2
        );
        assert!(partition_count(Some(3), Some(&hub(2)), Tier::Standard).is_err());
        assert_eq!(
            partition_count(Some(3), Some(&hub(2)), Tier::Premium).unwrap(),
            3
        );
        assert!(partition_count(Some(1), Some(&hub(2)), Tier::Premium).is_err());
    }

    #[test]
    fn retention_by_tier() {
        let days = |d| EventHubPutProperties {
            message_retention_in_days: Some(d),
            ..Default::default()
        };
        let none = EventHubPutProperties::default();
        assert_eq!(retention_hours(&none, None, Tier::Basic).unwrap(), 24);
        assert_eq!(retention_hours(&none, None, Tier::Standard).unwrap(), 168);
        assert!(retention_hours(&days(2), None, Tier::Basic).is_err());
        assert_eq!(
            retention_hours(&days(7), None, Tier::Standard).unwrap(),
            168
        );
        assert!(retention_hours(&days(8), None, Tier::Standard).is_err());
        let hours = EventHubPutProperties {
            message_retention_in_days: Some(1),
            retention_description: Some(RetentionInput {
                retention_time_in_hours: Some(48),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(retention_hours(&hours, None, Tier::Standard).unwrap(), 48);
    }
}
