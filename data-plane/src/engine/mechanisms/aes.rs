//! AES-GCM: the HSM draws the 12-byte IV; output is IV ‖ ciphertext ‖ tag.

use aws_lc_rs::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_192_GCM, AES_256_GCM, NONCE_LEN},
    rand::{SecureRandom, SystemRandom},
};

use super::material;
use crate::engine::{error::EngineError, keys::KeyObject};

fn key(key: &KeyObject) -> Result<std::sync::Arc<LessSafeKey>, EngineError> {
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

/// AES-CBC with PKCS#7 padding: output is IV(16) ‖ ciphertext.
pub fn cbc_seal(k: &KeyObject, data: &[u8]) -> Result<Vec<u8>, EngineError> {
    use aws_lc_rs::cipher::{PaddedBlockEncryptingKey, UnboundCipherKey};
    let unbound = UnboundCipherKey::new(cbc_algorithm(k)?, material(k))
        .map_err(|_| EngineError::Crypto("AES key".into()))?;
    let key = PaddedBlockEncryptingKey::cbc_pkcs7(unbound)
        .map_err(|_| EngineError::Crypto("AES-CBC".into()))?;
    let mut body = data.to_vec();
    let context = key
        .encrypt(&mut body)
        .map_err(|_| EngineError::Crypto("AES-CBC".into()))?;
    let iv: &[u8] = (&context)
        .try_into()
        .map_err(|_| EngineError::Crypto("AES-CBC IV".into()))?;
    let mut out = iv.to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

/// AES-CBC with PKCS#7 padding under the caller's IV: `data` is IV(16) ‖
/// plaintext; output is IV ‖ ciphertext, as [`cbc_seal`]'s.
pub fn cbc_seal_with_iv(k: &KeyObject, data: &[u8]) -> Result<Vec<u8>, EngineError> {
    use aws_lc_rs::cipher::{EncryptionContext, PaddedBlockEncryptingKey, UnboundCipherKey};
    if data.len() < 16 {
        return Err(EngineError::DataInvalid(
            "AES-CBC input starts with its 16-byte IV".into(),
        ));
    }
    let (iv, plain) = data.split_at(16);
    let iv: [u8; 16] = iv
        .try_into()
        .map_err(|_| EngineError::DataInvalid("IV".into()))?;
    let unbound = UnboundCipherKey::new(cbc_algorithm(k)?, material(k))
        .map_err(|_| EngineError::Crypto("AES key".into()))?;
    let key = PaddedBlockEncryptingKey::cbc_pkcs7(unbound)
        .map_err(|_| EngineError::Crypto("AES-CBC".into()))?;
    let mut body = plain.to_vec();
    key.less_safe_encrypt(&mut body, EncryptionContext::Iv128(iv.into()))
        .map_err(|_| EngineError::Crypto("AES-CBC".into()))?;
    let mut out = iv.to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn cbc_open(k: &KeyObject, sealed: &[u8]) -> Result<Vec<u8>, EngineError> {
    use aws_lc_rs::cipher::{DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey};
    if sealed.len() < 32 || sealed.len() % 16 != 0 {
        return Err(EngineError::DataInvalid(
            "AES-CBC input is an IV and whole blocks".into(),
        ));
    }
    let (iv, body) = sealed.split_at(16);
    let iv: [u8; 16] = iv
        .try_into()
        .map_err(|_| EngineError::DataInvalid("IV".into()))?;
    let unbound = UnboundCipherKey::new(cbc_algorithm(k)?, material(k))
        .map_err(|_| EngineError::Crypto("AES key".into()))?;
    let key = PaddedBlockDecryptingKey::cbc_pkcs7(unbound)
        .map_err(|_| EngineError::Crypto("AES-CBC".into()))?;
    let mut buffer = body.to_vec();
    let plain = key
        .decrypt(&mut buffer, DecryptionContext::Iv128(iv.into()))
        .map_err(|_| EngineError::DecryptFailed)?;
    Ok(plain.to_vec())
}

fn cbc_algorithm(k: &KeyObject) -> Result<&'static aws_lc_rs::cipher::Algorithm, EngineError> {
    match material(k).len() {
        16 => Ok(&aws_lc_rs::cipher::AES_128),
        24 => Ok(&aws_lc_rs::cipher::AES_192),
        32 => Ok(&aws_lc_rs::cipher::AES_256),
        _ => Err(EngineError::Crypto("AES key length".into())),
    }
}
