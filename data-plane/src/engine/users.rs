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
                with_hashing_permit(|| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &hash)
                        .is_ok()
                })
            })
            .unwrap_or(false)
    }
}

/// Argon2 (its defaults, as the hashes stored say) takes 19 MiB for each
/// hash while it runs. Engine calls run on the blocking pool (up to 512
/// threads), so a storm of logins across clusters held hundreds of MiB at
/// once (32 clusters' logins: 550 MiB for a second). At most one hash per
/// core runs at a time: more would not finish sooner, only take memory.
fn with_hashing_permit<T>(hash: impl FnOnce() -> T) -> T {
    static RUNNING: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
    static FREED: std::sync::Condvar = std::sync::Condvar::new();
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let limit = *LIMIT.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        while *running >= limit {
            running = FREED.wait(running).unwrap_or_else(|p| p.into_inner());
        }
        *running += 1;
    }
    // Released on unwind too, so a panic cannot leak a permit.
    struct Permit;
    impl Drop for Permit {
        fn drop(&mut self) {
            let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
            *running -= 1;
            FREED.notify_one();
        }
    }
    let _permit = Permit;
    hash()
}

pub fn hash_password(password: &str) -> Result<String, EngineError> {
    let mut salt_bytes = [0u8; 16];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut salt_bytes)
        .map_err(|_| EngineError::Crypto("random".into()))?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| EngineError::Crypto(format!("password salt: {e}")))?;
    with_hashing_permit(|| Argon2::default().hash_password(password.as_bytes(), &salt))
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

    #[test]
    fn no_more_hashes_at_once_than_cores() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NOW: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads: Vec<_> = (0..cores * 4)
            .map(|_| {
                std::thread::spawn(|| {
                    with_hashing_permit(|| {
                        let now = NOW.fetch_add(1, Ordering::SeqCst) + 1;
                        MOST.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        NOW.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let most = MOST.load(Ordering::SeqCst);
        assert!(
            most >= 1 && most <= cores,
            "{most} hashes at once on {cores} cores"
        );
    }
}
