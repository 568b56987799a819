//! `Microsoft.ManagedIdentity/userAssignedIdentities`: identities a cluster
//! can be assigned, with the `principalId` / `clientId` the token service
//! issues their tokens under.

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
use serde_json::Value;

use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        error::ArmError,
        paging::list_records,
        resource_id::{
            resource_group_id, resource_id, storage_key, subscription_id, type_prefix_in_group,
        },
        schema::{ArmJson, ValidatedBody},
        system_data::SystemData,
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

pub struct UserAssignedIdentities;
impl VersionedType for UserAssignedIdentities {
    const NAMESPACE: &'static str = "Microsoft.ManagedIdentity";
    const RESOURCE_TYPE: &'static str = "userAssignedIdentities";
    const SUPPORTED: &'static [&'static str] = &[
        "2026-05-31",
        "2026-04-30",
        "2025-05-31-preview",
        "2025-01-31-preview",
        "2024-11-30",
        "2023-07-31-preview",
        "2023-01-31",
        "2022-01-31-preview",
        "2021-09-30-preview",
        "2018-11-30",
        "2015-08-31-preview",
    ];
}

const RESOURCE_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProperties {
    pub tenant_id: String,
    pub principal_id: String,
    pub client_id: String,
    pub isolation_scope: String,
}

/// `Identity` as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserAssignedIdentity {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub properties: IdentityProperties,
    pub system_data: SystemData,
}

impl Record for UserAssignedIdentity {
    const KIND: &'static str = "userAssignedIdentity";
    const VERSION: u32 = 1;
}

#[derive(Deserialize)]
pub struct IdentityPutProperties {
    #[serde(rename = "isolationScope")]
    isolation_scope: Option<String>,
}

#[derive(Deserialize)]
pub struct IdentityPut {
    location: String,
    tags: Option<BTreeMap<String, String>>,
    properties: Option<IdentityPutProperties>,
}
impl ValidatedBody for IdentityPut {
    const SCHEMA: &'static str = "userAssignedIdentities.put";
}

#[derive(Deserialize)]
pub struct IdentityPatch {
    tags: Option<BTreeMap<String, String>>,
}
impl ValidatedBody for IdentityPatch {
    const SCHEMA: &'static str = "userAssignedIdentities.patch";
}

pub fn routes() -> Router<AppState> {
    tracked_resource(
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
        get(list_by_subscription),
        get(list_by_resource_group),
        get(show).put(create_or_update).patch(update).delete(delete),
    )
}

fn identity_id(subscription: &str, group: &str, name: &str) -> String {
    resource_id(
        subscription,
        group,
        UserAssignedIdentities::NAMESPACE,
        UserAssignedIdentities::RESOURCE_TYPE,
        name,
    )
}

fn identities_prefix(group_id: &str) -> String {
    type_prefix_in_group(
        group_id,
        UserAssignedIdentities::NAMESPACE,
        UserAssignedIdentities::RESOURCE_TYPE,
    )
}

fn render(identity: UserAssignedIdentity) -> Value {
    serde_json::to_value(identity).unwrap_or(Value::Null)
}

/// An identity by its full resource id (as clusters reference it).
pub fn find_by_id(state: &AppState, id: &str) -> Result<Option<UserAssignedIdentity>, ArmError> {
    Ok(state.store.get::<UserAssignedIdentity>(&storage_key(id))?)
}

/// Every identity in every subscription (what the directory knows).
pub fn all(state: &AppState) -> Result<Vec<UserAssignedIdentity>, ArmError> {
    Ok(state
        .store
        .list::<UserAssignedIdentity>("", None, usize::MAX)?
        .into_iter()
        .map(|(_, identity)| identity)
        .collect())
}

fn find_first(
    state: &AppState,
    matches: impl Fn(&IdentityProperties) -> bool,
) -> Result<Option<UserAssignedIdentity>, ArmError> {
    Ok(all(state)?
        .into_iter()
        .find(|identity| matches(&identity.properties)))
}

/// An identity by client id (how the managed-identity endpoint is asked).
pub fn find_by_client_id(
    state: &AppState,
    client_id: &str,
) -> Result<Option<UserAssignedIdentity>, ArmError> {
    find_first(state, |p| p.client_id.eq_ignore_ascii_case(client_id))
}

pub fn find_by_principal_id(
    state: &AppState,
    principal_id: &str,
) -> Result<Option<UserAssignedIdentity>, ArmError> {
    find_first(state, |p| p.principal_id.eq_ignore_ascii_case(principal_id))
}

fn find(
    state: &AppState,
    sub: &str,
    group: &str,
    name: &str,
) -> Result<UserAssignedIdentity, ArmError> {
    find_by_id(state, &identity_id(sub, group, name))?
        .ok_or_else(|| resource_groups::resource_not_found(state, sub, group, RESOURCE_TYPE, name))
}

/// Identity names: 3-128 characters, letters, digits, '-' and '_', starting
/// with a letter or digit.
fn check_name(name: &str) -> Result<(), ArmError> {
    let valid = (3..=128).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ArmError::BadRequest {
            code: "InvalidResourceName",
            message: format!(
                "The resource name '{name}' is invalid. A user-assigned identity name must be 3 to 128 characters of letters, digits, '-' and '_', and start with a letter or digit."
            ),
            target: Some("resourceName".into()),
        })
    }
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<UserAssignedIdentities>,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<Json<UserAssignedIdentity>, ArmError> {
    Ok(Json(find(&state, &sub, &group, &name)?))
}

async fn list_by_subscription(
    State(state): State<AppState>,
    _: ApiVersion<UserAssignedIdentities>,
    Path(sub): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    list_records(&state, &storage_key(&subscription_id(&sub)), &uri, render)
}

async fn list_by_resource_group(
    State(state): State<AppState>,
    _: ApiVersion<UserAssignedIdentities>,
    Path((sub, group)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    resource_groups::find(&state, &sub, &group)?;
    list_records(
        &state,
        &identities_prefix(&resource_group_id(&sub, &group)),
        &uri,
        render,
    )
}

async fn create_or_update(
    State(state): State<AppState>,
    principal: Principal,
    _: ApiVersion<UserAssignedIdentities>,
    Path((sub, group, name)): Path<(String, String, String)>,
    ArmJson(body): ArmJson<IdentityPut>,
) -> Result<Response, ArmError> {
    check_name(&name)?;
    let location = normalise_location(&body.location, RESOURCE_TYPE)?;
    let _guard = state.store.lock_writes().await;
    let group_record = resource_groups::writable_group(&state, &sub, &group)?;
    let id = identity_id(&sub, &group_record.name, &name);
    let now = Utc::now();
    let isolation_scope = body
        .properties
        .and_then(|p| p.isolation_scope)
        .unwrap_or_else(|| "None".into());
    let (identity, status) = match find_by_id(&state, &id)? {
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
            existing.tags = body.tags.unwrap_or_default();
            existing.properties.isolation_scope = isolation_scope;
            existing.system_data.modified(&principal, now);
            (existing, StatusCode::OK)
        }
        None => (
            UserAssignedIdentity {
                id,
                name,
                resource_type: RESOURCE_TYPE.into(),
                location,
                tags: body.tags.unwrap_or_default(),
                properties: IdentityProperties {
                    tenant_id: state.config.tenant_id.clone(),
                    principal_id: uuid::Uuid::new_v4().to_string(),
                    client_id: uuid::Uuid::new_v4().to_string(),
                    isolation_scope,
                },
                system_data: SystemData::created(&principal, now),
            },
            StatusCode::CREATED,
        ),
    };
    let mut writes = WriteSet::new();
    writes.put(&storage_key(&identity.id), &identity)?;
    state.store.commit(writes).await?;
    Ok((status, Json(identity)).into_response())
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    _: ApiVersion<UserAssignedIdentities>,
    Path((sub, group, name)): Path<(String, String, String)>,
    ArmJson(body): ArmJson<IdentityPatch>,
) -> Result<Json<UserAssignedIdentity>, ArmError> {
    let _guard = state.store.lock_writes().await;
    let mut identity = find(&state, &sub, &group, &name)?;
    if let Some(tags) = body.tags {
        identity.tags = tags;
    }
    identity.system_data.modified(&principal, Utc::now());
    let mut writes = WriteSet::new();
    writes.put(&storage_key(&identity.id), &identity)?;
    state.store.commit(writes).await?;
    Ok(Json(identity))
}

/// 200 when deleted, 204 when there was nothing to delete, as the service answers.
async fn delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<UserAssignedIdentities>,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<StatusCode, ArmError> {
    let _guard = state.store.lock_writes().await;
    let key = storage_key(&identity_id(&sub, &group, &name));
    if state.store.get::<UserAssignedIdentity>(&key)?.is_none() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut writes = WriteSet::new();
    writes.delete::<UserAssignedIdentity>(&key);
    state.store.commit(writes).await?;
    Ok(StatusCode::OK)
}

/// Part of a resource group's deletion.
pub fn delete_in_group(
    state: &AppState,
    group_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    Ok(state
        .store
        .delete_under::<UserAssignedIdentity>(&identities_prefix(group_id), writes)?)
}

impl ListedResource for UserAssignedIdentity {
    fn generic(self) -> GenericResource {
        GenericResource {
            id: self.id,
            name: self.name,
            resource_type: self.resource_type,
            location: self.location,
            tags: self.tags,
            created_time: Some(self.system_data.created_at),
            changed_time: Some(self.system_data.last_modified_at),
            // Identities are created synchronously: there is no other state.
            provisioning_state: "Succeeded".into(),
            ..Default::default()
        }
    }
}
