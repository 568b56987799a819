//! Shared access keys: how they are made and how `listKeys` shows them. The
//! keys are kept (not derived), so the data plane can check SAS tokens
//! against them once it exists.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};

use crate::arm::error::ArmError;

/// A new key: 32 random bytes, base64, as the service issues them.
pub fn new_key() -> Result<String, ArmError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ArmError::Internal("the system random source failed".into()))?;
    Ok(STANDARD.encode(bytes))
}

/// A key the caller supplies to `regenerateKeys`: base64 of 32 bytes, the
/// shape of the keys the service makes.
pub fn check_supplied_key(key: &str) -> Result<(), ArmError> {
    match STANDARD.decode(key) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        _ => Err(ArmError::BadRequest {
            code: "BadRequest",
            message: "The supplied key is not valid: a shared access key is the base64 encoding of 32 bytes (44 characters).".into(),
            target: Some("key".into()),
        }),
    }
}

/// Azure's connection string: `Endpoint=sb://{host}/;SharedAccessKeyName=...;SharedAccessKey=...`,
/// with `;EntityPath={hub}` for a hub's rule.
pub fn connection_string(host: &str, rule: &str, key: &str, entity_path: Option<&str>) -> String {
    let mut s = format!("Endpoint=sb://{host}/;SharedAccessKeyName={rule};SharedAccessKey={key}");
    if let Some(hub) = entity_path {
        s.push_str(&format!(";EntityPath={hub}"));
    }
    s
}

/// `AccessKeys` as `listKeys` and `regenerateKeys` answer.
pub fn access_keys(
    host: &str,
    rule: &str,
    primary: &str,
    secondary: &str,
    entity_path: Option<&str>,
) -> Value {
    json!({
        "primaryConnectionString": connection_string(host, rule, primary, entity_path),
        "secondaryConnectionString": connection_string(host, rule, secondary, entity_path),
        "primaryKey": primary,
        "secondaryKey": secondary,
        "keyName": rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_random_bytes() {
        let (a, b) = (new_key().unwrap(), new_key().unwrap());
        assert_ne!(a, b);
        assert_eq!(STANDARD.decode(&a).unwrap().len(), 32);
        assert!(check_supplied_key(&a).is_ok());
        assert!(check_supplied_key("c2hvcnQ=").is_err());
        assert!(check_supplied_key("not base64!").is_err());
    }

    #[test]
    fn connection_strings_in_azures_format() {
        assert_eq!(
            connection_string("ns1.servicebus.windows.net", "send", "K=", Some("orders")),
            "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=K=;EntityPath=orders"
        );
        assert_eq!(
            connection_string("ns1.servicebus.windows.net", "root", "K=", None),
            "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=K="
        );
    }
}
