//! HMAC with secret keys.

use aws_lc_rs::hmac;

use super::{material, Mechanism};
use crate::engine::{error::EngineError, keys::KeyObject};

fn key_for(m: Mechanism, key: &KeyObject) -> hmac::Key {
    let algorithm = match m {
        Mechanism::HmacSha384 => hmac::HMAC_SHA384,
        Mechanism::HmacSha512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    };
    hmac::Key::new(algorithm, material(key))
}

pub fn sign(m: Mechanism, key: &KeyObject, data: &[u8]) -> Result<Vec<u8>, EngineError> {
    Ok(hmac::sign(&key_for(m, key), data).as_ref().to_vec())
}

pub fn verify(m: Mechanism, key: &KeyObject, data: &[u8], tag: &[u8]) -> Result<(), EngineError> {
    hmac::verify(&key_for(m, key), data, tag).map_err(|_| EngineError::SignatureInvalid)
}
