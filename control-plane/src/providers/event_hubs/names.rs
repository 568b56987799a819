//! Azure's naming rules for Event Hubs entities, checked before anything is
//! stored so a bad name never reaches a record.

use crate::arm::error::ArmError;

fn invalid(name: &str, parameter: &str, rule: &str) -> ArmError {
    ArmError::BadRequest {
        code: "InvalidResourceName",
        message: format!("The resource name '{name}' is invalid. {rule}"),
        target: Some(parameter.into()),
    }
}

/// Namespaces: 6-50 letters, digits and hyphens, starting with a letter and
/// ending with a letter or digit; not ending in `-sb` or `-mgmt` (reserved by
/// the service for its own host names).
pub fn check_namespace(name: &str) -> Result<(), ArmError> {
    let bytes = name.as_bytes();
    let lower = name.to_ascii_lowercase();
    let valid = (6..=50).contains(&bytes.len())
        && bytes[0].is_ascii_alphabetic()
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && !lower.ends_with("-sb")
        && !lower.ends_with("-mgmt");
    if valid {
        return Ok(());
    }
    Err(invalid(
        name,
        "namespaceName",
        "A namespace name must be 6 to 50 letters, digits and hyphens, start with a letter, end with a letter or digit, and not end with '-sb' or '-mgmt'.",
    ))
}

/// Letters, digits, `.`, `-` and `_`, starting and ending with a letter or
/// digit: the rule event hubs, consumer groups and authorization rules share.
fn entity_name_ok(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    (1..=max).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

pub fn check_event_hub(name: &str) -> Result<(), ArmError> {
    if entity_name_ok(name, 256) {
        return Ok(());
    }
    Err(invalid(
        name,
        "eventHubName",
        "An event hub name must be 1 to 256 letters, digits, '.', '-' and '_', and start and end with a letter or digit.",
    ))
}

/// `$Default` is the one name outside the rule: every hub has it.
pub fn check_consumer_group(name: &str) -> Result<(), ArmError> {
    if name == super::consumer_groups::DEFAULT || entity_name_ok(name, 50) {
        return Ok(());
    }
    Err(invalid(
        name,
        "consumerGroupName",
        "A consumer group name must be 1 to 50 letters, digits, '.', '-' and '_', and start and end with a letter or digit.",
    ))
}

pub fn check_authorization_rule(name: &str) -> Result<(), ArmError> {
    if entity_name_ok(name, 256) {
        return Ok(());
    }
    Err(invalid(
        name,
        "authorizationRuleName",
        "An authorization rule name must be 1 to 256 letters, digits, '.', '-' and '_', and start and end with a letter or digit.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names() {
        for good in ["abcdef", "ns-1-x", &"a".repeat(50)] {
            assert!(check_namespace(good).is_ok(), "{good}");
        }
        for bad in [
            "abcde",
            "1abcdef",
            "abcdef-",
            "abc_def",
            "orders-sb",
            "orders-MGMT",
            &"a".repeat(51),
        ] {
            assert!(check_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn entity_names() {
        assert!(check_event_hub("a").is_ok());
        assert!(check_event_hub("orders.v1_2-x").is_ok());
        assert!(check_event_hub(&"h".repeat(257)).is_err());
        assert!(check_event_hub("-x").is_err());
        assert!(check_event_hub("x.").is_err());
        assert!(check_consumer_group("$Default").is_ok());
        assert!(check_consumer_group("$other").is_err());
        assert!(check_consumer_group(&"c".repeat(51)).is_err());
        assert!(check_authorization_rule("RootManageSharedAccessKey").is_ok());
        assert!(check_authorization_rule("a b").is_err());
    }
}
