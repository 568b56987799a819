//! Resource ids and ARM's case rules.
//!
//! ARM matches provider namespaces, resource types and the fixed keywords of a
//! path (`subscriptions`, `resourceGroups`, `providers`, ...) case-insensitively,
//! and resource names case-insensitively too, while remembering the case a name
//! was created with. The router is case-sensitive, so [`canonical_path`] rewrites
//! the keyword segments of every request path to one spelling before routing,
//! and stored records are keyed by the lower-cased id ([`storage_key`]).

/// Every keyword segment the emulator routes on, in its canonical spelling.
const KEYWORDS: &[&str] = &[
    "subscriptions",
    "resourceGroups",
    "providers",
    "tenants",
    "locations",
    "operationStatuses",
    "operationResults",
    "operations",
    "Microsoft.HardwareSecurityModules",
    "Microsoft.Resources",
    "Microsoft.ManagedIdentity",
    "userAssignedIdentities",
    "cloudHsmClusters",
    "privateEndpointConnections",
    "privateLinkResources",
    "metadata",
    "endpoints",
    "deployments",
    "whatIf",
    "exportTemplate",
    "resources",
    // Microsoft.EventHub's types and actions.
    "Microsoft.EventHub",
    "namespaces",
    "eventhubs",
    "consumergroups",
    "authorizationRules",
    "listKeys",
    "regenerateKeys",
    // Microsoft.Insights' extension types.
    "Microsoft.Insights",
    "diagnosticSettings",
    "diagnosticSettingsCategories",
];

fn canonical_keyword(segment: &str) -> Option<&'static str> {
    KEYWORDS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(segment))
        .copied()
}

/// Rewrites the keyword positions of an ARM path to their canonical spelling,
/// leaving names (subscription ids, group and resource names) untouched.
/// Empty segments are dropped, as ARM does: `az resource` sends
/// `providers/Microsoft.HardwareSecurityModules//cloudHsmClusters/x` for a
/// resource without a parent, `az cloud register` asks for
/// `https://host:port//metadata/endpoints` when given a URL with a trailing
/// slash, and a trailing slash never changes what a path names.
pub fn canonical_path(path: &str) -> String {
    #[derive(Clone, Copy)]
    enum Next {
        Keyword,
        Value,
        /// After `providers`: a namespace and then a type, both keywords.
        Namespace,
        Type,
    }
    let mut next = Next::Keyword;
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        let canonical = match next {
            Next::Keyword | Next::Namespace | Next::Type => canonical_keyword(segment),
            Next::Value => None,
        };
        out.push_str(canonical.unwrap_or(segment));
        next = match (next, canonical) {
            (Next::Keyword, Some("providers")) => Next::Namespace,
            (Next::Namespace, _) => Next::Type,
            (Next::Keyword | Next::Type, _) => Next::Value,
            (Next::Value, _) => Next::Keyword,
        };
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The key a resource is stored under: its id, lower-cased, because ARM ids
/// compare case-insensitively.
pub fn storage_key(id: &str) -> String {
    id.to_ascii_lowercase()
}

pub fn subscription_id(subscription: &str) -> String {
    format!("/subscriptions/{subscription}")
}

pub fn resource_group_id(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// Id of a top-level resource of a provider in a resource group.
pub fn resource_id(
    subscription: &str,
    group: &str,
    namespace: &str,
    resource_type: &str,
    name: &str,
) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/{namespace}/{resource_type}/{name}")
}

/// Storage-key prefix of every resource of one type in a resource group.
pub fn type_prefix_in_group(group_id: &str, namespace: &str, resource_type: &str) -> String {
    storage_key(&format!(
        "{group_id}/providers/{namespace}/{resource_type}/"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_canonicalised_and_names_are_kept() {
        assert_eq!(
            canonical_path("/SUBSCRIPTIONS/Sub/resourcegroups/Providers/PROVIDERS/microsoft.hardwaresecuritymodules/CLOUDHSMCLUSTERS/Locations"),
            "/subscriptions/Sub/resourceGroups/Providers/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/Locations"
        );
        assert_eq!(
            canonical_path("/providers/MICROSOFT.HardwareSecurityModules/Operations"),
            "/providers/Microsoft.HardwareSecurityModules/operations"
        );
        assert_eq!(
            canonical_path("/subscriptions/s/operationresults/abc"),
            "/subscriptions/s/operationResults/abc"
        );
        assert_eq!(
            canonical_path("/0000-tenant/oauth2/v2.0/token"),
            "/0000-tenant/oauth2/v2.0/token"
        );
        assert_eq!(canonical_path("/"), "/");
    }

    #[test]
    fn empty_segments_and_trailing_slashes_collapse() {
        assert_eq!(
            canonical_path("/subscriptions/s/resourceGroups/rg/providers/microsoft.hardwaresecuritymodules//cloudhsmclusters/h1"),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/h1"
        );
        assert_eq!(
            canonical_path("//metadata/endpoints"),
            "/metadata/endpoints"
        );
        assert_eq!(canonical_path("/subscriptions/s/"), "/subscriptions/s");
        assert_eq!(canonical_path("//"), "/");
    }
}
