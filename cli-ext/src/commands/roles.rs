//! `role assignment create/list/delete` (Microsoft.Authorization,
//! api-version 2022-04-01, as ARM serves it).

use reqwest::Method;
use serde_json::{json, Value};

use super::{
    cli::{RoleAssignmentCommand, RoleFilter},
    error::{CliError, CliResult},
    http::Arm,
    output::Row,
    paths, Ctx, Outcome,
};

/// Built-in role definitions: their GUIDs are the same in every Azure
/// tenant, so names resolve without a directory (the emulator has none).
const BUILT_IN_ROLES: &[(&str, &str)] = &[
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    (
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    ),
    (
        "Storage Blob Data Owner",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    ),
    (
        "Storage Blob Data Contributor",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    ),
    (
        "Storage Blob Data Reader",
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    ),
    (
        "Managed Identity Operator",
        "f1a07417-d97a-45cb-824c-7a7467783830",
    ),
];

/// A role name, GUID or definition id → the definition's GUID.
fn role_guid(role: &str) -> CliResult<String> {
    let last = role.rsplit('/').next().unwrap_or(role);
    if uuid::Uuid::parse_str(last).is_ok() {
        return Ok(last.to_ascii_lowercase());
    }
    BUILT_IN_ROLES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(role))
        .map(|(_, guid)| guid.to_string())
        .ok_or_else(|| CliError::client(format!("Role '{role}' doesn't exist.")))
}

fn role_name(definition_id: &str) -> Option<&'static str> {
    let guid = definition_id.rsplit('/').next()?;
    BUILT_IN_ROLES
        .iter()
        .find(|(_, g)| g.eq_ignore_ascii_case(guid))
        .map(|(name, _)| *name)
}

fn row(a: &Value) -> Row {
    vec![
        ("Principal", a["properties"]["principalId"].clone()),
        ("Role", a["roleDefinitionName"].clone()),
        ("Scope", a["properties"]["scope"].clone()),
    ]
}

/// az adds the role's name to each assignment.
fn with_role_name(mut a: Value) -> Value {
    let name = a["properties"]["roleDefinitionId"]
        .as_str()
        .and_then(role_name);
    if let (Some(name), Some(obj)) = (name, a.as_object_mut()) {
        obj.insert("roleDefinitionName".into(), Value::String(name.into()));
    }
    a
}

fn scope_or_subscription(arm: &Arm, scope: Option<&str>) -> String {
    scope
        .map(|s| s.trim_end_matches('/').to_string())
        .unwrap_or_else(|| paths::subscription(&arm.subscription))
}

/// Assignments matching the filter. Without `all`, ARM's `atScope()`: those
/// at the scope and inherited from above it; with `all`, also those below.
/// `exact`: only those made at the scope itself (what a delete removes).
async fn matching(arm: &Arm, filter: &RoleFilter, all: bool, exact: bool) -> CliResult<Vec<Value>> {
    let scope = scope_or_subscription(arm, filter.scope.as_deref());
    let mut conditions = Vec::new();
    if !all {
        conditions.push("atScope()".to_string());
    }
    if let Some(p) = &filter.assignee {
        conditions.push(format!("principalId eq '{p}'"));
    }
    let mut path = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments?api-version={}",
        paths::AUTHORIZATION_API
    );
    if !conditions.is_empty() {
        path.push_str("&$filter=");
        path.push_str(
            &conditions
                .join(" and ")
                .replace(' ', "%20")
                .replace('\'', "%27"),
        );
    }
    let role = filter.role.as_deref().map(role_guid).transpose()?;
    let listed = arm.list(&path).await?;
    Ok(listed
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| {
            let p = &a["properties"];
            let at_scope = !exact
                || p["scope"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&scope));
            let by_principal = filter.assignee.as_deref().is_none_or(|x| {
                p["principalId"]
                    .as_str()
                    .is_some_and(|y| y.eq_ignore_ascii_case(x))
            });
            let by_role = role.as_deref().is_none_or(|g| {
                p["roleDefinitionId"]
                    .as_str()
                    .is_some_and(|d| d.to_ascii_lowercase().ends_with(g))
            });
            at_scope && by_principal && by_role
        })
        .map(with_role_name)
        .collect())
}

pub async fn run(ctx: &Ctx, command: RoleAssignmentCommand) -> CliResult<Outcome> {
    let arm = ctx.arm().await?;
    match command {
        RoleAssignmentCommand::Create {
            assignee_object_id,
            assignee_principal_type,
            role,
            scope,
        } => {
            let guid = role_guid(&role)?;
            let scope = scope_or_subscription(&arm, scope.as_deref());
            let body = json!({
                "properties": {
                    "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{guid}", arm.subscription),
                    "principalId": assignee_object_id,
                    "principalType": assignee_principal_type,
                }
            });
            // The assignment's name is a new GUID, as az makes it.
            let path = format!(
                "{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={}",
                uuid::Uuid::new_v4(),
                paths::AUTHORIZATION_API
            );
            let reply = arm.call_checked(Method::PUT, &path, Some(&body)).await?;
            Ok(Outcome::table(with_role_name(reply.body), row))
        }
        RoleAssignmentCommand::List { filter, all } => Ok(Outcome::table(
            Value::Array(matching(&arm, &filter, all, false).await?),
            row,
        )),
        RoleAssignmentCommand::Delete { filter, ids } => {
            let ids: Vec<String> = match ids {
                Some(ids) => ids,
                None => {
                    if filter.assignee.is_none() && filter.role.is_none() && filter.scope.is_none()
                    {
                        return Err(CliError::usage(
                            "Please provide at least one of --assignee, --role, --scope or --ids",
                        ));
                    }
                    matching(&arm, &filter, true, filter.scope.is_some())
                        .await?
                        .iter()
                        .filter_map(|a| a["id"].as_str().map(str::to_string))
                        .collect()
                }
            };
            if ids.is_empty() {
                ctx.warn("No matched assignments were found to delete");
            }
            for id in ids {
                let path = format!("{id}?api-version={}", paths::AUTHORIZATION_API);
                arm.call_checked(Method::DELETE, &path, None).await?;
            }
            Ok(Outcome::none())
        }
    }
}
