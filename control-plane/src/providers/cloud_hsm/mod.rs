//! `Microsoft.HardwareSecurityModules`: Cloud HSM clusters and the provider's
//! operation status resources.

pub mod backup;
pub mod clusters;
pub mod model;
pub mod operations;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(clusters::routes())
        .merge(operations::routes())
        .merge(backup::routes())
}
