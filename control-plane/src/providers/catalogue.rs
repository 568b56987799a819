//! What the emulator serves, per resource provider, as `az provider show/list`
//! and `az resource` (which picks its api-version from here) read it. Each
//! type's versions are its [`VersionedType::SUPPORTED`], so the versions a
//! provider advertises are exactly those its routes accept.

use axum::{
    extract::{Path, RawQuery, State},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{
    authorization::RoleAssignments,
    cloud_hsm::clusters::CloudHsmClusters,
    event_hubs::{
        ConsumerGroups, EventHubAuthorizationRules, EventHubs, NamespaceAuthorizationRules,
        Namespaces,
    },
    insights::{DiagnosticSettings, DiagnosticSettingsCategories},
    managed_identity::UserAssignedIdentities,
    metadata::Providers,
    network::PrivateEndpoints,
    resource_groups::{ResourceGroups, RESOURCES_API_VERSIONS},
    role_definitions::RoleDefinitions,
};
use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        error::ArmError,
        request_context::query_param,
        validation::LOCATIONS,
    },
    state::AppState,
};

/// Where a resource type can live, as the provider registration lists it.
#[derive(Clone, Copy)]
enum Placement {
    /// Every emulated region (tracked resources).
    Regional,
    /// Global or scope-relative types: an empty `locations` list.
    Global,
}

pub struct ResourceTypeEntry {
    pub resource_type: &'static str,
    pub api_versions: &'static [&'static str],
    placement: Placement,
    capabilities: &'static str,
}

pub struct ProviderEntry {
    pub namespace: &'static str,
    /// `RegistrationFree` for the platform's own namespaces, as on Azure.
    registration_policy: &'static str,
    pub resource_types: &'static [ResourceTypeEntry],
}

const fn entry<T: VersionedType>(
    placement: Placement,
    capabilities: &'static str,
) -> ResourceTypeEntry {
    ResourceTypeEntry {
        resource_type: T::RESOURCE_TYPE,
        api_versions: T::SUPPORTED,
        placement,
        capabilities,
    }
}

const fn named(
    resource_type: &'static str,
    api_versions: &'static [&'static str],
    placement: Placement,
) -> ResourceTypeEntry {
    ResourceTypeEntry {
        resource_type,
        api_versions,
        placement,
        capabilities: "None",
    }
}

pub const PROVIDERS: &[ProviderEntry] = &[
    ProviderEntry {
        namespace: "Microsoft.HardwareSecurityModules",
        registration_policy: "RegistrationRequired",
        resource_types: &[
            entry::<CloudHsmClusters>(Placement::Regional, "SupportsTags, SupportsLocation"),
            named(
                "cloudHsmClusters/privateEndpointConnections",
                CloudHsmClusters::SUPPORTED,
                Placement::Regional,
            ),
            named(
                "cloudHsmClusters/privateLinkResources",
                CloudHsmClusters::SUPPORTED,
                Placement::Regional,
            ),
            named("locations", CloudHsmClusters::SUPPORTED, Placement::Global),
            named(
                "locations/operationStatuses",
                CloudHsmClusters::SUPPORTED,
                Placement::Regional,
            ),
            named("operations", CloudHsmClusters::SUPPORTED, Placement::Global),
        ],
    },
    ProviderEntry {
        namespace: "Microsoft.ManagedIdentity",
        registration_policy: "RegistrationRequired",
        resource_types: &[
            entry::<UserAssignedIdentities>(Placement::Regional, "SupportsTags, SupportsLocation"),
            named(
                "operations",
                UserAssignedIdentities::SUPPORTED,
                Placement::Global,
            ),
        ],
    },
    ProviderEntry {
        namespace: "Microsoft.Network",
        registration_policy: "RegistrationRequired",
        resource_types: &[
            entry::<PrivateEndpoints>(Placement::Regional, "SupportsTags, SupportsLocation"),
            named("operations", PrivateEndpoints::SUPPORTED, Placement::Global),
        ],
    },
    ProviderEntry {
        namespace: "Microsoft.EventHub",
        registration_policy: "RegistrationRequired",
        resource_types: &[
            entry::<Namespaces>(Placement::Regional, "SupportsTags, SupportsLocation"),
            entry::<EventHubs>(Placement::Regional, "None"),
            entry::<ConsumerGroups>(Placement::Regional, "None"),
            entry::<NamespaceAuthorizationRules>(Placement::Regional, "None"),
            entry::<EventHubAuthorizationRules>(Placement::Regional, "None"),
        ],
    },
    ProviderEntry {
        namespace: "Microsoft.Insights",
        registration_policy: "RegistrationRequired",
        resource_types: &[
            entry::<DiagnosticSettings>(Placement::Global, "SupportsExtension"),
            entry::<DiagnosticSettingsCategories>(Placement::Global, "SupportsExtension"),
        ],
    },
    ProviderEntry {
        namespace: "Microsoft.Authorization",
        registration_policy: "RegistrationFree",
        resource_types: &[
            entry::<RoleAssignments>(Placement::Global, "SupportsExtension"),
            entry::<RoleDefinitions>(Placement::Global, "SupportsExtension"),
        ],
    },
    ProviderEntry {
        namespace: "Microsoft.Resources",
        registration_policy: "RegistrationFree",
        resource_types: &[
            entry::<ResourceGroups>(Placement::Regional, "None"),
            entry::<super::deployments::Deployments>(Placement::Global, "None"),
            named("resources", RESOURCES_API_VERSIONS, Placement::Global),
            named("providers", RESOURCES_API_VERSIONS, Placement::Global),
            named(
                "subscriptions",
                super::metadata::Subscriptions::SUPPORTED,
                Placement::Global,
            ),
            named(
                "tenants",
                super::metadata::Tenants::SUPPORTED,
                Placement::Global,
            ),
        ],
    },
];

/// The provider of `namespace`, matched case-insensitively as ARM does.
pub fn provider(namespace: &str) -> Option<&'static ProviderEntry> {
    PROVIDERS
        .iter()
        .find(|p| p.namespace.eq_ignore_ascii_case(namespace))
}

/// The api-versions of `namespace/type` (`type` may be nested, `a/b`).
pub fn api_versions(namespace: &str, resource_type: &str) -> Option<&'static [&'static str]> {
    provider(namespace)?
        .resource_types
        .iter()
        .find(|t| t.resource_type.eq_ignore_ascii_case(resource_type))
        .map(|t| t.api_versions)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions/{subscriptionId}/providers", get(list))
        .route(
            "/subscriptions/{subscriptionId}/providers/{namespace}",
            get(show),
        )
        .route(
            "/subscriptions/{subscriptionId}/providers/{namespace}/register",
            post(register),
        )
        .route(
            "/subscriptions/{subscriptionId}/providers/{namespace}/unregister",
            post(unregister),
        )
        .route("/providers", get(list_at_tenant))
        .route("/providers/{namespace}", get(show_at_tenant))
}

fn render(provider: &ProviderEntry, subscription: Option<&str>) -> Value {
    let regions: Vec<&str> = LOCATIONS.iter().map(|(_, display)| *display).collect();
    let types: Vec<Value> = provider
        .resource_types
        .iter()
        .map(|t| {
            let locations: &[&str] = match t.placement {
                Placement::Regional => &regions,
                Placement::Global => &[],
            };
            let mut body = json!({
                "resourceType": t.resource_type,
                "locations": locations,
                "apiVersions": t.api_versions,
                "capabilities": t.capabilities,
            });
            // The newest stable version, as ARM names the default.
            if let Some(stable) = t.api_versions.iter().find(|v| !v.contains("preview")) {
                body["defaultApiVersion"] = json!(stable);
            }
            body
        })
        .collect();
    let id = match subscription {
        Some(s) => format!("/subscriptions/{s}/providers/{}", provider.namespace),
        None => format!("/providers/{}", provider.namespace),
    };
    let mut body = json!({
        "id": id,
        "namespace": provider.namespace,
        "resourceTypes": types,
    });
    if subscription.is_some() {
        body["registrationState"] = json!("Registered");
        body["registrationPolicy"] = json!(provider.registration_policy);
    }
    body
}

fn find(namespace: &str) -> Result<&'static ProviderEntry, ArmError> {
    provider(namespace).ok_or_else(|| ArmError::NotFound {
        code: "InvalidResourceNamespace",
        message: format!("The resource namespace '{namespace}' is invalid."),
    })
}

/// `$top` of a provider list; ARM takes any positive count.
fn top(query: Option<&str>) -> Result<usize, ArmError> {
    match query_param(query, "$top") {
        None => Ok(usize::MAX),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ArmError::BadRequest {
                code: "InvalidTopQueryParameter",
                message: format!("The value '{raw}' of the $top query parameter is invalid. It must be a positive integer."),
                target: Some("$top".into()),
            }),
    }
}

async fn list(
    _: ApiVersion<Providers>,
    Path(subscription): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ArmError> {
    let items: Vec<Value> = PROVIDERS
        .iter()
        .take(top(query.as_deref())?)
        .map(|p| render(p, Some(&subscription)))
        .collect();
    Ok(Json(json!({ "value": items })))
}

async fn show(
    _: ApiVersion<Providers>,
    Path((subscription, namespace)): Path<(String, String)>,
) -> Result<Json<Value>, ArmError> {
    Ok(Json(render(find(&namespace)?, Some(&subscription))))
}

/// Every emulated provider is registered from the start; registering again
/// is the no-op it is on Azure for a registered provider.
async fn register(
    _: ApiVersion<Providers>,
    Path((subscription, namespace)): Path<(String, String)>,
) -> Result<Json<Value>, ArmError> {
    Ok(Json(render(find(&namespace)?, Some(&subscription))))
}

/// Refused: the emulator's providers stay registered (nothing would be served
/// otherwise), and the caller learns that rather than seeing a state the
/// emulator does not honour.
async fn unregister(
    State(_): State<AppState>,
    _: ApiVersion<Providers>,
    Path((_, namespace)): Path<(String, String)>,
) -> Result<Json<Value>, ArmError> {
    let provider = find(&namespace)?;
    Err(ArmError::Conflict {
        code: "ProviderUnregistrationNotSupported",
        message: format!(
            "The resource provider '{}' cannot be unregistered: the emulator serves its providers registered in every subscription.",
            provider.namespace
        ),
    })
}

async fn list_at_tenant(
    _: ApiVersion<Providers>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ArmError> {
    let items: Vec<Value> = PROVIDERS
        .iter()
        .take(top(query.as_deref())?)
        .map(|p| render(p, None))
        .collect();
    Ok(Json(json!({ "value": items })))
}

async fn show_at_tenant(
    _: ApiVersion<Providers>,
    Path(namespace): Path<String>,
) -> Result<Json<Value>, ArmError> {
    Ok(Json(render(find(&namespace)?, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_versions_and_lookups_ignore_case() {
        for p in PROVIDERS {
            for t in p.resource_types {
                assert!(
                    !t.api_versions.is_empty(),
                    "{}/{}",
                    p.namespace,
                    t.resource_type
                );
            }
        }
        assert_eq!(
            api_versions("microsoft.hardwaresecuritymodules", "CLOUDHSMCLUSTERS"),
            Some(CloudHsmClusters::SUPPORTED)
        );
        assert!(api_versions("Microsoft.Foo", "bars").is_none());
    }
}
