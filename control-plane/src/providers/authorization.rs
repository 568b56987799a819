//! `Microsoft.Authorization/roleAssignments` at subscription, resource-group,
//! storage-account and container scope: PUT / GET / DELETE / list. The
//! emulator enforces them where Cloud HSM relies on them: a backup or
//! restore needs the cluster identity to hold a Storage Blob Data role on
//! the target storage (Azurite itself does not enforce RBAC).

use axum::{
    extract::{OriginalUri, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        error::ArmError,
        request_context::query_param,
        resource_id::storage_key,
        schema::{ArmJson, ValidatedBody},
        system_data::arm_time,
    },
    backup_storage::ContainerUri,
    identity::tokens::Principal,
    state::AppState,
    store::{Record, WriteSet},
};

pub struct RoleAssignments;
impl VersionedType for RoleAssignments {
    const NAMESPACE: &'static str = "Microsoft.Authorization";
    const RESOURCE_TYPE: &'static str = "roleAssignments";
    const SUPPORTED: &'static [&'static str] = &[
        "2026-08-01",
        "2026-07-01-preview",
        "2022-04-01",
        "2020-10-01-preview",
        "2020-08-01-preview",
        "2020-04-01-preview",
        "2020-03-01-preview",
        "2018-09-01-preview",
        "2018-01-01-preview",
        "2017-10-01-preview",
        "2015-07-01",
    ];
}

const SEGMENT: &str = "/providers/Microsoft.Authorization/roleAssignments";

pub use super::role_definitions::BlobAccess;
use super::role_definitions::{self, BuiltInRole, BUILT_IN_ROLES};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub role_guid: String,
    pub principal_id: String,
    pub principal_type: String,
    pub description: Option<String>,
    pub created_on: String,
    pub created_by: String,
}

impl Record for RoleAssignment {
    const KIND: &'static str = "roleAssignment";
    const VERSION: u32 = 1;
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentPutProperties {
    role_definition_id: String,
    principal_id: String,
    principal_type: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
pub struct RoleAssignmentPut {
    properties: RoleAssignmentPutProperties,
}
impl ValidatedBody for RoleAssignmentPut {
    const SCHEMA: &'static str = "roleAssignments.put";
}

/// The scopes assignments (and definitions) are addressed at: the
/// subscription, a group, any resource in a group (a cluster, an identity,
/// ...), and the storage accounts and containers backups go to.
fn scopes() -> Vec<String> {
    const SUB: &str = "/subscriptions/{subscriptionId}";
    const GROUP: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}";
    const RESOURCE: &str = "/providers/{resourceProviderNamespace}/{resourceType}/{resourceName}";
    const CONTAINER: &str = "/blobServices/default/containers/{containerName}";
    vec![
        SUB.to_string(),
        GROUP.to_string(),
        format!("{GROUP}{RESOURCE}"),
        format!("{GROUP}{RESOURCE}{CONTAINER}"),
    ]
}

pub fn routes() -> Router<AppState> {
    let scopes = scopes();
    let mut router = role_definitions::routes(&scopes);
    for scope in scopes {
        router = router.route(&format!("{scope}{SEGMENT}"), get(list)).route(
            &format!("{scope}{SEGMENT}/{{roleAssignmentName}}"),
            get(show).put(create).delete(delete),
        );
    }
    router
}

/// `(scope, assignment name)` from a request path.
fn split_path(path: &str) -> (String, Option<String>) {
    match path.rfind(SEGMENT) {
        Some(at) => {
            let scope = path[..at].to_string();
            let rest = path[at + SEGMENT.len()..].trim_start_matches('/');
            (scope, (!rest.is_empty()).then(|| rest.to_string()))
        }
        None => (path.to_string(), None),
    }
}

fn render(a: &RoleAssignment, subscription: &str) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}", a.role_guid),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope,
            "description": a.description,
            "condition": null,
            "conditionVersion": null,
            "createdOn": a.created_on,
            "updatedOn": a.created_on,
            "createdBy": a.created_by,
            "updatedBy": a.created_by,
            "delegatedManagedIdentityResourceId": null,
        }
    })
}

fn subscription_of(scope: &str) -> String {
    scope.split('/').nth(2).unwrap_or_default().to_string()
}

fn not_found(id: &str) -> ArmError {
    ArmError::NotFound {
        code: "RoleAssignmentNotFound",
        message: format!("The role assignment '{id}' is not found."),
    }
}

fn role_guid(definition_id: &str) -> Result<&'static BuiltInRole, ArmError> {
    let guid = definition_id.rsplit('/').next().unwrap_or_default();
    let well_formed = definition_id
        .to_ascii_lowercase()
        .contains("/providers/microsoft.authorization/roledefinitions/");
    role_definitions::by_id(guid)
        .filter(|_| well_formed)
        .ok_or_else(|| ArmError::BadRequest {
            code: "RoleDefinitionDoesNotExist",
            message: format!(
                "The specified role definition with ID '{guid}' does not exist. The emulator knows the built-in roles {}.",
                BUILT_IN_ROLES.iter().map(|r| format!("'{}'", r.name)).collect::<Vec<_>>().join(", ")
            ),
            target: Some("properties.roleDefinitionId".into()),
        })
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<RoleAssignments>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let id = uri.path().to_string();
    let (scope, _) = split_path(&id);
    let found = state
        .store
        .get::<RoleAssignment>(&storage_key(&id))?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(render(&found, &subscription_of(&scope))))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    _: ApiVersion<RoleAssignments>,
    OriginalUri(uri): OriginalUri,
    ArmJson(body): ArmJson<RoleAssignmentPut>,
) -> Result<Response, ArmError> {
    let id = uri.path().to_string();
    let (scope, name) = split_path(&id);
    let name = name.unwrap_or_default();
    if uuid::Uuid::parse_str(&name).is_err() {
        return Err(ArmError::BadRequest {
            code: "InvalidRoleAssignmentId",
            message: format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
            target: None,
        });
    }
    let props = body.properties;
    let guid = role_guid(&props.role_definition_id)?.id;
    // Any principal the emulator's directory (Graph) knows: the well-known
    // client, registered service principals, managed identities.
    let known_principal =
        crate::identity::graph::directory::by_id(&state, &props.principal_id)?.is_some();
    if !known_principal {
        return Err(ArmError::BadRequest {
            code: "PrincipalNotFound",
            message: format!(
                "Principal {} does not exist in the directory {}.",
                props.principal_id.replace('-', ""),
                state.config.tenant_id
            ),
            target: Some("properties.principalId".into()),
        });
    }
    let _guard = state.store.lock_writes().await;
    let key = storage_key(&id);
    if let Some(existing) = state.store.get::<RoleAssignment>(&key)? {
        if existing.role_guid == *guid
            && existing
                .principal_id
                .eq_ignore_ascii_case(&props.principal_id)
        {
            return Ok((
                StatusCode::CREATED,
                Json(render(&existing, &subscription_of(&scope))),
            )
                .into_response());
        }
        return Err(ArmError::Conflict {
            code: "RoleAssignmentUpdateNotPermitted",
            message:
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."
                    .into(),
        });
    }
    let duplicate = state
        .store
        .list::<RoleAssignment>("", None, usize::MAX)?
        .into_iter()
        .any(|(_, a)| {
            a.scope.eq_ignore_ascii_case(&scope)
                && a.role_guid == *guid
                && a.principal_id.eq_ignore_ascii_case(&props.principal_id)
        });
    if duplicate {
        return Err(ArmError::Conflict {
            code: "RoleAssignmentExists",
            message: "The role assignment already exists.".into(),
        });
    }
    let assignment = RoleAssignment {
        id: id.clone(),
        name,
        scope: scope.clone(),
        role_guid: guid.to_string(),
        principal_id: props.principal_id.to_ascii_lowercase(),
        principal_type: props
            .principal_type
            .unwrap_or_else(|| "ServicePrincipal".into()),
        description: props.description,
        created_on: arm_time(Utc::now()),
        created_by: principal.object_id,
    };
    let mut writes = WriteSet::new();
    writes.put(&key, &assignment)?;
    state.store.commit(writes).await?;
    Ok((
        StatusCode::CREATED,
        Json(render(&assignment, &subscription_of(&scope))),
    )
        .into_response())
}

async fn delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<RoleAssignments>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ArmError> {
    let id = uri.path().to_string();
    let (scope, _) = split_path(&id);
    let _guard = state.store.lock_writes().await;
    let key = storage_key(&id);
    let Some(existing) = state.store.get::<RoleAssignment>(&key)? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut writes = WriteSet::new();
    writes.delete::<RoleAssignment>(&key);
    state.store.commit(writes).await?;
    Ok(Json(render(&existing, &subscription_of(&scope))).into_response())
}

/// Scope `a` is `b` or lies above it.
fn covers(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    b == a || b.starts_with(&format!("{a}/"))
}

/// `$filter`: `atScope()`, `principalId eq '...'`, or both joined by `and`.
async fn list(
    State(state): State<AppState>,
    _: ApiVersion<RoleAssignments>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let (scope, _) = split_path(uri.path());
    let filter = query_param(uri.query(), "$filter").unwrap_or_default();
    let at_scope = filter.contains("atScope()");
    let principal = filter
        .split("principalId eq '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .map(str::to_ascii_lowercase);
    let value: Vec<Value> = state
        .store
        .list::<RoleAssignment>("", None, usize::MAX)?
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| covers(&a.scope, &scope) || (!at_scope && covers(&scope, &a.scope)))
        .filter(|a| principal.as_ref().is_none_or(|p| &a.principal_id == p))
        .map(|a| render(&a, &subscription_of(&scope)))
        .collect();
    Ok(Json(json!({ "value": value })))
}

/// The blob data access `principal_id` holds on a container, from role
/// assignments at the subscription, any resource group (Azurite's accounts
/// are not ARM resources, so the emulator cannot tell which group an
/// account is in and lets any group's assignment count), the storage
/// account (by name) or the container.
pub fn blob_access(
    state: &AppState,
    subscription: &str,
    principal_id: &str,
    container: &ContainerUri,
) -> Result<BlobAccess, ArmError> {
    let account_scope = format!(
        "/providers/microsoft.storage/storageaccounts/{}",
        container.account.to_ascii_lowercase()
    );
    let container_scope = format!(
        "{account_scope}/blobservices/default/containers/{}",
        container.container
    );
    let sub_scope = format!("/subscriptions/{}", subscription.to_ascii_lowercase());
    let mut best = BlobAccess::None;
    for (_, a) in state.store.list::<RoleAssignment>("", None, usize::MAX)? {
        if !a.principal_id.eq_ignore_ascii_case(principal_id) {
            continue;
        }
        let scope = a.scope.to_ascii_lowercase();
        let applies = scope == sub_scope
            || (scope.starts_with(&format!("{sub_scope}/resourcegroups/"))
                && (scope.split('/').count() == 5
                    || scope.ends_with(&account_scope)
                    || scope.ends_with(&container_scope)));
        if applies {
            if let Some(role) = role_definitions::by_id(&a.role_guid) {
                best = best.max(role.blob_access());
            }
        }
    }
    Ok(best)
}

/// Drops a resource group's assignments with it.
pub fn delete_in_group(
    state: &AppState,
    group_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    Ok(state
        .store
        .delete_under::<RoleAssignment>(&format!("{}/", storage_key(group_id)), writes)?)
}
