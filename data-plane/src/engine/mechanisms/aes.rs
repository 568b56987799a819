//! AES-GCM: the HSM draws the 12-byte IV; output is IV ‖ ciphertext ‖ tag.

use aws_lc_rs::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_192_GCM, AES_256_GCM, NONCE_LEN},
    rand::{SecureRandom, SystemRandom},
};

use super::material;
use crate::engine::{error::EngineError, keys::KeyObject};

fn key(key: &KeyObject) -> Result<&LessSafeKey, EngineError> {
    key.prepared.get_or_init(|| schedule(key))
}

fn schedule(key: &KeyObject) -> Result<LessSafeKey, EngineError> {
    let bytes = material(key);
    let algorithm = match bytes.len() {
        16 => &AES_128_GCM,
        24 => &AES_192_GCM,
        _ => &AES_256_GCM,
    };
    UnboundKey::new(algorithm, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| EngineError::Crypto("AES key".into()))
}

pub fn gcm_seal(k: &KeyObject, data: &[u8], aad: &[u8]) -> Result<Vec<u8>, EngineError> {
    let mut iv = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut iv)
        .map_err(|_| EngineError::Crypto("random".into()))?;
    let mut out = data.to_vec();
    key(k)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::from(aad), &mut out)
        .map_err(|_| EngineError::Crypto("AES-GCM".into()))?;
    let mut sealed = iv.to_vec();
    sealed.extend_from_slice(&out);
    Ok(sealed)
}

pub fn gcm_open(k: &KeyObject, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, EngineError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(EngineError::DataInvalid(
            "AES-GCM input is shorter than IV and tag".into(),
        ));
    }
    let (iv, body) = sealed.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(iv).map_err(|_| EngineError::DataInvalid("IV".into()))?;
    let mut buffer = body.to_vec();
    let plain = key(k)?
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| EngineError::DecryptFailed)?;
    Ok(plain.to_vec())
}
