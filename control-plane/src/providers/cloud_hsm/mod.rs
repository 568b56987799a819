//! `Microsoft.HardwareSecurityModules`: Cloud HSM clusters, their private
//! endpoint connections and private link resources, and the provider's
//! operation status resources.

pub mod backup;
pub mod clusters;
pub mod model;
pub mod operations;
pub mod private_endpoint_connections;
pub mod private_link_resources;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(clusters::routes())
        .merge(operations::routes())
        .merge(private_endpoint_connections::routes())
        .merge(private_link_resources::routes())
        .merge(backup::routes())
}
