//! RSA PKCS#1 v1.5 and PSS signatures (aws-lc-rs: the hot path).

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{self, RsaKeyPair, UnparsedPublicKey},
};

use super::{material, Mechanism};
use crate::engine::{error::EngineError, keys::KeyObject};

fn padding(m: Mechanism) -> &'static dyn signature::RsaEncoding {
    match m {
        Mechanism::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
        Mechanism::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
        Mechanism::RsaPssSha256 => &signature::RSA_PSS_SHA256,
        Mechanism::RsaPssSha384 => &signature::RSA_PSS_SHA384,
        Mechanism::RsaPssSha512 => &signature::RSA_PSS_SHA512,
        _ => &signature::RSA_PKCS1_SHA256,
    }
}

fn verification(m: Mechanism) -> &'static signature::RsaParameters {
    match m {
        Mechanism::RsaPkcs1Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Mechanism::RsaPkcs1Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Mechanism::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
        Mechanism::RsaPssSha384 => &signature::RSA_PSS_2048_8192_SHA384,
        Mechanism::RsaPssSha512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

pub fn sign(m: Mechanism, key: &KeyObject, data: &[u8]) -> Result<Vec<u8>, EngineError> {
    // Parsing a PKCS#8 RSA key checks it, which costs more than a signature:
    // done once per key.
    let pair = key.prepared.get_or_init(|| {
        RsaKeyPair::from_pkcs8(material(key))
            .map_err(|e| EngineError::Crypto(format!("RSA key: {e}")))
    })?;
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign(padding(m), &SystemRandom::new(), data, &mut signature)
        .map_err(|_| EngineError::Crypto("RSA signing".into()))?;
    Ok(signature)
}

pub fn verify(m: Mechanism, key: &KeyObject, data: &[u8], sig: &[u8]) -> Result<(), EngineError> {
    UnparsedPublicKey::new(verification(m), material(key))
        .verify(data, sig)
        .map_err(|_| EngineError::SignatureInvalid)
}
