//! Key attributes, by their CloudHSM / PKCS#11 ids, and the rules for
//! changing them, kept as data (one table) rather than spread over code.

use serde::{Deserialize, Serialize};

use super::{error::EngineError, users::Role};

/// Attribute ids as `getAttribute` / `setAttribute` / `findKey` use them.
pub mod ids {
    pub const CLASS: u32 = 0;
    pub const TOKEN: u32 = 1;
    pub const PRIVATE: u32 = 2;
    pub const LABEL: u32 = 3;
    pub const TRUSTED: u32 = 134;
    pub const KEY_TYPE: u32 = 256;
    pub const ID: u32 = 258;
    pub const SENSITIVE: u32 = 259;
    pub const ENCRYPT: u32 = 260;
    pub const DECRYPT: u32 = 261;
    pub const WRAP: u32 = 262;
    pub const UNWRAP: u32 = 263;
    pub const SIGN: u32 = 264;
    pub const VERIFY: u32 = 266;
    pub const DERIVE: u32 = 268;
    pub const MODULUS_BITS: u32 = 289;
    /// The curve of an EC key: its DER-encoded OID, as hex text.
    pub const EC_PARAMS: u32 = 384;
    pub const VALUE_LEN: u32 = 353;
    pub const EXTRACTABLE: u32 = 354;
    pub const LOCAL: u32 = 355;
    pub const NEVER_EXTRACTABLE: u32 = 356;
    pub const ALWAYS_SENSITIVE: u32 = 357;
    pub const WRAP_WITH_TRUSTED: u32 = 528;
    /// Of certificates (byte strings as hex text).
    pub const VALUE: u32 = 0x11;
    pub const CERTIFICATE_TYPE: u32 = 0x80;
    pub const ISSUER: u32 = 0x81;
    pub const SERIAL_NUMBER: u32 = 0x82;
    pub const SUBJECT: u32 = 0x101;
}

/// How an attribute may change after the key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// The key's owner may set it to anything.
    Free,
    /// Only from true to false (EXTRACTABLE: a key never becomes extractable again).
    OnlyToFalse,
    /// Only from false to true (WRAP_WITH_TRUSTED, SENSITIVE).
    OnlyToTrue,
    /// Only a crypto officer sets it (TRUSTED).
    OfficerOnly,
    /// Fixed when the key is made.
    ReadOnly,
}

/// `(id, name, rule)` for every attribute the engine knows.
const RULES: &[(u32, &str, Change)] = &[
    (ids::CLASS, "OBJ_ATTR_CLASS", Change::ReadOnly),
    (ids::TOKEN, "OBJ_ATTR_TOKEN", Change::ReadOnly),
    (ids::PRIVATE, "OBJ_ATTR_PRIVATE", Change::ReadOnly),
    (ids::LABEL, "OBJ_ATTR_LABEL", Change::Free),
    (ids::TRUSTED, "OBJ_ATTR_TRUSTED", Change::OfficerOnly),
    (ids::KEY_TYPE, "OBJ_ATTR_KEY_TYPE", Change::ReadOnly),
    (ids::ID, "OBJ_ATTR_ID", Change::Free),
    (ids::SENSITIVE, "OBJ_ATTR_SENSITIVE", Change::OnlyToTrue),
    (ids::ENCRYPT, "OBJ_ATTR_ENCRYPT", Change::Free),
    (ids::DECRYPT, "OBJ_ATTR_DECRYPT", Change::Free),
    (ids::WRAP, "OBJ_ATTR_WRAP", Change::Free),
    (ids::UNWRAP, "OBJ_ATTR_UNWRAP", Change::Free),
    (ids::SIGN, "OBJ_ATTR_SIGN", Change::Free),
    (ids::VERIFY, "OBJ_ATTR_VERIFY", Change::Free),
    (ids::DERIVE, "OBJ_ATTR_DERIVE", Change::Free),
    (ids::MODULUS_BITS, "OBJ_ATTR_MODULUS_BITS", Change::ReadOnly),
    (ids::EC_PARAMS, "OBJ_ATTR_EC_PARAMS", Change::ReadOnly),
    (ids::VALUE_LEN, "OBJ_ATTR_VALUE_LEN", Change::ReadOnly),
    (
        ids::EXTRACTABLE,
        "OBJ_ATTR_EXTRACTABLE",
        Change::OnlyToFalse,
    ),
    (ids::LOCAL, "OBJ_ATTR_LOCAL", Change::ReadOnly),
    (
        ids::NEVER_EXTRACTABLE,
        "OBJ_ATTR_NEVER_EXTRACTABLE",
        Change::ReadOnly,
    ),
    (
        ids::ALWAYS_SENSITIVE,
        "OBJ_ATTR_ALWAYS_SENSITIVE",
        Change::ReadOnly,
    ),
    (
        ids::WRAP_WITH_TRUSTED,
        "OBJ_ATTR_WRAP_WITH_TRUSTED",
        Change::OnlyToTrue,
    ),
    (ids::VALUE, "OBJ_ATTR_VALUE", Change::ReadOnly),
    (
        ids::CERTIFICATE_TYPE,
        "OBJ_ATTR_CERTIFICATE_TYPE",
        Change::ReadOnly,
    ),
    (ids::ISSUER, "OBJ_ATTR_ISSUER", Change::ReadOnly),
    (
        ids::SERIAL_NUMBER,
        "OBJ_ATTR_SERIAL_NUMBER",
        Change::ReadOnly,
    ),
    (ids::SUBJECT, "OBJ_ATTR_SUBJECT", Change::ReadOnly),
];

fn rule(id: u32) -> Result<(&'static str, Change), EngineError> {
    RULES
        .iter()
        .find(|(i, _, _)| *i == id)
        .map(|(_, name, change)| (*name, *change))
        .ok_or(EngineError::AttributeTypeInvalid(id))
}

/// The name tools print for an attribute id.
pub fn name(id: u32) -> Result<&'static str, EngineError> {
    rule(id).map(|(name, _)| name)
}

/// An attribute value as tools pass it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attribute {
    Bool(bool),
    Number(u64),
    Text(String),
}

impl Attribute {
    fn as_bool(&self, id: u32) -> Result<bool, EngineError> {
        match self {
            Self::Bool(b) => Ok(*b),
            Self::Number(0) => Ok(false),
            Self::Number(1) => Ok(true),
            other => Err(EngineError::AttributeValueInvalid(format!(
                "attribute {id} is boolean (0 or 1), not {other:?}"
            ))),
        }
    }
}

/// The attributes a key carries. Class, type and sizes live on the key
/// itself; this is what users set and search by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttributes {
    pub label: String,
    pub id: String,
    pub token: bool,
    pub private: bool,
    pub sensitive: bool,
    pub encrypt: bool,
    pub decrypt: bool,
    pub wrap: bool,
    pub unwrap: bool,
    pub sign: bool,
    pub verify: bool,
    pub derive: bool,
    pub extractable: bool,
    pub trusted: bool,
    pub wrap_with_trusted: bool,
    pub local: bool,
    pub never_extractable: bool,
    pub always_sensitive: bool,
}

impl Default for KeyAttributes {
    /// What a generated key gets unless told otherwise: a persistent,
    /// extractable (by wrapping only) key.
    fn default() -> Self {
        Self {
            label: String::new(),
            id: String::new(),
            token: true,
            private: true,
            sensitive: true,
            encrypt: false,
            decrypt: false,
            wrap: false,
            unwrap: false,
            sign: false,
            verify: false,
            derive: false,
            extractable: true,
            trusted: false,
            wrap_with_trusted: false,
            local: true,
            never_extractable: false,
            always_sensitive: true,
        }
    }
}

impl KeyAttributes {
    fn flag_mut(&mut self, id: u32) -> Option<&mut bool> {
        Some(match id {
            ids::TOKEN => &mut self.token,
            ids::PRIVATE => &mut self.private,
            ids::SENSITIVE => &mut self.sensitive,
            ids::ENCRYPT => &mut self.encrypt,
            ids::DECRYPT => &mut self.decrypt,
            ids::WRAP => &mut self.wrap,
            ids::UNWRAP => &mut self.unwrap,
            ids::SIGN => &mut self.sign,
            ids::VERIFY => &mut self.verify,
            ids::DERIVE => &mut self.derive,
            ids::EXTRACTABLE => &mut self.extractable,
            ids::TRUSTED => &mut self.trusted,
            ids::WRAP_WITH_TRUSTED => &mut self.wrap_with_trusted,
            ids::LOCAL => &mut self.local,
            ids::NEVER_EXTRACTABLE => &mut self.never_extractable,
            ids::ALWAYS_SENSITIVE => &mut self.always_sensitive,
            _ => return None,
        })
    }

    /// The value of a user-visible attribute (class, type and size are
    /// answered by the key).
    pub fn get(&self, id: u32) -> Result<Attribute, EngineError> {
        rule(id)?;
        match id {
            ids::LABEL => Ok(Attribute::Text(self.label.clone())),
            ids::ID => Ok(Attribute::Text(self.id.clone())),
            _ => {
                let mut copy = self.clone();
                copy.flag_mut(id)
                    .map(|b| Attribute::Bool(*b))
                    .ok_or(EngineError::AttributeTypeInvalid(id))
            }
        }
    }

    /// Applies one change if the rules allow it for `role`. Nothing changes
    /// on error.
    pub fn set(&mut self, id: u32, value: &Attribute, role: Role) -> Result<(), EngineError> {
        let (_, change) = rule(id)?;
        match id {
            ids::LABEL | ids::ID => {
                let Attribute::Text(text) = value else {
                    return Err(EngineError::AttributeValueInvalid(format!(
                        "attribute {id} is text"
                    )));
                };
                if text.len() > 127 {
                    return Err(EngineError::AttributeValueInvalid(
                        "at most 127 bytes".into(),
                    ));
                }
                if id == ids::LABEL {
                    self.label = text.clone();
                } else {
                    self.id = text.clone();
                }
                return Ok(());
            }
            _ => {}
        }
        let wanted = value.as_bool(id)?;
        let current = self
            .flag_mut(id)
            .ok_or(EngineError::AttributeReadOnly(id))?;
        let allowed = match change {
            Change::Free => role == Role::CryptoUser,
            Change::OnlyToFalse => role == Role::CryptoUser && (!wanted || *current),
            Change::OnlyToTrue => role == Role::CryptoUser && (wanted || !*current),
            Change::OfficerOnly => role == Role::CryptoOfficer,
            Change::ReadOnly => false,
        };
        if !allowed {
            return Err(match change {
                Change::OfficerOnly => {
                    EngineError::NotPermitted(format!("only a crypto officer sets attribute {id}"))
                }
                Change::Free => EngineError::NotPermitted(
                    "only the key's owner (a crypto user) changes its attributes".into(),
                ),
                _ => EngineError::AttributeReadOnly(id),
            });
        }
        *current = wanted;
        if id == ids::EXTRACTABLE && !wanted {
            self.never_extractable = false; // it was extractable once
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_enforced() {
        let mut a = KeyAttributes::default();
        let cu = Role::CryptoUser;
        a.set(ids::LABEL, &Attribute::Text("k1".into()), cu)
            .unwrap();
        assert_eq!(a.get(ids::LABEL).unwrap(), Attribute::Text("k1".into()));
        a.set(ids::SIGN, &Attribute::Number(1), cu).unwrap();
        assert_eq!(a.get(ids::SIGN).unwrap(), Attribute::Bool(true));

        // EXTRACTABLE: 1 -> 0 only.
        a.set(ids::EXTRACTABLE, &Attribute::Bool(false), cu)
            .unwrap();
        assert_eq!(
            a.set(ids::EXTRACTABLE, &Attribute::Bool(true), cu),
            Err(EngineError::AttributeReadOnly(ids::EXTRACTABLE))
        );
        // WRAP_WITH_TRUSTED: 0 -> 1 only.
        a.set(ids::WRAP_WITH_TRUSTED, &Attribute::Bool(true), cu)
            .unwrap();
        assert!(a
            .set(ids::WRAP_WITH_TRUSTED, &Attribute::Bool(false), cu)
            .is_err());
        // TRUSTED: crypto officers only.
        assert!(matches!(
            a.set(ids::TRUSTED, &Attribute::Bool(true), cu),
            Err(EngineError::NotPermitted(_))
        ));
        a.set(ids::TRUSTED, &Attribute::Bool(true), Role::CryptoOfficer)
            .unwrap();
        // Officers do not use or shape keys otherwise.
        assert!(a
            .set(ids::SIGN, &Attribute::Bool(false), Role::CryptoOfficer)
            .is_err());
        // Fixed and unknown attributes.
        assert_eq!(
            a.set(ids::LOCAL, &Attribute::Bool(false), cu),
            Err(EngineError::AttributeReadOnly(ids::LOCAL))
        );
        assert_eq!(
            a.set(9999, &Attribute::Bool(false), cu),
            Err(EngineError::AttributeTypeInvalid(9999))
        );
        assert!(a
            .set(ids::SIGN, &Attribute::Text("yes".into()), cu)
            .is_err());
        assert_eq!(
            name(ids::WRAP_WITH_TRUSTED).unwrap(),
            "OBJ_ATTR_WRAP_WITH_TRUSTED"
        );
    }
}
