//! Resource paths and the api-versions this CLI speaks, one place.

pub const HSM_API: &str = "2025-03-31";
pub const RESOURCES_API: &str = "2025-04-01";
pub const SUBSCRIPTIONS_API: &str = "2022-12-01";
pub const IDENTITY_API: &str = "2023-01-31";
pub const AUTHORIZATION_API: &str = "2022-04-01";
pub const NETWORK_API: &str = "2024-05-01";

const HSM_PROVIDER: &str = "providers/Microsoft.HardwareSecurityModules/cloudHsmClusters";
const IDENTITY_PROVIDER: &str = "providers/Microsoft.ManagedIdentity/userAssignedIdentities";

pub fn subscription(sub: &str) -> String {
    format!("/subscriptions/{sub}")
}

pub fn group_id(sub: &str, group: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{group}")
}

pub fn group(sub: &str, group: &str) -> String {
    format!("{}?api-version={RESOURCES_API}", group_id(sub, group))
}

pub fn groups(sub: &str) -> String {
    format!("/subscriptions/{sub}/resourcegroups?api-version={RESOURCES_API}")
}

pub fn identity_id(sub: &str, group: &str, name: &str) -> String {
    format!("{}/{IDENTITY_PROVIDER}/{name}", group_id(sub, group))
}

pub fn identity(sub: &str, group: &str, name: &str) -> String {
    format!(
        "{}?api-version={IDENTITY_API}",
        identity_id(sub, group, name)
    )
}

/// Identities of a group, or of the subscription.
pub fn identities(sub: &str, group: Option<&str>) -> String {
    let scope = group.map_or_else(|| subscription(sub), |g| group_id(sub, g));
    format!("{scope}/{IDENTITY_PROVIDER}?api-version={IDENTITY_API}")
}

pub fn cluster_id(sub: &str, group: &str, name: &str) -> String {
    format!("{}/{HSM_PROVIDER}/{name}", group_id(sub, group))
}

pub fn cluster(sub: &str, group: &str, name: &str) -> String {
    format!("{}?api-version={HSM_API}", cluster_id(sub, group, name))
}

/// A path below a cluster (`backup`, `privateEndpointConnections/pe1`, ...).
pub fn cluster_child(sub: &str, group: &str, name: &str, child: &str) -> String {
    format!(
        "{}/{child}?api-version={HSM_API}",
        cluster_id(sub, group, name)
    )
}

pub fn clusters(sub: &str, group: Option<&str>) -> String {
    let scope = group.map_or_else(|| subscription(sub), |g| group_id(sub, g));
    format!("{scope}/{HSM_PROVIDER}?api-version={HSM_API}")
}

/// The resource group named in a resource id.
pub fn group_of(id: &str) -> Option<&str> {
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("resourceGroups") {
            return parts.next();
        }
    }
    None
}

/// A resource's group as a table cell (null when its id names none).
pub fn group_cell(id: &serde_json::Value) -> serde_json::Value {
    group_of(id.as_str().unwrap_or_default()).map_or(serde_json::Value::Null, |g| {
        serde_json::Value::String(g.into())
    })
}

/// A deployment at a group's scope, or the subscription's.
pub fn deployment(sub: &str, group: Option<&str>, name: &str) -> String {
    format!(
        "{}?api-version={RESOURCES_API}",
        deployment_id(sub, group, name)
    )
}

pub fn deployment_id(sub: &str, group: Option<&str>, name: &str) -> String {
    let scope = group.map_or_else(|| subscription(sub), |g| group_id(sub, g));
    format!("{scope}/providers/Microsoft.Resources/deployments/{name}")
}

pub fn deployments(sub: &str, group: Option<&str>) -> String {
    let scope = group.map_or_else(|| subscription(sub), |g| group_id(sub, g));
    format!("{scope}/providers/Microsoft.Resources/deployments?api-version={RESOURCES_API}")
}

/// A resource by its id (e.g. a private endpoint), at `Microsoft.Network`'s version.
pub fn network_resource(id: &str) -> String {
    format!("{id}?api-version={NETWORK_API}")
}
