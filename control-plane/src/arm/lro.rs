//! Long-running operations, the way ARM runs them.
//!
//! Starting an operation writes two records in the same atomic batch as the
//! resource change that begins it: the [`OperationRecord`] (what status URLs
//! report) and a [`PendingOperation`] marker with the time it is due. A single
//! worker finishes due operations — again in one batch with the resource
//! change that ends them — so an operation interrupted by `kill -9` is found
//! pending at the next start and finished then: never stuck `InProgress`.

pub mod retention;

use std::time::Duration;

use axum::{
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::{
    error::{error_response, ArmError, ErrorDetail},
    system_data::arm_time,
};
use crate::{
    state::AppState,
    store::{Record, Store, StoreError, WriteSet},
};

pub const AZURE_ASYNC_OPERATION: HeaderName = HeaderName::from_static("azure-asyncoperation");

/// `retry-after-ms` (honoured by az and the Azure SDKs before `Retry-After`)
/// for work that started at `start`: an eighth of its age, 10 ms to 1 s, so
/// a short operation is seen done soon after it is and a long one is not
/// polled needlessly often.
pub fn insert_poll_hint_since(start: DateTime<Utc>, headers: &mut HeaderMap) {
    let age = (Utc::now() - start).num_milliseconds().max(0);
    headers.insert(
        HeaderName::from_static("retry-after-ms"),
        HeaderValue::from((age / 8).clamp(10, 1000)),
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperationKind {
    CreateCluster,
    UpdateCluster,
    DeleteCluster,
    DeleteResourceGroup,
    DeletePrivateEndpointConnection,
    // Backup and restore jobs (run by `providers::cloud_hsm::backup`).
    ValidateBackup,
    Backup,
    ValidateRestore,
    Restore,
}

impl OperationKind {
    pub fn is_backup_job(self) -> bool {
        matches!(
            self,
            Self::ValidateBackup | Self::Backup | Self::ValidateRestore | Self::Restore
        )
    }
}

impl OperationKind {
    /// The provider whose URLs report this operation.
    fn namespace(self) -> &'static str {
        match self {
            Self::DeleteResourceGroup => "Microsoft.Resources",
            _ => "Microsoft.HardwareSecurityModules",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperationStatus {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperationRecord {
    pub id: String,
    pub kind: OperationKind,
    pub resource_id: String,
    pub subscription_id: String,
    pub location: String,
    pub api_version: String,
    pub status: OperationStatus,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub due_at: DateTime<Utc>,
    pub error: Option<ErrorDetail>,
    /// HTTP status a `Location` poll answers with once the operation failed.
    pub failure_status: Option<u16>,
    /// Set when a fault rule picked this operation to fail (see
    /// [`crate::faults`]); the provider then ends it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_failure: Option<crate::faults::InjectedFailure>,
}

impl Record for OperationRecord {
    const KIND: &'static str = "operation";
    const VERSION: u32 = 1;
}

/// Marks an operation the worker has yet to finish; keyed by operation id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingOperation {
    pub due_at: DateTime<Utc>,
}

impl Record for PendingOperation {
    const KIND: &'static str = "pending-operation";
    const VERSION: u32 = 1;
}

impl OperationRecord {
    pub fn begin(
        kind: OperationKind,
        resource_id: &str,
        subscription_id: &str,
        location: &str,
        api_version: &str,
        duration: Duration,
    ) -> Self {
        let now = Utc::now();
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            resource_id: resource_id.to_string(),
            subscription_id: subscription_id.to_string(),
            location: location.to_string(),
            api_version: api_version.to_string(),
            status: OperationStatus::InProgress,
            start_time: now,
            end_time: None,
            due_at: now + chrono::Duration::from_std(duration).unwrap_or_default(),
            error: None,
            failure_status: None,
            injected_failure: None,
        }
    }

    /// Starts the operation: `writes` (the resource change that begins it)
    /// and the operation's own records are committed in one flushed batch,
    /// then the worker is woken. An injected fault may change when it is
    /// due and how it ends.
    pub async fn start(&mut self, state: &AppState, mut writes: WriteSet) -> Result<(), ArmError> {
        state.faults.operations.shape(self);
        self.stage(&mut writes)?;
        state.store.commit(writes).await?;
        state.operations.wake();
        Ok(())
    }

    /// The 202 that answers a request starting a `Location`-polled operation.
    pub fn accepted(&self, base_url: &str) -> Response {
        (StatusCode::ACCEPTED, self.location_headers(base_url)).into_response()
    }

    /// Ends the operation now: adds it, with its end time, and its entry in
    /// the retention index to `writes` (see [`retention`]).
    pub fn stage_end(&mut self, writes: &mut WriteSet) -> Result<(), StoreError> {
        self.end_time = Some(Utc::now());
        retention::stage_end(self, writes)
    }

    /// Adds the operation and its pending marker to `writes`.
    pub fn stage(&self, writes: &mut WriteSet) -> Result<(), ArmError> {
        writes.put(&self.id, self)?;
        writes.put(
            &self.id,
            &PendingOperation {
                due_at: self.due_at,
            },
        )?;
        Ok(())
    }

    fn status_path(&self) -> String {
        match self.kind {
            OperationKind::DeleteResourceGroup => {
                format!(
                    "/subscriptions/{}/operationresults/{}",
                    self.subscription_id, self.id
                )
            }
            _ => format!(
                "/subscriptions/{}/providers/{}/locations/{}/operationStatuses/{}",
                self.subscription_id,
                self.kind.namespace(),
                self.location,
                self.id
            ),
        }
    }

    /// `Azure-AsyncOperation`: reports `{id,name,status,...}`.
    pub fn status_url(&self, base_url: &str) -> String {
        format!(
            "{base_url}{}?api-version={}",
            self.status_path(),
            self.api_version
        )
    }

    /// `Location`: 202 while running, then the operation's final answer.
    pub fn result_url(&self, base_url: &str) -> String {
        match self.kind {
            OperationKind::DeleteResourceGroup => self.status_url(base_url),
            _ => format!(
                "{base_url}/subscriptions/{}/providers/{}/locations/{}/operationResults/{}?api-version={}",
                self.subscription_id,
                self.kind.namespace(),
                self.location,
                self.id,
                self.api_version
            ),
        }
    }

    pub fn status_body(&self) -> Value {
        let mut body = json!({
            "id": self.status_path(),
            "name": self.id,
            "status": self.status,
            "startTime": arm_time(self.start_time),
        });
        if let Some(end) = self.end_time {
            body["endTime"] = json!(arm_time(end));
        }
        if let Some(error) = &self.error {
            body["error"] = json!(error);
        }
        body
    }

    /// Seconds a client should wait before polling again.
    pub fn retry_after_secs(&self) -> i64 {
        let remaining = (self.due_at - Utc::now()).num_milliseconds();
        ((remaining + 999) / 1000).clamp(1, 60)
    }

    fn headers(&self, url_header: HeaderName, url: String) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&url) {
            headers.insert(url_header, v);
        }
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.retry_after_secs()),
        );
        headers
    }

    /// Headers of a 201 that started this operation.
    pub fn async_operation_headers(&self, base_url: &str) -> HeaderMap {
        self.headers(AZURE_ASYNC_OPERATION, self.status_url(base_url))
    }

    /// Headers of a 202 that started this operation.
    pub fn location_headers(&self, base_url: &str) -> HeaderMap {
        self.headers(header::LOCATION, self.result_url(base_url))
    }

    /// The answer to a `Location` poll, unless the operation succeeded — then
    /// `None`, and the caller renders its final result.
    pub fn poll_location(&self, base_url: &str) -> Option<Response> {
        match self.status {
            OperationStatus::InProgress => {
                Some((StatusCode::ACCEPTED, self.location_headers(base_url)).into_response())
            }
            OperationStatus::Succeeded => None,
            OperationStatus::Failed | OperationStatus::Canceled => {
                let status = self
                    .failure_status
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let detail = self.error.clone().unwrap_or(ErrorDetail {
                    code: "OperationCanceled".into(),
                    message: "The operation was canceled.".into(),
                    target: None,
                    details: Vec::new(),
                });
                Some(error_response(status, &detail))
            }
        }
    }
}

/// Looks an operation up for a status URL; unknown ids are ARM's 404.
pub fn find(store: &Store, subscription: &str, id: &str) -> Result<OperationRecord, ArmError> {
    store
        .get::<OperationRecord>(&id.to_ascii_lowercase())?
        .filter(|op| op.subscription_id.eq_ignore_ascii_case(subscription))
        .ok_or_else(|| ArmError::NotFound {
            code: "OperationNotFound",
            message: format!("The operation '{id}' could not be found."),
        })
}

/// How a finished operation ended.
pub enum Outcome {
    Succeeded,
    Failed {
        error: ErrorDetail,
        status: StatusCode,
    },
}

/// Applies the resource changes that end `op` to `writes` and says how it
/// ended. Provided by the resource providers.
pub type Finisher = fn(&AppState, &OperationRecord, &mut WriteSet) -> Result<Outcome, ArmError>;

/// Wakes the worker when an operation is started.
#[derive(Default)]
pub struct OperationQueue {
    wake: Notify,
}

impl OperationQueue {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The worker: finishes every due operation, then sleeps until the next one
/// is due or a new one is started. Runs until the process stops.
pub async fn run_worker(state: AppState, finish: Finisher) {
    loop {
        let next_due = match finish_due(&state, finish).await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "operation worker failed; retrying");
                Some(Utc::now() + chrono::Duration::seconds(1))
            }
        };
        // Deleted clusters' memory goes back now, not at the next peak.
        state.hsm_clusters.release_freed_memory();
        let wait = next_due
            .map(|due| (due - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = state.operations.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Finishes what is due; returns when the next pending operation is due.
async fn finish_due(state: &AppState, finish: Finisher) -> Result<Option<DateTime<Utc>>, ArmError> {
    let _guard = state.store.lock_writes().await;
    let now = Utc::now();
    let mut next_due = None;
    for (id, pending) in state.store.list::<PendingOperation>("", None, usize::MAX)? {
        if pending.due_at > now {
            next_due =
                Some(next_due.map_or(pending.due_at, |d: DateTime<Utc>| d.min(pending.due_at)));
            continue;
        }
        let mut writes = WriteSet::new();
        writes.delete::<PendingOperation>(&id);
        let Some(mut op) = state.store.get::<OperationRecord>(&id)? else {
            state.store.commit(writes).await?;
            continue;
        };
        match finish(state, &op, &mut writes) {
            Ok(Outcome::Succeeded) => op.status = OperationStatus::Succeeded,
            Ok(Outcome::Failed { error, status }) => {
                op.status = OperationStatus::Failed;
                op.error = Some(error);
                op.failure_status = Some(status.as_u16());
            }
            Err(e) => {
                // Drop the half-built resource writes; record the failure alone.
                writes = WriteSet::new();
                writes.delete::<PendingOperation>(&id);
                op.status = OperationStatus::Failed;
                op.failure_status = Some(e.status().as_u16());
                op.error = Some(e.detail());
            }
        }
        op.stage_end(&mut writes)?;
        state.store.commit(writes).await?;
        tracing::info!(operation = %op.id, kind = ?op.kind, status = ?op.status, "operation finished");
    }
    Ok(next_due)
}
