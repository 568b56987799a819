//! Mechanisms as a registry: each names the key kinds it works with and the
//! operations it offers; anything else is `CKR_MECHANISM_INVALID`.

mod aes;
pub mod digest;
mod ec;
mod hmac;
mod oaep;
mod rsa;
mod wrap;

use serde::{Deserialize, Serialize};

use super::{
    error::EngineError,
    keys::{KeyClass, KeyObject, KeySpec},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mechanism {
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    RsaPkcs1Sha512,
    RsaPssSha256,
    RsaPssSha384,
    RsaPssSha512,
    /// ECDSA with the curve's own hash (SHA-256 for P-256 and secp256k1, SHA-384 for P-384).
    Ecdsa,
    HmacSha256,
    HmacSha384,
    HmacSha512,
    /// AES-GCM with a 12-byte IV made by the HSM and returned before the ciphertext.
    AesGcm,
    /// AES key wrap with padding (KWP), for wrapKey / unwrapKey.
    AesKeyWrapPad,
    /// AES-CBC with PKCS#7 padding; the HSM draws the IV and returns it first.
    AesCbcPad,
    /// RSA-OAEP with SHA-256 and MGF1-SHA-256.
    RsaOaep,
    /// RSA PKCS#1 v1.5 over what the caller gives, padded as given (PKCS#11
    /// `CKM_RSA_PKCS` signing; a SHA-256/384/512 DigestInfo takes aws-lc-rs).
    RsaPkcs1Prehashed,
    /// RSA-PSS over a hash the caller computed (PKCS#11 `CKM_RSA_PKCS_PSS`),
    /// salt as long as the hash, MGF1 with the same hash.
    RsaPssSha256Prehashed,
    RsaPssSha384Prehashed,
    RsaPssSha512Prehashed,
    /// ECDSA over a hash the caller computed (PKCS#11 `CKM_ECDSA`), as long
    /// as the curve's own hash (the PKCS#11 module truncates or pads).
    EcdsaPrehashed,
    /// AES-CBC with PKCS#7 padding under the caller's IV: the input is
    /// IV(16) ‖ plaintext (PKCS#11 `CKM_AES_CBC_PAD`); output as `AesCbcPad`.
    AesCbcPadWithIv,
}

impl Mechanism {
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        Ok(match name.to_ascii_uppercase().replace('-', "_").as_str() {
            "SHA256_RSA_PKCS" | "RSA_PKCS1_SHA256" => Self::RsaPkcs1Sha256,
            "SHA384_RSA_PKCS" | "RSA_PKCS1_SHA384" => Self::RsaPkcs1Sha384,
            "SHA512_RSA_PKCS" | "RSA_PKCS1_SHA512" => Self::RsaPkcs1Sha512,
            "SHA256_RSA_PKCS_PSS" | "RSA_PSS_SHA256" => Self::RsaPssSha256,
            "SHA384_RSA_PKCS_PSS" | "RSA_PSS_SHA384" => Self::RsaPssSha384,
            "SHA512_RSA_PKCS_PSS" | "RSA_PSS_SHA512" => Self::RsaPssSha512,
            "ECDSA" => Self::Ecdsa,
            "RSA_PKCS1_PREHASHED" => Self::RsaPkcs1Prehashed,
            "RSA_PSS_SHA256_PREHASHED" => Self::RsaPssSha256Prehashed,
            "RSA_PSS_SHA384_PREHASHED" => Self::RsaPssSha384Prehashed,
            "RSA_PSS_SHA512_PREHASHED" => Self::RsaPssSha512Prehashed,
            "ECDSA_PREHASHED" => Self::EcdsaPrehashed,
            "AES_CBC_PAD_WITH_IV" => Self::AesCbcPadWithIv,
            "SHA256_HMAC" | "HMAC_SHA256" => Self::HmacSha256,
            "SHA384_HMAC" | "HMAC_SHA384" => Self::HmacSha384,
            "SHA512_HMAC" | "HMAC_SHA512" => Self::HmacSha512,
            "AES_GCM" => Self::AesGcm,
            "AES_CBC_PAD" => Self::AesCbcPad,
            "RSA_PKCS_OAEP" | "RSA_OAEP" | "RSA_OAEP_SHA256" => Self::RsaOaep,
            "AES_KEY_WRAP_PAD" | "AES_KEY_WRAP_KWP" | "CLOUDHSM_AES_KEY_WRAP_PKCS5_PAD" => {
                Self::AesKeyWrapPad
            }
            other => return Err(EngineError::MechanismInvalid(other.to_string())),
        })
    }

    fn invalid(self) -> EngineError {
        EngineError::MechanismInvalid(format!("{self:?}"))
    }

    /// Signs with a private or secret key; attribute checks are the caller's.
    pub fn sign(self, key: &KeyObject, data: &[u8]) -> Result<Vec<u8>, EngineError> {
        match (self, key.spec, key.class) {
            (
                Self::RsaPkcs1Sha256
                | Self::RsaPkcs1Sha384
                | Self::RsaPkcs1Sha512
                | Self::RsaPssSha256
                | Self::RsaPssSha384
                | Self::RsaPssSha512,
                KeySpec::Rsa { .. },
                KeyClass::Private,
            ) => rsa::sign(self, key, data),
            (Self::Ecdsa, KeySpec::Ec { curve }, KeyClass::Private) => ec::sign(curve, key, data),
            (
                Self::RsaPkcs1Prehashed
                | Self::RsaPssSha256Prehashed
                | Self::RsaPssSha384Prehashed
                | Self::RsaPssSha512Prehashed,
                KeySpec::Rsa { .. },
                KeyClass::Private,
            ) => rsa::sign_prehashed(self, key, data),
            (Self::EcdsaPrehashed, KeySpec::Ec { curve }, KeyClass::Private) => {
                ec::sign_prehashed(curve, key, data)
            }
            (
                Self::HmacSha256 | Self::HmacSha384 | Self::HmacSha512,
                KeySpec::GenericSecret { .. } | KeySpec::Aes { .. },
                KeyClass::Secret,
            ) => hmac::sign(self, key, data),
            _ => Err(self.invalid()),
        }
    }

    /// Verifies with a public or secret key.
    pub fn verify(self, key: &KeyObject, data: &[u8], signature: &[u8]) -> Result<(), EngineError> {
        match (self, key.spec, key.class) {
            (
                Self::RsaPkcs1Sha256
                | Self::RsaPkcs1Sha384
                | Self::RsaPkcs1Sha512
                | Self::RsaPssSha256
                | Self::RsaPssSha384
                | Self::RsaPssSha512,
                KeySpec::Rsa { .. },
                KeyClass::Public,
            ) => rsa::verify(self, key, data, signature),
            (Self::Ecdsa, KeySpec::Ec { curve }, KeyClass::Public) => {
                ec::verify(curve, key, data, signature)
            }
            (
                Self::RsaPkcs1Prehashed
                | Self::RsaPssSha256Prehashed
                | Self::RsaPssSha384Prehashed
                | Self::RsaPssSha512Prehashed,
                KeySpec::Rsa { .. },
                KeyClass::Public,
            ) => rsa::verify_prehashed(self, key, data, signature),
            (Self::EcdsaPrehashed, KeySpec::Ec { curve }, KeyClass::Public) => {
                ec::verify_prehashed(curve, key, data, signature)
            }
            (
                Self::HmacSha256 | Self::HmacSha384 | Self::HmacSha512,
                KeySpec::GenericSecret { .. } | KeySpec::Aes { .. },
                KeyClass::Secret,
            ) => hmac::verify(self, key, data, signature),
            _ => Err(self.invalid()),
        }
    }

    /// `aad` is used by AES-GCM only.
    pub fn encrypt(self, key: &KeyObject, data: &[u8], aad: &[u8]) -> Result<Vec<u8>, EngineError> {
        match (self, key.spec, key.class) {
            (Self::AesGcm, KeySpec::Aes { .. }, _) => aes::gcm_seal(key, data, aad),
            (Self::AesCbcPad, KeySpec::Aes { .. }, _) => aes::cbc_seal(key, data),
            (Self::AesCbcPadWithIv, KeySpec::Aes { .. }, _) => aes::cbc_seal_with_iv(key, data),
            (Self::RsaOaep, KeySpec::Rsa { .. }, KeyClass::Public) => oaep::encrypt(key, data),
            _ => Err(self.invalid()),
        }
    }

    pub fn decrypt(self, key: &KeyObject, data: &[u8], aad: &[u8]) -> Result<Vec<u8>, EngineError> {
        match (self, key.spec, key.class) {
            (Self::AesGcm, KeySpec::Aes { .. }, _) => aes::gcm_open(key, data, aad),
            (Self::AesCbcPad | Self::AesCbcPadWithIv, KeySpec::Aes { .. }, _) => {
                aes::cbc_open(key, data)
            }
            (Self::RsaOaep, KeySpec::Rsa { .. }, KeyClass::Private) => oaep::decrypt(key, data),
            _ => Err(self.invalid()),
        }
    }
}

impl Mechanism {
    /// Wraps key bytes under `wrapping` (an AES key, or an RSA public key for
    /// RSA-OAEP; unwrapping then takes the private key).
    pub fn wrap(self, wrapping: &KeyObject, plain: &[u8]) -> Result<Vec<u8>, EngineError> {
        match (self, wrapping.spec) {
            (Self::AesKeyWrapPad, KeySpec::Aes { .. }) => wrap::wrap(wrapping, plain),
            // RSA-OAEP wraps under the public key.
            (Self::RsaOaep, KeySpec::Rsa { .. }) if wrapping.class == KeyClass::Public => {
                oaep::encrypt(wrapping, plain)
            }
            _ => Err(self.invalid()),
        }
    }

    pub fn unwrap(self, wrapping: &KeyObject, wrapped: &[u8]) -> Result<Vec<u8>, EngineError> {
        match (self, wrapping.spec) {
            (Self::AesKeyWrapPad, KeySpec::Aes { .. }) => wrap::unwrap(wrapping, wrapped),
            (Self::RsaOaep, KeySpec::Rsa { .. }) if wrapping.class == KeyClass::Private => {
                oaep::decrypt(wrapping, wrapped)
            }
            _ => Err(self.invalid()),
        }
    }
}

/// The bytes of a key of the class an operation needs.
fn material<'a>(key: &'a KeyObject) -> &'a [u8] {
    match &key.material {
        super::keys::KeyMaterial::Secret(b)
        | super::keys::KeyMaterial::Private(b)
        | super::keys::KeyMaterial::Public(b) => b,
        // No mechanism takes a certificate (its usages are all false).
        super::keys::KeyMaterial::Certificate(_) => &[],
    }
}
