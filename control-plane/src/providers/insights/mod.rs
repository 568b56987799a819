//! `Microsoft.Insights`: diagnostic settings on a Cloud HSM cluster (an
//! extension resource at `{clusterId}/providers/Microsoft.Insights/...`) and
//! the cluster's diagnostic settings categories. This is the control plane
//! only: settings are stored, checked and listed; no log record is delivered
//! to their destinations yet.

pub mod categories;
mod destinations;
pub mod diagnostic_settings;

use axum::Router;

use crate::{arm::api_version::VersionedType, state::AppState};

pub const NAMESPACE: &str = "Microsoft.Insights";

/// 2021-05-01-preview is what az 2.91's `monitor diagnostic-settings` and the
/// documented REST API send; 2017-05-01-preview is az's `categories list /
/// show` (hardcoded in its aaz commands) and older SDKs and templates.
const API_VERSIONS: &[&str] = &["2021-05-01-preview", "2017-05-01-preview"];

pub struct DiagnosticSettings;
impl VersionedType for DiagnosticSettings {
    const NAMESPACE: &'static str = NAMESPACE;
    const RESOURCE_TYPE: &'static str = "diagnosticSettings";
    const SUPPORTED: &'static [&'static str] = API_VERSIONS;
}

pub struct DiagnosticSettingsCategories;
impl VersionedType for DiagnosticSettingsCategories {
    const NAMESPACE: &'static str = NAMESPACE;
    const RESOURCE_TYPE: &'static str = "diagnosticSettingsCategories";
    const SUPPORTED: &'static [&'static str] = API_VERSIONS;
}

/// The resources diagnostic settings are served on: Cloud HSM clusters.
const CLUSTER_PATH: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{cloudHsmClusterName}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(diagnostic_settings::routes())
        .merge(categories::routes())
}

pub use diagnostic_settings::{delete_in_group, delete_under_resource};
