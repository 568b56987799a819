//! Control plane of the Cloud HSM emulator: an ARM-style resource provider for
//! `Microsoft.HardwareSecurityModules/cloudHsmClusters`, with its own token
//! service. See `arm` for the request pipeline every route goes through.

pub mod arm;
pub mod backup_storage;
pub mod config;
pub mod connections;
pub mod deployments;
pub mod diagnostics;
pub mod faults;
pub mod hsm_clusters;
pub mod identity;
pub mod memory;
pub mod providers;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;

use axum::{middleware, Router};

use crate::{arm::error::ArmError, state::AppState};

/// Every route, with the ARM pipeline in front of the ARM ones. Path
/// canonicalisation must run before routing, so it wraps this router (see
/// [`server::serve`]).
pub fn app(state: AppState) -> Router {
    let arm_routes = Router::new()
        .merge(providers::metadata::arm_routes())
        .merge(providers::catalogue::routes())
        .merge(providers::deployments::routes())
        .merge(providers::resource_groups::routes())
        .merge(providers::resources::routes())
        .merge(providers::cloud_hsm::routes())
        .merge(providers::managed_identity::routes())
        .merge(providers::network::routes())
        .merge(providers::event_hubs::routes())
        .merge(providers::insights::routes())
        .merge(providers::authorization::routes())
        .method_not_allowed_fallback(method_not_allowed)
        // Layers run last-added first: the token, then ARM's throttling
        // (which counts every authenticated request, as ARM does), then the
        // subscription (an unknown one is SubscriptionNotFound for
        // everyone), then roles.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            arm::rbac::require_role,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            providers::resource_groups::subscription_must_exist,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            arm::throttling::throttle,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            arm::auth::require_bearer,
        ));
    Router::new()
        .merge(identity::token_service::routes())
        .merge(identity::adfs::routes())
        // Graph has its own token check and errors, and no ARM pipeline.
        .merge(identity::graph::routes(state.clone()))
        .merge(identity::managed_identity_endpoint::routes())
        .merge(identity::service_principals::routes())
        .merge(faults::routes())
        .merge(providers::metadata::public_routes())
        .merge(arm_routes)
        .fallback(not_found)
        // Bodies are read whole (or refused with ARM's 413) before any
        // handler or check may answer; extractors then see at most that.
        .layer(axum::extract::DefaultBodyLimit::max(
            arm::limits::ARM_MAX_BODY,
        ))
        .layer(middleware::from_fn(arm::limits::arm_body_limit))
        .layer(middleware::from_fn(arm::request_context::request_ids))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ArmError {
    ArmError::NotFound {
        code: "InvalidResourceType",
        message: format!(
            "The resource type could not be found for path '{}'. The emulator serves Microsoft.HardwareSecurityModules/cloudHsmClusters and the Resource Manager routes it needs.",
            uri.path()
        ),
    }
}

async fn method_not_allowed(method: axum::http::Method) -> ArmError {
    ArmError::MethodNotAllowed(method.to_string())
}
