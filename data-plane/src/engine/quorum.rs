//! Quorum (M of N) authentication for crypto-officer user management, after
//! AWS CloudHSM's `cloudhsm_mgmt_util` (`registerQuorumPubKey`, `setMValue`,
//! `getToken`, `approveToken`, `listTokens`, `delToken`), plus the cluster's
//! opt-in switches for 2FA and quorum. Both are off until a crypto officer
//! turns them on.
//!
//! A token belongs to the officer who got it and to one service; approvers
//! sign its digest with their registered key (the 2FA key scheme); once it
//! holds M approvals from officers still registered, the next operation of
//! that service by its owner consumes it. Tokens expire (ten minutes by
//! default, as AWS documents) and are kept as records, so they survive a
//! restart and travel in a backup.

use std::collections::{BTreeMap, BTreeSet};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde::{Deserialize, Serialize};

use super::{error::EngineError, store::Change, two_factor};

/// What a token authorises, as AWS names its admin services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// createUser, deleteUser, changePswd of another user.
    User,
    /// setMValue and turning 2FA or quorum off.
    Quorum,
}

impl Service {
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        match name.to_ascii_lowercase().as_str() {
            "user" => Ok(Self::User),
            "quorum" => Ok(Self::Quorum),
            other => Err(EngineError::DataInvalid(format!(
                "unknown quorum service '{other}' (user, quorum)"
            ))),
        }
    }
}

/// M is 2 to 8, as AWS allows.
pub const M_RANGE: std::ops::RangeInclusive<u8> = 2..=8;
/// Token lifetime: ten minutes by default; an officer may shorten it.
pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 600;
pub const TOKEN_TTL_RANGE: std::ops::RangeInclusive<u64> = 1..=3600;
/// Tokens an HSM keeps, as AWS documents.
pub const MAX_TOKENS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub two_factor: bool,
    pub quorum: bool,
    pub m_user: u8,
    pub m_quorum: u8,
    pub token_ttl_seconds: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            two_factor: false,
            quorum: false,
            m_user: 2,
            m_quorum: 2,
            token_ttl_seconds: DEFAULT_TOKEN_TTL_SECONDS,
        }
    }
}

impl Settings {
    pub fn m(&self, service: Service) -> u8 {
        match service {
            Service::User => self.m_user,
            Service::Quorum => self.m_quorum,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: String,
    /// The officer who got it; only that officer's operations consume it.
    pub owner: String,
    pub service: Service,
    /// Base64 of the 32 bytes approvers sign.
    pub digest: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// Officers whose signatures verified.
    pub approvals: BTreeSet<String>,
}

/// One approver's signature over a token's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub user: String,
    pub signature: String,
}

const SETTINGS_RECORD: &str = "security/settings";

fn token_record(id: &str) -> String {
    format!("quorum/token/{id}")
}

fn record<T: Serialize>(name: String, value: &T) -> Result<Change, EngineError> {
    Ok(Change::Extension {
        name,
        value: Some(serde_json::to_vec(value).map_err(|e| EngineError::Storage(e.to_string()))?),
    })
}

fn stored<T: serde::de::DeserializeOwned>(name: &str, json: &[u8]) -> Result<T, EngineError> {
    serde_json::from_slice(json)
        .map_err(|e| EngineError::Storage(format!("record ext/{name}: {e}")))
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct QuorumState {
    pub settings: Settings,
    tokens: BTreeMap<String, Token>,
}

impl QuorumState {
    pub fn load(extensions: &BTreeMap<String, Vec<u8>>) -> Result<Self, EngineError> {
        let mut state = Self::default();
        for (name, json) in extensions {
            if name == SETTINGS_RECORD {
                state.settings = stored(name, json)?;
            } else if name.starts_with("quorum/token/") {
                let token: Token = stored(name, json)?;
                state.tokens.insert(token.id.clone(), token);
            }
        }
        Ok(state)
    }

    pub fn save_settings(&self, journal: &mut Vec<Change>) -> Result<(), EngineError> {
        journal.push(record(SETTINGS_RECORD.into(), &self.settings)?);
        Ok(())
    }

    fn remove(&mut self, id: &str, journal: &mut Vec<Change>) {
        if self.tokens.remove(id).is_some() {
            journal.push(Change::Extension {
                name: token_record(id),
                value: None,
            });
        }
    }

    fn purge_expired(&mut self, now_ms: i64, journal: &mut Vec<Change>) {
        let expired: Vec<String> = self
            .tokens
            .values()
            .filter(|t| t.expires_at <= now_ms)
            .map(|t| t.id.clone())
            .collect();
        for id in expired {
            self.remove(&id, journal);
        }
    }

    /// `getToken`: one live token per officer and service, as AWS limits it.
    pub fn issue(
        &mut self,
        owner: &str,
        service: Service,
        now_ms: i64,
        journal: &mut Vec<Change>,
    ) -> Result<Token, EngineError> {
        if !self.settings.quorum {
            return Err(EngineError::FeatureDisabled(
                "quorum authentication is off for this cluster".into(),
            ));
        }
        self.purge_expired(now_ms, journal);
        if self
            .tokens
            .values()
            .any(|t| t.owner == owner && t.service == service)
        {
            return Err(EngineError::TokenExists(
                "this officer already holds a token for that service; use it or delete it (delToken)"
                    .into(),
            ));
        }
        if self.tokens.len() >= MAX_TOKENS {
            return Err(EngineError::TokenExists(format!(
                "the cluster holds {MAX_TOKENS} live tokens; delete some first"
            )));
        }
        let mut raw = [0u8; 16];
        aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut raw)
            .map_err(|_| EngineError::Crypto("random".into()))?;
        let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let token = Token {
            digest: B64.encode(two_factor::fresh_digest(&id)?),
            id,
            owner: owner.to_string(),
            service,
            expires_at: now_ms + (self.settings.token_ttl_seconds * 1000) as i64,
            approvals: BTreeSet::new(),
        };
        journal.push(record(token_record(&token.id), &token)?);
        self.tokens.insert(token.id.clone(), token.clone());
        Ok(token)
    }

    /// A live token; an expired one is removed and reported as such.
    fn live(
        &mut self,
        id: &str,
        now_ms: i64,
        journal: &mut Vec<Change>,
    ) -> Result<&mut Token, EngineError> {
        let expired = self
            .tokens
            .get(id)
            .ok_or(EngineError::TokenNotFound)?
            .expires_at
            <= now_ms;
        if expired {
            self.remove(id, journal);
            return Err(EngineError::TokenExpired);
        }
        self.tokens.get_mut(id).ok_or(EngineError::TokenNotFound)
    }

    /// `approveToken`: the owner hands in approvers' signatures. `key_of`
    /// gives a registered approver's key (PKCS#1 DER). All are checked
    /// before any is recorded. Answers the approvals the token now holds.
    pub fn approve(
        &mut self,
        id: &str,
        caller: &str,
        approvals: &[Approval],
        key_of: impl Fn(&str) -> Option<Vec<u8>>,
        now_ms: i64,
        journal: &mut Vec<Change>,
    ) -> Result<usize, EngineError> {
        if approvals.is_empty() {
            return Err(EngineError::DataInvalid("no approvals given".into()));
        }
        let token = self.live(id, now_ms, journal)?;
        if token.owner != caller {
            // Not revealing other officers' tokens beyond listTokens.
            return Err(EngineError::TokenNotFound);
        }
        let digest = B64
            .decode(&token.digest)
            .map_err(|e| EngineError::Storage(e.to_string()))?;
        for approval in approvals {
            let key = key_of(&approval.user).ok_or_else(|| {
                EngineError::QuorumRequired(format!(
                    "'{}' is not a crypto officer registered for quorum (registerQuorumPubKey)",
                    approval.user
                ))
            })?;
            two_factor::verify_signature(&key, &digest, &approval.signature).map_err(|_| {
                EngineError::TwoFactorFailed(format!(
                    "the approval of '{}' does not verify with its registered key",
                    approval.user
                ))
            })?;
        }
        token
            .approvals
            .extend(approvals.iter().map(|a| a.user.clone()));
        let count = token.approvals.len();
        let token = token.clone();
        journal.push(record(token_record(id), &token)?);
        Ok(count)
    }

    /// For an operation of `service` by `caller`: nothing when quorum is
    /// off; else consumes the caller's approved token, or refuses (the token
    /// stays, so more approvals can be added).
    pub fn consume(
        &mut self,
        caller: &str,
        service: Service,
        registered: &BTreeSet<String>,
        now_ms: i64,
        journal: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        if !self.settings.quorum {
            return Ok(());
        }
        let needed = usize::from(self.settings.m(service));
        let id = self
            .tokens
            .values()
            .find(|t| t.owner == caller && t.service == service)
            .map(|t| t.id.clone())
            .ok_or_else(|| {
                EngineError::QuorumRequired(format!(
                    "this operation needs {needed} approvals: get a token (getToken {}), have registered officers approve it (approveToken)",
                    serde_json::to_value(service).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
                ))
            })?;
        let token = self.live(&id, now_ms, journal)?;
        // Approvals count while their officer is still registered.
        let have = token.approvals.intersection(registered).count();
        if have < needed {
            return Err(EngineError::QuorumRequired(format!(
                "the token has {have} of the {needed} approvals this operation needs"
            )));
        }
        self.remove(&id, journal);
        Ok(())
    }

    /// `delToken`.
    pub fn delete(&mut self, id: &str, journal: &mut Vec<Change>) -> Result<(), EngineError> {
        if !self.tokens.contains_key(id) {
            return Err(EngineError::TokenNotFound);
        }
        self.remove(id, journal);
        Ok(())
    }

    /// `listTokens`: live tokens.
    pub fn list(&self, now_ms: i64) -> Vec<Token> {
        self.tokens
            .values()
            .filter(|t| t.expires_at > now_ms)
            .cloned()
            .collect()
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> QuorumState {
        let mut q = QuorumState::default();
        q.settings.quorum = true;
        q
    }

    #[test]
    fn off_by_default_and_tokens_need_quorum_on() {
        let mut q = QuorumState::default();
        let mut journal = Vec::new();
        assert!(q
            .consume("co1", Service::User, &BTreeSet::new(), 0, &mut journal)
            .is_ok());
        assert!(matches!(
            q.issue("co1", Service::User, 0, &mut journal),
            Err(EngineError::FeatureDisabled(_))
        ));
    }

    #[test]
    fn tokens_expire_are_single_use_and_need_m_registered_approvals() {
        let mut q = enabled();
        let mut journal = Vec::new();
        let token = q.issue("co1", Service::User, 0, &mut journal).unwrap();
        assert_eq!(token.expires_at, 600_000);
        assert!(matches!(
            q.issue("co1", Service::User, 1, &mut journal),
            Err(EngineError::TokenExists(_))
        ));
        // Another service, another token.
        q.issue("co1", Service::Quorum, 1, &mut journal).unwrap();

        let registered: BTreeSet<String> = ["co1".to_string(), "co2".into()].into();
        q.tokens.get_mut(&token.id).unwrap().approvals = ["co1".to_string()].into();
        assert!(matches!(
            q.consume("co1", Service::User, &registered, 10, &mut journal),
            Err(EngineError::QuorumRequired(_))
        ));
        // An approver no longer registered does not count.
        q.tokens.get_mut(&token.id).unwrap().approvals = ["co1".to_string(), "gone".into()].into();
        assert!(q
            .consume("co1", Service::User, &registered, 10, &mut journal)
            .is_err());
        q.tokens.get_mut(&token.id).unwrap().approvals = ["co1".to_string(), "co2".into()].into();
        // Not someone else's operation.
        assert!(q
            .consume("co2", Service::User, &registered, 10, &mut journal)
            .is_err());
        q.consume("co1", Service::User, &registered, 10, &mut journal)
            .unwrap();
        assert!(q
            .consume("co1", Service::User, &registered, 11, &mut journal)
            .is_err());

        // Expiry.
        let late = q.issue("co1", Service::User, 20, &mut journal).unwrap();
        q.tokens.get_mut(&late.id).unwrap().approvals = registered.clone();
        assert_eq!(
            q.consume(
                "co1",
                Service::User,
                &registered,
                20 + 600_000,
                &mut journal
            ),
            Err(EngineError::TokenExpired)
        );
        assert!(q.list(20 + 600_000).iter().all(|t| t.id != late.id));
    }

    #[test]
    fn state_round_trips_through_its_records() {
        let mut q = enabled();
        let mut journal = Vec::new();
        q.save_settings(&mut journal).unwrap();
        let token = q.issue("co1", Service::User, 0, &mut journal).unwrap();
        let mut records = BTreeMap::new();
        for change in journal {
            if let Change::Extension { name, value } = change {
                match value {
                    Some(v) => records.insert(name, v),
                    None => records.remove(&name),
                };
            }
        }
        let loaded = QuorumState::load(&records).unwrap();
        assert_eq!(loaded, q);
        assert_eq!(loaded.list(0), vec![token]);
    }
}
