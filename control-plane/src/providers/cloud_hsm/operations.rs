//! The provider's operation resources: status monitors of long-running
//! operations (`Azure-AsyncOperation` and `Location`), and `Operations_List`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use super::clusters::{self, CloudHsmClusters};
use crate::{
    arm::{
        api_version::ApiVersion, conditions::etag_header, error::ArmError, lro, lro::OperationKind,
    },
    state::AppState,
};

pub fn routes() -> Router<AppState> {
    const LOCATION: &str = "/subscriptions/{subscriptionId}/providers/Microsoft.HardwareSecurityModules/locations/{location}";
    Router::new()
        .route(
            &format!("{LOCATION}/operationStatuses/{{operationId}}"),
            get(operation_status),
        )
        .route(
            &format!("{LOCATION}/operationResults/{{operationId}}"),
            get(operation_result),
        )
        .route(
            "/providers/Microsoft.HardwareSecurityModules/operations",
            get(list_operations),
        )
}

async fn operation_status(
    State(state): State<AppState>,
    _: ApiVersion<CloudHsmClusters>,
    Path((sub, _location, id)): Path<(String, String, String)>,
) -> Result<Response, ArmError> {
    let op = lro::find(&state.store, &sub, &id)?;
    let mut body = op.status_body();
    // Backup and restore: the pollers take the final result from here.
    if let Some(properties) = super::backup::result_properties(&state, &op) {
        body["properties"] = properties;
    }
    let mut response = Json(body).into_response();
    if op.status == lro::OperationStatus::InProgress {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            op.retry_after_secs().into(),
        );
        if op.kind.is_backup_job() {
            super::backup::insert_poll_hint(&op, response.headers_mut());
        }
    }
    Ok(response)
}

async fn operation_result(
    State(state): State<AppState>,
    _: ApiVersion<CloudHsmClusters>,
    Path((sub, _location, id)): Path<(String, String, String)>,
) -> Result<Response, ArmError> {
    let op = lro::find(&state.store, &sub, &id)?;
    if let Some(pending_or_failed) = op.poll_location(&state.config.base_url) {
        return Ok(pending_or_failed);
    }
    Ok(match op.kind {
        OperationKind::DeleteCluster
        | OperationKind::DeleteResourceGroup
        | OperationKind::DeletePrivateEndpointConnection => StatusCode::NO_CONTENT.into_response(),
        OperationKind::ValidateBackup
        | OperationKind::Backup
        | OperationKind::ValidateRestore
        | OperationKind::Restore => Json(serde_json::json!({
            "properties": super::backup::result_properties(&state, &op),
        }))
        .into_response(),
        OperationKind::CreateCluster | OperationKind::UpdateCluster => {
            match clusters::current(&state, &op.resource_id)? {
                Some(cluster) => {
                    let mut response = Json(&cluster.resource).into_response();
                    etag_header(response.headers_mut(), &cluster.etag);
                    response
                }
                None => StatusCode::NO_CONTENT.into_response(),
            }
        }
    })
}

fn operation(name: &str, resource: &str, operation: &str, description: &str) -> Value {
    json!({
        "name": format!("Microsoft.HardwareSecurityModules/{name}"),
        "display": {
            "provider": "Microsoft Hardware Security Modules",
            "resource": resource,
            "operation": operation,
            "description": description,
        },
        "isDataAction": false,
        "origin": "system",
    })
}

async fn list_operations(_: ApiVersion<CloudHsmClusters>) -> Json<Value> {
    let value = vec![
        operation(
            "cloudHsmClusters/read",
            "CloudHsm",
            "View CloudHsm",
            "View the properties of a CloudHsm",
        ),
        operation(
            "cloudHsmClusters/write",
            "CloudHsm",
            "Create or Update CloudHsm",
            "Create a CloudHsm or update an existing CloudHsm",
        ),
        operation(
            "cloudHsmClusters/delete",
            "CloudHsm",
            "Delete CloudHsm",
            "Delete a CloudHsm",
        ),
        operation(
            "cloudHsmClusters/backup/action",
            "CloudHsm",
            "Backup CloudHsm",
            "Back up a CloudHsm to a blob container",
        ),
        operation(
            "cloudHsmClusters/restore/action",
            "CloudHsm",
            "Restore CloudHsm",
            "Restore a CloudHsm from a backup",
        ),
        operation(
            "cloudHsmClusters/validateBackupProperties/action",
            "CloudHsm",
            "Validate CloudHsm backup properties",
            "Check that a CloudHsm can be backed up to a blob container",
        ),
        operation(
            "cloudHsmClusters/validateRestoreProperties/action",
            "CloudHsm",
            "Validate CloudHsm restore properties",
            "Check that a CloudHsm can be restored from a backup",
        ),
        operation(
            "cloudHsmClusters/privateEndpointConnections/read",
            "CloudHsm private endpoint connection",
            "View private endpoint connection",
            "View a private endpoint connection of a CloudHsm",
        ),
        operation(
            "cloudHsmClusters/privateEndpointConnections/write",
            "CloudHsm private endpoint connection",
            "Update private endpoint connection",
            "Approve, reject or update a private endpoint connection of a CloudHsm",
        ),
        operation(
            "cloudHsmClusters/privateEndpointConnections/delete",
            "CloudHsm private endpoint connection",
            "Delete private endpoint connection",
            "Delete a private endpoint connection of a CloudHsm",
        ),
        operation(
            "cloudHsmClusters/privateLinkResources/read",
            "CloudHsm private link resource",
            "View private link resources",
            "View the private link resources of a CloudHsm",
        ),
        operation(
            "locations/operationStatuses/read",
            "Operation status",
            "View operation status",
            "View the status of a long-running operation",
        ),
        operation(
            "operations/read",
            "Operations",
            "View operations",
            "View the operations this provider offers",
        ),
    ];
    Json(json!({ "value": value }))
}
