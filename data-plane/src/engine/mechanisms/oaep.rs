//! RSA-OAEP (SHA-256, MGF1-SHA-256) encryption with the public key and
//! decryption with the private key.

use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
    OAEP_SHA256_MGF1SHA256,
};
use rsa::{pkcs1::DecodeRsaPublicKey, pkcs8::EncodePublicKey};

use super::material;
use crate::engine::{error::EngineError, keys::KeyObject};

fn crypto(what: &str) -> EngineError {
    EngineError::Crypto(what.to_string())
}

/// Public keys are kept as PKCS#1; the encrypting key wants SubjectPublicKeyInfo.
fn public_key(key: &KeyObject) -> Result<std::sync::Arc<OaepPublicEncryptingKey>, EngineError> {
    key.prepared.get_or_init(|| {
        let spki = rsa::RsaPublicKey::from_pkcs1_der(material(key))
            .and_then(|k| k.to_public_key_der().map_err(|_| rsa::pkcs1::Error::Crypto))
            .map_err(|_| crypto("RSA public key encoding"))?;
        let public =
            PublicEncryptingKey::from_der(spki.as_bytes()).map_err(|_| crypto("RSA public key"))?;
        OaepPublicEncryptingKey::new(public).map_err(|_| crypto("RSA-OAEP key"))
    })
}

fn private_key(key: &KeyObject) -> Result<std::sync::Arc<OaepPrivateDecryptingKey>, EngineError> {
    key.prepared.get_or_init(|| {
        let private = PrivateDecryptingKey::from_pkcs8(material(key))
            .map_err(|_| crypto("RSA private key"))?;
        OaepPrivateDecryptingKey::new(private).map_err(|_| crypto("RSA-OAEP key"))
    })
}

pub fn encrypt(key: &KeyObject, plain: &[u8]) -> Result<Vec<u8>, EngineError> {
    let public = public_key(key)?;
    if plain.len() > public.max_plaintext_size(&OAEP_SHA256_MGF1SHA256) {
        return Err(EngineError::DataInvalid(format!(
            "{} bytes; RSA-OAEP with this key takes at most {}",
            plain.len(),
            public.max_plaintext_size(&OAEP_SHA256_MGF1SHA256)
        )));
    }
    let mut out = vec![0u8; public.ciphertext_size()];
    let len = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, plain, &mut out, None)
        .map_err(|_| crypto("RSA-OAEP encryption"))?
        .len();
    out.truncate(len);
    Ok(out)
}

pub fn decrypt(key: &KeyObject, sealed: &[u8]) -> Result<Vec<u8>, EngineError> {
    let private = private_key(key)?;
    let mut out = vec![0u8; private.min_output_size()];
    let len = private
        .decrypt(&OAEP_SHA256_MGF1SHA256, sealed, &mut out, None)
        .map_err(|_| EngineError::DecryptFailed)?
        .len();
    out.truncate(len);
    Ok(out)
}
