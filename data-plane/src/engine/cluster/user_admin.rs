//! User administration beyond create/delete: `setUserAttributes` (a crypto
//! officer disables or re-enables a user's login), `disableUserAccess` (a
//! crypto user takes its management away from crypto officers) and
//! `findAllKeys` (who owns which key, for officers who cannot use keys).

use std::collections::BTreeSet;

use super::{Cluster, EngineError, KeyHandle, Role, SessionHandle, UserRecord};

/// What `setUserAttributes` changes; `None` leaves an attribute as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAttributes {
    /// The user cannot log in while set (its logins end at once).
    pub login_disabled: Option<bool>,
}

/// One key as `findAllKeys` lists it: never its material or attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwnership {
    pub handle: KeyHandle,
    pub owner: String,
    pub shared_with: BTreeSet<String>,
}

/// Refuses an officer's change to a user that ran `disableUserAccess`.
pub(super) fn check_officer_may_manage(target: &UserRecord) -> Result<(), EngineError> {
    if target.co_access_disabled {
        Err(EngineError::NotPermitted(format!(
            "user '{}' disabled crypto officer access (disableUserAccess)",
            target.name
        )))
    } else {
        Ok(())
    }
}

impl Cluster {
    pub fn set_user_attributes(
        &self,
        session: SessionHandle,
        name: &str,
        attributes: &UserAttributes,
    ) -> Result<(), EngineError> {
        self.audited("CN_SET_USER_ATTRIBUTES", || {
            let (caller, _in_use) = self.officer(session)?;
            let mut state = self.lock();
            let node = state.serving()?;
            let mut record = state.nodes[node]
                .users
                .get(name)
                .cloned()
                .ok_or_else(|| EngineError::UserNotFound(name.to_string()))?;
            check_officer_may_manage(&record)?;
            if let Some(disabled) = attributes.login_disabled {
                if disabled && caller.user == name {
                    return Err(EngineError::NotPermitted(
                        "an officer cannot disable its own login".into(),
                    ));
                }
                record.disabled = disabled;
                if disabled {
                    state.sessions.logout_user(name);
                }
            }
            state.put_user(record);
            Ok(())
        })
    }

    /// A crypto user stops crypto officers from deleting it, changing its
    /// password or its attributes. There is no undo (only an older backup
    /// has the user without it, as the service documents). Unlocking stays
    /// possible: it grants nothing without the user's password.
    pub fn disable_user_access(
        &self,
        session: SessionHandle,
        name: &str,
    ) -> Result<(), EngineError> {
        self.audited("CN_DISABLE_USER_ACCESS", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            if caller.user != name {
                return Err(EngineError::NotPermitted(
                    "a crypto user disables officers' access to itself only".into(),
                ));
            }
            let mut state = self.lock();
            let node = state.serving()?;
            let mut record = state.nodes[node]
                .users
                .get(&caller.user)
                .cloned()
                .ok_or_else(|| EngineError::UserNotFound(caller.user.clone()))?;
            record.co_access_disabled = true;
            state.put_user(record);
            Ok(())
        })
    }

    /// `findAllKeys`: an officer sees every key (or those `user` owns or
    /// shares), by handle and owner; a crypto user sees its own and those
    /// shared with it.
    pub fn find_all_keys(
        &self,
        session: SessionHandle,
        user: Option<&str>,
    ) -> Result<Vec<KeyOwnership>, EngineError> {
        self.audited("CN_FIND_ALL_KEYS", || {
            let (caller, _in_use) = self.enter(session)?;
            let user = match (caller.role, user) {
                (Role::CryptoOfficer, user) => user.map(str::to_string),
                (Role::CryptoUser, None) => Some(caller.user.clone()),
                (Role::CryptoUser, Some(u)) if u == caller.user => Some(caller.user.clone()),
                _ => {
                    return Err(EngineError::NotPermitted(
                        "crypto officers list every user's keys; a crypto user lists its own"
                            .into(),
                    ))
                }
            };
            let state = self.lock();
            let node = state.serving()?;
            if let Some(u) = &user {
                if !state.nodes[node].users.contains_key(u) {
                    return Err(EngineError::UserNotFound(u.clone()));
                }
            }
            Ok(state.nodes[node]
                .keys
                .values()
                .filter(|k| user.as_deref().is_none_or(|u| k.usable_by(u)))
                .map(|k| KeyOwnership {
                    handle: k.handle,
                    owner: k.owner.clone(),
                    shared_with: k.shared_with.clone(),
                })
                .collect())
        })
    }
}
