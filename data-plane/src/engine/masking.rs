//! Masked objects (`extractMaskedObject` / `insertMaskedObject`): a key with
//! its attributes, owner and shares, sealed with AES-256-GCM under the
//! cluster's masking key. Only the cluster that made the blob, or one
//! restored from its backup (the masking key travels in the backup), can
//! open it; anywhere else the authentication tag fails.
//!
//! Blob: `MAGIC ‖ nonce(12) ‖ AES-256-GCM(json(KeyObject) ‖ tag)`.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use super::{error::EngineError, keys::KeyObject, partition::random};

const MAGIC: &[u8] = b"CHSM-MASKED-1";
/// Binds the ciphertext to its use: a masked object is not any other sealed value.
const AAD: &[u8] = b"cloudhsm masked object";

fn key(masking_key: &[u8]) -> Result<LessSafeKey, EngineError> {
    UnboundKey::new(&AES_256_GCM, masking_key)
        .map(LessSafeKey::new)
        .map_err(|_| EngineError::Crypto("masking key".into()))
}

pub fn mask(masking_key: &[u8], object: &KeyObject) -> Result<Vec<u8>, EngineError> {
    let mut body =
        serde_json::to_vec(object).map_err(|e| EngineError::Crypto(format!("masking: {e}")))?;
    let nonce = random(NONCE_LEN)?;
    let nonce_value = Nonce::try_assume_unique_for_key(&nonce)
        .map_err(|_| EngineError::Crypto("masking nonce".into()))?;
    key(masking_key)?
        .seal_in_place_append_tag(nonce_value, Aad::from(AAD), &mut body)
        .map_err(|_| EngineError::Crypto("masking".into()))?;
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn unmask(masking_key: &[u8], blob: &[u8]) -> Result<KeyObject, EngineError> {
    let rest = blob
        .strip_prefix(MAGIC)
        .filter(|rest| rest.len() > NONCE_LEN + 16)
        .ok_or_else(|| EngineError::MaskedObjectInvalid("not a masked object".into()))?;
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce)
        .map_err(|_| EngineError::MaskedObjectInvalid("not a masked object".into()))?;
    let mut body = sealed.to_vec();
    let plain = key(masking_key)?
        .open_in_place(nonce, Aad::from(AAD), &mut body)
        .map_err(|_| {
            EngineError::MaskedObjectInvalid(
                "it was made by another cluster (only the same cluster, or one restored from its backup, takes it) or it was altered"
                    .into(),
            )
        })?;
    serde_json::from_slice(plain)
        .map_err(|e| EngineError::MaskedObjectInvalid(format!("unreadable content: {e}")))
}
