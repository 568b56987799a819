//! `Microsoft.Authorization/roleDefinitions`: the built-in roles the emulator
//! honours, with the ids, descriptions and permissions Azure publishes for
//! them, read-only at every scope (`az role definition list`, and the lookup
//! `az role assignment create --role <name>` makes).

use axum::{
    extract::{OriginalUri, Path},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        error::ArmError,
        request_context::query_param,
    },
    state::AppState,
};

pub struct RoleDefinitions;
impl VersionedType for RoleDefinitions {
    const NAMESPACE: &'static str = "Microsoft.Authorization";
    const RESOURCE_TYPE: &'static str = "roleDefinitions";
    const SUPPORTED: &'static [&'static str] = &[
        "2022-05-01-preview",
        "2022-04-01",
        "2018-01-01-preview",
        "2015-07-01",
    ];
}

pub const SEGMENT: &str = "/providers/Microsoft.Authorization/roleDefinitions";

/// One built-in role, as Azure's published definition states it.
pub struct BuiltInRole {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub actions: &'static [&'static str],
    pub not_actions: &'static [&'static str],
    pub data_actions: &'static [&'static str],
}

const BLOB_CONTAINERS: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";

pub const BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        name: "Owner",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
        data_actions: &[],
    },
    BuiltInRole {
        id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        name: "User Access Administrator",
        description: "Lets you manage user access to Azure resources.",
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        name: "Role Based Access Control Administrator",
        description: "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
        actions: &[
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "*/read",
            "Microsoft.Support/*",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        name: "Storage Blob Data Owner",
        description: "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/*",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
    },
    BuiltInRole {
        id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        name: "Storage Blob Data Contributor",
        description: "Allows for read, write and delete access to Azure Storage blob containers and data",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: &[],
        data_actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        ],
    },
    BuiltInRole {
        id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        name: "Storage Blob Data Reader",
        description: "Allows for read access to Azure Storage blob containers and data",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    },
];

/// What a role lets a principal do with blob data, read from its data
/// actions rather than kept beside them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum BlobAccess {
    None,
    Read,
    Write,
}

impl BuiltInRole {
    pub fn blob_access(&self) -> BlobAccess {
        let grants = |verb: &str| {
            self.data_actions.iter().any(|a| {
                let blobs = format!("{BLOB_CONTAINERS}/blobs/");
                a.strip_prefix(&blobs)
                    .is_some_and(|rest| rest == verb || rest == "*")
            })
        };
        if grants("write") {
            BlobAccess::Write
        } else if grants("read") {
            BlobAccess::Read
        } else {
            BlobAccess::None
        }
    }

    fn render(&self, scope: &str) -> Value {
        json!({
            "id": format!("{scope}{SEGMENT}/{}", self.id),
            "name": self.id,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": self.name,
                "type": "BuiltInRole",
                "description": self.description,
                "assignableScopes": ["/"],
                "permissions": [{
                    "actions": self.actions,
                    "notActions": self.not_actions,
                    "dataActions": self.data_actions,
                    "notDataActions": [],
                }],
                "createdOn": "2015-02-02T21:55:09.8806423Z",
                "updatedOn": "2024-01-01T00:00:00.0000000Z",
                "createdBy": null,
                "updatedBy": null,
            }
        })
    }
}

pub fn by_id(guid: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(guid))
}

/// The scopes a definition can be read at: ARM answers a definition at any
/// scope, with its id under that scope.
pub fn routes(scopes: &[String]) -> Router<AppState> {
    let mut router = Router::new().route(SEGMENT, get(list)).route(
        &format!("{SEGMENT}/{{roleDefinitionId}}"),
        get(show_at_tenant),
    );
    for scope in scopes {
        router = router
            .route(&format!("{scope}{SEGMENT}"), get(list))
            .route(&format!("{scope}{SEGMENT}/{{roleDefinitionId}}"), get(show));
    }
    router
}

fn scope_of(path: &str) -> &str {
    path.rfind(SEGMENT).map_or(path, |at| &path[..at])
}

fn not_found(guid: &str) -> ArmError {
    ArmError::NotFound {
        code: "RoleDefinitionDoesNotExist",
        message: format!("The specified role definition with ID '{guid}' does not exist."),
    }
}

/// `$filter` as ARM takes it for definitions: `roleName eq '<name>'` or
/// `type eq 'BuiltInRole' | 'CustomRole'`.
enum DefinitionFilter {
    All,
    RoleName(String),
    Type(String),
}

fn parse_filter(raw: Option<String>) -> Result<DefinitionFilter, ArmError> {
    let Some(raw) = raw.filter(|f| !f.trim().is_empty()) else {
        return Ok(DefinitionFilter::All);
    };
    let quoted = |field: &str| -> Option<String> {
        let rest = raw.trim().strip_prefix(field)?.trim_start();
        let rest = rest.strip_prefix("eq")?.trim_start();
        let value = rest.strip_prefix('\'')?.strip_suffix('\'')?;
        Some(value.replace("''", "'"))
    };
    if let Some(name) = quoted("roleName") {
        Ok(DefinitionFilter::RoleName(name))
    } else if let Some(kind) = quoted("type") {
        Ok(DefinitionFilter::Type(kind))
    } else {
        Err(ArmError::BadRequest {
            code: "InvalidFilterInQueryString",
            message: format!(
                "The filter '{raw}' is not supported. Supported filters are roleName eq '{{name}}' and type eq 'BuiltInRole' or 'CustomRole'."
            ),
            target: Some("$filter".into()),
        })
    }
}

async fn list(
    _: ApiVersion<RoleDefinitions>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let scope = scope_of(uri.path());
    let filter = parse_filter(query_param(uri.query(), "$filter"))?;
    let value: Vec<Value> = BUILT_IN_ROLES
        .iter()
        .filter(|r| match &filter {
            DefinitionFilter::All => true,
            DefinitionFilter::RoleName(name) => r.name.eq_ignore_ascii_case(name),
            DefinitionFilter::Type(kind) => kind.eq_ignore_ascii_case("BuiltInRole"),
        })
        .map(|r| r.render(scope))
        .collect();
    Ok(Json(json!({ "value": value })))
}

async fn show(
    _: ApiVersion<RoleDefinitions>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let path = uri.path();
    let guid = path.rsplit('/').next().unwrap_or_default();
    let role = by_id(guid).ok_or_else(|| not_found(guid))?;
    Ok(Json(role.render(scope_of(path))))
}

async fn show_at_tenant(
    _: ApiVersion<RoleDefinitions>,
    Path(guid): Path<String>,
) -> Result<Json<Value>, ArmError> {
    let role = by_id(&guid).ok_or_else(|| not_found(&guid))?;
    Ok(Json(role.render("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_access_follows_the_data_actions() {
        let access = |name: &str| {
            BUILT_IN_ROLES
                .iter()
                .find(|r| r.name == name)
                .map(BuiltInRole::blob_access)
        };
        assert_eq!(access("Storage Blob Data Owner"), Some(BlobAccess::Write));
        assert_eq!(
            access("Storage Blob Data Contributor"),
            Some(BlobAccess::Write)
        );
        assert_eq!(access("Storage Blob Data Reader"), Some(BlobAccess::Read));
        assert_eq!(access("Owner"), Some(BlobAccess::None));
        assert_eq!(access("Reader"), Some(BlobAccess::None));
    }

    #[test]
    fn filters() {
        assert!(matches!(
            parse_filter(Some("roleName eq 'Storage Blob Data Reader'".into())),
            Ok(DefinitionFilter::RoleName(n)) if n == "Storage Blob Data Reader"
        ));
        assert!(matches!(
            parse_filter(Some("type eq 'BuiltInRole'".into())),
            Ok(DefinitionFilter::Type(_))
        ));
        assert!(parse_filter(Some("roleName ne 'x'".into())).is_err());
        assert!(matches!(parse_filter(None), Ok(DefinitionFilter::All)));
    }
}
