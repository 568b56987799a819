//! Where a diagnostic setting sends its records, checked as Azure Monitor
//! checks them when the setting is written.
//!
//! Event Hubs: the rule must be a *namespace* authorization rule that
//! exists. Azure documents that streaming needs `Manage`, `Send` and `Listen`
//! (Manage implies the other two); its error says exactly when: "If a valid
//! EventHub name is not specified in the diagnostic setting, the EventHub
//! authorization rule requires manage|send|listen access" (Azure Monitor
//! then creates `insights-logs-{category}` hubs). With `eventHubName` naming
//! a hub of that namespace, the rule has to be able to send to it.

use serde_json::Value;

use crate::{
    arm::{error::ArmError, resource_id::storage_key},
    providers::event_hubs::{authorization_rules::StoredAuthorizationRule, hubs::StoredEventHub},
    state::AppState,
};

/// The destination properties; a setting needs at least one of them.
pub const DESTINATIONS: &[&str] = &[
    "storageAccountId",
    "eventHubAuthorizationRuleId",
    "workspaceId",
    "marketplacePartnerId",
    "serviceBusRuleId",
];

/// A property's value when it is set (Azure treats `""` as unset, as its own
/// examples send `"workspaceId": ""`).
pub fn set<'a>(properties: &'a Value, name: &str) -> Option<&'a str> {
    properties[name].as_str().filter(|v| !v.trim().is_empty())
}

pub fn check(state: &AppState, properties: &Value) -> Result<(), ArmError> {
    if !DESTINATIONS.iter().any(|d| set(properties, d).is_some()) {
        return Err(ArmError::bad_request(
            "BadRequest",
            "A diagnostic setting needs at least one destination: set storageAccountId, eventHubAuthorizationRuleId, workspaceId or marketplacePartnerId.",
        ));
    }
    if let Some(id) = set(properties, "storageAccountId") {
        check_storage_account(id)?;
    }
    if let Some(id) = set(properties, "eventHubAuthorizationRuleId") {
        check_event_hub_rule(state, id, set(properties, "eventHubName"))?;
    }
    Ok(())
}

/// `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type...}/{name}`
/// split into (provider namespace, type path, name) for a type check.
fn typed_segments(id: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    let well_formed = parts.len() >= 8
        && parts.len() % 2 == 0
        && parts[0].eq_ignore_ascii_case("subscriptions")
        && parts[2].eq_ignore_ascii_case("resourceGroups")
        && parts[4].eq_ignore_ascii_case("providers")
        && parts.iter().all(|p| !p.is_empty());
    if !well_formed {
        return None;
    }
    let types: Vec<&str> = parts[6..].iter().step_by(2).copied().collect();
    Some((
        format!("{}/{}", parts[5], types.join("/")).to_ascii_lowercase(),
        parts[parts.len() - 1].to_string(),
    ))
}

/// Azure's refusal of an id of the wrong type (its wording for
/// `eventHubAuthorizationRuleId`; the same form for storage).
fn invalid_type(found: &str, property: &str, expected: &[&str]) -> ArmError {
    ArmError::bad_request(
        "BadRequest",
        format!(
            "Resource type '{found}' is invalid for property 'properties.{property}'. Expected types are '{}'",
            expected.join("', '")
        ),
    )
}

/// Any well-formed storage account id is taken: the emulator's blob storage
/// is Azurite, whose accounts are not ARM resources it could look up.
fn check_storage_account(id: &str) -> Result<(), ArmError> {
    const EXPECTED: &[&str] = &[
        "microsoft.storage/storageaccounts",
        "microsoft.classicstorage/storageaccounts",
    ];
    match typed_segments(id) {
        Some((found, _)) if EXPECTED[..1].contains(&found.as_str()) => Ok(()),
        Some((found, _)) => Err(invalid_type(&found, "storageAccountId", EXPECTED)),
        None => Err(ArmError::bad_request(
            "LinkedInvalidPropertyId",
            format!("Property id '{id}' at path 'properties.storageAccountId' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{{subscriptionId}}' or '/providers/{{resourceProviderNamespace}}/'."),
        )),
    }
}

fn check_event_hub_rule(
    state: &AppState,
    id: &str,
    hub_name: Option<&str>,
) -> Result<(), ArmError> {
    const EXPECTED: &[&str] = &[
        "microsoft.servicebus/namespaces/authorizationrules",
        "microsoft.eventhub/namespaces/authorizationrules",
    ];
    match typed_segments(id) {
        Some((found, _)) if found == EXPECTED[1] => {}
        Some((found, _)) => return Err(invalid_type(&found, "eventHubAuthorizationRuleId", EXPECTED)),
        None => {
            return Err(ArmError::bad_request(
                "LinkedInvalidPropertyId",
                format!("Property id '{id}' at path 'properties.eventHubAuthorizationRuleId' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{{subscriptionId}}' or '/providers/{{resourceProviderNamespace}}/'."),
            ))
        }
    }
    let rule = state
        .store
        .get::<StoredAuthorizationRule>(&storage_key(id))?
        .ok_or_else(|| {
            ArmError::bad_request(
                "BadRequest",
                format!("The Event Hubs authorization rule '{id}' was not found."),
            )
        })?;
    let has = |right: &str| rule.rights.iter().any(|r| r.eq_ignore_ascii_case(right));
    // The namespace id is the rule id without `/authorizationRules/{rule}`.
    let namespace_id = id.rsplitn(3, '/').nth(2).unwrap_or_default();
    let hub_exists = match hub_name {
        Some(hub) => state
            .store
            .get::<StoredEventHub>(&storage_key(&format!("{namespace_id}/eventhubs/{hub}")))?
            .is_some(),
        None => false,
    };
    if hub_exists && !has("Send") {
        return Err(ArmError::bad_request(
            "BadRequest",
            format!(
                "The EventHub authorization rule requires send access to the EventHub '{}', this EventHub authorization rule does not have 'send' access.",
                hub_name.unwrap_or_default()
            ),
        ));
    }
    if !hub_exists && !has("Manage") {
        return Err(ArmError::bad_request(
            "BadRequest",
            "If a valid EventHub name is not specified in the diagnostic setting, the EventHub authorization rule requires manage|send|listen access, this EventHub authorization rule does not have 'manage' access.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_split_into_their_type_and_name() {
        assert_eq!(
            typed_segments("/subscriptions/s/resourceGroups/g/providers/Microsoft.EventHub/namespaces/n/authorizationRules/r"),
            Some(("microsoft.eventhub/namespaces/authorizationrules".into(), "r".into()))
        );
        assert_eq!(
            typed_segments(
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a"
            ),
            Some(("microsoft.storage/storageaccounts".into(), "a".into()))
        );
        assert_eq!(typed_segments("devstoreaccount1"), None);
        assert_eq!(
            typed_segments(
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts"
            ),
            None
        );
    }
}
