//! ECDSA (ASN.1 DER signatures), hash by curve.

use aws_lc_rs::{
    digest,
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

fn curve_digest(curve: Curve, hash: &[u8]) -> Result<digest::Digest, EngineError> {
    let algorithm = match curve {
        Curve::P384 => &digest::SHA384,
        Curve::P256 | Curve::Secp256k1 => &digest::SHA256,
    };
    digest::Digest::import_less_safe(hash, algorithm).map_err(|_| {
        EngineError::DataInvalid(format!(
            "the hash must be {} bytes for this curve",
            algorithm.output_len()
        ))
    })
}

/// Signs a hash the caller computed, as long as the curve's own hash.
pub fn sign_prehashed(curve: Curve, key: &KeyObject, hash: &[u8]) -> Result<Vec<u8>, EngineError> {
    let digest = curve_digest(curve, hash)?;
    let pair = key.prepared.get_or_init(|| {
        EcdsaKeyPair::from_pkcs8(curve.signing(), material(key))
            .map_err(|e| EngineError::Crypto(format!("EC key: {e}")))
    })?;
    pair.sign_digest(&digest)
        .map(|s| s.as_ref().to_vec())
        .map_err(|_| EngineError::Crypto("ECDSA signing".into()))
}

pub fn verify_prehashed(
    curve: Curve,
    key: &KeyObject,
    hash: &[u8],
    sig: &[u8],
) -> Result<(), EngineError> {
    let digest = curve_digest(curve, hash)?;
    let algorithm: &signature::EcdsaVerificationAlgorithm = match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1,
        Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1,
        Curve::Secp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1,
    };
    UnparsedPublicKey::new(algorithm, material(key))
        .verify_digest(&digest, sig)
        .map_err(|_| EngineError::SignatureInvalid)
}
