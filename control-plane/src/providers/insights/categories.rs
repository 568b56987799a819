//! `diagnosticSettingsCategories` of a Cloud HSM cluster: what Azure Monitor
//! lists for `Microsoft.HardwareSecurityModules/cloudHsmClusters` ("Supported
//! logs for Microsoft.HardwareSecurityModules/cloudHsmClusters"): one log
//! category, `HsmServiceOperations`, in the groups `allLogs` and `audit`
//! (its table, CloudHsmServiceOperationAuditLogs, is in the Audit category).
//! The type exports no metrics.

use axum::{
    extract::{Path, State},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use super::{DiagnosticSettingsCategories, CLUSTER_PATH};
use crate::{
    arm::{api_version::ApiVersion, error::ArmError},
    providers::cloud_hsm::clusters,
    state::AppState,
};

pub const LOG_CATEGORIES: &[&str] = &["HsmServiceOperations"];
pub const CATEGORY_GROUPS: &[&str] = &["allLogs", "audit"];
/// Empty: Azure's refusal of a metric category names this list.
pub const METRIC_CATEGORIES: &[&str] = &[];

const SEGMENT: &str = "/providers/Microsoft.Insights/diagnosticSettingsCategories";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{CLUSTER_PATH}{SEGMENT}"), get(list))
        .route(&format!("{CLUSTER_PATH}{SEGMENT}/{{name}}"), get(show))
}

/// The canonical spelling of a log category, matched case-insensitively.
pub fn log_category(name: &str) -> Option<&'static str> {
    LOG_CATEGORIES
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .copied()
}

pub fn category_group(name: &str) -> Option<&'static str> {
    CATEGORY_GROUPS
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .copied()
}

fn render(cluster_id: &str, name: &str) -> Value {
    json!({
        "id": format!("{cluster_id}/providers/microsoft.insights/diagnosticSettingsCategories/{name}"),
        "type": "microsoft.insights/diagnosticSettingsCategories",
        "name": name,
        "properties": { "categoryType": "Logs", "categoryGroups": CATEGORY_GROUPS },
    })
}

async fn list(
    State(state): State<AppState>,
    _: ApiVersion<DiagnosticSettingsCategories>,
    Path((sub, group, cluster)): Path<(String, String, String)>,
) -> Result<Json<Value>, ArmError> {
    let cluster = clusters::find(&state, &sub, &group, &cluster)?;
    let value: Vec<Value> = LOG_CATEGORIES
        .iter()
        .map(|name| render(&cluster.resource.id, name))
        .collect();
    Ok(Json(json!({ "value": value })))
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<DiagnosticSettingsCategories>,
    Path((sub, group, cluster, name)): Path<(String, String, String, String)>,
) -> Result<Json<Value>, ArmError> {
    let cluster = clusters::find(&state, &sub, &group, &cluster)?;
    let name = log_category(&name).ok_or_else(|| ArmError::NotFound {
        code: "ResourceNotFound",
        message: format!(
            "The diagnostic settings category '{name}' does not exist for resource type 'Microsoft.HardwareSecurityModules/cloudHsmClusters'. Its categories are: '{}'.",
            LOG_CATEGORIES.join("', '")
        ),
    })?;
    Ok(Json(render(&cluster.resource.id, name)))
}
