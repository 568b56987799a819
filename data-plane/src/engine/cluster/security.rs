//! The cluster's opt-in 2FA and quorum operations (rules in `two_factor` and
//! `quorum`). A child of `cluster` so it reaches the cluster's state without
//! widening its API. Keys and registrations live in the user records (so they
//! follow a user's replication, sync and deletion); settings and tokens are
//! cluster-wide `ext/` records; pending authdata is in memory, like logins.

use std::{collections::BTreeSet, time::Instant};

use serde::{Deserialize, Serialize};

use super::{Caller, Cluster, State};
pub use crate::engine::quorum::Service;
use crate::engine::{
    error::EngineError,
    quorum::{self, Approval, QuorumState, Token},
    sessions::{LoginId, SessionHandle},
    two_factor::{self, AuthData, Pending, UserAuthKey},
    users::{Role, UserRecord},
};

/// What an issued authdata document is for.
enum Purpose {
    Login {
        role: Role,
        user: String,
    },
    CreateUser {
        by: String,
        record: UserRecord,
    },
    ChangePassword {
        by: String,
        name: String,
        password_hash: String,
    },
    RegisterQuorumKey {
        by: String,
    },
}

impl Purpose {
    fn operation(&self) -> &'static str {
        match self {
            Self::Login { .. } => "CN_LOGIN",
            Self::CreateUser { .. } => "CN_CREATE_USER",
            Self::ChangePassword { .. } => "CN_CHANGE_PSWD",
            Self::RegisterQuorumKey { .. } => "CN_REGISTER_QUORUM_PUBKEY",
        }
    }

    /// The officer whose session started it (none for a login).
    fn started_by(&self) -> Option<&str> {
        match self {
            Self::Login { .. } => None,
            Self::CreateUser { by, .. }
            | Self::ChangePassword { by, .. }
            | Self::RegisterQuorumKey { by } => Some(by),
        }
    }
}

#[derive(Default)]
pub struct SecurityState {
    quorum: QuorumState,
    pending: Pending<Purpose>,
}

impl SecurityState {
    pub fn load(
        extensions: &std::collections::BTreeMap<String, Vec<u8>>,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            quorum: QuorumState::load(extensions)?,
            pending: Pending::default(),
        })
    }
}

/// The cluster's 2FA and quorum settings and who is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    pub two_factor: bool,
    pub quorum: bool,
    pub m_user: u8,
    pub m_quorum: u8,
    pub token_ttl_seconds: u64,
    pub two_factor_officers: Vec<String>,
    pub quorum_officers: Vec<String>,
}

/// A change of settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityChange {
    #[serde(default)]
    pub two_factor: Option<bool>,
    #[serde(default)]
    pub quorum: Option<bool>,
    #[serde(default)]
    pub token_ttl_seconds: Option<u64>,
}

pub type TokenView = Token;

/// A password alone does not log in a 2FA officer.
pub fn refuse_password_only(record: &UserRecord) -> Result<(), EngineError> {
    match &record.auth_key {
        Some(key) if key.two_factor => Err(EngineError::TwoFactorRequired(record.name.clone())),
        _ => Ok(()),
    }
}

/// A plain `changePswd` removes 2FA from a 2FA user, and with it the quorum
/// registration that shares its key (seed 004).
pub fn on_password_change(record: &mut UserRecord) {
    if record.auth_key.as_ref().is_some_and(|k| k.two_factor) {
        record.auth_key = None;
    }
}

fn officers_only() -> EngineError {
    EngineError::NotPermitted(
        "two-factor authentication is for crypto officers only, not crypto users or applications"
            .into(),
    )
}

impl State {
    /// The officers on the serving node registered for quorum, by name (counting them needs no
    /// key parsed; [`Self::quorum_keys`] is for checking signatures).
    fn quorum_officers(&self) -> Result<BTreeSet<String>, EngineError> {
        let node = self.serving()?;
        Ok(self.nodes[node]
            .users
            .values()
            .filter(|u| u.role == Role::CryptoOfficer)
            .filter(|u| u.auth_key.as_ref().is_some_and(|k| k.quorum))
            .map(|u| u.name.clone())
            .collect())
    }

    /// Officers on the serving node registered for quorum, with their keys.
    fn quorum_keys(&self) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let node = self.serving()?;
        Ok(self.nodes[node]
            .users
            .values()
            .filter(|u| u.role == Role::CryptoOfficer)
            .filter_map(|u| {
                let key = u.auth_key.as_ref().filter(|k| k.quorum)?;
                let der = two_factor::parse_public_key(&key.public_key_pem).ok()?;
                Some((u.name.clone(), der))
            })
            .collect())
    }

    /// Consumes the caller's approved token when quorum is on.
    pub(super) fn quorum_approved(
        &mut self,
        caller: &str,
        service: Service,
    ) -> Result<(), EngineError> {
        if !self.security.quorum.settings.quorum {
            return Ok(());
        }
        let registered = self.quorum_officers()?;
        let State {
            security, journal, ..
        } = self;
        security
            .quorum
            .consume(caller, service, &registered, quorum::now_ms(), journal)
    }

    /// The HSMs that sign off a 2FA step: every node up, by the first label
    /// of its address (`hsm1`...).
    fn hsm_ids(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.up)
            .map(|n| format!("hsm{}", n.id + 1))
            .collect()
    }

    fn issue(&mut self, purpose: Purpose) -> Result<AuthData, EngineError> {
        let hsms = self.hsm_ids();
        self.security.pending.issue(&hsms, purpose, Instant::now())
    }

    fn save_settings(&mut self) -> Result<(), EngineError> {
        let State {
            security, journal, ..
        } = self;
        security.quorum.save_settings(journal)
    }

    fn view(&self) -> Result<SecurityView, EngineError> {
        let node = self.serving()?;
        let settings = &self.security.quorum.settings;
        let with = |pick: fn(&UserAuthKey) -> bool| {
            self.nodes[node]
                .users
                .values()
                .filter(|u| u.auth_key.as_ref().is_some_and(pick))
                .map(|u| u.name.clone())
                .collect()
        };
        Ok(SecurityView {
            two_factor: settings.two_factor,
            quorum: settings.quorum,
            m_user: settings.m_user,
            m_quorum: settings.m_quorum,
            token_ttl_seconds: settings.token_ttl_seconds,
            two_factor_officers: with(|k| k.two_factor),
            quorum_officers: with(|k| k.quorum),
        })
    }
}

/// The key a response registers: required, RSA-2048; and, as the cluster
/// uses one key for 2FA and quorum, the user's existing key if it has one
/// that stays registered.
fn registered_key(response: &AuthData) -> Result<(String, Vec<u8>), EngineError> {
    let pem = response.public_key.clone().ok_or_else(|| {
        EngineError::InvalidPublicKey("the authdata needs PublicKey for this command".into())
    })?;
    let der = two_factor::parse_public_key(&pem)?;
    Ok((pem, der))
}

fn one_key_for_both(existing: Option<&UserAuthKey>, pem: &str) -> Result<(), EngineError> {
    match existing {
        Some(key) if !two_factor::same_key(&key.public_key_pem, pem) => {
            Err(EngineError::NotPermitted(
                "the cluster uses the same key for 2FA and quorum: use the key this user is already registered with"
                    .into(),
            ))
        }
        _ => Ok(()),
    }
}

impl Cluster {
    /// The cluster's 2FA and quorum settings.
    pub fn security(&self) -> Result<SecurityView, EngineError> {
        self.lock().view()
    }

    /// Turns 2FA or quorum on or off, or sets the token lifetime (an
    /// officer). While quorum is on, any change needs an approved token of
    /// the `quorum` service.
    pub fn set_security(
        &self,
        session: SessionHandle,
        change: SecurityChange,
    ) -> Result<SecurityView, EngineError> {
        self.audited("CN_SET_POLICY", || {
            let (caller, _in_use) = self.officer(session)?;
            let mut state = self.lock();
            let old = state.security.quorum.settings.clone();
            let mut new = old.clone();
            if let Some(ttl) = change.token_ttl_seconds {
                if !quorum::TOKEN_TTL_RANGE.contains(&ttl) {
                    return Err(EngineError::DataInvalid(format!(
                        "token_ttl_seconds is {} to {}",
                        quorum::TOKEN_TTL_RANGE.start(),
                        quorum::TOKEN_TTL_RANGE.end()
                    )));
                }
                new.token_ttl_seconds = ttl;
            }
            new.two_factor = change.two_factor.unwrap_or(old.two_factor);
            new.quorum = change.quorum.unwrap_or(old.quorum);
            if old.two_factor && !new.two_factor {
                let users = state.view()?.two_factor_officers.len();
                if users > 0 {
                    return Err(EngineError::NotPermitted(format!(
                        "{users} officer(s) still use 2FA; remove it from them first (changePswd without -2fa)"
                    )));
                }
            }
            if new.quorum && !old.quorum {
                // Otherwise user management would be locked for good.
                let registered = state.quorum_officers()?.len();
                let needed = new.m_user.max(new.m_quorum);
                if registered < usize::from(needed) {
                    return Err(EngineError::NotPermitted(format!(
                        "turning quorum on needs at least {needed} officers registered for quorum (registerQuorumPubKey); {registered} are"
                    )));
                }
            }
            if new == old {
                return state.view();
            }
            state.quorum_approved(&caller.user, Service::Quorum)?;
            state.security.quorum.settings = new;
            state.save_settings()?;
            state.view()
        })
    }

    /// `setMValue`: approvals a service needs (2 to 8).
    pub fn set_m_value(
        &self,
        session: SessionHandle,
        service: Service,
        m: u8,
    ) -> Result<(), EngineError> {
        self.audited("CN_SET_M_VALUE", || {
            let (caller, _in_use) = self.officer(session)?;
            if !quorum::M_RANGE.contains(&m) {
                return Err(EngineError::DataInvalid(format!(
                    "M is {} to {}",
                    quorum::M_RANGE.start(),
                    quorum::M_RANGE.end()
                )));
            }
            let mut state = self.lock();
            if state.security.quorum.settings.quorum {
                let registered = state.quorum_officers()?.len();
                if usize::from(m) > registered {
                    return Err(EngineError::NotPermitted(format!(
                        "M = {m} exceeds the {registered} officers registered for quorum"
                    )));
                }
            }
            state.quorum_approved(&caller.user, Service::Quorum)?;
            let settings = &mut state.security.quorum.settings;
            match service {
                Service::User => settings.m_user = m,
                Service::Quorum => settings.m_quorum = m,
            }
            state.save_settings()
        })
    }

    /// `getToken`: a token for the calling officer.
    pub fn get_token(
        &self,
        session: SessionHandle,
        service: Service,
    ) -> Result<TokenView, EngineError> {
        self.audited("CN_GET_TOKEN", || {
            let (caller, _in_use) = self.officer(session)?;
            let mut state = self.lock();
            let State {
                security, journal, ..
            } = &mut *state;
            security
                .quorum
                .issue(&caller.user, service, quorum::now_ms(), journal)
        })
    }

    /// `approveToken`: the token's owner hands in approvers' signatures of
    /// its digest. Answers the approvals it now holds.
    pub fn approve_token(
        &self,
        session: SessionHandle,
        id: &str,
        approvals: &[Approval],
    ) -> Result<usize, EngineError> {
        self.audited("CN_APPROVE_TOKEN", || {
            let (caller, _in_use) = self.officer(session)?;
            let mut state = self.lock();
            let keys = state.quorum_keys()?;
            let State {
                security, journal, ..
            } = &mut *state;
            security.quorum.approve(
                id,
                &caller.user,
                approvals,
                |user| {
                    keys.iter()
                        .find(|(name, _)| name == user)
                        .map(|(_, der)| der.clone())
                },
                quorum::now_ms(),
                journal,
            )
        })
    }

    /// `listTokens`: every live token (any officer's).
    pub fn list_tokens(&self, session: SessionHandle) -> Result<Vec<TokenView>, EngineError> {
        self.audited("CN_LIST_TOKENS", || {
            let _ = self.officer(session)?;
            Ok(self.lock().security.quorum.list(quorum::now_ms()))
        })
    }

    /// `delToken`: any officer may clear a token.
    pub fn delete_token(&self, session: SessionHandle, id: &str) -> Result<(), EngineError> {
        self.audited("CN_DELETE_TOKEN", || {
            let _ = self.officer(session)?;
            let mut state = self.lock();
            let State {
                security, journal, ..
            } = &mut *state;
            security.quorum.delete(id, journal)
        })
    }

    /// `loginHSM ... -2fa`: checks the password and issues the authdata to
    /// sign. For a user without 2FA the second factor is asked for and
    /// ignored, as the seed describes.
    pub fn login_two_factor_begin(
        &self,
        role: Role,
        user: &str,
        password: &str,
    ) -> Result<AuthData, EngineError> {
        self.audited("CN_LOGIN", || {
            let mut state = self.lock();
            let record = self.check_password(&mut state, role, user, password)?;
            state.issue(Purpose::Login {
                role,
                user: record.name,
            })
        })
    }

    /// Completes a 2FA login with the signed authdata. A bad signature
    /// counts as a failed login.
    pub fn login_two_factor_complete(&self, response: &AuthData) -> Result<LoginId, EngineError> {
        self.audited("CN_LOGIN", || {
            let mut state = self.lock();
            let answered = state.security.pending.take(response, Instant::now(), |p| {
                matches!(p, Purpose::Login { .. })
            })?;
            let Purpose::Login { role, user } = &answered.purpose else {
                return Err(EngineError::TwoFactorFailed("not a login".into()));
            };
            let record = state
                .user(user)
                .map_err(|_| EngineError::LoginFailed)?
                .clone();
            if record.role != *role {
                return Err(EngineError::LoginFailed);
            }
            if record.locked {
                return Err(EngineError::UserLocked(record.name));
            }
            if record.disabled {
                return Err(EngineError::NotPermitted(
                    "the user's access is disabled".into(),
                ));
            }
            if let Some(key) = record.auth_key.as_ref().filter(|k| k.two_factor) {
                let der = two_factor::parse_public_key(&key.public_key_pem)?;
                if let Err(e) = answered.verify(response, &der) {
                    self.count_failed_login(&mut state, &record);
                    return Err(e);
                }
            }
            Self::clear_failed_logins(&mut state, &record);
            Ok(state.sessions.login(Caller {
                user: record.name,
                role: record.role,
            }))
        })
    }

    /// `createUser CO <name> <password> -2fa`: issues the authdata; the user
    /// is created by [`Cluster::complete_two_factor`].
    pub fn create_user_two_factor_begin(
        &self,
        session: SessionHandle,
        role: Role,
        name: &str,
        password: &str,
    ) -> Result<AuthData, EngineError> {
        self.audited("CN_CREATE_USER", || {
            let (caller, _in_use) = self.officer(session)?;
            if role != Role::CryptoOfficer {
                return Err(officers_only());
            }
            self.two_factor_on()?;
            // Hashing is slow: before taking the cluster lock.
            let record = UserRecord::new(name, role, password)?;
            let mut state = self.lock();
            if state.user(name).is_ok() {
                return Err(EngineError::UserExists(name.to_string()));
            }
            state.issue(Purpose::CreateUser {
                by: caller.user,
                record,
            })
        })
    }

    /// `changePswd CO <name> <password> -2fa`: adds 2FA, rotates its key,
    /// or changes the password of a 2FA officer, once the authdata is
    /// answered.
    pub fn change_password_two_factor_begin(
        &self,
        session: SessionHandle,
        name: &str,
        password: &str,
    ) -> Result<AuthData, EngineError> {
        self.audited("CN_CHANGE_PSWD", || {
            let (caller, _in_use) = self.enter(session)?;
            if caller.user != name && !caller.role.manages_users() {
                return Err(EngineError::NotPermitted(
                    "only a crypto officer changes another user's password".into(),
                ));
            }
            self.two_factor_on()?;
            if self.lock().user(name)?.role != Role::CryptoOfficer {
                return Err(officers_only());
            }
            let password_hash = UserRecord::new(name, Role::CryptoOfficer, password)?.password_hash;
            self.lock().issue(Purpose::ChangePassword {
                by: caller.user,
                name: name.to_string(),
                password_hash,
            })
        })
    }

    /// `registerQuorumPubKey`: an officer registers its own key as a quorum
    /// approver, proving it holds the private key by signing the authdata.
    pub fn register_quorum_key_begin(
        &self,
        session: SessionHandle,
    ) -> Result<AuthData, EngineError> {
        self.audited("CN_REGISTER_QUORUM_PUBKEY", || {
            let (caller, _in_use) = self.officer(session)?;
            self.lock()
                .issue(Purpose::RegisterQuorumKey { by: caller.user })
        })
    }

    /// Answers an authdata document this session's officer was issued by
    /// createUser, changePswd or registerQuorumPubKey: signed digests and
    /// the public key.
    pub fn complete_two_factor(
        &self,
        session: SessionHandle,
        response: &AuthData,
    ) -> Result<(), EngineError> {
        let (caller, _in_use) = self.enter(session)?;
        let operation = self
            .lock()
            .security
            .pending
            .peek(response)
            .map_or("CN_CHANGE_PSWD", Purpose::operation);
        self.audited(operation, || {
            let answered = self
                .lock()
                .security
                .pending
                .take(response, Instant::now(), |p| {
                    p.started_by() == Some(caller.user.as_str())
                })?;
            let (pem, der) = registered_key(response)?;
            answered.verify(response, &der)?;
            let mut state = self.lock();
            match answered.purpose {
                Purpose::CreateUser { by, mut record } => {
                    if state.user(&record.name).is_ok() {
                        return Err(EngineError::UserExists(record.name));
                    }
                    state.quorum_approved(&by, Service::User)?;
                    // A new 2FA officer is also a quorum approver (seed 004).
                    record.auth_key = Some(UserAuthKey {
                        public_key_pem: pem,
                        two_factor: true,
                        quorum: true,
                    });
                    state.put_user(record);
                }
                Purpose::ChangePassword {
                    by,
                    name,
                    password_hash,
                } => {
                    let mut record = state.user(&name)?.clone();
                    let had_two_factor = record.auth_key.as_ref().is_some_and(|k| k.two_factor);
                    // A quorum-only officer adds 2FA with its quorum key; a
                    // 2FA officer may rotate to a new key.
                    if !had_two_factor {
                        one_key_for_both(record.auth_key.as_ref(), &pem)?;
                    }
                    if by != name {
                        state.quorum_approved(&by, Service::User)?;
                    }
                    // Seed 004: adding 2FA registers the officer for quorum;
                    // changing a 2FA officer's password or key removes that
                    // registration (register again to keep approving).
                    record.auth_key = Some(UserAuthKey {
                        public_key_pem: pem,
                        two_factor: true,
                        quorum: !had_two_factor,
                    });
                    record.password_hash = password_hash;
                    record.failed_logins = 0;
                    state.put_user(record);
                }
                Purpose::RegisterQuorumKey { by } => {
                    let mut record = state.user(&by)?.clone();
                    one_key_for_both(record.auth_key.as_ref().filter(|k| k.two_factor), &pem)?;
                    let two_factor = record.auth_key.as_ref().is_some_and(|k| k.two_factor);
                    record.auth_key = Some(UserAuthKey {
                        public_key_pem: pem,
                        two_factor,
                        quorum: true,
                    });
                    state.put_user(record);
                }
                Purpose::Login { .. } => {
                    return Err(EngineError::TwoFactorFailed(
                        "a login is completed without a session".into(),
                    ))
                }
            }
            Ok(())
        })
    }

    fn two_factor_on(&self) -> Result<(), EngineError> {
        if self.lock().security.quorum.settings.two_factor {
            Ok(())
        } else {
            Err(EngineError::FeatureDisabled(
                "two-factor authentication is off for this cluster; a crypto officer turns it on"
                    .into(),
            ))
        }
    }
}
