//! `Microsoft.Resources`: subscriptions' resource groups. Deleting a group is
//! a long-running operation that deletes everything in it.

use std::collections::BTreeMap;

use axum::{
    extract::{OriginalUri, Path, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        error::ArmError,
        lro::{self, OperationKind, OperationRecord, Outcome},
        paging,
        resource_id::{resource_group_id, storage_key},
        schema::{ArmJson, ValidatedBody},
        validation::{check_resource_group_name, normalise_location},
    },
    identity::tokens::Principal,
    state::AppState,
    store::{Record, WriteSet},
};

/// `Microsoft.Resources` api-versions the emulator answers to: every stable
/// version of the `resources` spec (azure-rest-api-specs,
/// `Microsoft.Resources/resources/stable/*`), newest first. Its one preview,
/// 2025-08-01-preview, covers batch operations only.
/// The versions of the `resources` spec, after any given first: the
/// deployments API answers to these and to its own newer ones.
macro_rules! resources_api_versions {
    ($($newer:literal),*) => {
        &[$($newer,)* "2025-04-01", "2025-03-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01", "2022-09-01", "2021-04-01", "2021-01-01", "2020-10-01", "2020-08-01", "2020-06-01", "2019-10-01", "2019-08-01", "2019-07-01", "2019-05-10", "2019-05-01", "2019-03-01", "2018-05-01", "2018-02-01", "2017-05-10", "2016-09-01", "2016-07-01", "2016-02-01", "2015-11-01"]
    };
}
pub(crate) use resources_api_versions;

pub const RESOURCES_API_VERSIONS: &[&str] = resources_api_versions!();

pub struct ResourceGroups;
impl VersionedType for ResourceGroups {
    const NAMESPACE: &'static str = "Microsoft.Resources";
    const RESOURCE_TYPE: &'static str = "resourceGroups";
    const SUPPORTED: &'static [&'static str] = RESOURCES_API_VERSIONS;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceGroupRecord {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub managed_by: Option<String>,
    /// `Succeeded`, or `Deleting` while its delete operation runs.
    pub provisioning_state: String,
}

impl Record for ResourceGroupRecord {
    const KIND: &'static str = "resourceGroup";
    const VERSION: u32 = 1;
}

impl ResourceGroupRecord {
    pub fn wire(&self) -> Value {
        let mut body = json!({
            "id": self.id,
            "name": self.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": self.location,
            "tags": self.tags,
            "properties": { "provisioningState": self.provisioning_state },
        });
        if let Some(m) = &self.managed_by {
            body["managedBy"] = json!(m);
        }
        body
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupPut {
    location: String,
    tags: Option<BTreeMap<String, String>>,
    managed_by: Option<String>,
}
impl ValidatedBody for ResourceGroupPut {
    const SCHEMA: &'static str = "resourceGroups.put";
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupPatch {
    tags: Option<BTreeMap<String, String>>,
    managed_by: Option<String>,
}
impl ValidatedBody for ResourceGroupPatch {
    const SCHEMA: &'static str = "resourceGroups.patch";
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions/{subscriptionId}/resourceGroups", get(list))
        .route(
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
            get(show)
                .head(exists)
                .put(create_or_update)
                .patch(update)
                .delete(delete),
        )
        .route(
            "/subscriptions/{subscriptionId}/operationResults/{operationId}",
            get(operation_result),
        )
}

/// Middleware: every `/subscriptions/{id}/...` path names a subscription
/// that exists, or ARM answers `SubscriptionNotFound`.
pub async fn subscription_must_exist(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut segments = request.uri().path().split('/').skip(1);
    if segments.next() == Some("subscriptions") {
        if let Some(sub) = segments.next() {
            if !sub.eq_ignore_ascii_case(&state.config.subscription_id) {
                return ArmError::NotFound {
                    code: "SubscriptionNotFound",
                    message: format!("The subscription '{sub}' could not be found."),
                }
                .into_response();
            }
        }
    }
    next.run(request).await
}

fn group_not_found(name: &str) -> ArmError {
    ArmError::NotFound {
        code: "ResourceGroupNotFound",
        message: format!("Resource group '{name}' could not be found."),
    }
}

/// The group a resource is being written into: it must exist and not be on
/// its way out.
pub fn writable_group(
    state: &AppState,
    subscription: &str,
    name: &str,
) -> Result<ResourceGroupRecord, ArmError> {
    let group = find(state, subscription, name)?;
    if group.provisioning_state == "Deleting" {
        return Err(being_deleted(&group.name));
    }
    Ok(group)
}

fn being_deleted(name: &str) -> ArmError {
    ArmError::Conflict {
        code: "ResourceGroupBeingDeleted",
        message: format!(
            "The resource group '{name}' is in deprovisioning state and cannot perform this operation."
        ),
    }
}

/// What ARM answers for a resource that is not there: the group is checked
/// first, so a missing group is named as such.
pub fn resource_not_found(
    state: &AppState,
    subscription: &str,
    group: &str,
    resource_type: &str,
    name: &str,
) -> ArmError {
    match find(state, subscription, group) {
        Ok(_) => ArmError::resource_not_found(resource_type, name, group),
        Err(e) => e,
    }
}

pub fn find(
    state: &AppState,
    subscription: &str,
    name: &str,
) -> Result<ResourceGroupRecord, ArmError> {
    state
        .store
        .get::<ResourceGroupRecord>(&storage_key(&resource_group_id(subscription, name)))?
        .ok_or_else(|| group_not_found(name))
}

async fn list(
    State(state): State<AppState>,
    _: ApiVersion<ResourceGroups>,
    Path(subscription): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let prefix = storage_key(&format!("/subscriptions/{subscription}/resourceGroups/"));
    paging::list_records(&state, &prefix, &uri, |g: ResourceGroupRecord| g.wire())
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<ResourceGroups>,
    Path((subscription, name)): Path<(String, String)>,
) -> Result<Json<Value>, ArmError> {
    Ok(Json(find(&state, &subscription, &name)?.wire()))
}

async fn exists(
    State(state): State<AppState>,
    _: ApiVersion<ResourceGroups>,
    Path((subscription, name)): Path<(String, String)>,
) -> StatusCode {
    match find(&state, &subscription, &name) {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::NOT_FOUND,
    }
}

async fn create_or_update(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<ResourceGroups>,
    Path((subscription, name)): Path<(String, String)>,
    ArmJson(body): ArmJson<ResourceGroupPut>,
) -> Result<Response, ArmError> {
    check_resource_group_name(&name)?;
    let location = normalise_location(&body.location, "resourceGroups")?;
    let _guard = state.store.lock_writes().await;
    let id = resource_group_id(&subscription, &name);
    let key = storage_key(&id);
    let (record, status) = match state.store.get::<ResourceGroupRecord>(&key)? {
        Some(existing) => {
            if existing.provisioning_state == "Deleting" {
                return Err(being_deleted(&existing.name));
            }
            if existing.location != location {
                return Err(ArmError::Conflict {
                    code: "InvalidResourceGroupLocation",
                    message: format!(
                        "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                        existing.location
                    ),
                });
            }
            let record = ResourceGroupRecord {
                tags: body.tags.unwrap_or_default(),
                managed_by: body.managed_by,
                ..existing
            };
            (record, StatusCode::OK)
        }
        None => (
            ResourceGroupRecord {
                id,
                name,
                location,
                tags: body.tags.unwrap_or_default(),
                managed_by: body.managed_by,
                provisioning_state: "Succeeded".into(),
            },
            StatusCode::CREATED,
        ),
    };
    let mut writes = WriteSet::new();
    writes.put(&key, &record)?;
    state.store.commit(writes).await?;
    Ok((status, Json(record.wire())).into_response())
}

async fn update(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<ResourceGroups>,
    Path((subscription, name)): Path<(String, String)>,
    ArmJson(body): ArmJson<ResourceGroupPatch>,
) -> Result<Json<Value>, ArmError> {
    let _guard = state.store.lock_writes().await;
    let mut record = writable_group(&state, &subscription, &name)?;
    if let Some(tags) = body.tags {
        record.tags = tags;
    }
    if body.managed_by.is_some() {
        record.managed_by = body.managed_by;
    }
    let mut writes = WriteSet::new();
    writes.put(&storage_key(&record.id), &record)?;
    state.store.commit(writes).await?;
    Ok(Json(record.wire()))
}

async fn delete(
    State(state): State<AppState>,
    _: Principal,
    api: ApiVersion<ResourceGroups>,
    Path((subscription, name)): Path<(String, String)>,
) -> Result<Response, ArmError> {
    let _guard = state.store.lock_writes().await;
    let mut record = find(&state, &subscription, &name)?;
    let mut op = OperationRecord::begin(
        OperationKind::DeleteResourceGroup,
        &record.id,
        &subscription,
        &record.location,
        api.as_str(),
        state.config.provisioning_delay,
    );
    record.provisioning_state = "Deleting".into();
    let mut writes = WriteSet::new();
    writes.put(&storage_key(&record.id), &record)?;
    op.start(&state, writes).await?;
    Ok(op.accepted(&state.config.base_url))
}

/// `Location` of a group deletion: 202 until done, then 200.
async fn operation_result(
    State(state): State<AppState>,
    _: ApiVersion<ResourceGroups>,
    Path((subscription, operation)): Path<(String, String)>,
) -> Result<Response, ArmError> {
    let op = lro::find(&state.store, &subscription, &operation)?;
    Ok(op
        .poll_location(&state.config.base_url)
        .unwrap_or_else(|| StatusCode::OK.into_response()))
}

/// Ends a group deletion that a fault rule failed: the group and what is
/// in it stay, the group `Succeeded` again.
pub fn fail_delete(
    state: &AppState,
    op: &OperationRecord,
    writes: &mut WriteSet,
) -> Result<bool, ArmError> {
    let key = storage_key(&op.resource_id);
    let Some(mut record) = state.store.get::<ResourceGroupRecord>(&key)? else {
        return Ok(false);
    };
    record.provisioning_state = "Succeeded".into();
    writes.put(&key, &record)?;
    Ok(true)
}

/// Ends a group deletion: the group and everything in it go in one batch.
pub fn finish_delete(
    state: &AppState,
    op: &OperationRecord,
    writes: &mut WriteSet,
) -> Result<Outcome, ArmError> {
    super::delete_group_contents(state, &op.resource_id, writes)?;
    writes.delete::<ResourceGroupRecord>(&storage_key(&op.resource_id));
    Ok(Outcome::Succeeded)
}
