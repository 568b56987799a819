//! `cloudHsmClusters`: create (long-running), get, list, update (PUT and a
//! long-running PATCH) and delete (long-running).

use std::collections::BTreeMap;

use axum::{
    extract::{OriginalUri, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::Utc;
use serde_json::Value;

use super::{
    model::{
        requests::{ClusterPatch, ClusterPut, IdentityInput},
        CloudHsmCluster, CloudHsmClusterProperties, CloudHsmProperties, ManagedServiceIdentity,
        StoredCluster, UserAssignedIdentity, RESOURCE_TYPE,
    },
    private_endpoint_connections,
};
use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        conditions::{etag_header, new_etag, Preconditions},
        error::ArmError,
        lro::{OperationKind, OperationRecord, Outcome},
        paging::list_records,
        resource_id::{
            resource_group_id, resource_id, storage_key, subscription_id, type_prefix_in_group,
        },
        schema::ArmJson,
        system_data::SystemData,
        tracked_routes::tracked_resource,
        validation::normalise_location,
    },
    identity::tokens::Principal,
    providers::{
        insights, managed_identity, resource_groups,
        resources::{GenericResource, ListedResource},
    },
    state::AppState,
    store::WriteSet,
};

pub struct CloudHsmClusters;
impl VersionedType for CloudHsmClusters {
    const NAMESPACE: &'static str = "Microsoft.HardwareSecurityModules";
    const RESOURCE_TYPE: &'static str = "cloudHsmClusters";
    /// Every published version that defines cloudHsmClusters
    /// (azure-rest-api-specs, `Microsoft.HardwareSecurityModules`), newest
    /// first; all are served with the 2025-03-31 shapes, which the later
    /// previews extend only with properties the emulator does not model.
    const SUPPORTED: &'static [&'static str] = &[
        "2026-06-01-preview",
        "2026-01-01-preview",
        "2025-12-01-preview",
        "2025-03-31",
        "2024-06-30-preview",
        "2023-12-10-preview",
        "2022-08-31-preview",
    ];
}

const HSMS_PER_CLUSTER: usize = 3;

pub fn routes() -> Router<AppState> {
    tracked_resource(
        "Microsoft.HardwareSecurityModules/cloudHsmClusters",
        "cloudHsmClusterName",
        get(list_by_subscription),
        get(list_by_resource_group),
        get(show).put(create_or_update).patch(update).delete(delete),
    )
}

pub(super) type ClusterPath = Path<(String, String, String)>;

fn cluster_id(subscription: &str, group: &str, name: &str) -> String {
    resource_id(
        subscription,
        group,
        "Microsoft.HardwareSecurityModules",
        "cloudHsmClusters",
        name,
    )
}

pub fn find(
    state: &AppState,
    subscription: &str,
    group: &str,
    name: &str,
) -> Result<StoredCluster, ArmError> {
    state
        .store
        .get::<StoredCluster>(&storage_key(&cluster_id(subscription, group, name)))?
        .ok_or_else(|| {
            resource_groups::resource_not_found(state, subscription, group, RESOURCE_TYPE, name)
        })
}

/// A 200/201 carrying the resource and its ETag.
fn resource_response(
    status: StatusCode,
    cluster: &StoredCluster,
    mut headers: HeaderMap,
) -> Response {
    etag_header(&mut headers, &cluster.etag);
    (status, headers, Json(&cluster.resource)).into_response()
}

fn refuse_while_busy(cluster: &StoredCluster) -> Result<(), ArmError> {
    match &cluster.operation_id {
        None => Ok(()),
        Some(_) => Err(ArmError::Conflict {
            code: "Conflict",
            message: format!(
                "The Cloud HSM Cluster '{}' is in provisioning state '{}': another operation is in progress. Retry when it has finished.",
                cluster.resource.name, cluster.resource.properties.provisioning_state
            ),
        }),
    }
}

fn check_name(name: &str) -> Result<(), ArmError> {
    let valid = (3..=23).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(ArmError::BadRequest {
            code: "InvalidResourceName",
            message: format!(
                "The resource name '{name}' is invalid. Cloud HSM Cluster names must be between 3 and 23 characters in length and use only letters, digits and '-' (pattern ^[a-zA-Z0-9-]{{3,23}}$)."
            ),
            target: Some("cloudHsmClusterName".into()),
        })
    }
}

/// The cluster's identity as requested, with each user-assigned identity's
/// ids taken from the identity resource. Cloud HSM clusters use one
/// user-assigned identity (for backup and restore); it must exist.
fn resolve_identity(
    state: &AppState,
    input: IdentityInput,
) -> Result<Option<ManagedServiceIdentity>, ArmError> {
    match input.identity_type.as_str() {
        "None" => return Ok(None),
        "UserAssigned" => {}
        other => {
            return Err(ArmError::BadRequest {
                code: "UnsupportedIdentityType",
                message: format!(
                    "Identity type '{other}' is not supported: Cloud HSM clusters use a user-assigned managed identity ('UserAssigned') or none ('None')."
                ),
                target: Some("identity.type".into()),
            })
        }
    }
    if input.user_assigned_identities.len() != 1 {
        return Err(ArmError::BadRequest {
            code: "InvalidUserAssignedIdentities",
            message: format!(
                "A Cloud HSM cluster takes exactly one user-assigned identity; {} were given.",
                input.user_assigned_identities.len()
            ),
            target: Some("identity.userAssignedIdentities".into()),
        });
    }
    let mut user_assigned_identities = BTreeMap::new();
    for id in input.user_assigned_identities.into_keys() {
        let identity = managed_identity::find_by_id(state, &id)?.ok_or_else(|| ArmError::BadRequest {
            code: "FailedIdentityOperation",
            message: format!("The user-assigned identity '{id}' was not found: create it before assigning it."),
            target: Some("identity.userAssignedIdentities".into()),
        })?;
        let ids = UserAssignedIdentity {
            principal_id: identity.properties.principal_id,
            client_id: identity.properties.client_id,
        };
        user_assigned_identities.insert(identity.id, ids);
    }
    Ok(Some(ManagedServiceIdentity {
        identity_type: input.identity_type,
        tenant_id: None,
        principal_id: None,
        user_assigned_identities,
    }))
}

/// The HSMs' DNS names: `hsm{n}.{name}-{label}.{location}.cloudhsm.localhost`.
/// As for other Azure resources with generated domain labels, the label is
/// derived from the tenant (`TenantReuse`), subscription or resource group
/// and the name, so a cluster re-created in that scope gets its old names
/// back; `NoReuse` draws a new one.
fn hsm_fqdns(
    state: &AppState,
    subscription: &str,
    group: &str,
    name: &str,
    location: &str,
    scope: &str,
) -> Vec<String> {
    let seed = match scope {
        "TenantReuse" => format!("{}/{name}", state.config.tenant_id),
        "SubscriptionReuse" => format!("{subscription}/{name}"),
        "ResourceGroupReuse" => format!("{subscription}/{group}/{name}"),
        _ => uuid::Uuid::new_v4().to_string(),
    }
    .to_ascii_lowercase();
    let label = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, seed.as_bytes())
        .simple()
        .to_string();
    let host = format!("{}-{}", name.to_ascii_lowercase(), &label[..12]);
    (1..=HSMS_PER_CLUSTER)
        .map(|n| format!("hsm{n}.{host}.{location}.cloudhsm.localhost"))
        .collect()
}

/// A generated label names one live cluster: in its scope the name cannot be
/// used again until that cluster is deleted.
fn refuse_label_in_use(state: &AppState, fqdns: &[String], scope: &str) -> Result<(), ArmError> {
    let Some(first) = fqdns.first() else {
        return Ok(());
    };
    // Every create asks: only clusters whose record holds the name are
    // parsed, so the check does not slow down as clusters accumulate.
    let holder = state
        .store
        .list_containing::<StoredCluster>("", first.as_bytes())?
        .into_iter()
        .find(|(_, c)| c.resource.properties.hsms.first().map(|h| &h.fqdn) == Some(first));
    match holder {
        None => Ok(()),
        Some((_, c)) => Err(ArmError::Conflict {
            code: "DomainNameLabelInUse",
            message: format!(
                "The HSM domain names of this cluster are in use by '{}': with autoGeneratedDomainNameLabelScope '{scope}' a cluster name can be used only once in that scope and region. Delete that cluster, pick another name, or choose a narrower scope.",
                c.resource.id
            ),
        }),
    }
}

fn set_hsm_state(cluster: &mut CloudHsmCluster, state: &str) {
    for hsm in &mut cluster.properties.hsms {
        hsm.state = state.to_string();
    }
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<CloudHsmClusters>,
    Path((sub, group, name)): ClusterPath,
) -> Result<Response, ArmError> {
    let cluster = live(&state, find(&state, &sub, &group, &name)?);
    Ok(resource_response(
        StatusCode::OK,
        &cluster,
        HeaderMap::new(),
    ))
}

fn render(state: &AppState, cluster: StoredCluster) -> Value {
    serde_json::to_value(live(state, cluster).resource).unwrap_or(Value::Null)
}

/// The stored resource with what the engine knows now: whether the cluster
/// is activated and which HSMs are up.
fn live(state: &AppState, mut cluster: StoredCluster) -> StoredCluster {
    cluster.resource.properties.private_endpoint_connections =
        private_endpoint_connections::of_cluster(state, &cluster.resource.id)
            .into_iter()
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect();
    let properties = &mut cluster.resource.properties;
    if !properties.hsms_serve() {
        return cluster;
    }
    if let Some(status) = state.hsm_clusters.status(&cluster.resource.id) {
        properties.activation_state = if status.activated {
            "Active"
        } else {
            "NotActivated"
        }
        .into();
        for (hsm, up) in properties.hsms.iter_mut().zip(status.nodes_up) {
            hsm.state = if up { "Active" } else { "Failed" }.into();
            hsm.state_message =
                (!up).then(|| "The HSM is unavailable; the service is replacing it.".into());
        }
    }
    cluster
}

fn clusters_prefix(group_id: &str) -> String {
    type_prefix_in_group(
        group_id,
        CloudHsmClusters::NAMESPACE,
        CloudHsmClusters::RESOURCE_TYPE,
    )
}

async fn list_by_subscription(
    State(state): State<AppState>,
    _: ApiVersion<CloudHsmClusters>,
    Path(sub): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    list_records(&state, &storage_key(&subscription_id(&sub)), &uri, |c| {
        render(&state, c)
    })
}

async fn list_by_resource_group(
    State(state): State<AppState>,
    _: ApiVersion<CloudHsmClusters>,
    Path((sub, group)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    resource_groups::find(&state, &sub, &group)?;
    let prefix = clusters_prefix(&resource_group_id(&sub, &group));
    list_records(&state, &prefix, &uri, |c| render(&state, c))
}

async fn create_or_update(
    State(state): State<AppState>,
    principal: Principal,
    api: ApiVersion<CloudHsmClusters>,
    Path((sub, group, name)): ClusterPath,
    preconditions: Preconditions,
    ArmJson(body): ArmJson<ClusterPut>,
) -> Result<Response, ArmError> {
    check_name(&name)?;
    let location = normalise_location(&body.location, RESOURCE_TYPE)?;
    let props = body.properties.unwrap_or_default();
    let _guard = state.store.lock_writes().await;
    let group_record = resource_groups::writable_group(&state, &sub, &group)?;
    let id = cluster_id(&sub, &group_record.name, &name);
    let key = storage_key(&id);
    let existing = state.store.get::<StoredCluster>(&key)?;
    preconditions.check(existing.as_ref().map(|c| c.etag.as_str()))?;
    let now = Utc::now();
    let mut writes = WriteSet::new();

    if let Some(mut stored) = existing {
        refuse_while_busy(&stored)?;
        let cluster = &mut stored.resource;
        if cluster.location != location {
            return Err(ArmError::BadRequest {
                code: "InvalidResourceLocation",
                message: format!(
                    "The resource '{}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                    cluster.name, cluster.location, group_record.name
                ),
                target: Some("location".into()),
            });
        }
        if let Some(sku) = &body.sku {
            if sku.family != cluster.sku.family || sku.name != cluster.sku.name {
                return Err(ArmError::BadRequest {
                    code: "PropertyChangeNotAllowed",
                    message: "Changing property 'sku' is not allowed: the SKU of a Cloud HSM Cluster is set when it is created.".into(),
                    target: Some("sku".into()),
                });
            }
        }
        if let Some(scope) = &props.auto_generated_domain_name_label_scope {
            if *scope != cluster.properties.auto_generated_domain_name_label_scope {
                return Err(ArmError::BadRequest {
                    code: "PropertyChangeNotAllowed",
                    message: "Changing property 'properties.autoGeneratedDomainNameLabelScope' is not allowed: the HSMs' domain names are set when the cluster is created.".into(),
                    target: Some("properties.autoGeneratedDomainNameLabelScope".into()),
                });
            }
        }
        // PUT replaces: what the body leaves out is cleared.
        cluster.tags = body.tags.unwrap_or_default();
        cluster.identity = match body.identity {
            Some(input) => resolve_identity(&state, input)?,
            None => None,
        };
        if let Some(access) = props.public_network_access {
            cluster.properties.public_network_access = access;
        }
        cluster.system_data.modified(&principal, now);
        stored.etag = new_etag();
        // A cluster whose creation failed (its HSMs were never provisioned)
        // is created again by the PUT a caller retries with, as ARM does.
        let properties = &stored.resource.properties;
        if properties.provisioning_state == "Failed" && properties.activation_state == "NotDefined"
        {
            let mut op = OperationRecord::begin(
                OperationKind::CreateCluster,
                &id,
                &sub,
                &location,
                api.as_str(),
                state.config.provisioning_delay,
            );
            let properties = &mut stored.resource.properties;
            properties.provisioning_state = "Provisioning".into();
            properties.status_message = None;
            set_hsm_state(&mut stored.resource, "Deploying");
            stored.operation_id = Some(op.id.clone());
            writes.put(&key, &stored)?;
            op.start(&state, writes).await?;
            return Ok(resource_response(
                StatusCode::OK,
                &stored,
                op.async_operation_headers(&state.config.base_url),
            ));
        }
        // A PUT that succeeds on a cluster whose update failed is its
        // successful update.
        if stored.resource.properties.provisioning_state == "Failed"
            && state.hsm_clusters.get(&id).is_some()
        {
            stored.resource.properties.provisioning_state = "Succeeded".into();
            stored.resource.properties.status_message = None;
        }
        writes.put(&key, &stored)?;
        state.store.commit(writes).await?;
        return Ok(resource_response(StatusCode::OK, &stored, HeaderMap::new()));
    }

    let scope = props
        .auto_generated_domain_name_label_scope
        .unwrap_or_else(|| "TenantReuse".into());
    let fqdns = hsm_fqdns(&state, &sub, &group_record.name, &name, &location, &scope);
    refuse_label_in_use(&state, &fqdns, &scope)?;
    let hsms = fqdns
        .into_iter()
        .map(|fqdn| CloudHsmProperties {
            fqdn,
            state: "Deploying".into(),
            state_message: None,
        })
        .collect();
    let mut op = OperationRecord::begin(
        OperationKind::CreateCluster,
        &id,
        &sub,
        &location,
        api.as_str(),
        state.config.provisioning_delay,
    );
    let stored = StoredCluster {
        resource: CloudHsmCluster {
            id,
            name,
            resource_type: RESOURCE_TYPE.into(),
            location,
            tags: body.tags.unwrap_or_default(),
            identity: match body.identity {
                Some(input) => resolve_identity(&state, input)?,
                None => None,
            },
            sku: body.sku.unwrap_or_default(),
            properties: CloudHsmClusterProperties {
                activation_state: "NotDefined".into(),
                auto_generated_domain_name_label_scope: scope,
                hsms,
                private_endpoint_connections: Vec::new(),
                provisioning_state: "Provisioning".into(),
                public_network_access: props
                    .public_network_access
                    .unwrap_or_else(|| "Disabled".into()),
                status_message: None,
            },
            system_data: SystemData::created(&principal, now),
        },
        etag: new_etag(),
        operation_id: Some(op.id.clone()),
    };
    writes.put(&key, &stored)?;
    op.start(&state, writes).await?;
    Ok(resource_response(
        StatusCode::CREATED,
        &stored,
        op.async_operation_headers(&state.config.base_url),
    ))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    api: ApiVersion<CloudHsmClusters>,
    Path((sub, group, name)): ClusterPath,
    preconditions: Preconditions,
    ArmJson(body): ArmJson<ClusterPatch>,
) -> Result<Response, ArmError> {
    let _guard = state.store.lock_writes().await;
    let mut stored = find(&state, &sub, &group, &name)?;
    preconditions.check(Some(&stored.etag))?;
    refuse_while_busy(&stored)?;
    let cluster = &mut stored.resource;
    if let Some(tags) = body.tags {
        cluster.tags = tags;
    }
    if let Some(identity) = body.identity {
        cluster.identity = resolve_identity(&state, identity)?;
    }
    cluster.properties.provisioning_state = "Updating".into();
    cluster.system_data.modified(&principal, Utc::now());
    let mut op = OperationRecord::begin(
        OperationKind::UpdateCluster,
        &cluster.id,
        &sub,
        &cluster.location,
        api.as_str(),
        state.config.provisioning_delay / 2,
    );
    stored.etag = new_etag();
    stored.operation_id = Some(op.id.clone());
    let mut writes = WriteSet::new();
    writes.put(&storage_key(&stored.resource.id), &stored)?;
    op.start(&state, writes).await?;
    let mut headers = op.location_headers(&state.config.base_url);
    etag_header(&mut headers, &stored.etag);
    Ok((StatusCode::ACCEPTED, headers).into_response())
}

async fn delete(
    State(state): State<AppState>,
    _: Principal,
    api: ApiVersion<CloudHsmClusters>,
    Path((sub, group, name)): ClusterPath,
    preconditions: Preconditions,
) -> Result<Response, ArmError> {
    let _guard = state.store.lock_writes().await;
    let mut stored = match find(&state, &sub, &group, &name) {
        Ok(stored) => stored,
        // Deleting what is not there succeeds, as ARM answers.
        Err(ArmError::NotFound { .. }) => return Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => return Err(e),
    };
    preconditions.check(Some(&stored.etag))?;
    if stored.resource.properties.provisioning_state == "Deleting" {
        if let Some(running) = &stored.operation_id {
            let op = crate::arm::lro::find(&state.store, &sub, running)?;
            return Ok(op.accepted(&state.config.base_url));
        }
    }
    refuse_while_busy(&stored)?;
    let mut op = OperationRecord::begin(
        OperationKind::DeleteCluster,
        &stored.resource.id,
        &sub,
        &stored.resource.location,
        api.as_str(),
        state.config.provisioning_delay,
    );
    stored.resource.properties.provisioning_state = "Deleting".into();
    set_hsm_state(&mut stored.resource, "Deleting");
    stored.etag = new_etag();
    stored.operation_id = Some(op.id.clone());
    let mut writes = WriteSet::new();
    writes.put(&storage_key(&stored.resource.id), &stored)?;
    op.start(&state, writes).await?;
    // The HSMs stop answering as the deletion starts (the data plane's
    // directory finds the cluster no more).
    state.hsm_clusters.retire(&stored.resource.id);
    Ok(op.accepted(&state.config.base_url))
}

/// Ends a cluster operation: the resource reaches its final state in the same
/// batch that marks the operation done.
pub fn finish(
    state: &AppState,
    op: &OperationRecord,
    writes: &mut WriteSet,
) -> Result<Outcome, ArmError> {
    let key = storage_key(&op.resource_id);
    let Some(mut stored) = state.store.get::<StoredCluster>(&key)? else {
        return Ok(super::super::resource_gone(op));
    };
    if stored.operation_id.as_deref() != Some(op.id.as_str()) {
        // The resource was deleted and re-created meanwhile: not ours to change.
        return Ok(super::super::resource_gone(op));
    }
    match op.kind {
        OperationKind::DeleteCluster => {
            // Key material goes first; re-running after a crash is harmless.
            state
                .hsm_clusters
                .destroy(&op.resource_id)
                .map_err(|e| ArmError::Internal(format!("destroying the HSM cluster: {e}")))?;
            state.diagnostics.forget_cluster(&key);
            writes.delete::<StoredCluster>(&key);
            private_endpoint_connections::delete_under_cluster(state, &op.resource_id, writes)?;
            insights::delete_under_resource(state, &op.resource_id, writes)?;
            return Ok(Outcome::Succeeded);
        }
        OperationKind::CreateCluster => {
            if let Err(e) = state.hsm_clusters.provision(&op.resource_id) {
                tracing::error!(error = %e, "provisioning an HSM cluster failed");
                let message = "The HSM cluster could not be provisioned. Delete the resource and create it again.";
                let properties = &mut stored.resource.properties;
                properties.provisioning_state = "Failed".into();
                properties.status_message = Some(message.into());
                set_hsm_state(&mut stored.resource, "Failed");
                stored.operation_id = None;
                stored.etag = new_etag();
                writes.put(&key, &stored)?;
                return Ok(Outcome::Failed {
                    error: ArmError::Internal(message.into()).detail(),
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                });
            }
            stored.resource.properties.activation_state = "NotActivated".into();
            set_hsm_state(&mut stored.resource, "Active");
        }
        _ => {}
    }
    stored.resource.properties.provisioning_state = "Succeeded".into();
    stored.operation_id = None;
    stored.etag = new_etag();
    writes.put(&key, &stored)?;
    Ok(Outcome::Succeeded)
}

/// Ends a cluster operation that a fault rule failed: the cluster is
/// `Failed` with the rule's message (a failed create provisions no HSMs);
/// false when the resource is no longer the operation's.
pub fn fail(
    state: &AppState,
    op: &OperationRecord,
    message: &str,
    writes: &mut WriteSet,
) -> Result<bool, ArmError> {
    let key = storage_key(&op.resource_id);
    let Some(mut stored) = state.store.get::<StoredCluster>(&key)? else {
        return Ok(false);
    };
    if stored.operation_id.as_deref() != Some(op.id.as_str()) {
        return Ok(false);
    }
    let properties = &mut stored.resource.properties;
    properties.provisioning_state = "Failed".into();
    properties.status_message = Some(message.into());
    match op.kind {
        // No HSMs were made, or they were stopped for the deletion.
        OperationKind::CreateCluster | OperationKind::DeleteCluster => {
            set_hsm_state(&mut stored.resource, "Failed")
        }
        _ => {}
    }
    stored.operation_id = None;
    stored.etag = new_etag();
    writes.put(&key, &stored)?;
    Ok(true)
}

/// Part of a resource group's deletion.
pub fn delete_in_group(
    state: &AppState,
    group_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    let prefix = clusters_prefix(group_id);
    for (_, cluster) in state
        .store
        .list::<StoredCluster>(&prefix, None, usize::MAX)?
    {
        state
            .hsm_clusters
            .destroy(&cluster.resource.id)
            .map_err(|e| ArmError::Internal(format!("destroying the HSM cluster: {e}")))?;
        state
            .diagnostics
            .forget_cluster(&storage_key(&cluster.resource.id));
        private_endpoint_connections::delete_under_cluster(state, &cluster.resource.id, writes)?;
    }
    Ok(state.store.delete_under::<StoredCluster>(&prefix, writes)?)
}

/// For `operationResults`: the resource as a finished update left it.
pub fn current(state: &AppState, resource_id: &str) -> Result<Option<StoredCluster>, ArmError> {
    Ok(state
        .store
        .get::<StoredCluster>(&storage_key(resource_id))?
        .map(|c| live(state, c)))
}

impl ListedResource for StoredCluster {
    fn generic(self) -> GenericResource {
        let cluster = self.resource;
        GenericResource {
            sku: serde_json::to_value(&cluster.sku).ok(),
            identity: cluster
                .identity
                .as_ref()
                .and_then(|i| serde_json::to_value(i).ok()),
            created_time: Some(cluster.system_data.created_at),
            changed_time: Some(cluster.system_data.last_modified_at),
            provisioning_state: cluster.properties.provisioning_state,
            id: cluster.id,
            name: cluster.name,
            resource_type: cluster.resource_type,
            location: cluster.location,
            tags: cluster.tags,
            ..Default::default()
        }
    }
}
