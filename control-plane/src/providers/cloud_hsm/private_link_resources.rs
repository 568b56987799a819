//! `cloudHsmClusters/privateLinkResources`: what a private endpoint can
//! connect to. A cluster exposes one group, `cloudHsm`, whose members are
//! its HSMs, resolved through the `privatelink.cloudhsm.azure.net` zone as
//! Azure documents for Cloud HSM private endpoints.

use axum::{
    extract::{Path, State},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use super::{
    clusters::{self, CloudHsmClusters},
    private_endpoint_connections::GROUP_ID,
};
use crate::{
    arm::{api_version::ApiVersion, error::ArmError},
    state::AppState,
};

const PRIVATE_DNS_ZONE: &str = "privatelink.cloudhsm.azure.net";

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{cloudHsmClusterName}/privateLinkResources",
        get(list),
    )
}

async fn list(
    State(state): State<AppState>,
    _: ApiVersion<CloudHsmClusters>,
    Path((sub, group, cluster)): Path<(String, String, String)>,
) -> Result<Json<Value>, ArmError> {
    let cluster = clusters::find(&state, &sub, &group, &cluster)?.resource;
    // Members are named after the HSMs' host labels (hsm1, hsm2, hsm3).
    let members: Vec<String> = cluster
        .properties
        .hsms
        .iter()
        .filter_map(|hsm| hsm.fqdn.split('.').next().map(str::to_string))
        .collect();
    Ok(Json(json!({
        "value": [{
            "id": format!("{}/privateLinkResources/{GROUP_ID}", cluster.id),
            "name": GROUP_ID,
            "type": "Microsoft.HardwareSecurityModules/cloudHsmClusters/privateLinkResources",
            "properties": {
                "groupId": GROUP_ID,
                "requiredMembers": members,
                "requiredZoneNames": [PRIVATE_DNS_ZONE],
            }
        }]
    })))
}
