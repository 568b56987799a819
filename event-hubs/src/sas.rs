//! Shared access signatures: `SharedAccessSignature sr={resource}&sig={signature}&se={expiry}&skn={rule}`,
//! the signature being base64(HMAC-SHA256(key, "{sr as sent}\n{se}")) with
//! the rule's primary or secondary key (its base64 text, as the SDKs use it).
//!
//! The emulator serves every namespace behind one host and port, so a token
//! cannot name its namespace through the host: the namespace is the one of
//! the rule, among those named `skn`, whose key verifies the signature (keys
//! are 32 random bytes, so at most one does).

use aws_lc_rs::{constant_time, hmac};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, TimeZone, Utc};
use percent_encoding::percent_decode_str;

use crate::directory::{AccessRule, Directory, DirectoryError, Rights};

#[derive(Debug, thiserror::Error)]
pub enum SasError {
    #[error("The token is not a shared access signature (SharedAccessSignature sr=...&sig=...&se=...&skn=...).")]
    Malformed,
    #[error("The token has expired (se={0}).")]
    Expired(i64),
    #[error("InvalidSignature: The token has an invalid signature.")]
    InvalidSignature,
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// What a valid token allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub namespace: String,
    /// Set for a hub-level rule: the only hub it covers.
    pub hub: Option<String>,
    /// The entity path the token's `sr` names (empty for the namespace).
    pub resource_path: String,
    pub rights: Rights,
    pub key_name: String,
    pub expires: DateTime<Utc>,
}

impl Grant {
    /// Whether this grant covers entity `path` (`hub`, `hub/Partitions/0`,
    /// `hub/ConsumerGroups/$Default/Partitions/0`) of `namespace`.
    pub fn covers(&self, namespace: &str, path: &str) -> bool {
        if !self.namespace.eq_ignore_ascii_case(namespace) || self.expires <= Utc::now() {
            return false;
        }
        let hub = path.split('/').next().unwrap_or("");
        if let Some(rule_hub) = &self.hub {
            if !rule_hub.eq_ignore_ascii_case(hub) {
                return false;
            }
        }
        let scope = self.resource_path.trim_matches('/').to_ascii_lowercase();
        let path = path.trim_matches('/').to_ascii_lowercase();
        scope.is_empty() || path == scope || path.starts_with(&format!("{scope}/"))
    }
}

struct Parsed<'a> {
    sr: &'a str,
    sig: String,
    se: i64,
    skn: String,
}

fn parse(token: &str) -> Result<Parsed<'_>, SasError> {
    let fields = token
        .trim()
        .strip_prefix("SharedAccessSignature ")
        .ok_or(SasError::Malformed)?;
    let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
    for pair in fields.split('&') {
        let (name, value) = pair.split_once('=').ok_or(SasError::Malformed)?;
        match name {
            "sr" => sr = Some(value),
            "sig" => sig = Some(decode(value)?),
            "se" => se = Some(value.parse::<i64>().map_err(|_| SasError::Malformed)?),
            "skn" => skn = Some(decode(value)?),
            _ => {}
        }
    }
    Ok(Parsed {
        sr: sr.ok_or(SasError::Malformed)?,
        sig: sig.ok_or(SasError::Malformed)?,
        se: se.ok_or(SasError::Malformed)?,
        skn: skn.ok_or(SasError::Malformed)?,
    })
}

/// `quote_plus` undone: `+` is a space, then percent escapes.
fn decode(value: &str) -> Result<String, SasError> {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| SasError::Malformed)
}

fn signature(key: &str, string_to_sign: &str) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    hmac::sign(&key, string_to_sign.as_bytes())
        .as_ref()
        .to_vec()
}

/// The path part of `sb://host[:port]/path` (or of `https://...`, or of a
/// bare `host/path`).
fn resource_path(resource: &str) -> String {
    let rest = resource
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(resource);
    rest.split_once('/')
        .map(|(_, p)| p.trim_matches('/').to_string())
        .unwrap_or_default()
}

/// Checks `token` against the rules the directory knows.
pub fn validate(directory: &dyn Directory, token: &str) -> Result<Grant, SasError> {
    let parsed = parse(token)?;
    let expires = Utc
        .timestamp_opt(parsed.se, 0)
        .single()
        .ok_or(SasError::Malformed)?;
    let sent = STANDARD
        .decode(parsed.sig.as_bytes())
        .map_err(|_| SasError::InvalidSignature)?;
    let string_to_sign = format!("{}\n{}", parsed.sr, parsed.se);
    let rule: AccessRule = directory
        .rules_named(&parsed.skn)?
        .into_iter()
        .find(|rule| {
            [&rule.primary_key, &rule.secondary_key].iter().any(|key| {
                constant_time::verify_slices_are_equal(&signature(key, &string_to_sign), &sent)
                    .is_ok()
            })
        })
        .ok_or(SasError::InvalidSignature)?;
    if expires <= Utc::now() {
        return Err(SasError::Expired(parsed.se));
    }
    Ok(Grant {
        namespace: rule.namespace,
        hub: rule.hub,
        resource_path: resource_path(&decode(parsed.sr)?),
        rights: rule.rights,
        key_name: rule.key_name,
        expires,
    })
}

/// A token for `resource` signed with `key`, as the SDKs make them (for
/// tests and tools).
pub fn make_token(resource: &str, key_name: &str, key: &str, expires: DateTime<Utc>) -> String {
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let sr = encode(resource);
    let se = expires.timestamp();
    let sig = STANDARD.encode(signature(key, &format!("{sr}\n{se}")));
    format!(
        "SharedAccessSignature sr={sr}&sig={}&se={se}&skn={}",
        encode(&sig),
        encode(key_name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::HubInfo;

    struct Rules(Vec<AccessRule>);
    impl Directory for Rules {
        fn hub(&self, _: &str, _: &str) -> Result<Option<HubInfo>, DirectoryError> {
            Ok(None)
        }
        fn rules_named(&self, name: &str) -> Result<Vec<AccessRule>, DirectoryError> {
            Ok(self
                .0
                .iter()
                .filter(|r| r.key_name == name)
                .cloned()
                .collect())
        }
        fn hub_uids(&self) -> Result<Vec<String>, DirectoryError> {
            Ok(vec![])
        }
    }

    fn rule(namespace: &str, hub: Option<&str>, primary: &str, rights: &[&str]) -> AccessRule {
        AccessRule {
            namespace: namespace.into(),
            hub: hub.map(Into::into),
            key_name: "rule".into(),
            primary_key: primary.into(),
            secondary_key: format!("{primary}-secondary"),
            rights: Rights::from_names(rights),
        }
    }

    fn in_an_hour() -> DateTime<Utc> {
        Utc::now() + chrono::Duration::hours(1)
    }

    #[test]
    fn the_namespace_is_the_one_whose_key_verifies() {
        let rules = Rules(vec![
            rule("ns-a", None, "key-a", &["Send"]),
            rule("ns-b", None, "key-b", &["Listen"]),
        ]);
        let token = make_token("sb://127.0.0.1:5672/orders", "rule", "key-b", in_an_hour());
        let grant = validate(&rules, &token).unwrap();
        assert_eq!(grant.namespace, "ns-b");
        assert!(grant.rights.can_listen() && !grant.rights.can_send());
        assert!(grant.covers("ns-b", "orders/ConsumerGroups/$Default/Partitions/0"));
        assert!(!grant.covers("ns-b", "other"));
        assert!(!grant.covers("ns-a", "orders"));
        let secondary = make_token("sb://h/", "rule", "key-a-secondary", in_an_hour());
        let grant = validate(&rules, &secondary).unwrap();
        assert_eq!(grant.namespace, "ns-a");
        assert!(grant.covers("ns-a", "anything"));
    }

    #[test]
    fn wrong_key_expired_and_malformed_tokens_are_refused() {
        let rules = Rules(vec![rule("ns", Some("orders"), "key", &["Manage"])]);
        let wrong = make_token("sb://h/orders", "rule", "not-the-key", in_an_hour());
        assert!(matches!(
            validate(&rules, &wrong),
            Err(SasError::InvalidSignature)
        ));
        let unknown_rule = make_token("sb://h/orders", "other", "key", in_an_hour());
        assert!(matches!(
            validate(&rules, &unknown_rule),
            Err(SasError::InvalidSignature)
        ));
        let expired = make_token(
            "sb://h/orders",
            "rule",
            "key",
            Utc::now() - chrono::Duration::seconds(5),
        );
        assert!(matches!(
            validate(&rules, &expired),
            Err(SasError::Expired(_))
        ));
        assert!(matches!(
            validate(&rules, "Bearer x"),
            Err(SasError::Malformed)
        ));
        let ok = validate(
            &rules,
            &make_token("sb://h/orders", "rule", "key", in_an_hour()),
        )
        .unwrap();
        assert!(ok.rights.can_send() && ok.rights.can_listen());
        assert!(ok.covers("ns", "orders/Partitions/1"));
        // A hub-level rule covers its own hub only, whatever the token names.
        let broad = validate(&rules, &make_token("sb://h/", "rule", "key", in_an_hour())).unwrap();
        assert!(!broad.covers("ns", "payments"));
    }

    #[test]
    fn python_sdk_style_tokens_verify() {
        // quote_plus-encoded resource, signature over the encoded text.
        let sr = "sb%3A%2F%2F127.0.0.1%3A5672%2Forders";
        let se = in_an_hour().timestamp();
        let sig = STANDARD.encode(signature("k", &format!("{sr}\n{se}")));
        let sig = sig
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let token = format!("SharedAccessSignature sr={sr}&sig={sig}&se={se}&skn=rule");
        let rules = Rules(vec![rule("ns", None, "k", &["Send"])]);
        let grant = validate(&rules, &token).unwrap();
        assert_eq!(grant.resource_path, "orders");
    }
}
