//! Resource providers: one module per provider / resource type. Handlers read
//! like the API they serve (parse → authorise → validate → store → shape the
//! response); the ARM boilerplate lives in `crate::arm`.

pub mod authorization;
pub mod catalogue;
pub mod cloud_hsm;
pub mod deployments;
pub mod event_hubs;
pub mod insights;
pub mod managed_identity;
pub mod metadata;
pub mod network;
pub mod resource_groups;
pub mod resources;
pub mod role_definitions;

use axum::http::StatusCode;

use crate::{
    arm::{
        error::ArmError,
        lro::{OperationKind, OperationRecord, Outcome},
    },
    state::AppState,
    store::WriteSet,
};

/// The [`crate::arm::lro::Finisher`] for every provider's operations.
pub fn finish_operation(
    state: &AppState,
    op: &OperationRecord,
    writes: &mut WriteSet,
) -> Result<Outcome, ArmError> {
    match op.kind {
        OperationKind::CreateCluster
        | OperationKind::UpdateCluster
        | OperationKind::DeleteCluster => cloud_hsm::clusters::finish(state, op, writes),
        OperationKind::DeleteResourceGroup => resource_groups::finish_delete(state, op, writes),
        OperationKind::DeletePrivateEndpointConnection => {
            cloud_hsm::private_endpoint_connections::finish_delete(state, op, writes)
        }
        OperationKind::ValidateBackup
        | OperationKind::Backup
        | OperationKind::ValidateRestore
        | OperationKind::Restore => Ok(cloud_hsm::backup::interrupted(state, op)),
    }
}

/// Deletes every resource of every provider inside a resource group.
fn delete_group_contents(
    state: &AppState,
    group_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    network::delete_in_group(state, group_id, writes)?;
    insights::delete_in_group(state, group_id, writes)?;
    event_hubs::delete_in_group(state, group_id, writes)?;
    cloud_hsm::clusters::delete_in_group(state, group_id, writes)?;
    managed_identity::delete_in_group(state, group_id, writes)?;
    deployments::delete_in_group(state, group_id, writes)?;
    authorization::delete_in_group(state, group_id, writes)
}

/// The outcome of an operation whose resource vanished underneath it.
fn resource_gone(op: &OperationRecord) -> Outcome {
    Outcome::Failed {
        error: crate::arm::error::ErrorDetail {
            code: "ResourceNotFound".into(),
            message: format!(
                "The resource '{}' was deleted before the operation completed.",
                op.resource_id
            ),
            target: None,
            details: Vec::new(),
        },
        status: StatusCode::NOT_FOUND,
    }
}
