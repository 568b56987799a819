//! Logins and sessions, as PKCS#11 has them: an application logs in once per
//! cluster, then opens any number of sessions without logging in again; a
//! session serves one thread at a time; logging out ends them all.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use super::{error::EngineError, users::Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoginId(pub u64);

pub type SessionHandle = u64;

/// Who a session acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: String,
    pub role: Role,
}

struct Login {
    caller: Caller,
    sessions: BTreeSet<SessionHandle>,
}

struct Session {
    login: LoginId,
    busy: Arc<AtomicBool>,
}

/// Marks a session in use until dropped.
pub struct InUse {
    busy: Arc<AtomicBool>,
}

impl Drop for InUse {
    fn drop(&mut self) {
        self.busy.store(false, Ordering::Release);
    }
}

#[derive(Default)]
pub struct SessionTable {
    logins: HashMap<LoginId, Login>,
    sessions: HashMap<SessionHandle, Session>,
    next: u64,
}

impl SessionTable {
    fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub fn login(&mut self, caller: Caller) -> LoginId {
        let id = LoginId(self.next_id());
        self.logins.insert(
            id,
            Login {
                caller,
                sessions: BTreeSet::new(),
            },
        );
        id
    }

    pub fn open(&mut self, login: LoginId) -> Result<SessionHandle, EngineError> {
        let handle = self.next_id();
        let entry = self
            .logins
            .get_mut(&login)
            .ok_or(EngineError::NotLoggedIn)?;
        entry.sessions.insert(handle);
        self.sessions.insert(
            handle,
            Session {
                login,
                busy: Arc::new(AtomicBool::new(false)),
            },
        );
        Ok(handle)
    }

    pub fn close(&mut self, handle: SessionHandle) -> Result<(), EngineError> {
        let session = self
            .sessions
            .remove(&handle)
            .ok_or(EngineError::SessionNotFound(handle))?;
        if let Some(login) = self.logins.get_mut(&session.login) {
            login.sessions.remove(&handle);
        }
        Ok(())
    }

    /// Ends the login and every session opened under it.
    pub fn logout(&mut self, login: LoginId) -> Result<(), EngineError> {
        let entry = self.logins.remove(&login).ok_or(EngineError::NotLoggedIn)?;
        for handle in entry.sessions {
            self.sessions.remove(&handle);
        }
        Ok(())
    }

    /// Ends the logins of a user (deleted, or its password changed by an officer).
    pub fn logout_user(&mut self, user: &str) {
        let ids: Vec<LoginId> = self
            .logins
            .iter()
            .filter(|(_, l)| l.caller.user == user)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let _ = self.logout(id);
        }
    }

    /// The caller of a session, without marking it in use (for a step inside
    /// an operation that already holds the session).
    pub fn caller(&self, handle: SessionHandle) -> Result<Caller, EngineError> {
        let session = self
            .sessions
            .get(&handle)
            .ok_or(EngineError::SessionNotFound(handle))?;
        let login = self
            .logins
            .get(&session.login)
            .ok_or(EngineError::NotLoggedIn)?;
        Ok(login.caller.clone())
    }

    /// The caller of a session, with the session marked in use: a second
    /// thread on the same session gets `SessionBusy` until this is dropped.
    pub fn enter(&self, handle: SessionHandle) -> Result<(Caller, InUse), EngineError> {
        let session = self
            .sessions
            .get(&handle)
            .ok_or(EngineError::SessionNotFound(handle))?;
        let login = self
            .logins
            .get(&session.login)
            .ok_or(EngineError::NotLoggedIn)?;
        if session.busy.swap(true, Ordering::AcqRel) {
            return Err(EngineError::SessionBusy(handle));
        }
        Ok((
            login.caller.clone(),
            InUse {
                busy: session.busy.clone(),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_login_many_sessions_one_thread_each() {
        let mut table = SessionTable::default();
        let caller = Caller {
            user: "cu1".into(),
            role: Role::CryptoUser,
        };
        let login = table.login(caller.clone());
        let a = table.open(login).unwrap();
        let b = table.open(login).unwrap();
        let (who, in_use) = table.enter(a).unwrap();
        assert_eq!(who, caller);
        assert_eq!(table.enter(a).err(), Some(EngineError::SessionBusy(a)));
        assert!(table.enter(b).is_ok(), "another session is free");
        drop(in_use);
        assert!(table.enter(a).is_ok());
        table.logout(login).unwrap();
        assert_eq!(table.enter(b).err(), Some(EngineError::SessionNotFound(b)));
        assert_eq!(table.open(login), Err(EngineError::NotLoggedIn));
    }
}
