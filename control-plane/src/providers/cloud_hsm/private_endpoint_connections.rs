//! `cloudHsmClusters/privateEndpointConnections`: the cluster's side of its
//! private endpoints — list, get, approve/reject (PUT) and delete
//! (long-running).
//!
//! As in Azure, a connection comes into being when someone creates a private
//! endpoint (`Microsoft.Network/privateEndpoints`, see
//! [`crate::providers::network`]) that targets the cluster: automatic
//! connections start `Approved`, manual ones `Pending`. The cluster's owner
//! then approves, rejects or deletes it here. A PUT cannot conjure a
//! connection without an endpoint; it answers 404 and says how to make one.

use axum::{
    extract::{OriginalUri, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    clusters::{self, CloudHsmClusters},
    model::RESOURCE_TYPE as CLUSTER_TYPE,
};
use crate::{
    arm::{
        api_version::ApiVersion,
        conditions::{etag_header, new_etag, Preconditions},
        error::ArmError,
        lro::{OperationKind, OperationRecord, Outcome},
        paging::list_records,
        resource_id::storage_key,
        schema::{ArmJson, ValidatedBody},
        system_data::SystemData,
    },
    identity::tokens::Principal,
    state::AppState,
    store::{Record, WriteSet},
};

pub const RESOURCE_TYPE: &str =
    "Microsoft.HardwareSecurityModules/cloudHsmClusters/privateEndpointConnections";

/// The one private-link group a Cloud HSM cluster exposes.
pub const GROUP_ID: &str = "cloudHsm";

/// `PrivateLinkServiceConnectionState` (common-types v6 privatelinks).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionState {
    pub status: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub actions_required: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PrivateEndpointRef {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionProperties {
    pub private_endpoint: PrivateEndpointRef,
    pub private_link_service_connection_state: ConnectionState,
    pub provisioning_state: String,
    pub group_ids: Vec<String>,
}

/// `PrivateEndpointConnection` as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpointConnection {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub etag: String,
    pub properties: ConnectionProperties,
    pub system_data: SystemData,
}

/// What the store keeps: the resource and the operation running on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredConnection {
    pub resource: PrivateEndpointConnection,
    pub operation_id: Option<String>,
}

impl Record for StoredConnection {
    const KIND: &'static str = "privateEndpointConnection";
    const ADDRESSING: bool = true;
    const VERSION: u32 = 1;
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStateInput {
    pub status: Option<String>,
    pub description: Option<String>,
    pub actions_required: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionPutProperties {
    pub private_link_service_connection_state: ConnectionStateInput,
}

#[derive(Debug, Deserialize)]
pub struct ConnectionPut {
    pub properties: ConnectionPutProperties,
}
impl ValidatedBody for ConnectionPut {
    const SCHEMA: &'static str = "privateEndpointConnections.put";
}

pub fn routes() -> Router<AppState> {
    const CLUSTER: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{cloudHsmClusterName}";
    Router::new()
        .route(&format!("{CLUSTER}/privateEndpointConnections"), get(list))
        .route(
            &format!("{CLUSTER}/privateEndpointConnections/{{peConnectionName}}"),
            get(show).put(update_state).delete(delete),
        )
}

pub fn connection_id(cluster_id: &str, name: &str) -> String {
    format!("{cluster_id}/privateEndpointConnections/{name}")
}

fn connections_prefix(cluster_id: &str) -> String {
    storage_key(&format!("{cluster_id}/privateEndpointConnections/"))
}

/// Connection names as the spec allows them: 3-24 letters, digits and '-'.
pub fn valid_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn check_name(name: &str) -> Result<(), ArmError> {
    if valid_name(name) {
        return Ok(());
    }
    Err(ArmError::BadRequest {
        code: "InvalidResourceName",
        message: format!(
            "The private endpoint connection name '{name}' is invalid: it must be 3 to 24 letters, digits and '-' (pattern ^[a-zA-Z0-9-]{{3,24}}$)."
        ),
        target: Some("peConnectionName".into()),
    })
}

pub fn find_by_id(state: &AppState, id: &str) -> Result<Option<StoredConnection>, ArmError> {
    Ok(state.store.get::<StoredConnection>(&storage_key(id))?)
}

/// Every connection of a cluster, for its `properties.privateEndpointConnections`.
pub fn of_cluster(state: &AppState, cluster_id: &str) -> Vec<PrivateEndpointConnection> {
    match state
        .store
        .list::<StoredConnection>(&connections_prefix(cluster_id), None, usize::MAX)
    {
        Ok(items) => items.into_iter().map(|(_, c)| c.resource).collect(),
        Err(e) => {
            tracing::error!(error = %e, "listing private endpoint connections");
            Vec::new()
        }
    }
}

/// The connection a private endpoint asks for: `Approved` when automatic,
/// `Pending` (with the requester's message) when manual, as Azure does.
pub fn stage_new(
    state: &AppState,
    cluster_id: &str,
    name: &str,
    private_endpoint_id: &str,
    request: ConnectionRequest<'_>,
    principal: &Principal,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    let id = connection_id(cluster_id, name);
    if let Some(existing) = find_by_id(state, &id)? {
        if !existing
            .resource
            .properties
            .private_endpoint
            .id
            .eq_ignore_ascii_case(private_endpoint_id)
        {
            return Err(ArmError::Conflict {
                code: "PrivateEndpointConnectionAlreadyExists",
                message: format!(
                    "The Cloud HSM cluster already has a private endpoint connection named '{name}' for another private endpoint ('{}'). Give the private endpoint another name.",
                    existing.resource.properties.private_endpoint.id
                ),
            });
        }
        return Ok(());
    }
    let state_now = if request.manual {
        ConnectionState {
            status: "Pending".into(),
            description: request.message.unwrap_or_default().to_string(),
            actions_required: "None".into(),
        }
    } else {
        ConnectionState {
            status: "Approved".into(),
            description: "Auto-Approved".into(),
            actions_required: "None".into(),
        }
    };
    let connection = StoredConnection {
        resource: PrivateEndpointConnection {
            id: id.clone(),
            name: name.to_string(),
            resource_type: RESOURCE_TYPE.into(),
            etag: new_etag(),
            properties: ConnectionProperties {
                private_endpoint: PrivateEndpointRef {
                    id: private_endpoint_id.to_string(),
                },
                private_link_service_connection_state: state_now,
                provisioning_state: "Succeeded".into(),
                group_ids: vec![GROUP_ID.into()],
            },
            system_data: SystemData::created(principal, Utc::now()),
        },
        operation_id: None,
    };
    writes.put(&storage_key(&id), &connection)?;
    Ok(())
}

/// How a private endpoint asks to connect.
pub struct ConnectionRequest<'a> {
    pub manual: bool,
    pub message: Option<&'a str>,
}

/// Part of deleting a private endpoint or a cluster: the connection goes too.
pub fn stage_removal(id: &str, writes: &mut WriteSet) {
    writes.delete::<StoredConnection>(&storage_key(id));
}

/// Part of a cluster's deletion.
pub fn delete_under_cluster(
    state: &AppState,
    cluster_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    Ok(state
        .store
        .delete_under::<StoredConnection>(&connections_prefix(cluster_id), writes)?)
}

type ConnectionPath = Path<(String, String, String, String)>;

fn find(
    state: &AppState,
    sub: &str,
    group: &str,
    cluster: &str,
    name: &str,
) -> Result<StoredConnection, ArmError> {
    let cluster = clusters::find(state, sub, group, cluster)?;
    find_by_id(state, &connection_id(&cluster.resource.id, name))?.ok_or_else(|| {
        ArmError::resource_not_found(
            CLUSTER_TYPE,
            &format!(
                "{}/privateEndpointConnections/{name}",
                cluster.resource.name
            ),
            group,
        )
    })
}

fn resource_response(status: StatusCode, connection: &PrivateEndpointConnection) -> Response {
    let mut response = (status, Json(connection)).into_response();
    etag_header(response.headers_mut(), &connection.etag);
    response
}

async fn list(
    State(state): State<AppState>,
    _: ApiVersion<CloudHsmClusters>,
    Path((sub, group, cluster)): Path<(String, String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let cluster = clusters::find(&state, &sub, &group, &cluster)?;
    list_records(
        &state,
        &connections_prefix(&cluster.resource.id),
        &uri,
        |c: StoredConnection| serde_json::to_value(c.resource).unwrap_or(Value::Null),
    )
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<CloudHsmClusters>,
    Path((sub, group, cluster, name)): ConnectionPath,
) -> Result<Response, ArmError> {
    let connection = find(&state, &sub, &group, &cluster, &name)?;
    Ok(resource_response(StatusCode::OK, &connection.resource))
}

/// Which way a connection's status may move. A rejected connection stays
/// rejected (its endpoint must be re-created), as for other Azure private
/// link services; nothing goes back to `Pending`.
fn check_transition(from: &str, to: &str) -> Result<(), ArmError> {
    let allowed = from == to
        || matches!(
            (from, to),
            ("Pending", "Approved") | ("Pending", "Rejected") | ("Approved", "Rejected")
        );
    if allowed {
        return Ok(());
    }
    Err(ArmError::BadRequest {
        code: "InvalidPrivateEndpointConnectionStatusChange",
        message: format!(
            "A private endpoint connection in status '{from}' cannot be set to '{to}'. Pending connections can be approved or rejected, approved ones rejected; a rejected connection stays rejected — delete it and re-create the private endpoint."
        ),
        target: Some("properties.privateLinkServiceConnectionState.status".into()),
    })
}

async fn update_state(
    State(state): State<AppState>,
    principal: Principal,
    _: ApiVersion<CloudHsmClusters>,
    Path((sub, group, cluster, name)): ConnectionPath,
    preconditions: Preconditions,
    ArmJson(body): ArmJson<ConnectionPut>,
) -> Result<Response, ArmError> {
    check_name(&name)?;
    let _guard = state.store.lock_writes().await;
    let mut stored = match find(&state, &sub, &group, &cluster, &name) {
        Ok(stored) => stored,
        Err(ArmError::NotFound { code: "ResourceNotFound", .. }) => {
            return Err(ArmError::NotFound {
                code: "PrivateEndpointConnectionNotFound",
                message: format!(
                    "The Cloud HSM cluster '{cluster}' has no private endpoint connection '{name}'. Connections are made by creating a private endpoint (Microsoft.Network/privateEndpoints) whose privateLinkServiceConnections target the cluster with group id '{GROUP_ID}'; approve or reject them here."
                ),
            })
        }
        Err(e) => return Err(e),
    };
    preconditions.check(Some(&stored.resource.etag))?;
    if stored.operation_id.is_some() {
        return Err(ArmError::Conflict {
            code: "Conflict",
            message: format!("The private endpoint connection '{name}' is being deleted."),
        });
    }
    let input = body.properties.private_link_service_connection_state;
    let current = &mut stored
        .resource
        .properties
        .private_link_service_connection_state;
    let status = input.status.unwrap_or_else(|| current.status.clone());
    check_transition(&current.status, &status)?;
    current.status = status;
    if let Some(description) = input.description {
        current.description = description;
    }
    if let Some(actions) = input.actions_required {
        current.actions_required = actions;
    }
    stored.resource.etag = new_etag();
    stored.resource.system_data.modified(&principal, Utc::now());
    let mut writes = WriteSet::new();
    writes.put(&storage_key(&stored.resource.id), &stored)?;
    state.store.commit(writes).await?;
    Ok(resource_response(StatusCode::OK, &stored.resource))
}

async fn delete(
    State(state): State<AppState>,
    _: Principal,
    api: ApiVersion<CloudHsmClusters>,
    Path((sub, group, cluster, name)): ConnectionPath,
) -> Result<Response, ArmError> {
    let _guard = state.store.lock_writes().await;
    let cluster = clusters::find(&state, &sub, &group, &cluster)?;
    let Some(mut stored) = find_by_id(&state, &connection_id(&cluster.resource.id, &name))? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    if let Some(running) = &stored.operation_id {
        let op = crate::arm::lro::find(&state.store, &sub, running)?;
        return Ok(op.accepted(&state.config.base_url));
    }
    let mut op = OperationRecord::begin(
        OperationKind::DeletePrivateEndpointConnection,
        &stored.resource.id,
        &sub,
        &cluster.resource.location,
        api.as_str(),
        state.config.provisioning_delay / 2,
    );
    stored.resource.properties.provisioning_state = "Deleting".into();
    stored.operation_id = Some(op.id.clone());
    let mut writes = WriteSet::new();
    writes.put(&storage_key(&stored.resource.id), &stored)?;
    op.start(&state, writes).await?;
    Ok(op.accepted(&state.config.base_url))
}

/// Ends a connection's deletion that a fault rule failed: the connection
/// stays, `Failed`.
pub fn fail_delete(
    state: &AppState,
    op: &OperationRecord,
    writes: &mut WriteSet,
) -> Result<bool, ArmError> {
    match find_by_id(state, &op.resource_id)? {
        Some(mut stored) if stored.operation_id.as_deref() == Some(op.id.as_str()) => {
            stored.resource.properties.provisioning_state = "Failed".into();
            stored.operation_id = None;
            writes.put(&storage_key(&stored.resource.id), &stored)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Ends a connection's deletion. Its private endpoint stays, with its
/// connection shown `Disconnected`, as in Azure.
pub fn finish_delete(
    state: &AppState,
    op: &OperationRecord,
    writes: &mut WriteSet,
) -> Result<Outcome, ArmError> {
    match find_by_id(state, &op.resource_id)? {
        Some(stored) if stored.operation_id.as_deref() == Some(op.id.as_str()) => {
            stage_removal(&op.resource_id, writes);
            Ok(Outcome::Succeeded)
        }
        // Gone already (its endpoint or cluster was deleted meanwhile).
        _ => Ok(Outcome::Succeeded),
    }
}
