//! RSA PKCS#1 v1.5 and PSS signatures (aws-lc-rs: the hot path).

use aws_lc_rs::{
    digest,
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

/// The DER prefixes of PKCS#1 DigestInfo for the hashes aws-lc-rs signs with.
const DIGEST_INFO_PREFIXES: [(&[u8], &digest::Algorithm, Mechanism); 3] = [
    (
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        &digest::SHA256,
        Mechanism::RsaPkcs1Sha256,
    ),
    (
        &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        &digest::SHA384,
        Mechanism::RsaPkcs1Sha384,
    ),
    (
        &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        &digest::SHA512,
        Mechanism::RsaPkcs1Sha512,
    ),
];

/// The hashed-inside mechanism and the digest a prehashed input stands for.
fn prehashed(m: Mechanism, data: &[u8]) -> Result<(Mechanism, digest::Digest), EngineError> {
    let (hashed, algorithm, hash) = match m {
        Mechanism::RsaPkcs1Prehashed => {
            let (prefix, algorithm, hashed) = DIGEST_INFO_PREFIXES
                .iter()
                .find(|(prefix, algorithm, _)| {
                    data.len() == prefix.len() + algorithm.output_len() && data.starts_with(prefix)
                })
                .ok_or_else(|| {
                    EngineError::DataInvalid(
                        "RSA PKCS#1 input must be a SHA-256, SHA-384 or SHA-512 DigestInfo".into(),
                    )
                })?;
            (*hashed, *algorithm, &data[prefix.len()..])
        }
        Mechanism::RsaPssSha384Prehashed => (Mechanism::RsaPssSha384, &digest::SHA384, data),
        Mechanism::RsaPssSha512Prehashed => (Mechanism::RsaPssSha512, &digest::SHA512, data),
        _ => (Mechanism::RsaPssSha256, &digest::SHA256, data),
    };
    let digest = digest::Digest::import_less_safe(hash, algorithm).map_err(|_| {
        EngineError::DataInvalid(format!("the hash must be {} bytes", algorithm.output_len()))
    })?;
    Ok((hashed, digest))
}

/// PKCS#1 v1.5 over input that is no DigestInfo aws-lc-rs knows (another
/// hash, TLS 1.1's MD5 ‖ SHA-1): padded as given, with the `rsa` crate.
fn sign_raw(key: &KeyObject, data: &[u8]) -> Result<Vec<u8>, EngineError> {
    use rsa::pkcs8::DecodePrivateKey;
    let private = key.prepared.get_or_init(|| {
        rsa::RsaPrivateKey::from_pkcs8_der(material(key))
            .map_err(|e| EngineError::Crypto(format!("RSA key: {e}")))
    })?;
    private
        .sign(rsa::Pkcs1v15Sign::new_unprefixed(), data)
        .map_err(|_| EngineError::DataInvalid("too long for the modulus".into()))
}

fn verify_raw(key: &KeyObject, data: &[u8], sig: &[u8]) -> Result<(), EngineError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let public = rsa::RsaPublicKey::from_pkcs1_der(material(key))
        .map_err(|e| EngineError::Crypto(format!("RSA key: {e}")))?;
    public
        .verify(rsa::Pkcs1v15Sign::new_unprefixed(), data, sig)
        .map_err(|_| EngineError::SignatureInvalid)
}

pub fn sign_prehashed(m: Mechanism, key: &KeyObject, data: &[u8]) -> Result<Vec<u8>, EngineError> {
    if m == Mechanism::RsaPkcs1Prehashed && prehashed(m, data).is_err() {
        return sign_raw(key, data);
    }
    let (hashed, digest) = prehashed(m, data)?;
    let pair = key.prepared.get_or_init(|| {
        RsaKeyPair::from_pkcs8(material(key))
            .map_err(|e| EngineError::Crypto(format!("RSA key: {e}")))
    })?;
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign_digest(padding(hashed), &digest, &mut signature)
        .map_err(|_| EngineError::Crypto("RSA signing".into()))?;
    Ok(signature)
}

pub fn verify_prehashed(
    m: Mechanism,
    key: &KeyObject,
    data: &[u8],
    sig: &[u8],
) -> Result<(), EngineError> {
    if m == Mechanism::RsaPkcs1Prehashed && prehashed(m, data).is_err() {
        return verify_raw(key, data, sig);
    }
    let (hashed, digest) = prehashed(m, data)?;
    UnparsedPublicKey::new(verification(hashed), material(key))
        .verify_digest(&digest, sig)
        .map_err(|_| EngineError::SignatureInvalid)
}
