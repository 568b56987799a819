//! `Microsoft.EventHub/namespaces`: the tracked resource. Creating one also
//! creates its `RootManageSharedAccessKey` rule, as the service does.

use std::collections::BTreeMap;

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
    authorization_rules, consumer_groups::StoredConsumerGroup, display_location,
    hubs::StoredEventHub, names, parent_not_found, Namespaces, NAMESPACE,
};
use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        error::ArmError,
        paging::list_records,
        resource_id::{
            resource_group_id, resource_id, storage_key, subscription_id, type_prefix_in_group,
        },
        schema::{ArmJson, ValidatedBody},
        system_data::{arm_time, SystemData},
        tracked_routes::tracked_resource,
        validation::normalise_location,
    },
    identity::tokens::Principal,
    providers::{
        resource_groups,
        resources::{GenericResource, ListedResource},
    },
    state::AppState,
    store::{Record, WriteSet},
};

/// How ARM's generic lists and errors name the type.
const RESOURCE_TYPE: &str = "Microsoft.EventHub/namespaces";
/// How the Event Hubs service spells it in its own responses.
const WIRE_TYPE: &str = "Microsoft.EventHub/Namespaces";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    Basic,
    Standard,
    Premium,
}

impl Tier {
    fn parse(name: &str) -> Option<Self> {
        [Self::Basic, Self::Standard, Self::Premium]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "Basic",
            Self::Standard => "Standard",
            Self::Premium => "Premium",
        }
    }

    /// Throughput units (Basic, Standard) or processing units (Premium).
    fn capacity_range(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Self::Basic | Self::Standard => 1..=40,
            Self::Premium => 1..=16,
        }
    }
}

/// The settings a client chooses, echoed back in `properties`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSettings {
    pub minimum_tls_version: String,
    pub public_network_access: String,
    pub disable_local_auth: bool,
    pub zone_redundant: bool,
    pub is_auto_inflate_enabled: bool,
    pub maximum_throughput_units: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredNamespace {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub tier: Tier,
    pub capacity: u32,
    pub settings: NamespaceSettings,
    pub created_at: String,
    pub updated_at: String,
    pub system_data: SystemData,
}

impl Record for StoredNamespace {
    const KIND: &'static str = "eventHubNamespace";
    const VERSION: u32 = 1;
}

impl StoredNamespace {
    /// `Endpoint=sb://...` host of the namespace, as connection strings carry it.
    pub fn host(&self) -> String {
        format!("{}.servicebus.windows.net", self.name)
    }
}

#[derive(Deserialize)]
pub struct SkuInput {
    name: String,
    capacity: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NamespacePutProperties {
    minimum_tls_version: Option<String>,
    public_network_access: Option<String>,
    disable_local_auth: Option<bool>,
    zone_redundant: Option<bool>,
    is_auto_inflate_enabled: Option<bool>,
    maximum_throughput_units: Option<u32>,
}

#[derive(Deserialize)]
pub struct NamespacePut {
    location: String,
    tags: Option<BTreeMap<String, String>>,
    sku: Option<SkuInput>,
    properties: Option<NamespacePutProperties>,
}
impl ValidatedBody for NamespacePut {
    const SCHEMA: &'static str = "eventHubNamespaces.put";
}

pub fn routes() -> Router<AppState> {
    tracked_resource(
        RESOURCE_TYPE,
        "namespaceName",
        get(list_by_subscription),
        get(list_by_resource_group),
        get(show).put(create_or_update).delete(delete),
    )
}

pub fn namespace_id(sub: &str, group: &str, name: &str) -> String {
    resource_id(sub, group, NAMESPACE, Namespaces::RESOURCE_TYPE, name)
}

fn namespaces_prefix(group_id: &str) -> String {
    type_prefix_in_group(group_id, NAMESPACE, Namespaces::RESOURCE_TYPE)
}

fn stored(
    state: &AppState,
    sub: &str,
    group: &str,
    name: &str,
) -> Result<Option<StoredNamespace>, ArmError> {
    Ok(state
        .store
        .get::<StoredNamespace>(&storage_key(&namespace_id(sub, group, name)))?)
}

/// The namespace itself, or ARM's 404 (the group named first when missing).
fn find(state: &AppState, sub: &str, group: &str, name: &str) -> Result<StoredNamespace, ArmError> {
    stored(state, sub, group, name)?
        .ok_or_else(|| resource_groups::resource_not_found(state, sub, group, RESOURCE_TYPE, name))
}

/// The namespace a child resource lives in: a missing group is
/// `ResourceGroupNotFound`, a missing namespace `ParentResourceNotFound`.
pub fn parent(
    state: &AppState,
    sub: &str,
    group: &str,
    name: &str,
) -> Result<StoredNamespace, ArmError> {
    resource_groups::find(state, sub, group)?;
    stored(state, sub, group, name)?.ok_or_else(|| parent_not_found(name))
}

/// A child's 404, named as ARM names nested resources
/// (`Microsoft.EventHub/namespaces/ns1/eventhubs/orders`).
pub fn child_not_found(group: &str, namespace: &str, child_path: &str) -> ArmError {
    ArmError::resource_not_found(RESOURCE_TYPE, &format!("{namespace}/{child_path}"), group)
}

fn render(state: &AppState, namespace: StoredNamespace) -> Value {
    let s = &namespace.settings;
    // The emulator's Event Hubs REST listener serves every namespace.
    let service_bus_endpoint = match state.event_hubs.rest_endpoint() {
        Some(endpoint) => format!("{}/", endpoint.trim_end_matches('/')),
        None => format!("https://{}:443/", namespace.host()),
    };
    json!({
        "sku": {
            "name": namespace.tier.as_str(),
            "tier": namespace.tier.as_str(),
            "capacity": namespace.capacity,
        },
        "id": namespace.id,
        "name": namespace.name,
        "type": WIRE_TYPE,
        "location": display_location(&namespace.location),
        "tags": namespace.tags,
        "systemData": namespace.system_data,
        "properties": {
            "minimumTlsVersion": s.minimum_tls_version,
            "publicNetworkAccess": s.public_network_access,
            "disableLocalAuth": s.disable_local_auth,
            "zoneRedundant": s.zone_redundant,
            "isAutoInflateEnabled": s.is_auto_inflate_enabled,
            "maximumThroughputUnits": s.maximum_throughput_units,
            // Kafka comes with every tier above Basic.
            "kafkaEnabled": namespace.tier != Tier::Basic,
            "provisioningState": "Succeeded",
            "status": "Active",
            "metricId": format!("{}:{}", subscription_of(&namespace.id), namespace.name.to_ascii_lowercase()),
            "createdAt": namespace.created_at,
            "updatedAt": namespace.updated_at,
            "serviceBusEndpoint": service_bus_endpoint,
        },
    })
}

fn subscription_of(id: &str) -> &str {
    id.split('/').nth(2).unwrap_or_default()
}

fn bad_request(message: String, target: &str) -> ArmError {
    ArmError::BadRequest {
        code: "BadRequest",
        message,
        target: Some(target.into()),
    }
}

/// The tier and capacity a PUT asks for: Standard with one unit when no sku is given.
fn requested_sku(sku: Option<SkuInput>) -> Result<(Tier, u32), ArmError> {
    let Some(sku) = sku else {
        return Ok((Tier::Standard, 1));
    };
    let tier = Tier::parse(&sku.name).ok_or_else(|| {
        bad_request(
            format!(
                "The SKU '{}' is not valid. Valid SKUs are Basic, Standard and Premium.",
                sku.name
            ),
            "sku.name",
        )
    })?;
    let capacity = sku.capacity.unwrap_or(1);
    let range = tier.capacity_range();
    if !range.contains(&capacity) {
        return Err(bad_request(
            format!(
                "The capacity {capacity} is not valid for the {} tier: it must be from {} to {}.",
                tier.as_str(),
                range.start(),
                range.end()
            ),
            "sku.capacity",
        ));
    }
    Ok((tier, capacity))
}

fn settings_from(props: NamespacePutProperties, tier: Tier) -> Result<NamespaceSettings, ArmError> {
    let inflate = props.is_auto_inflate_enabled.unwrap_or(false);
    if inflate && tier != Tier::Standard {
        return Err(bad_request(
            format!(
                "Auto-inflate is available for the Standard tier only, not {}.",
                tier.as_str()
            ),
            "properties.isAutoInflateEnabled",
        ));
    }
    Ok(NamespaceSettings {
        minimum_tls_version: props.minimum_tls_version.unwrap_or_else(|| "1.2".into()),
        public_network_access: props
            .public_network_access
            .unwrap_or_else(|| "Enabled".into()),
        disable_local_auth: props.disable_local_auth.unwrap_or(false),
        zone_redundant: props.zone_redundant.unwrap_or(false),
        is_auto_inflate_enabled: inflate,
        // Without auto-inflate the service reports 0 whatever was sent.
        maximum_throughput_units: if inflate {
            props.maximum_throughput_units.unwrap_or(0)
        } else {
            0
        },
    })
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<Namespaces>,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<Json<Value>, ArmError> {
    Ok(Json(render(&state, find(&state, &sub, &group, &name)?)))
}

async fn list_by_subscription(
    State(state): State<AppState>,
    _: ApiVersion<Namespaces>,
    Path(sub): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    list_records(&state, &storage_key(&subscription_id(&sub)), &uri, |n| {
        render(&state, n)
    })
}

async fn list_by_resource_group(
    State(state): State<AppState>,
    _: ApiVersion<Namespaces>,
    Path((sub, group)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    resource_groups::find(&state, &sub, &group)?;
    list_records(
        &state,
        &namespaces_prefix(&resource_group_id(&sub, &group)),
        &uri,
        |n| render(&state, n),
    )
}

async fn create_or_update(
    State(state): State<AppState>,
    principal: Principal,
    _: ApiVersion<Namespaces>,
    Path((sub, group, name)): Path<(String, String, String)>,
    ArmJson(body): ArmJson<NamespacePut>,
) -> Result<Response, ArmError> {
    names::check_namespace(&name)?;
    let location = normalise_location(&body.location, RESOURCE_TYPE)?;
    let (tier, capacity) = requested_sku(body.sku)?;
    let settings = settings_from(body.properties.unwrap_or_default(), tier)?;
    let _guard = state.store.lock_writes().await;
    let group_record = resource_groups::writable_group(&state, &sub, &group)?;
    let now = Utc::now();
    let mut writes = WriteSet::new();
    let (namespace, status) = match stored(&state, &sub, &group, &name)? {
        Some(mut existing) => {
            if existing.location != location {
                return Err(ArmError::BadRequest {
                    code: "InvalidResourceLocation",
                    message: format!(
                        "The resource '{name}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'.",
                        existing.location, group_record.name
                    ),
                    target: Some("location".into()),
                });
            }
            if (existing.tier == Tier::Premium) != (tier == Tier::Premium) {
                return Err(bad_request(
                    format!(
                        "The namespace '{name}' cannot change from the {} tier to {}: Premium and the other tiers do not convert into each other.",
                        existing.tier.as_str(),
                        tier.as_str()
                    ),
                    "sku.name",
                ));
            }
            existing.tags = body.tags.unwrap_or_default();
            existing.tier = tier;
            existing.capacity = capacity;
            existing.settings = settings;
            existing.updated_at = arm_time(now);
            existing.system_data.modified(&principal, now);
            (existing, StatusCode::OK)
        }
        None => {
            if let Some(taken) = find_by_name_elsewhere(&state, &name)? {
                return Err(ArmError::Conflict {
                    code: "NamespaceNameInUse",
                    message: format!(
                        "The namespace name '{name}' is already in use by '{}': namespace names are global, as the host name {name}.servicebus.windows.net is.",
                        taken.id
                    ),
                });
            }
            let namespace = StoredNamespace {
                id: namespace_id(&sub, &group_record.name, &name),
                name,
                location,
                tags: body.tags.unwrap_or_default(),
                tier,
                capacity,
                settings,
                created_at: arm_time(now),
                updated_at: arm_time(now),
                system_data: SystemData::created(&principal, now),
            };
            authorization_rules::stage_root_rule(&namespace, &mut writes)?;
            (namespace, StatusCode::CREATED)
        }
    };
    writes.put(&storage_key(&namespace.id), &namespace)?;
    state.store.commit(writes).await?;
    Ok((status, Json(render(&state, namespace))).into_response())
}

/// A namespace of this name in any subscription or group (names are DNS names).
fn find_by_name_elsewhere(
    state: &AppState,
    name: &str,
) -> Result<Option<StoredNamespace>, ArmError> {
    Ok(state
        .store
        .list::<StoredNamespace>("", None, usize::MAX)?
        .into_iter()
        .map(|(_, namespace)| namespace)
        .find(|namespace| namespace.name.eq_ignore_ascii_case(name)))
}

/// 200 when deleted (with its hubs, groups and rules), 204 when there was
/// nothing to delete.
async fn delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<Namespaces>,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<StatusCode, ArmError> {
    let _guard = state.store.lock_writes().await;
    let key = storage_key(&namespace_id(&sub, &group, &name));
    if state.store.get::<StoredNamespace>(&key)?.is_none() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut writes = WriteSet::new();
    delete_contents(&state, &format!("{key}/"), &mut writes)?;
    writes.delete::<StoredNamespace>(&key);
    state.store.commit(writes).await?;
    Ok(StatusCode::OK)
}

/// Stages the deletion of every child record (hubs, consumer groups, rules)
/// whose storage key starts with `prefix`.
pub fn delete_contents(
    state: &AppState,
    prefix: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    state.store.delete_under::<StoredEventHub>(prefix, writes)?;
    state
        .store
        .delete_under::<StoredConsumerGroup>(prefix, writes)?;
    authorization_rules::delete_under(state, prefix, writes)
}

impl ListedResource for StoredNamespace {
    fn generic(self) -> GenericResource {
        GenericResource {
            sku: Some(json!({
                "name": self.tier.as_str(),
                "tier": self.tier.as_str(),
                "capacity": self.capacity,
            })),
            id: self.id,
            name: self.name,
            resource_type: RESOURCE_TYPE.into(),
            location: self.location,
            tags: self.tags,
            created_time: Some(self.system_data.created_at),
            changed_time: Some(self.system_data.last_modified_at),
            provisioning_state: "Succeeded".into(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_defaults_and_capacity_ranges() {
        assert_eq!(requested_sku(None).unwrap(), (Tier::Standard, 1));
        let sku = |name: &str, capacity| {
            Some(SkuInput {
                name: name.into(),
                capacity,
            })
        };
        assert_eq!(
            requested_sku(sku("premium", Some(4))).unwrap(),
            (Tier::Premium, 4)
        );
        assert!(requested_sku(sku("Premium", Some(17))).is_err());
        assert!(requested_sku(sku("Standard", Some(0))).is_err());
        assert!(requested_sku(sku("Dedicated", None)).is_err());
    }
}
