//! `extractMaskedObject` / `insertMaskedObject`: a key leaves as a blob only
//! this cluster (or one restored from its backup) can take back, whatever
//! its EXTRACTABLE attribute: masking is not export.

use super::{Cluster, EngineError, KeyHandle, Role, SessionHandle};
use crate::engine::masking;

impl Cluster {
    /// The owner extracts a key, with its attributes, owner and shares.
    pub fn extract_masked_object(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
    ) -> Result<Vec<u8>, EngineError> {
        self.audited("CN_EXTRACT_MASKED_OBJECT", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            let key = self.owned_key(&caller, handle)?;
            let masking_key = self.lock().partition.masking_key.clone();
            masking::mask(&masking_key, &key)
        })
    }

    /// Inserts a masked object as a new key (a new handle: the old one may
    /// be taken). Its owner inserts it; users it was shared with that exist
    /// here keep their share.
    pub fn insert_masked_object(
        &self,
        session: SessionHandle,
        blob: &[u8],
    ) -> Result<KeyHandle, EngineError> {
        self.audited("CN_INSERT_MASKED_OBJECT", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            let masking_key = self.lock().partition.masking_key.clone();
            let mut key = masking::unmask(&masking_key, blob)?;
            if key.owner != caller.user {
                return Err(EngineError::NotPermitted(
                    "only the key's owner inserts its masked object".into(),
                ));
            }
            key.spec.check()?;
            let mut state = self.lock();
            let node = state.serving()?;
            let users = &state.nodes[node].users;
            key.shared_with
                .retain(|u| users.get(u).is_some_and(|r| r.role == Role::CryptoUser));
            key.handle = self.allocate_handle(&mut state)?;
            // Its other half, if any, is a separate object.
            key.pair = None;
            key.prepared = Default::default();
            state.put_key(key);
            Ok(state.next_handle)
        })
    }
}
