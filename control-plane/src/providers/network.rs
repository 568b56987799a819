//! `Microsoft.Network/privateEndpoints`, as far as Cloud HSM needs it: a
//! private endpoint whose one connection targets a cluster's `cloudHsm`
//! group. Creating it makes the cluster's private endpoint connection
//! (approved at once when automatic, pending when manual); deleting it
//! removes that connection. The endpoint shows the connection's state as the
//! cluster's owner sets it, or `Disconnected` once the owner deletes it.
//!
//! Networks are not emulated: the subnet id is kept as given, and no network
//! interface is invented; an approved connection's `customDnsConfigs` list
//! the HSMs' private-link names at the emulator's own address.

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
    cloud_hsm::{
        clusters,
        model::{private_link_fqdn, StoredCluster},
        private_endpoint_connections::{self as connections, ConnectionRequest, GROUP_ID},
    },
    resource_groups,
    resources::{GenericResource, ListedResource},
};
use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        conditions::new_etag,
        error::ArmError,
        paging::list_records,
        resource_id::{
            canonical_path, resource_group_id, resource_id, storage_key, subscription_id,
            type_prefix_in_group,
        },
        schema::{ArmJson, ValidatedBody},
        system_data::arm_time,
        tracked_routes::tracked_resource,
        validation::normalise_location,
    },
    identity::tokens::Principal,
    state::AppState,
    store::{Record, WriteSet},
};

pub struct PrivateEndpoints;
impl VersionedType for PrivateEndpoints {
    const NAMESPACE: &'static str = "Microsoft.Network";
    const RESOURCE_TYPE: &'static str = "privateEndpoints";
    /// Versions the Azure SDKs, CLI and Bicep of the last years send.
    const SUPPORTED: &'static [&'static str] = &[
        "2026-03-01",
        "2026-01-01",
        "2025-09-01",
        "2025-07-01",
        "2025-05-01",
        "2025-03-01",
        "2025-01-01",
        "2024-10-01",
        "2024-07-01",
        "2024-05-01",
        "2024-03-01",
        "2024-01-01",
        "2023-11-01",
        "2023-09-01",
        "2023-06-01",
        "2023-05-01",
        "2023-04-01",
        "2023-02-01",
        "2022-11-01",
        "2022-09-01",
        "2022-07-01",
        "2022-05-01",
        "2022-01-01",
        "2021-08-01",
        "2021-05-01",
        "2021-03-01",
        "2021-02-01",
        "2020-11-01",
    ];
}

const RESOURCE_TYPE: &str = "Microsoft.Network/privateEndpoints";

/// One `privateLinkServiceConnections[]` / `manualPrivateLinkServiceConnections[]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceConnection {
    pub name: String,
    pub service_id: String,
    pub group_ids: Vec<String>,
    pub request_message: Option<String>,
    pub manual: bool,
    /// The cluster-side connection this one made.
    pub cluster_connection_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPrivateEndpoint {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub etag: String,
    pub resource_guid: String,
    pub subnet_id: String,
    pub connection: ServiceConnection,
    /// When it was created and last changed (ARM times); absent in records
    /// written before the generic lists showed them.
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub changed_at: Option<String>,
}

impl Record for StoredPrivateEndpoint {
    const KIND: &'static str = "privateEndpoint";
    const VERSION: u32 = 1;
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionInputProperties {
    private_link_service_id: String,
    #[serde(default)]
    group_ids: Vec<String>,
    request_message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ConnectionInput {
    name: String,
    properties: ConnectionInputProperties,
}

#[derive(Debug, Deserialize)]
struct SubnetInput {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrivateEndpointPutProperties {
    subnet: SubnetInput,
    #[serde(default)]
    private_link_service_connections: Vec<ConnectionInput>,
    #[serde(default)]
    manual_private_link_service_connections: Vec<ConnectionInput>,
}

#[derive(Debug, Deserialize)]
pub struct PrivateEndpointPut {
    location: String,
    tags: Option<BTreeMap<String, String>>,
    properties: PrivateEndpointPutProperties,
}
impl ValidatedBody for PrivateEndpointPut {
    const SCHEMA: &'static str = "privateEndpoints.put";
}

pub fn routes() -> Router<AppState> {
    tracked_resource(
        "Microsoft.Network/privateEndpoints",
        "privateEndpointName",
        get(list_by_subscription),
        get(list_by_resource_group),
        get(show).put(create_or_update).delete(delete),
    )
}

fn endpoint_id(sub: &str, group: &str, name: &str) -> String {
    resource_id(
        sub,
        group,
        PrivateEndpoints::NAMESPACE,
        PrivateEndpoints::RESOURCE_TYPE,
        name,
    )
}

fn endpoints_prefix(group_id: &str) -> String {
    type_prefix_in_group(
        group_id,
        PrivateEndpoints::NAMESPACE,
        PrivateEndpoints::RESOURCE_TYPE,
    )
}

/// The endpoint as the API shows it, with its connection's live state.
fn render(state: &AppState, endpoint: StoredPrivateEndpoint) -> Value {
    let c = &endpoint.connection;
    let mut dns_configs = Vec::new();
    let connection_state = match connections::find_by_id(state, &c.cluster_connection_id) {
        Ok(Some(stored)) => {
            let connection_state = &stored
                .resource
                .properties
                .private_link_service_connection_state;
            if connection_state.status.eq_ignore_ascii_case("Approved") {
                dns_configs = private_dns_configs(state, &c.service_id);
            }
            serde_json::to_value(connection_state).unwrap_or(Value::Null)
        }
        _ => json!({
            "status": "Disconnected",
            "description": "The private endpoint connection was deleted by the owner of the Cloud HSM cluster.",
            "actionsRequired": "None",
        }),
    };
    let mut connection_properties = json!({
        "provisioningState": "Succeeded",
        "privateLinkServiceId": c.service_id,
        "groupIds": c.group_ids,
        "privateLinkServiceConnectionState": connection_state,
    });
    if let Some(message) = &c.request_message {
        connection_properties["requestMessage"] = json!(message);
    }
    let collection = if c.manual {
        "manualPrivateLinkServiceConnections"
    } else {
        "privateLinkServiceConnections"
    };
    let connection = json!({
        "name": c.name,
        "id": format!("{}/{collection}/{}", endpoint.id, c.name),
        "etag": endpoint.etag,
        "type": format!("{RESOURCE_TYPE}/{collection}"),
        "properties": connection_properties,
    });
    let (automatic, manual) = if c.manual {
        (json!([]), json!([connection]))
    } else {
        (json!([connection]), json!([]))
    };
    json!({
        "id": endpoint.id,
        "name": endpoint.name,
        "type": RESOURCE_TYPE,
        "location": endpoint.location,
        "tags": endpoint.tags,
        "etag": endpoint.etag,
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": endpoint.resource_guid,
            "subnet": { "id": endpoint.subnet_id },
            "privateLinkServiceConnections": automatic,
            "manualPrivateLinkServiceConnections": manual,
            "networkInterfaces": [],
            "customDnsConfigs": dns_configs,
            "ipConfigurations": [],
            "applicationSecurityGroups": [],
        }
    })
}

/// `customDnsConfigs` of an approved connection: the private-link name of
/// each HSM of the cluster, as Azure lists the FQDNs that resolve to a
/// private endpoint. Networks are not emulated, so the address given is the
/// emulator's own host, where the data plane answers those names.
fn private_dns_configs(state: &AppState, cluster_id: &str) -> Vec<Value> {
    let Ok(Some(cluster)) = clusters::current(state, cluster_id) else {
        return Vec::new();
    };
    let host = url::Url::parse(&state.config.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "127.0.0.1".into());
    cluster
        .resource
        .properties
        .hsms
        .iter()
        .filter_map(|hsm| private_link_fqdn(&hsm.fqdn))
        .map(|fqdn| json!({ "fqdn": fqdn, "ipAddresses": [host] }))
        .collect()
}

/// Private endpoint names: 2-64 letters, digits, '_', '.' and '-', starting
/// with a letter or digit and ending with a letter, digit or '_'.
fn check_name(name: &str) -> Result<(), ArmError> {
    let bytes = name.as_bytes();
    let valid = (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        return Ok(());
    }
    Err(ArmError::BadRequest {
        code: "InvalidResourceName",
        message: format!("Resource name '{name}' is invalid. A private endpoint name must be 2 to 64 letters, digits, '_', '.' and '-', start with a letter or digit and end with a letter, digit or '_'."),
        target: Some("privateEndpointName".into()),
    })
}

/// The one connection of the request, which must target a Cloud HSM
/// cluster's `cloudHsm` group.
fn requested_connection(
    props: PrivateEndpointPutProperties,
) -> Result<(ConnectionInput, bool), ArmError> {
    let automatic = props.private_link_service_connections.len();
    let manual = props.manual_private_link_service_connections.len();
    if automatic + manual != 1 {
        return Err(ArmError::BadRequest {
            code: "InvalidPrivateEndpointConnectionCount",
            message: format!(
                "A private endpoint has exactly one private link service connection, in privateLinkServiceConnections or manualPrivateLinkServiceConnections; {} were given.",
                automatic + manual
            ),
            target: Some("properties.privateLinkServiceConnections".into()),
        });
    }
    let is_manual = manual == 1;
    let connection = props
        .private_link_service_connections
        .into_iter()
        .chain(props.manual_private_link_service_connections)
        .next()
        .ok_or_else(|| ArmError::Internal("no connection after counting one".into()))?;
    let collection = if is_manual {
        "manualPrivateLinkServiceConnections"
    } else {
        "privateLinkServiceConnections"
    };
    match connection.properties.group_ids.as_slice() {
        [] => {
            return Err(ArmError::BadRequest {
                code: "MissingParameterOnPrivateLinkServiceConnection",
                message: format!(
                    "Private link service connection '{}' is missing required parameter 'group Id'. A Cloud HSM cluster's group id is '{GROUP_ID}'.",
                    connection.name
                ),
                target: Some(format!("properties.{collection}[0].properties.groupIds")),
            })
        }
        [group] if group.eq_ignore_ascii_case(GROUP_ID) => {}
        other => {
            return Err(ArmError::BadRequest {
                code: "InvalidGroupIdOnPrivateLinkServiceConnection",
                message: format!(
                    "Group ids {other:?} are not offered by the private link resource: a Cloud HSM cluster offers exactly one, '{GROUP_ID}'."
                ),
                target: Some(format!("properties.{collection}[0].properties.groupIds")),
            })
        }
    }
    Ok((connection, is_manual))
}

/// The cluster a `privateLinkServiceId` names; it must exist and be provisioned.
fn target_cluster(state: &AppState, service_id: &str) -> Result<StoredCluster, ArmError> {
    let target = || {
        ArmError::BadRequest {
        code: "LinkedInvalidPropertyId",
        message: format!(
            "Property id '{service_id}' at path 'properties.privateLinkServiceConnections[0].properties.privateLinkServiceId' is invalid: the emulator offers private links to Microsoft.HardwareSecurityModules/cloudHsmClusters resources only, given by their full resource id."
        ),
        target: Some("privateLinkServiceId".into()),
    }
    };
    let canonical = canonical_path(service_id);
    let parts: Vec<&str> = canonical.trim_start_matches('/').split('/').collect();
    if parts.len() != 8
        || parts[0] != "subscriptions"
        || parts[2] != "resourceGroups"
        || parts[4] != "providers"
        || parts[5] != "Microsoft.HardwareSecurityModules"
        || parts[6] != "cloudHsmClusters"
    {
        return Err(target());
    }
    let cluster = state
        .store
        .get::<StoredCluster>(&storage_key(&canonical))?
        .ok_or_else(|| ArmError::BadRequest {
            code: "PrivateLinkServiceNotFound",
            message: format!(
                "The private link service '{service_id}' (a Cloud HSM cluster) was not found."
            ),
            target: Some("privateLinkServiceId".into()),
        })?;
    if cluster.resource.properties.provisioning_state != "Succeeded" {
        return Err(ArmError::Conflict {
            code: "PrivateLinkServiceNotReady",
            message: format!(
                "The Cloud HSM cluster '{}' is in provisioning state '{}'; connect a private endpoint once it has succeeded.",
                cluster.resource.name, cluster.resource.properties.provisioning_state
            ),
        });
    }
    Ok(cluster)
}

/// The cluster-side connection name: the endpoint's name in the characters
/// and length the Cloud HSM API allows (`^[a-zA-Z0-9-]{3,24}$`).
fn cluster_connection_name(endpoint_name: &str) -> String {
    let mut name: String = endpoint_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(24)
        .collect();
    while name.len() < 3 {
        name.push('-');
    }
    name
}

fn find(
    state: &AppState,
    sub: &str,
    group: &str,
    name: &str,
) -> Result<StoredPrivateEndpoint, ArmError> {
    state
        .store
        .get::<StoredPrivateEndpoint>(&storage_key(&endpoint_id(sub, group, name)))?
        .ok_or_else(|| resource_groups::resource_not_found(state, sub, group, RESOURCE_TYPE, name))
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<PrivateEndpoints>,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<Json<Value>, ArmError> {
    let endpoint = find(&state, &sub, &group, &name)?;
    Ok(Json(render(&state, endpoint)))
}

async fn list_by_subscription(
    State(state): State<AppState>,
    _: ApiVersion<PrivateEndpoints>,
    Path(sub): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    list_records(&state, &storage_key(&subscription_id(&sub)), &uri, |e| {
        render(&state, e)
    })
}

async fn list_by_resource_group(
    State(state): State<AppState>,
    _: ApiVersion<PrivateEndpoints>,
    Path((sub, group)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    resource_groups::find(&state, &sub, &group)?;
    let prefix = endpoints_prefix(&resource_group_id(&sub, &group));
    list_records(&state, &prefix, &uri, |e| render(&state, e))
}

async fn create_or_update(
    State(state): State<AppState>,
    principal: Principal,
    _: ApiVersion<PrivateEndpoints>,
    Path((sub, group, name)): Path<(String, String, String)>,
    ArmJson(body): ArmJson<PrivateEndpointPut>,
) -> Result<Response, ArmError> {
    check_name(&name)?;
    let location = normalise_location(&body.location, RESOURCE_TYPE)?;
    let subnet_id = body.properties.subnet.id.clone();
    let (connection, manual) = requested_connection(body.properties)?;
    let _guard = state.store.lock_writes().await;
    let group_record = resource_groups::writable_group(&state, &sub, &group)?;
    let id = endpoint_id(&sub, &group_record.name, &name);
    let key = storage_key(&id);
    let mut writes = WriteSet::new();
    if let Some(mut existing) = state.store.get::<StoredPrivateEndpoint>(&key)? {
        // A private endpoint's target is fixed once created, as in Azure;
        // what may change is its tags.
        let same_target = existing
            .connection
            .service_id
            .eq_ignore_ascii_case(&connection.properties.private_link_service_id)
            && existing.connection.manual == manual
            && existing.location == location;
        if !same_target {
            return Err(ArmError::BadRequest {
                code: "CannotChangePrivateEndpointConnection",
                message: format!(
                    "The private endpoint '{name}' already connects to '{}'; its location and connection cannot be changed. Delete it and create a new one.",
                    existing.connection.service_id
                ),
                target: Some("properties.privateLinkServiceConnections".into()),
            });
        }
        existing.tags = body.tags.unwrap_or_default();
        existing.etag = format!("W/{}", new_etag());
        existing.changed_at = Some(arm_time(Utc::now()));
        writes.put(&key, &existing)?;
        state.store.commit(writes).await?;
        return Ok((StatusCode::OK, Json(render(&state, existing))).into_response());
    }
    let cluster = target_cluster(&state, &connection.properties.private_link_service_id)?;
    let now = Utc::now();
    let connection_name = cluster_connection_name(&name);
    let cluster_connection_id = connections::connection_id(&cluster.resource.id, &connection_name);
    connections::stage_new(
        &state,
        &cluster.resource.id,
        &connection_name,
        &id,
        ConnectionRequest {
            manual,
            message: connection.properties.request_message.as_deref(),
        },
        &principal,
        &mut writes,
    )?;
    let endpoint = StoredPrivateEndpoint {
        id,
        name,
        location,
        tags: body.tags.unwrap_or_default(),
        etag: format!("W/{}", new_etag()),
        resource_guid: uuid::Uuid::new_v4().to_string(),
        subnet_id,
        created_at: Some(arm_time(now)),
        changed_at: Some(arm_time(now)),
        connection: ServiceConnection {
            name: connection.name,
            service_id: cluster.resource.id.clone(),
            group_ids: vec![GROUP_ID.into()],
            request_message: connection.properties.request_message,
            manual,
            cluster_connection_id,
        },
    };
    writes.put(&key, &endpoint)?;
    state.store.commit(writes).await?;
    Ok((StatusCode::CREATED, Json(render(&state, endpoint))).into_response())
}

/// 200 when deleted, 204 when there was nothing to delete.
async fn delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<PrivateEndpoints>,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<StatusCode, ArmError> {
    let _guard = state.store.lock_writes().await;
    let key = storage_key(&endpoint_id(&sub, &group, &name));
    let Some(endpoint) = state.store.get::<StoredPrivateEndpoint>(&key)? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let mut writes = WriteSet::new();
    connections::stage_removal(&endpoint.connection.cluster_connection_id, &mut writes);
    writes.delete::<StoredPrivateEndpoint>(&key);
    state.store.commit(writes).await?;
    Ok(StatusCode::OK)
}

/// Part of a resource group's deletion: its endpoints and their connections.
pub fn delete_in_group(
    state: &AppState,
    group_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    let prefix = endpoints_prefix(group_id);
    for (_, endpoint) in state
        .store
        .list::<StoredPrivateEndpoint>(&prefix, None, usize::MAX)?
    {
        connections::stage_removal(&endpoint.connection.cluster_connection_id, writes);
    }
    Ok(state
        .store
        .delete_under::<StoredPrivateEndpoint>(&prefix, writes)?)
}

impl ListedResource for StoredPrivateEndpoint {
    fn generic(self) -> GenericResource {
        GenericResource {
            id: self.id,
            name: self.name,
            resource_type: RESOURCE_TYPE.into(),
            location: self.location,
            tags: self.tags,
            created_time: self.created_at,
            changed_time: self.changed_at,
            provisioning_state: "Succeeded".into(),
            ..Default::default()
        }
    }
}
