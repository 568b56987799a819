//! The routes every tracked resource type has: list in a subscription, list
//! in a resource group, and the resource itself.

use axum::{routing::MethodRouter, Router};

use crate::state::AppState;

const GROUP: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}";

/// `provider` is `Namespace/type` (`Microsoft.Network/privateEndpoints`),
/// `name` the resource's path parameter as the spec names it.
pub fn tracked_resource(
    provider: &str,
    name: &str,
    list_by_subscription: MethodRouter<AppState>,
    list_by_resource_group: MethodRouter<AppState>,
    resource: MethodRouter<AppState>,
) -> Router<AppState> {
    Router::new()
        .route(
            &format!("/subscriptions/{{subscriptionId}}/providers/{provider}"),
            list_by_subscription,
        )
        .route(
            &format!("{GROUP}/providers/{provider}"),
            list_by_resource_group,
        )
        .route(
            &format!("{GROUP}/providers/{provider}/{{{name}}}"),
            resource,
        )
}
