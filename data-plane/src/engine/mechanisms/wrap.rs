//! Key wrapping: AES key wrap with padding (NIST SP 800-38F KWP, PKCS#11
//! `CKM_AES_KEY_WRAP_KWP`) under an AES-128 or AES-256 wrapping key.

use aws_lc_rs::key_wrap::{AesKek, KeyWrapPadded, AES_128, AES_256};

use super::material;
use crate::engine::{error::EngineError, keys::KeyObject};

fn kek(key: &KeyObject) -> Result<AesKek, EngineError> {
    let bytes = material(key);
    let cipher = match bytes.len() {
        16 => &AES_128,
        32 => &AES_256,
        n => {
            return Err(EngineError::MechanismInvalid(format!(
                "AES key wrap needs an AES-128 or AES-256 wrapping key, not {} bits",
                n * 8
            )))
        }
    };
    AesKek::new(cipher, bytes).map_err(|_| EngineError::Crypto("AES key wrap key".into()))
}

pub fn wrap(wrapping: &KeyObject, plain: &[u8]) -> Result<Vec<u8>, EngineError> {
    let mut out = vec![0u8; plain.len() + 16];
    let len = kek(wrapping)?
        .wrap_with_padding(plain, &mut out)
        .map_err(|_| EngineError::Crypto("AES key wrap".into()))?
        .len();
    out.truncate(len);
    Ok(out)
}

pub fn unwrap(wrapping: &KeyObject, wrapped: &[u8]) -> Result<Vec<u8>, EngineError> {
    let mut out = vec![0u8; wrapped.len()];
    let len = kek(wrapping)?
        .unwrap_with_padding(wrapped, &mut out)
        .map_err(|_| EngineError::DecryptFailed)?
        .len();
    out.truncate(len);
    Ok(out)
}
