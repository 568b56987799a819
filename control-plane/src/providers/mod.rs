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
        lro::{retention::EndedOperation, OperationKind, OperationRecord, Outcome},
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
    if let Some(failure) = &op.injected_failure {
        return fail_injected(state, op, failure, writes);
    }
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

/// The [`crate::arm::lro::retention::Forgetter`]: what providers keep per
/// operation goes with it.
pub fn forget_operation(ended: &EndedOperation, writes: &mut WriteSet) {
    if ended.kind.is_backup_job() {
        cloud_hsm::backup::forget(&ended.id, writes);
    }
}

/// Ends an operation a fault rule picked to fail: its resource shows the
/// failure as ARM shows a failed operation's (`provisioningState` `Failed`,
/// or a group whose deletion failed back to `Succeeded`), nothing of the
/// change it stood for is applied, and the operation reports the rule's error.
fn fail_injected(
    state: &AppState,
    op: &OperationRecord,
    failure: &crate::faults::InjectedFailure,
    writes: &mut WriteSet,
) -> Result<Outcome, ArmError> {
    let ours = match op.kind {
        OperationKind::CreateCluster
        | OperationKind::UpdateCluster
        | OperationKind::DeleteCluster => {
            cloud_hsm::clusters::fail(state, op, &failure.message, writes)?
        }
        OperationKind::DeleteResourceGroup => resource_groups::fail_delete(state, op, writes)?,
        OperationKind::DeletePrivateEndpointConnection => {
            cloud_hsm::private_endpoint_connections::fail_delete(state, op, writes)?
        }
        // Backup and restore jobs are not started through fault rules.
        _ => true,
    };
    if !ours {
        return Ok(resource_gone(op));
    }
    Ok(Outcome::Failed {
        error: crate::arm::error::ErrorDetail {
            code: failure.code.clone(),
            message: failure.message.clone(),
            target: None,
            details: Vec::new(),
        },
        status: StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    })
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
