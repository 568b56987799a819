//! Generic resources: ARM's `Resources_List` (`/subscriptions/{id}/resources`)
//! and `Resources_ListByResourceGroup` (`.../resourceGroups/{rg}/resources`),
//! as `az resource list` and azure-mgmt-resource's `resources.list()` call
//! them. They cover every tracked resource type the emulator serves, each in
//! ARM's generic shape (no `properties`); proxy and extension resources
//! (private endpoint connections, role assignments) are not listed, as in ARM.
//!
//! Each provider says how its records look here by implementing
//! [`ListedResource`]; [`TRACKED`] names the types listed.

use std::collections::BTreeMap;

use axum::{
    extract::{OriginalUri, Path, State},
    http::Uri,
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use super::{
    cloud_hsm::model::StoredCluster, event_hubs::namespaces::StoredNamespace,
    managed_identity::UserAssignedIdentity, network::StoredPrivateEndpoint, resource_groups,
    resource_groups::RESOURCES_API_VERSIONS,
};
use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        error::ArmError,
        odata_filter::{Candidate, ResourceFilter},
        paging,
        request_context::query_param,
        resource_id::{resource_group_id, storage_key, subscription_id},
    },
    state::AppState,
    store::Record,
};

pub struct GenericResources;
impl VersionedType for GenericResources {
    const NAMESPACE: &'static str = "Microsoft.Resources";
    const RESOURCE_TYPE: &'static str = "resources";
    const SUPPORTED: &'static [&'static str] = RESOURCES_API_VERSIONS;
}

/// ARM's `$top` bounds for the generic lists.
const TOP_RANGE: std::ops::RangeInclusive<usize> = 1..=1000;

/// Query parameters a `nextLink` repeats, so every page answers the same query.
const CARRIED: &[&str] = &["$filter", "$expand", "$top"];

/// One resource as ARM's generic list shows it (`GenericResourceExpanded`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenericResource {
    pub id: String,
    pub name: String,
    pub resource_type: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub kind: Option<String>,
    pub sku: Option<Value>,
    pub identity: Option<Value>,
    pub managed_by: Option<String>,
    /// For `$expand`: RFC 3339 times, when the provider keeps them.
    pub created_time: Option<String>,
    pub changed_time: Option<String>,
    pub provisioning_state: String,
}

/// A stored record of a tracked type, as the generic lists show it.
pub trait ListedResource: Record {
    fn generic(self) -> GenericResource;
}

type Lister = fn(&AppState, &str, Option<&str>) -> Result<Vec<(String, GenericResource)>, ArmError>;

/// Every tracked type the emulator serves.
const TRACKED: &[Lister] = &[
    listed::<StoredCluster>,
    listed::<UserAssignedIdentity>,
    listed::<StoredPrivateEndpoint>,
    listed::<StoredNamespace>,
];

/// The records of `T` under `prefix` after the storage key `after`, keyed by it.
fn listed<T: ListedResource>(
    state: &AppState,
    prefix: &str,
    after: Option<&str>,
) -> Result<Vec<(String, GenericResource)>, ArmError> {
    Ok(state
        .store
        .list::<T>(prefix, after, usize::MAX)?
        .into_iter()
        .map(|(key, record)| (key, record.generic()))
        .collect())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/subscriptions/{subscriptionId}/resources",
            get(list_in_subscription),
        )
        .route(
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/resources",
            get(list_in_group),
        )
}

async fn list_in_subscription(
    State(state): State<AppState>,
    _: ApiVersion<GenericResources>,
    Path(sub): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let prefix = storage_key(&format!("{}/", subscription_id(&sub)));
    list(&state, &uri, &prefix)
}

async fn list_in_group(
    State(state): State<AppState>,
    _: ApiVersion<GenericResources>,
    Path((sub, group)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    resource_groups::find(&state, &sub, &group)?;
    let prefix = storage_key(&format!("{}/", resource_group_id(&sub, &group)));
    list(&state, &uri, &prefix)
}

/// One page of every tracked resource under `prefix` that the query's
/// `$filter` keeps, in storage-key order (so pages are stable).
fn list(state: &AppState, uri: &Uri, prefix: &str) -> Result<Json<Value>, ArmError> {
    let query = uri.query();
    let filter = ResourceFilter::parse(&query_param(query, "$filter").unwrap_or_default())?;
    let page_size = top(query)?.unwrap_or(state.config.page_size);
    let expand = Expand::parse(query);
    let after = paging::start_after(query)?;
    let mut items = Vec::new();
    for lister in TRACKED {
        items.extend(lister(state, prefix, after.as_deref())?);
    }
    if let Some(filter) = &filter {
        items.retain(|(_, resource)| filter.matches(&resource.candidate()));
    }
    items.sort_by(|(a, _), (b, _)| a.cmp(b));
    items.truncate(page_size + 1);
    let hide_tags = filter.as_ref().is_some_and(ResourceFilter::hides_tags);
    let rendered = items
        .into_iter()
        .map(|(key, resource)| (key, resource.wire(&expand, hide_tags)))
        .collect();
    Ok(Json(paging::page_carrying(
        &state.config.base_url,
        uri.path(),
        query,
        rendered,
        page_size,
        CARRIED,
    )))
}

/// `$top`: the page size asked for (ARM pages by it, handing out a `nextLink`).
fn top(query: Option<&str>) -> Result<Option<usize>, ArmError> {
    let Some(raw) = query_param(query, "$top") else {
        return Ok(None);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if TOP_RANGE.contains(&n) => Ok(Some(n)),
        _ => Err(ArmError::BadRequest {
            code: "InvalidTopInQueryString",
            message: format!(
                "Invalid $top '{raw}' specified in the query string: it must be an integer from {} to {}.",
                TOP_RANGE.start(),
                TOP_RANGE.end()
            ),
            target: Some("$top".into()),
        }),
    }
}

/// `$expand`: which of ARM's additional properties to add.
#[derive(Default)]
struct Expand {
    created_time: bool,
    changed_time: bool,
    provisioning_state: bool,
}

impl Expand {
    /// Members other than the three ARM documents add nothing.
    fn parse(query: Option<&str>) -> Self {
        let mut expand = Self::default();
        for member in query_param(query, "$expand").unwrap_or_default().split(',') {
            match member.trim().to_ascii_lowercase().as_str() {
                "createdtime" => expand.created_time = true,
                "changedtime" => expand.changed_time = true,
                "provisioningstate" => expand.provisioning_state = true,
                _ => {}
            }
        }
        expand
    }
}

impl GenericResource {
    /// The resource group named in the id (`/subscriptions/s/resourceGroups/{rg}/...`).
    fn resource_group(&self) -> &str {
        self.id.split('/').nth(4).unwrap_or_default()
    }

    fn candidate(&self) -> Candidate<'_> {
        Candidate {
            resource_type: &self.resource_type,
            name: &self.name,
            location: &self.location,
            resource_group: self.resource_group(),
            tags: &self.tags,
        }
    }

    /// ARM's wire shape: optional members only when the resource has them.
    fn wire(self, expand: &Expand, hide_tags: bool) -> Value {
        let mut body = json!({
            "id": self.id,
            "name": self.name,
            "type": self.resource_type,
            "location": self.location,
        });
        if !self.tags.is_empty() && !hide_tags {
            body["tags"] = json!(self.tags);
        }
        let optional = [
            ("kind", self.kind.map(Value::String)),
            ("sku", self.sku),
            ("identity", self.identity),
            ("managedBy", self.managed_by.map(Value::String)),
            (
                "createdTime",
                self.created_time
                    .filter(|_| expand.created_time)
                    .map(Value::String),
            ),
            (
                "changedTime",
                self.changed_time
                    .filter(|_| expand.changed_time)
                    .map(Value::String),
            ),
            (
                "provisioningState",
                Some(Value::String(self.provisioning_state)).filter(|_| expand.provisioning_state),
            ),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                body[name] = value;
            }
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource() -> GenericResource {
        GenericResource {
            id: "/subscriptions/s/resourceGroups/Rg1/providers/A.B/cs/x".into(),
            name: "x".into(),
            resource_type: "A.B/cs".into(),
            location: "eastus2".into(),
            created_time: Some("2025-01-01T00:00:00.0000000Z".into()),
            provisioning_state: "Succeeded".into(),
            ..Default::default()
        }
    }

    #[test]
    fn optional_members_appear_only_when_set_or_expanded() {
        let plain = resource().wire(&Expand::default(), false);
        assert_eq!(
            plain,
            json!({"id": "/subscriptions/s/resourceGroups/Rg1/providers/A.B/cs/x", "name": "x", "type": "A.B/cs", "location": "eastus2"})
        );
        let expanded = resource().wire(
            &Expand::parse(Some("$expand=createdTime,%20ChangedTime,provisioningState")),
            false,
        );
        assert_eq!(expanded["createdTime"], "2025-01-01T00:00:00.0000000Z");
        assert!(expanded.get("changedTime").is_none(), "{expanded}");
        assert_eq!(expanded["provisioningState"], "Succeeded");
        assert_eq!(resource().resource_group(), "Rg1");
    }

    #[test]
    fn top_is_one_to_a_thousand() {
        assert_eq!(top(None).unwrap(), None);
        assert_eq!(top(Some("$top=1000")).unwrap(), Some(1000));
        for bad in ["$top=0", "$top=1001", "$top=two", "$top=-1"] {
            assert_eq!(
                top(Some(bad)).unwrap_err().code(),
                "InvalidTopInQueryString"
            );
        }
    }
}
