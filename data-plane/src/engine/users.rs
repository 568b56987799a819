//! Users of a partition: roles, password rules and hashes, lockout.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use serde::{Deserialize, Serialize};

use super::error::EngineError;

/// Roles of Azure Cloud HSM (the Marvell LiquidSecurity partition model, as
/// in AWS CloudHSM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Pre-crypto-officer: the default admin of an unactivated partition.
    Preco,
    /// Crypto officer: manages users; cannot use keys.
    CryptoOfficer,
    /// Crypto user: owns and uses keys.
    CryptoUser,
    /// Appliance user: the service's own account (replication, backups).
    ApplianceUser,
}

impl Role {
    /// The names `azcloudhsm_util` uses (`-u CO`).
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        match name.to_ascii_uppercase().as_str() {
            "PRECO" => Ok(Self::Preco),
            "CO" => Ok(Self::CryptoOfficer),
            "CU" => Ok(Self::CryptoUser),
            "AU" => Ok(Self::ApplianceUser),
            other => Err(EngineError::InvalidUserName(format!(
                "unknown user type '{other}' (PRECO, CO, CU, AU)"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preco => "PRECO",
            Self::CryptoOfficer => "CO",
            Self::CryptoUser => "CU",
            Self::ApplianceUser => "AU",
        }
    }

    pub fn manages_users(self) -> bool {
        self == Self::CryptoOfficer
    }

    pub fn uses_keys(self) -> bool {
        self == Self::CryptoUser
    }
}

/// Passwords are 8 to 32 characters, as the service enforces. Twelve or more
/// are recommended.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 32;

pub fn check_password(password: &str) -> Result<(), EngineError> {
    let n = password.chars().count();
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        Ok(())
    } else {
        Err(EngineError::InvalidPassword(format!(
            "a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters (12 or more recommended); this one has {n}"
        )))
    }
}

pub fn check_user_name(name: &str) -> Result<(), EngineError> {
    let valid = (1..=31).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(EngineError::InvalidUserName(format!(
            "'{name}': 1 to 31 letters, digits, '_', '-' or '.'"
        )))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    /// Argon2id PHC string; the password itself is never kept.
    pub password_hash: String,
    pub failed_logins: u32,
    pub locked: bool,
    /// A crypto officer disabled the user's login (`setUserAttributes`).
    pub disabled: bool,
    /// The 2FA / quorum key, if registered (see `two_factor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_key: Option<super::two_factor::UserAuthKey>,
    /// `disableUserAccess`: the user took its management away from crypto
    /// officers, for good.
    #[serde(default)]
    pub co_access_disabled: bool,
}

impl UserRecord {
    pub fn new(name: &str, role: Role, password: &str) -> Result<Self, EngineError> {
        check_user_name(name)?;
        check_password(password)?;
        Ok(Self {
            name: name.to_string(),
            role,
            password_hash: hash_password(password)?,
            failed_logins: 0,
            locked: false,
            disabled: false,
            auth_key: None,
            co_access_disabled: false,
        })
    }

    pub fn password_matches(&self, password: &str) -> bool {
        PasswordHash::new(&self.password_hash)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

pub fn hash_password(password: &str) -> Result<String, EngineError> {
    let mut salt_bytes = [0u8; 16];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut salt_bytes)
        .map_err(|_| EngineError::Crypto("random".into()))?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| EngineError::Crypto(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::Crypto(format!("hashing a password: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules_and_hashing() {
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(33)).is_err());
        let user = UserRecord::new("cu1", Role::CryptoUser, "user1234").unwrap();
        assert!(user.password_hash.starts_with("$argon2id$"));
        assert!(!user.password_hash.contains("user1234"));
        assert!(user.password_matches("user1234"));
        assert!(!user.password_matches("user12345"));
        assert!(UserRecord::new("bad name", Role::CryptoUser, "user1234").is_err());
        assert_eq!(Role::parse("cu").unwrap(), Role::CryptoUser);
        assert!(Role::parse("admin").is_err());
    }
}
