//! Cluster backup and restore (2025-03-31): `validateBackupProperties`,
//! `backup`, `backupOperationStatus/{jobId}`, `validateRestoreProperties`,
//! `restore`, `restoreOperationStatus/{jobId}`.
//!
//! A request is checked at once (body, SAS token, URI, identity, cluster
//! state: 4xx straight away) and then runs as a job: 202 with
//! `Azure-AsyncOperation` (the provider's `operationStatuses/{jobId}`, whose
//! body carries the `BackupResult` / `RestoreResult` properties, as the
//! SDK pollers read the final result from it) and `Location` (the job's
//! status URL). What needs Blob Storage — role assignment, container, blob,
//! integrity — is found out by the job and reported in its result.
//!
//! Durability: the job's operation record is written before the 202; the
//! result is written when the job ends. A job interrupted by a crash is
//! settled at the next start by [`recover_interrupted`]: a backup is
//! `Failed` (its blocks were never committed, so no blob claims to be a
//! backup), a restore `Succeeded` if the engine had committed it (one atomic
//! batch) and `Failed` otherwise.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, MethodRouter},
    Json, Router,
};
use chrono::Utc;
use cloudhsm_data_plane::engine::backup_format::{self, BackupError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    clusters::{self, CloudHsmClusters, ClusterPath},
    model::StoredCluster,
};
use crate::{
    arm::{
        api_version::ApiVersion,
        error::{ArmError, ErrorDetail},
        lro::{self, OperationKind, OperationRecord, OperationStatus, Outcome},
        schema::{ArmJson, ValidatedBody},
        system_data::arm_time,
    },
    backup_storage::{container_uri, BlobError, ContainerUri},
    identity::tokens::Principal,
    providers::{
        authorization::{self, BlobAccess},
        managed_identity,
    },
    state::AppState,
    store::{Record, WriteSet},
};

pub fn routes() -> Router<AppState> {
    const CLUSTER: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{cloudHsmClusterName}";
    Router::new()
        .route(
            &format!("{CLUSTER}/validateBackupProperties"),
            start_route::<BackupRequest>(OperationKind::ValidateBackup),
        )
        .route(
            &format!("{CLUSTER}/backup"),
            start_route::<BackupRequest>(OperationKind::Backup),
        )
        .route(
            &format!("{CLUSTER}/validateRestoreProperties"),
            start_route::<RestoreRequest>(OperationKind::ValidateRestore),
        )
        .route(
            &format!("{CLUSTER}/restore"),
            start_route::<RestoreRequest>(OperationKind::Restore),
        )
        .route(
            &format!("{CLUSTER}/backupOperationStatus/{{jobId}}"),
            status_route(false),
        )
        .route(
            &format!("{CLUSTER}/restoreOperationStatus/{{jobId}}"),
            status_route(true),
        )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRequest {
    azure_storage_blob_container_uri: String,
    token: Option<String>,
}
impl ValidatedBody for BackupRequest {
    const SCHEMA: &'static str = "cloudHsmClusters.backup";
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    azure_storage_blob_container_uri: String,
    backup_id: String,
    token: Option<String>,
}
impl ValidatedBody for RestoreRequest {
    const SCHEMA: &'static str = "cloudHsmClusters.restore";
}

/// What a job needs beyond its operation record; keyed by job id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupJob {
    pub container_uri: String,
    pub backup_id: Option<String>,
    /// Set in the batch that records the job's end, so start-up recovery
    /// skips ended jobs without reading their operation records (which lie
    /// among the whole operation history). Jobs stored before this field
    /// read `false` and are checked against their operation record.
    #[serde(default)]
    pub settled: bool,
}

impl Record for BackupJob {
    const KIND: &'static str = "backup-job";
    const VERSION: u32 = 1;
}

/// How a job ended badly: the operation result's error and the HTTP status
/// a `Location` poll answers with.
struct JobFailure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn fail(status: StatusCode, code: &'static str, message: impl Into<String>) -> JobFailure {
    JobFailure {
        status,
        code,
        message: message.into(),
    }
}

impl From<ArmError> for JobFailure {
    fn from(e: ArmError) -> Self {
        let detail = e.detail();
        let code = e.code();
        JobFailure {
            status: e.status(),
            code,
            message: detail.message,
        }
    }
}

// ---- handlers: parse → check → start the job ----

/// POST `kind`: the body, then [`start`].
fn start_route<B>(kind: OperationKind) -> MethodRouter<AppState>
where
    B: ValidatedBody + Into<Request> + 'static,
{
    post(
        move |State(state): State<AppState>,
              _: Principal,
              api: ApiVersion<CloudHsmClusters>,
              Path((sub, group, name)): ClusterPath,
              ArmJson(body): ArmJson<B>| async move {
            start(&state, &api, (&sub, &group, &name), kind, body.into()).await
        },
    )
}

/// GET `backupOperationStatus/{jobId}` or `restoreOperationStatus/{jobId}`.
fn status_route(restore: bool) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>,
              _: ApiVersion<CloudHsmClusters>,
              Path((sub, group, name, job)): Path<(String, String, String, String)>| async move {
            job_status(&state, (&sub, &group, &name), &job, restore)
        },
    )
}

impl From<BackupRequest> for Request {
    fn from(body: BackupRequest) -> Self {
        Request::new(body.azure_storage_blob_container_uri, None, body.token)
    }
}

impl From<RestoreRequest> for Request {
    fn from(body: RestoreRequest) -> Self {
        Request::new(
            body.azure_storage_blob_container_uri,
            Some(body.backup_id),
            body.token,
        )
    }
}

pub struct Request {
    container_uri: String,
    backup_id: Option<String>,
    token: Option<String>,
}

impl Request {
    fn new(container_uri: String, backup_id: Option<String>, token: Option<String>) -> Self {
        Self {
            container_uri,
            backup_id,
            token,
        }
    }
}

fn is_restore(kind: OperationKind) -> bool {
    matches!(
        kind,
        OperationKind::ValidateRestore | OperationKind::Restore
    )
}

/// The checks that need no storage, then the job.
async fn start(
    state: &AppState,
    api: &ApiVersion<CloudHsmClusters>,
    (sub, group, name): (&str, &str, &str),
    kind: OperationKind,
    request: Request,
) -> Result<Response, ArmError> {
    if request.token.is_some() {
        return Err(ArmError::BadRequest {
            code: "InvalidParameter",
            message: "SAS tokens are not supported for Cloud HSM backup and restore (the 'token' property is reserved for Azure Backup Service): remove it, and grant the cluster's user-assigned managed identity the 'Storage Blob Data Contributor' role on the storage account instead.".into(),
            target: Some("token".into()),
        });
    }
    container_uri::parse(&request.container_uri).map_err(|e| ArmError::BadRequest {
        code: "InvalidParameter",
        message: e.0,
        target: Some("azureStorageBlobContainerUri".into()),
    })?;
    let _guard = state.store.lock_writes().await;
    let cluster = clusters::find(state, sub, group, name)?;
    check_cluster(state, &cluster, kind)?;
    cluster_identity(state, &cluster)?;

    let mut op = OperationRecord::begin(
        kind,
        &cluster.resource.id,
        sub,
        &cluster.resource.location,
        api.as_str(),
        std::time::Duration::ZERO,
    );
    // Job ids look like the service's: 32 hex digits.
    op.id = uuid::Uuid::new_v4().simple().to_string();
    let job = BackupJob {
        container_uri: request.container_uri,
        backup_id: request.backup_id,
        settled: false,
    };
    let mut writes = WriteSet::new();
    writes.put(&op.id, &op)?;
    writes.put(&op.id, &job)?;
    state.store.commit(writes).await?;
    tokio::spawn(run(state.clone(), op.clone(), job));

    let mut headers = op.async_operation_headers(&state.config.base_url);
    if let Ok(location) = HeaderValue::from_str(&job_url(state, &op)) {
        headers.insert(header::LOCATION, location);
    }
    insert_poll_hint(&op, &mut headers);
    Ok((StatusCode::ACCEPTED, headers).into_response())
}

/// Adds `retry-after-ms` to a running job's answer. The Azure SDKs
/// (azure-core for Python, Rust, JS, .NET) read it before `Retry-After`,
/// whose whole seconds would make every job, however short, last at least a
/// second per poll for an SDK user. The hint backs off with the job's age
/// (an eighth of it, 10 ms to 1 s), so a poller overshoots a job's end by
/// an eighth at most (a poll costs the emulator well under a millisecond)
/// and a long job is not polled needlessly often.
/// `Retry-After` stays for clients that know only it.
pub fn insert_poll_hint(op: &OperationRecord, headers: &mut axum::http::HeaderMap) {
    crate::arm::lro::insert_poll_hint_since(op.start_time, headers);
}

fn check_cluster(
    state: &AppState,
    cluster: &StoredCluster,
    kind: OperationKind,
) -> Result<(), ArmError> {
    let properties = &cluster.resource.properties;
    if properties.provisioning_state != "Succeeded" || cluster.operation_id.is_some() {
        return Err(ArmError::Conflict {
            code: "Conflict",
            message: format!(
                "The Cloud HSM Cluster '{}' is in provisioning state '{}': backup and restore need a provisioned cluster with no operation in progress.",
                cluster.resource.name, properties.provisioning_state
            ),
        });
    }
    let activated = state
        .hsm_clusters
        .status(&cluster.resource.id)
        .is_some_and(|s| s.activated);
    if is_restore(kind) && activated {
        return Err(ArmError::BadRequest {
            code: "ClusterAlreadyActivated",
            message: format!(
                "The Cloud HSM Cluster '{}' is activated: a backup can only be restored into a cluster whose activationState is 'NotActivated'. Create a new cluster and restore into it.",
                cluster.resource.name
            ),
            target: None,
        });
    }
    if !is_restore(kind) && !activated {
        return Err(ArmError::BadRequest {
            code: "ClusterNotActivated",
            message: format!(
                "The Cloud HSM Cluster '{}' is not activated: only an activated cluster has state to back up.",
                cluster.resource.name
            ),
            target: None,
        });
    }
    Ok(())
}

/// The cluster's one user-assigned identity, which must still exist.
fn cluster_identity(
    state: &AppState,
    cluster: &StoredCluster,
) -> Result<managed_identity::UserAssignedIdentity, ArmError> {
    let missing = |why: String| {
        ArmError::BadRequest {
        code: "ManagedIdentityNotConfigured",
        message: format!(
            "{why} Backup and restore use the cluster's user-assigned managed identity: assign one (identity.type 'UserAssigned') and grant it the 'Storage Blob Data Contributor' role on the storage account."
        ),
        target: Some("identity".into()),
    }
    };
    let id = cluster
        .resource
        .identity
        .as_ref()
        .and_then(|i| i.user_assigned_identities.keys().next().cloned())
        .ok_or_else(|| {
            missing(format!(
                "The Cloud HSM Cluster '{}' has no managed identity.",
                cluster.resource.name
            ))
        })?;
    managed_identity::find_by_id(state, &id)?
        .ok_or_else(|| missing(format!("The cluster's identity '{id}' no longer exists.")))
}

fn job_url(state: &AppState, op: &OperationRecord) -> String {
    let status = if is_restore(op.kind) {
        "restoreOperationStatus"
    } else {
        "backupOperationStatus"
    };
    format!(
        "{}{}/{status}/{}?api-version={}",
        state.config.base_url, op.resource_id, op.id, op.api_version
    )
}

// ---- results ----

/// A finished job's `statusDetails`: what it did, or why it failed (the
/// error's message).
fn status_details(op: &OperationRecord) -> Option<String> {
    match op.status {
        OperationStatus::Succeeded => Some(
            match op.kind {
                OperationKind::ValidateBackup => "The cluster can be backed up to the container.",
                OperationKind::Backup => "Backup operation completed successfully.",
                OperationKind::ValidateRestore => "The backup can be restored into the cluster.",
                _ => "Restore operation completed successfully.",
            }
            .to_string(),
        ),
        OperationStatus::Failed => op.error.as_ref().map(|e| e.message.clone()),
        _ => None,
    }
}

/// `BackupResult.properties` / `RestoreResult.properties` of a job.
pub fn result_properties(state: &AppState, op: &OperationRecord) -> Option<Value> {
    if !op.kind.is_backup_job() {
        return None;
    }
    let job = state.store.get::<BackupJob>(&op.id).ok().flatten()?;
    let status = match op.status {
        OperationStatus::InProgress => "InProgress",
        OperationStatus::Succeeded => "Succeeded",
        OperationStatus::Failed => "Failed",
        OperationStatus::Canceled => "Cancelled",
    };
    let mut properties = json!({
        "jobId": op.id,
        "status": status,
        "startTime": arm_time(op.start_time),
        "endTime": op.end_time.map(arm_time),
    });
    if let Some(details) = status_details(op) {
        properties["statusDetails"] = json!(details);
    }
    if let Some(error) = &op.error {
        properties["error"] = json!(error);
    }
    if !is_restore(op.kind) {
        properties["azureStorageBlobContainerUri"] = json!(job.container_uri);
        if let Some(id) = &job.backup_id {
            properties["backupId"] = json!(id);
        }
    }
    Some(properties)
}

fn job_status(
    state: &AppState,
    (sub, group, name): (&str, &str, &str),
    job: &str,
    restore: bool,
) -> Result<Response, ArmError> {
    let cluster = clusters::find(state, sub, group, name)?;
    let op = lro::find(&state.store, sub, job)?;
    let matches = op.resource_id.eq_ignore_ascii_case(&cluster.resource.id)
        && op.kind.is_backup_job()
        && is_restore(op.kind) == restore;
    if !matches {
        return Err(ArmError::NotFound {
            code: "OperationNotFound",
            message: format!(
                "The {} job '{job}' could not be found for this cluster.",
                if restore { "restore" } else { "backup" }
            ),
        });
    }
    if op.status == OperationStatus::InProgress {
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(location) = HeaderValue::from_str(&job_url(state, &op)) {
            headers.insert(header::LOCATION, location);
        }
        headers.insert(header::RETRY_AFTER, HeaderValue::from(1));
        insert_poll_hint(&op, &mut headers);
        return Ok((StatusCode::ACCEPTED, headers).into_response());
    }
    let properties = result_properties(state, &op).unwrap_or(Value::Null);
    Ok(Json(json!({ "properties": properties })).into_response())
}

// ---- the job ----

async fn run(state: AppState, op: OperationRecord, mut job: BackupJob) {
    let mut phases = Phases::new();
    let result = execute(&state, &op, &mut job, &mut phases).await;
    // Where a job's time goes (`CLOUDHSM_LOG=info`): what the benchmark's
    // figures are read against.
    tracing::info!(job = %op.id, kind = ?op.kind, phases = %phases, "backup job timing");
    if let Err(e) = settle(&state, &op.id, job, result).await {
        tracing::error!(error = %e, job = %op.id, "recording a backup job's result failed");
    }
}

/// Writes the job's end: status, end time, error, details.
async fn settle(
    state: &AppState,
    id: &str,
    mut job: BackupJob,
    result: Result<(), JobFailure>,
) -> Result<(), ArmError> {
    let _guard = state.store.lock_writes().await;
    let Some(mut op) = state.store.get::<OperationRecord>(id)? else {
        return Ok(());
    };
    match result {
        Ok(()) => op.status = OperationStatus::Succeeded,
        Err(failure) => {
            op.status = OperationStatus::Failed;
            op.failure_status = Some(failure.status.as_u16());
            op.error = Some(ErrorDetail {
                code: failure.code.into(),
                message: failure.message,
                target: None,
                details: Vec::new(),
            });
        }
    }
    job.settled = true;
    let mut writes = WriteSet::new();
    op.stage_end(&mut writes)?;
    writes.put(id, &job)?;
    state.store.commit(writes).await?;
    tracing::info!(job = %op.id, kind = ?op.kind, status = ?op.status, "backup job finished");
    Ok(())
}

/// How long each step of a job took, in milliseconds.
struct Phases {
    last: std::time::Instant,
    spent: Vec<(&'static str, f64)>,
}

impl Phases {
    fn new() -> Self {
        Self {
            last: std::time::Instant::now(),
            spent: Vec::new(),
        }
    }

    fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.spent
            .push((phase, (now - self.last).as_secs_f64() * 1000.0));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (phase, ms) in &self.spent {
            write!(f, "{phase}={ms:.1}ms ")?;
        }
        Ok(())
    }
}

/// Runs the job (a backup records its `backupId` in `job`).
async fn execute(
    state: &AppState,
    op: &OperationRecord,
    job: &mut BackupJob,
    phases: &mut Phases,
) -> Result<(), JobFailure> {
    let cluster = state
        .store
        .get::<StoredCluster>(&crate::arm::resource_id::storage_key(&op.resource_id))
        .map_err(ArmError::from)?
        .ok_or_else(|| {
            fail(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                "The cluster was deleted while the job ran.",
            )
        })?;
    let identity = cluster_identity(state, &cluster)?;
    let container = container_uri::parse(&job.container_uri)
        .map_err(|e| fail(StatusCode::BAD_REQUEST, "InvalidParameter", e.0))?;
    let needed = if is_restore(op.kind) {
        BlobAccess::Read
    } else {
        BlobAccess::Write
    };
    let held = authorization::blob_access(
        state,
        &op.subscription_id,
        &identity.properties.principal_id,
        &container,
    )?;
    if held < needed {
        let role = if needed == BlobAccess::Write {
            "Storage Blob Data Contributor"
        } else {
            "Storage Blob Data Reader"
        };
        return Err(fail(
            StatusCode::FORBIDDEN,
            "AuthorizationPermissionMismatch",
            format!(
                "This request is not authorized to perform this operation using this permission: the cluster's managed identity '{}' (principal {}) has no '{role}' role assignment covering storage account '{}' (container '{}'). Assign the role, then retry.",
                identity.name, identity.properties.principal_id, container.account, container.container
            ),
        ));
    }
    let storage = &state.backup_storage;
    let credential = storage.credential(&identity.properties.client_id);
    phases.mark("authorize");
    match op.kind {
        OperationKind::ValidateBackup => {
            storage
                .check_container(&container, credential)
                .await
                .map_err(|e| blob_failure(e, &container, None))?;
            Ok(())
        }
        OperationKind::Backup => {
            storage
                .check_container(&container, credential.clone())
                .await
                .map_err(|e| blob_failure(e, &container, None))?;
            phases.mark("token+container");
            // As the service names them: a UUID and a timestamp to the
            // hundredth of a second (`cloudhsm-{uuid}-2025052912032456`).
            let now = Utc::now();
            let backup_id = format!(
                "cloudhsm-{}-{}{:02}",
                uuid::Uuid::new_v4(),
                now.format("%Y%m%d%H%M%S"),
                now.timestamp_subsec_millis() / 10
            );
            let envelope = {
                let (state, id, backup_id) =
                    (state.clone(), op.resource_id.clone(), backup_id.clone());
                tokio::task::spawn_blocking(move || {
                    let records = state.hsm_clusters.export_records(&id)?;
                    backup_format::seal(
                        state.hsm_clusters.backup_key(),
                        &backup_id,
                        &id,
                        &arm_time(Utc::now()),
                        &records,
                    )
                })
                .await
                .map_err(|e| ArmError::Internal(format!("the backup task: {e}")))?
                .map_err(|e| ArmError::Internal(format!("exporting the cluster: {e}")))?
            };
            phases.mark("export+seal");
            storage
                .upload(&container, credential, &backup_id, envelope)
                .await
                .map_err(|e| blob_failure(e, &container, None))?;
            phases.mark("upload");
            job.backup_id = Some(backup_id);
            Ok(())
        }
        OperationKind::ValidateRestore | OperationKind::Restore => {
            let backup_id = job.backup_id.clone().unwrap_or_default();
            let bytes = storage
                .download(&container, credential, &backup_id)
                .await
                .map_err(|e| blob_failure(e, &container, Some(&backup_id)))?;
            phases.mark("token+download");
            let restoring = op.kind == OperationKind::Restore;
            let (state, id) = (state.clone(), op.resource_id.clone());
            tokio::task::spawn_blocking(move || -> Result<(), JobFailure> {
                let (_, records) = backup_format::open(state.hsm_clusters.backup_key(), &bytes)
                    .map_err(|e| backup_failure(e, &backup_id))?;
                if restoring {
                    state
                        .hsm_clusters
                        .restore_records(&id, &records)
                        .map_err(|e| {
                            fail(
                                StatusCode::CONFLICT,
                                "RestoreFailed",
                                format!("The backup could not be restored: {e}"),
                            )
                        })?;
                }
                Ok(())
            })
            .await
            .map_err(|e| ArmError::Internal(format!("the restore task: {e}")))??;
            phases.mark("open+restore");
            Ok(())
        }
        _ => Err(fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "not a backup job",
        )),
    }
}

fn blob_failure(e: BlobError, container: &ContainerUri, backup_id: Option<&str>) -> JobFailure {
    let (account, name) = (&container.account, &container.container);
    match e {
        BlobError::ContainerNotFound => fail(
            StatusCode::NOT_FOUND,
            "ContainerNotFound",
            format!("The container '{name}' does not exist in storage account '{account}'."),
        ),
        BlobError::BlobNotFound => fail(
            StatusCode::NOT_FOUND,
            "BackupNotFound",
            format!(
                "No backup '{}' exists in container '{name}' of storage account '{account}'.",
                backup_id.unwrap_or_default()
            ),
        ),
        BlobError::Forbidden(m) => fail(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!("Blob Storage refused the cluster's managed identity: {m}."),
        ),
        BlobError::Credential(m) => fail(
            StatusCode::UNAUTHORIZED,
            "ManagedIdentityTokenFailed",
            format!("The cluster's managed identity got no token for Blob Storage: {m}"),
        ),
        BlobError::Unreachable(m) => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "StorageUnavailable",
            format!(
                "Blob Storage at '{}' could not be reached: {m}. The cluster was not changed.",
                container.url
            ),
        ),
        BlobError::Other(m) => fail(
            StatusCode::BAD_GATEWAY,
            "StorageRequestFailed",
            format!("{m}. The cluster was not changed."),
        ),
    }
}

fn backup_failure(e: BackupError, backup_id: &str) -> JobFailure {
    match e {
        BackupError::Integrity(_) | BackupError::Unsupported(_) => fail(
            StatusCode::BAD_REQUEST,
            "BackupIntegrityCheckFailed",
            format!(
                "The backup '{backup_id}' cannot be restored: {e}. The cluster was not changed."
            ),
        ),
        BackupError::Engine(e) => ArmError::Internal(format!("opening a backup: {e}")).into(),
    }
}

// ---- crash recovery ----

/// The outcome of a job whose process stopped while it ran.
pub fn interrupted(state: &AppState, op: &OperationRecord) -> Outcome {
    let restored = op.kind == OperationKind::Restore
        && state
            .hsm_clusters
            .status(&op.resource_id)
            .is_some_and(|s| s.activated);
    if restored {
        return Outcome::Succeeded;
    }
    Outcome::Failed {
        error: ErrorDetail {
            code: "OperationInterrupted".into(),
            message: "The emulator stopped while the job ran; it did not complete (a backup's staged blocks are never committed, so no blob was written). Start the job again.".into(),
            target: None,
            details: Vec::new(),
        },
        status: StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Removes a job's own record with its operation's (past its retention).
pub fn forget(id: &str, writes: &mut WriteSet) {
    writes.delete::<BackupJob>(id);
}

/// Settles every job left `InProgress` by a crash. Runs at start-up, before
/// the server takes requests.
pub async fn recover_interrupted(state: &AppState) -> Result<(), String> {
    // Only backup jobs, not the whole operation history: a job and its
    // operation are written in one batch under the same key, and a job
    // says whether it has ended.
    let jobs = state
        .store
        .list::<BackupJob>("", None, usize::MAX)
        .map_err(|e| e.to_string())?;
    for (id, job) in jobs {
        if job.settled {
            continue;
        }
        let Some(op) = state
            .store
            .get::<OperationRecord>(&id)
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        if op.status != OperationStatus::InProgress {
            continue;
        }
        let result = match interrupted(state, &op) {
            Outcome::Succeeded => Ok(()),
            Outcome::Failed { error, status } => Err(JobFailure {
                status,
                code: "OperationInterrupted",
                message: error.message,
            }),
        };
        settle(state, &id, job, result)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
