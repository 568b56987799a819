//! `Microsoft.EventHub/namespaces/eventhubs/consumergroups`. Every hub has
//! `$Default`, made with the hub and impossible to delete.

use axum::{
    extract::{OriginalUri, Path, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    display_location,
    hubs::{self, StoredEventHub},
    names, namespaces, ConsumerGroups, EVENT_HUB_PATH,
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

pub const DEFAULT: &str = "$Default";
const WIRE_TYPE: &str = "Microsoft.EventHub/Namespaces/EventHubs/ConsumerGroups";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredConsumerGroup {
    pub id: String,
    pub name: String,
    pub location: String,
    pub user_metadata: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Record for StoredConsumerGroup {
    const KIND: &'static str = "eventHubConsumerGroup";
    const VERSION: u32 = 1;
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConsumerGroupPutProperties {
    user_metadata: Option<String>,
}

#[derive(Deserialize)]
pub struct ConsumerGroupPut {
    properties: Option<ConsumerGroupPutProperties>,
}
impl ValidatedBody for ConsumerGroupPut {
    const SCHEMA: &'static str = "eventHubConsumerGroups.put";
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{EVENT_HUB_PATH}/consumergroups"), get(list))
        .route(
            &format!("{EVENT_HUB_PATH}/consumergroups/{{consumerGroupName}}"),
            get(show).put(create_or_update).delete(delete),
        )
}

fn group_id(hub: &StoredEventHub, name: &str) -> String {
    format!("{}/consumergroups/{name}", hub.id)
}

fn new_group(
    hub: &StoredEventHub,
    name: &str,
    user_metadata: Option<String>,
) -> StoredConsumerGroup {
    let now = arm_time(Utc::now());
    StoredConsumerGroup {
        id: group_id(hub, name),
        name: name.to_string(),
        location: hub.location.clone(),
        user_metadata,
        created_at: now.clone(),
        updated_at: now,
    }
}

/// Part of a hub's creation: its `$Default` group.
pub fn stage_default(hub: &StoredEventHub, writes: &mut WriteSet) -> Result<(), ArmError> {
    let group = new_group(hub, DEFAULT, None);
    writes.put(&storage_key(&group.id), &group)?;
    Ok(())
}

fn render(group: StoredConsumerGroup) -> Value {
    let mut properties = json!({
        "createdAt": group.created_at,
        "updatedAt": group.updated_at,
    });
    if let Some(metadata) = &group.user_metadata {
        properties["userMetadata"] = json!(metadata);
    }
    json!({
        "id": group.id,
        "name": group.name,
        "type": WIRE_TYPE,
        "location": display_location(&group.location),
        "properties": properties,
    })
}

type GroupPath = (String, String, String, String, String);

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<ConsumerGroups>,
    Path((sub, group, namespace, hub, name)): Path<GroupPath>,
) -> Result<Json<Value>, ArmError> {
    let (ns, hub) = hubs::parent(&state, &sub, &group, &namespace, &hub)?;
    let found = state
        .store
        .get::<StoredConsumerGroup>(&storage_key(&group_id(&hub, &name)))?
        .ok_or_else(|| {
            namespaces::child_not_found(
                &group,
                &ns.name,
                &format!("eventhubs/{}/consumergroups/{name}", hub.name),
            )
        })?;
    Ok(Json(render(found)))
}

async fn list(
    State(state): State<AppState>,
    _: ApiVersion<ConsumerGroups>,
    Path((sub, group, namespace, hub)): Path<(String, String, String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let (_, hub) = hubs::parent(&state, &sub, &group, &namespace, &hub)?;
    list_records(
        &state,
        &storage_key(&format!("{}/consumergroups/", hub.id)),
        &uri,
        render,
    )
}

/// 200 for a create as for an update, as the spec has it.
async fn create_or_update(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<ConsumerGroups>,
    Path((sub, group, namespace, hub, name)): Path<GroupPath>,
    ArmJson(body): ArmJson<ConsumerGroupPut>,
) -> Result<Json<Value>, ArmError> {
    names::check_consumer_group(&name)?;
    let user_metadata = body.properties.unwrap_or_default().user_metadata;
    let _guard = state.store.lock_writes().await;
    resource_groups::writable_group(&state, &sub, &group)?;
    let (_, hub) = hubs::parent(&state, &sub, &group, &namespace, &hub)?;
    let key = storage_key(&group_id(&hub, &name));
    let consumer_group = match state.store.get::<StoredConsumerGroup>(&key)? {
        Some(mut existing) => {
            existing.user_metadata = user_metadata.or(existing.user_metadata);
            existing.updated_at = arm_time(Utc::now());
            existing
        }
        None => new_group(&hub, &name, user_metadata),
    };
    let mut writes = WriteSet::new();
    writes.put(&key, &consumer_group)?;
    state.store.commit(writes).await?;
    Ok(Json(render(consumer_group)))
}

async fn delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<ConsumerGroups>,
    Path((sub, group, namespace, hub, name)): Path<GroupPath>,
) -> Result<StatusCode, ArmError> {
    if name.eq_ignore_ascii_case(DEFAULT) {
        return Err(ArmError::BadRequest {
            code: "BadRequest",
            message: format!(
                "The consumer group '{DEFAULT}' of event hub '{hub}' cannot be deleted: every event hub has it."
            ),
            target: Some("consumerGroupName".into()),
        });
    }
    let _guard = state.store.lock_writes().await;
    let (_, hub) = hubs::parent(&state, &sub, &group, &namespace, &hub)?;
    let key = storage_key(&group_id(&hub, &name));
    if state.store.get::<StoredConsumerGroup>(&key)?.is_none() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut writes = WriteSet::new();
    writes.delete::<StoredConsumerGroup>(&key);
    state.store.commit(writes).await?;
    Ok(StatusCode::OK)
}
