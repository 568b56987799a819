//! ECDSA (ASN.1 DER signatures), hash by curve.

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{self, EcdsaKeyPair, UnparsedPublicKey},
};

use super::material;
use crate::engine::{
    error::EngineError,
    keys::{Curve, KeyObject},
};

pub fn sign(curve: Curve, key: &KeyObject, data: &[u8]) -> Result<Vec<u8>, EngineError> {
    let pair = key.prepared.get_or_init(|| {
        EcdsaKeyPair::from_pkcs8(curve.signing(), material(key))
            .map_err(|e| EngineError::Crypto(format!("EC key: {e}")))
    })?;
    pair.sign(&SystemRandom::new(), data)
        .map(|s| s.as_ref().to_vec())
        .map_err(|_| EngineError::Crypto("ECDSA signing".into()))
}

pub fn verify(curve: Curve, key: &KeyObject, data: &[u8], sig: &[u8]) -> Result<(), EngineError> {
    let algorithm: &signature::EcdsaVerificationAlgorithm = match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1,
        Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1,
        Curve::Secp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1,
    };
    UnparsedPublicKey::new(algorithm, material(key))
        .verify(data, sig)
        .map_err(|_| EngineError::SignatureInvalid)
}
