//! uniqueString and guid against values Azure itself computed.

use serde_json::json;

use super::{eval, eval_err};

#[test]
fn unique_string_matches_azure() {
    // From the brief / Azure docs issue: a resource group id.
    assert_eq!(
        eval("[uniqueString('/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myRg')]"),
        json!("js26ofeqkqeve")
    );
    // Deployed outputs recorded in KingslandConsulting/Kingsland.ArmLinter
    // (src/Kingsland.ArmLinter/Functions/ArmFunctions_UniqueString.cs).
    assert_eq!(eval("[uniqueString('aaa')]"), json!("zavj67f3en4hc"));
    assert_eq!(eval("[uniqueString('bbb')]"), json!("w5eragfxe33cy"));
    assert_eq!(eval("[uniqueString('zzz')]"), json!("cryksdzzzawae"));
    assert_eq!(
        eval("[uniqueString('xxx', 'yyy', 'zzz')]"),
        json!("lghi7k5js7itq")
    );
    // Joining with '-' is the same as passing one string.
    assert_eq!(
        eval("[uniqueString('xxx-yyy-zzz')]"),
        json!("lghi7k5js7itq")
    );
}

#[test]
fn unique_string_is_13_base32_characters_for_any_length() {
    for n in 0..20 {
        let text = format!("[uniqueString('{}')]", "a".repeat(n));
        let Some(s) = eval(&text).as_str().map(str::to_string) else {
            panic!("not a string")
        };
        assert_eq!(s.len(), 13);
        assert!(s
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)));
    }
    assert!(eval_err("[uniqueString(1)]").message.contains("String"));
}

#[test]
fn guid_is_a_v5_uuid_in_arms_namespace() {
    // uuid5(11fb06fb-712d-4ddd-98c7-e71bbd588830, "a-b-c"): the construction
    // ARM documents (RFC 4122 §4.3 over the '-'-joined arguments).
    let joined = eval("[guid('a', 'b', 'c')]");
    assert_eq!(joined, eval("[guid('a-b-c')]"));
    let namespace = uuid::Uuid::from_u128(0x11fb06fb_712d_4ddd_98c7_e71bbd588830);
    assert_eq!(
        joined,
        json!(uuid::Uuid::new_v5(&namespace, b"a-b-c").to_string())
    );
    let Some(text) = joined.as_str() else {
        panic!("not a string")
    };
    assert_eq!(text.chars().nth(14), Some('5'));
    assert_ne!(eval("[guid('a')]"), eval("[guid('b')]"));
}
