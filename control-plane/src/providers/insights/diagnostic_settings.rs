//! `Microsoft.Insights/diagnosticSettings` on a Cloud HSM cluster: PUT
//! (synchronous, 200, as Azure answers), GET, DELETE (200, or 204 when there
//! was nothing), list. Records live under the cluster's storage key, so the
//! cluster's deletion (or its group's) takes them with it.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    categories::{self, CATEGORY_GROUPS, METRIC_CATEGORIES},
    destinations, DiagnosticSettings, CLUSTER_PATH,
};
use crate::{
    arm::{
        api_version::ApiVersion,
        error::ArmError,
        resource_id::storage_key,
        schema::{ArmJson, ValidatedBody},
    },
    identity::tokens::Principal,
    providers::cloud_hsm::clusters,
    state::AppState,
    store::{Record, WriteSet},
};

/// Azure Monitor's limit: "Each resource can have up to five diagnostic settings."
const MAX_PER_RESOURCE: usize = 5;
const SEGMENT: &str = "/providers/Microsoft.Insights/diagnosticSettings";
/// How Azure spells the segment in the ids it answers.
const ID_SEGMENT: &str = "/providers/microsoft.insights/diagnosticSettings";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredDiagnosticSetting {
    pub id: String,
    pub name: String,
    /// The wire `properties`, normalised (canonical category names, default
    /// retention policies).
    pub properties: Value,
}

impl Record for StoredDiagnosticSetting {
    const KIND: &'static str = "diagnosticSetting";
    const VERSION: u32 = 1;
}

#[derive(Deserialize)]
pub struct DiagnosticSettingPut {
    properties: Map<String, Value>,
}
impl ValidatedBody for DiagnosticSettingPut {
    const SCHEMA: &'static str = "diagnosticSettings.put";
}

type SettingPath = Path<(String, String, String, String)>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{CLUSTER_PATH}{SEGMENT}"), get(list))
        .route(
            &format!("{CLUSTER_PATH}{SEGMENT}/{{name}}"),
            get(show).put(create_or_update).delete(delete),
        )
}

fn prefix(resource_id: &str) -> String {
    storage_key(&format!("{resource_id}{ID_SEGMENT}/"))
}

fn render(setting: StoredDiagnosticSetting) -> Value {
    json!({
        "id": setting.id,
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": setting.name,
        "properties": setting.properties,
    })
}

fn not_found(name: &str) -> ArmError {
    ArmError::NotFound {
        code: "ResourceNotFound",
        message: format!("The diagnostic setting '{name}' doesn't exist."),
    }
}

fn unsupported(message: String) -> ArmError {
    ArmError::bad_request("BadRequest", message)
}

/// "Diagnostic settings does not support retention for new diagnostic
/// settings." (Azure, since retention moved to the destinations.)
fn check_retention(entry: &Value) -> Result<(), ArmError> {
    if entry["retentionPolicy"]["enabled"].as_bool() == Some(true) {
        return Err(unsupported(
            "Diagnostic settings does not support retention for new diagnostic settings.".into(),
        ));
    }
    Ok(())
}

/// Every entry with a retention policy, as Azure answers them.
fn with_default_retention(mut entry: Value) -> Value {
    if entry["retentionPolicy"].is_null() {
        entry["retentionPolicy"] = json!({ "enabled": false, "days": 0 });
    }
    entry
}

/// `logs[]`: each a known `category` or `categoryGroup`, in Azure's words
/// when not.
fn checked_logs(logs: &[Value]) -> Result<Vec<Value>, ArmError> {
    let mut out = Vec::new();
    for entry in logs {
        check_retention(entry)?;
        let mut entry = entry.clone();
        match (entry["category"].as_str(), entry["categoryGroup"].as_str()) {
            (Some(category), None) => {
                let canonical = categories::log_category(category).ok_or_else(|| {
                    unsupported(format!("Category '{category}' is not supported."))
                })?;
                entry["category"] = json!(canonical);
            }
            (None, Some(group)) => {
                let canonical = categories::category_group(group).ok_or_else(|| {
                    unsupported(format!(
                        "CategoryGroup: '{group}' is not supported, supported ones are: '{}'",
                        CATEGORY_GROUPS.join(",")
                    ))
                })?;
                entry["categoryGroup"] = json!(canonical);
            }
            _ => {
                return Err(ArmError::invalid_content(
                    "Each entry of 'properties.logs' names exactly one of 'category' and 'categoryGroup'.",
                    Some("properties.logs".into()),
                ))
            }
        }
        out.push(with_default_retention(entry));
    }
    Ok(out)
}

/// `metrics[]`: the cluster exports none, so any category is refused as
/// Azure refuses an unknown one.
fn checked_metrics(metrics: &[Value]) -> Result<Vec<Value>, ArmError> {
    if let Some(entry) = metrics.first() {
        let category = entry["category"].as_str().unwrap_or_default();
        return Err(unsupported(format!(
            "Metric category '{category}' is not supported, supported categories are: '{}'",
            METRIC_CATEGORIES.join(",")
        )));
    }
    Ok(Vec::new())
}

fn array(properties: &Map<String, Value>, name: &str) -> Vec<Value> {
    properties
        .get(name)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn normalised(state: &AppState, mut properties: Map<String, Value>) -> Result<Value, ArmError> {
    let logs = checked_logs(&array(&properties, "logs"))?;
    let metrics = checked_metrics(&array(&properties, "metrics"))?;
    properties.insert("logs".into(), Value::Array(logs));
    properties.insert("metrics".into(), Value::Array(metrics));
    let properties = Value::Object(properties);
    destinations::check(state, &properties)?;
    Ok(properties)
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<DiagnosticSettings>,
    Path((sub, group, cluster, name)): SettingPath,
) -> Result<Json<Value>, ArmError> {
    let cluster = clusters::find(&state, &sub, &group, &cluster)?;
    let key = format!("{}{}", prefix(&cluster.resource.id), storage_key(&name));
    let found = state
        .store
        .get::<StoredDiagnosticSetting>(&key)?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(render(found)))
}

async fn create_or_update(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<DiagnosticSettings>,
    Path((sub, group, cluster, name)): SettingPath,
    ArmJson(body): ArmJson<DiagnosticSettingPut>,
) -> Result<Response, ArmError> {
    let cluster = clusters::find(&state, &sub, &group, &cluster)?;
    let properties = normalised(&state, body.properties)?;
    let _guard = state.store.lock_writes().await;
    let prefix = prefix(&cluster.resource.id);
    let key = format!("{prefix}{}", storage_key(&name));
    let existing = state.store.get::<StoredDiagnosticSetting>(&key)?;
    if existing.is_none() {
        let count = state
            .store
            .list::<StoredDiagnosticSetting>(&prefix, None, MAX_PER_RESOURCE)?
            .len();
        if count >= MAX_PER_RESOURCE {
            return Err(unsupported(format!(
                "Diagnostic settings limit reached: a resource can have at most {MAX_PER_RESOURCE} diagnostic settings. Delete one of those of '{}' first.",
                cluster.resource.id
            )));
        }
    }
    // An update keeps the name's first spelling, as ARM keeps a name's case.
    let name = existing.map(|e| e.name).unwrap_or(name);
    let setting = StoredDiagnosticSetting {
        id: format!("{}{ID_SEGMENT}/{name}", cluster.resource.id),
        name,
        properties,
    };
    let mut writes = WriteSet::new();
    writes.put(&key, &setting)?;
    state.store.commit(writes).await?;
    drop(_guard);
    // Delivery starts (or changes) before the answer: records of operations
    // after it reach the new destination.
    state
        .diagnostics
        .sync_cluster(&state, &cluster.resource.id)
        .await;
    Ok((StatusCode::OK, Json(render(setting))).into_response())
}

async fn delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<DiagnosticSettings>,
    Path((sub, group, cluster, name)): SettingPath,
) -> Result<Response, ArmError> {
    let cluster = clusters::find(&state, &sub, &group, &cluster)?;
    let _guard = state.store.lock_writes().await;
    let key = format!("{}{}", prefix(&cluster.resource.id), storage_key(&name));
    if state.store.get::<StoredDiagnosticSetting>(&key)?.is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut writes = WriteSet::new();
    writes.delete::<StoredDiagnosticSetting>(&key);
    state.store.commit(writes).await?;
    drop(_guard);
    state
        .diagnostics
        .sync_cluster(&state, &cluster.resource.id)
        .await;
    Ok(StatusCode::OK.into_response())
}

/// One page always: the API is not paged (`nextLinkName: null`; clients
/// ignore a `nextLink`) and a resource has at most five settings.
async fn list(
    State(state): State<AppState>,
    _: ApiVersion<DiagnosticSettings>,
    Path((sub, group, cluster)): Path<(String, String, String)>,
) -> Result<Json<Value>, ArmError> {
    let cluster = clusters::find(&state, &sub, &group, &cluster)?;
    let value: Vec<Value> = state
        .store
        .list::<StoredDiagnosticSetting>(&prefix(&cluster.resource.id), None, usize::MAX)?
        .into_iter()
        .map(|(_, setting)| render(setting))
        .collect();
    Ok(Json(json!({ "value": value })))
}

/// Part of a resource's deletion: its diagnostic settings.
pub fn delete_under_resource(
    state: &AppState,
    resource_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    Ok(state
        .store
        .delete_under::<StoredDiagnosticSetting>(&prefix(resource_id), writes)?)
}

/// Part of a resource group's deletion: the settings of every resource in it.
pub fn delete_in_group(
    state: &AppState,
    group_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    Ok(state
        .store
        .delete_under::<StoredDiagnosticSetting>(&format!("{}/", storage_key(group_id)), writes)?)
}
