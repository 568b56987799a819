//! Activation and the partition owner: `getCertReq`, `storeCert`, and
//! `getChallenge` / `unlockCO` for a crypto officer locked out (or whose
//! password is lost), authorised by PO.key's signature.

use super::{Cluster, EngineError, Role, SessionHandle, State, UserRecord};
use crate::engine::partition::CERT_PO;

impl Cluster {
    /// `getCertReq`: the partition's CSR (PEM), for the owner to sign into
    /// the POAC. The pre-crypto-officer or a crypto officer may read it.
    pub fn get_cert_req(&self, session: SessionHandle) -> Result<String, EngineError> {
        self.audited("CN_GET_CERT_REQ", || {
            let (caller, _in_use) = self.enter(session)?;
            if !matches!(caller.role, Role::Preco | Role::CryptoOfficer) {
                return Err(EngineError::NotPermitted(
                    "only the pre-crypto-officer or a crypto officer reads the partition's CSR"
                        .into(),
                ));
            }
            let mut partition = self.lock().partition.clone();
            // The key is made once, outside the lock (RSA generation is slow),
            // and kept: the POAC must certify this same key.
            if partition.ensure_key()? {
                let mut state = self.lock();
                if state.partition.key.is_none() {
                    let mut updated = state.partition.clone();
                    updated.key = partition.key.clone();
                    state.put_partition(updated);
                }
                partition = state.partition.clone();
            }
            partition.csr_pem()
        })
    }

    /// `storeCert`: PO.crt (type 4, once and for all), then the POAC
    /// (type 8), before activation; the pre-crypto-officer's job.
    pub fn store_certificate(
        &self,
        session: SessionHandle,
        kind: u32,
        pem: &str,
    ) -> Result<(), EngineError> {
        self.audited("CN_STORE_CERT", || {
            let (caller, _in_use) = self.enter(session)?;
            if !matches!(caller.role, Role::Preco | Role::CryptoOfficer) {
                return Err(EngineError::NotPermitted(
                    "only the pre-crypto-officer stores the owner's certificates".into(),
                ));
            }
            let mut state = self.lock();
            let mut partition = state.partition.clone();
            if state.activated && kind != CERT_PO {
                return Err(EngineError::CertificateExists(
                    "the partition is activated: its certificates can no longer change".into(),
                ));
            }
            partition.store_certificate(kind, pem)?;
            state.put_partition(partition);
            Ok(())
        })
    }

    /// `getChallenge`: a nonce for the owner to sign with PO.key, to unlock
    /// crypto officer `user`. Needs no login: the officers may all be locked.
    pub fn get_challenge(&self, user: &str) -> Result<Vec<u8>, EngineError> {
        self.audited("CN_GET_CHALLENGE", || {
            let mut state = self.lock();
            self.check_officer_target(&state, user)?;
            let mut partition = state.partition.clone();
            let nonce = partition.new_challenge(user)?;
            state.put_partition(partition);
            Ok(nonce)
        })
    }

    /// `unlockCO`: with PO.key's signature over the challenge, unlocks crypto
    /// officer `user` and, given a new password, resets it. A challenge is
    /// good for one try, right or wrong.
    pub fn unlock_officer(
        &self,
        user: &str,
        signature: &[u8],
        new_password: Option<&str>,
    ) -> Result<(), EngineError> {
        self.audited("CN_UNLOCK_CO", || {
            let new_hash = new_password
                .map(|p| UserRecord::new(user, Role::CryptoOfficer, p))
                .transpose()?
                .map(|r| r.password_hash);
            let mut state = self.lock();
            let mut record = self.check_officer_target(&state, user)?;
            let mut partition = state.partition.clone();
            let verdict = partition.take_challenge(user, signature);
            state.put_partition(partition);
            verdict?;
            record.locked = false;
            record.failed_logins = 0;
            if let Some(hash) = new_hash {
                record.password_hash = hash;
                state.sessions.logout_user(user);
            }
            state.put_user(record);
            Ok(())
        })
    }

    /// The crypto officer a challenge is for, on an activated partition.
    fn check_officer_target(&self, state: &State, user: &str) -> Result<UserRecord, EngineError> {
        if !state.activated {
            return Err(EngineError::ActivationIncomplete(
                "the partition is not activated; it has no owner to authorise this".into(),
            ));
        }
        let node = state.serving()?;
        let record = state.nodes[node]
            .users
            .get(user)
            .cloned()
            .ok_or_else(|| EngineError::UserNotFound(user.to_string()))?;
        if record.role != Role::CryptoOfficer {
            return Err(EngineError::NotPermitted(
                "unlockCO is for crypto officers; a crypto officer unlocks other users".into(),
            ));
        }
        Ok(record)
    }
}
