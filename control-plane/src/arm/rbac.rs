//! Role-based access control: every ARM request is authorised against the
//! role assignments in scope, as ARM does, after authentication and before
//! anything else.
//!
//! - The *action* comes from the method and the path (`{namespace}/{type
//!   path}/read|write|delete`, `.../{name}/action` for a POST to a resource),
//!   the *scope* is the resource the path addresses (or the parent a list is
//!   taken under).
//! - Assignments apply at their scope and everything below it; a role allows
//!   an action when one of its `actions` matches (wildcards as Azure writes
//!   them: `*`, `*/read`, `Microsoft.Authorization/*`) and none of its
//!   `notActions` does.
//! - The well-known principal is Owner of the default subscription without an
//!   assignment (so nothing breaks for existing users) unless the emulator
//!   runs with `--no-default-owner`.

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::error::ArmError;
use crate::{
    identity::tokens::Principal,
    providers::{authorization::RoleAssignment, role_definitions},
    state::AppState,
};

/// What a request needs: an action at a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub action: String,
    pub scope: String,
}

/// Middleware: refuses a request whose principal holds no role allowing it.
pub async fn require_role(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return ArmError::Internal("authorisation ran before authentication".into())
            .into_response();
    };
    let Some(requirement) = requirement(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    match authorize(&state, &principal, &requirement) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Checks `requirement` for `principal`; `AuthorizationFailed` (403) names
/// the client, the action and the scope as ARM's message does.
pub fn authorize(
    state: &AppState,
    principal: &Principal,
    requirement: &Requirement,
) -> Result<(), ArmError> {
    if is_default_owner(state, principal, &requirement.scope) {
        return Ok(());
    }
    let assignments = state.store.list::<RoleAssignment>("", None, usize::MAX)?;
    let allowed = assignments.iter().any(|(_, a)| {
        a.principal_id.eq_ignore_ascii_case(&principal.object_id)
            && scope_covers(&a.scope, &requirement.scope)
            && role_definitions::by_id(&a.role_guid).is_some_and(|role| {
                role_allows(role.actions, role.not_actions, &requirement.action)
            })
    });
    if allowed {
        return Ok(());
    }
    Err(ArmError::Forbidden {
        code: "AuthorizationFailed",
        message: format!(
            "The client '{}' with object id '{}' does not have authorization to perform action '{}' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            principal.name, principal.object_id, requirement.action, requirement.scope
        ),
    })
}

fn is_default_owner(state: &AppState, principal: &Principal, scope: &str) -> bool {
    state.config.default_owner
        && principal.object_id == state.config.client_object_id()
        && scope_covers(
            &format!("/subscriptions/{}", state.config.subscription_id),
            scope,
        )
}

/// `outer` is `inner` or lies above it (segment-wise, case-insensitive).
pub fn scope_covers(outer: &str, inner: &str) -> bool {
    let outer = outer.trim_end_matches('/').to_ascii_lowercase();
    let inner = inner.trim_end_matches('/').to_ascii_lowercase();
    outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
}

/// A role's permission set allows `action`.
pub fn role_allows(actions: &[&str], not_actions: &[&str], action: &str) -> bool {
    actions.iter().any(|p| action_matches(p, action))
        && !not_actions.iter().any(|p| action_matches(p, action))
}

/// Azure's action patterns: case-insensitive, `*` matching any run of
/// characters (including `/`).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let action = action.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == action;
    }
    let mut rest = action.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The action and scope of an ARM request, or `None` for what every
/// authenticated caller may do (list its subscriptions, the tenant-level
/// provider and operations catalogues).
pub fn requirement(method: &Method, path: &str) -> Option<Requirement> {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if segments.len() < 2 || !segments[0].eq_ignore_ascii_case("subscriptions") {
        return None;
    }
    let verb = || match *method {
        Method::GET | Method::HEAD => "read",
        Method::DELETE => "delete",
        _ => "write",
    };
    // The last `providers/{namespace}` names the type (extension resources
    // such as role assignments sit under another resource's id).
    let provider_at = segments
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))
        .filter(|&i| i + 1 < segments.len());
    let Some(provider_at) = provider_at else {
        return Some(resources_requirement(&segments, method, verb()));
    };
    let namespace = segments[provider_at + 1];
    let base = &segments[..provider_at];
    let rest = &segments[provider_at + 2..];
    if rest.is_empty() {
        // `/subscriptions/{s}/providers/{ns}`: the provider itself.
        return Some(Requirement {
            action: "Microsoft.Resources/subscriptions/providers/read".into(),
            scope: join(&segments[..2]),
        });
    }
    // rest = type, name, type, name, ... [, trailing]
    let types: Vec<&str> = rest.iter().step_by(2).copied().collect();
    let type_path = types.join("/");
    let addresses_item = rest.len() % 2 == 0;
    if addresses_item {
        return Some(Requirement {
            action: format!("{namespace}/{type_path}/{}", verb()),
            scope: join(&segments),
        });
    }
    // An odd count: a collection under its parent, or a POST action on the
    // resource before it (`.../{name}/listKeys`, `/register`).
    let parent = &segments[..segments.len() - 1];
    if *method == Method::POST {
        let owner_types = &types[..types.len() - 1];
        let action_name = types[types.len() - 1];
        let owner = if owner_types.is_empty() {
            namespace.to_string()
        } else {
            format!("{namespace}/{}", owner_types.join("/"))
        };
        let scope = if owner_types.is_empty() {
            join(base)
        } else {
            join(parent)
        };
        return Some(Requirement {
            action: format!("{owner}/{action_name}/action"),
            scope,
        });
    }
    Some(Requirement {
        action: format!("{namespace}/{type_path}/{}", verb()),
        scope: if rest.len() == 1 {
            join(base)
        } else {
            join(parent)
        },
    })
}

/// Paths without a provider: the subscription, its groups, the generic
/// resource lists.
fn resources_requirement(segments: &[&str], method: &Method, verb: &str) -> Requirement {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let action = match lower.len() {
        2 => "Microsoft.Resources/subscriptions/read".to_string(),
        3 if lower[2] == "resourcegroups" => {
            "Microsoft.Resources/subscriptions/resourceGroups/read".to_string()
        }
        3 if lower[2] == "resources" => {
            "Microsoft.Resources/subscriptions/resources/read".to_string()
        }
        4 if lower[2] == "resourcegroups" => {
            format!("Microsoft.Resources/subscriptions/resourceGroups/{verb}")
        }
        5 if lower[2] == "resourcegroups" && lower[4] == "resources" => {
            "Microsoft.Resources/subscriptions/resourceGroups/resources/read".to_string()
        }
        5 if lower[2] == "resourcegroups" && *method == Method::POST => format!(
            "Microsoft.Resources/subscriptions/resourceGroups/{}/action",
            segments[4]
        ),
        _ => format!("Microsoft.Resources/subscriptions/{verb}"),
    };
    let scope_len = match lower.len() {
        n if n >= 4 && lower[2] == "resourcegroups" => 4,
        _ => 2,
    };
    Requirement {
        action,
        scope: join(&segments[..scope_len]),
    }
}

fn join(segments: &[&str]) -> String {
    format!("/{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/s1";

    fn req(method: Method, path: &str) -> (String, String) {
        let r = requirement(&method, path).expect("a requirement");
        (r.action, r.scope)
    }

    #[test]
    fn actions_and_scopes_follow_arm() {
        let cluster = format!("{SUB}/resourceGroups/rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/c1");
        assert_eq!(
            req(Method::PUT, &cluster),
            (
                "Microsoft.HardwareSecurityModules/cloudHsmClusters/write".into(),
                cluster.clone()
            )
        );
        assert_eq!(
            req(Method::GET, &cluster).0,
            "Microsoft.HardwareSecurityModules/cloudHsmClusters/read"
        );
        assert_eq!(
            req(Method::DELETE, &cluster).0,
            "Microsoft.HardwareSecurityModules/cloudHsmClusters/delete"
        );
        assert_eq!(
            req(Method::POST, &format!("{cluster}/backup")),
            (
                "Microsoft.HardwareSecurityModules/cloudHsmClusters/backup/action".into(),
                cluster.clone()
            )
        );
        let list = format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters"
        );
        assert_eq!(
            req(Method::GET, &list),
            (
                "Microsoft.HardwareSecurityModules/cloudHsmClusters/read".into(),
                format!("{SUB}/resourceGroups/rg")
            )
        );
        let assignment = format!("{cluster}/providers/Microsoft.Authorization/roleAssignments/a1");
        assert_eq!(
            req(Method::PUT, &assignment),
            (
                "Microsoft.Authorization/roleAssignments/write".into(),
                assignment.clone()
            )
        );
        assert_eq!(
            req(Method::GET, &format!("{SUB}/resourceGroups/rg")),
            (
                "Microsoft.Resources/subscriptions/resourceGroups/read".into(),
                format!("{SUB}/resourceGroups/rg")
            )
        );
        assert_eq!(
            req(
                Method::POST,
                &format!("{SUB}/providers/Microsoft.EventHub/register")
            ),
            ("Microsoft.EventHub/register/action".into(), SUB.to_string())
        );
        let rule = format!("{SUB}/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/authorizationRules/r");
        assert_eq!(
            req(Method::POST, &format!("{rule}/listKeys")),
            (
                "Microsoft.EventHub/namespaces/authorizationRules/listKeys/action".into(),
                rule.clone()
            )
        );
        assert!(requirement(&Method::GET, "/subscriptions").is_none());
        assert!(requirement(
            &Method::GET,
            "/providers/Microsoft.Authorization/operations"
        )
        .is_none());
    }

    #[test]
    fn patterns_match_as_azure_writes_them() {
        assert!(action_matches("*", "Microsoft.X/y/write"));
        assert!(action_matches("*/read", "microsoft.x/Y/read"));
        assert!(!action_matches("*/read", "Microsoft.X/y/write"));
        assert!(action_matches(
            "Microsoft.Authorization/*",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(action_matches(
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/roleAssignments/delete"
        ));
        assert!(!action_matches(
            "Microsoft.Authorization/*",
            "Microsoft.Resources/deployments/write"
        ));
        // Contributor: everything but assigning roles.
        let not = [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
        ];
        assert!(role_allows(
            &["*"],
            &not,
            "Microsoft.HardwareSecurityModules/cloudHsmClusters/write"
        ));
        assert!(!role_allows(
            &["*"],
            &not,
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(scope_covers(
            "/subscriptions/S1",
            "/subscriptions/s1/resourceGroups/rg"
        ));
        assert!(!scope_covers(
            "/subscriptions/s1/resourceGroups/rg",
            "/subscriptions/s1/resourceGroups/rg2"
        ));
    }
}
