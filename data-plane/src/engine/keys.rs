//! Key objects: what a key is (spec, class, material), who owns it, who it
//! is shared with, and its attributes.

use std::{any::Any, collections::BTreeSet, sync::Arc};

use aws_lc_rs::{
    encoding::AsDer,
    rand::{SecureRandom, SystemRandom},
    rsa::KeySize,
    signature::{
        EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256K1_SHA256_ASN1_SIGNING,
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
    },
};
use serde::{Deserialize, Serialize};

use super::{attributes::KeyAttributes, error::EngineError};

/// Stable per cluster: applications look a key up once and cache its handle.
pub type KeyHandle = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Curve {
    P256,
    P384,
    Secp256k1,
}

impl Curve {
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        match name.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "prime256v1" | "secp256r1" => Ok(Self::P256),
            "p384" | "p-384" | "secp384r1" => Ok(Self::P384),
            "secp256k1" => Ok(Self::Secp256k1),
            other => Err(EngineError::KeySpecInvalid(format!(
                "curve '{other}' (P-256, P-384, secp256k1)"
            ))),
        }
    }

    /// `OBJ_ATTR_EC_PARAMS`: the named curve's OID, DER-encoded, as hex
    /// (what tools need to build a SubjectPublicKeyInfo around the point).
    pub fn oid_der_hex(self) -> &'static str {
        match self {
            Self::P256 => "06082a8648ce3d030107",
            Self::P384 => "06052b81040022",
            Self::Secp256k1 => "06052b8104000a",
        }
    }

    pub(crate) fn signing(self) -> &'static aws_lc_rs::signature::EcdsaSigningAlgorithm {
        match self {
            Self::P256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
            Self::P384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
            Self::Secp256k1 => &ECDSA_P256K1_SHA256_ASN1_SIGNING,
        }
    }
}

/// The kinds and sizes of key the service offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeySpec {
    Aes { bits: u32 },
    GenericSecret { bytes: usize },
    Rsa { bits: u32 },
    Ec { curve: Curve },
}

impl KeySpec {
    pub fn check(&self) -> Result<(), EngineError> {
        let ok = match self {
            Self::Aes { bits } => matches!(bits, 128 | 192 | 256),
            Self::GenericSecret { bytes } => (16..=800).contains(bytes),
            Self::Rsa { bits } => matches!(bits, 2048 | 3072 | 4096),
            Self::Ec { .. } => true,
        };
        if ok {
            Ok(())
        } else {
            Err(EngineError::KeySpecInvalid(format!(
                "{self:?}: AES 128/192/256, generic secret 16-800 bytes, RSA 2048/3072/4096, EC P-256/P-384/secp256k1"
            )))
        }
    }

    pub fn is_pair(&self) -> bool {
        matches!(self, Self::Rsa { .. } | Self::Ec { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyClass {
    Secret,
    Private,
    Public,
    /// An X.509 certificate kept on the HSM (Azure's certificate storage):
    /// a public object; its spec is that of the key it certifies.
    Certificate,
}

/// Key bytes. Private keys are PKCS#8 DER; public keys as aws-lc-rs
/// verifies them (RSA: PKCS#1 DER; EC: the uncompressed point).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyMaterial {
    Secret(#[serde(with = "super::base64_bytes")] Vec<u8>),
    Private(#[serde(with = "super::base64_bytes")] Vec<u8>),
    Public(#[serde(with = "super::base64_bytes")] Vec<u8>),
    /// The certificate's DER.
    Certificate(#[serde(with = "super::base64_bytes")] Vec<u8>),
}

impl std::fmt::Debug for KeyMaterial {
    /// Never prints key bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(..)"),
            Self::Private(_) => f.write_str("Private(..)"),
            Self::Public(p) => write!(f, "Public({} bytes)", p.len()),
            Self::Certificate(c) => write!(f, "Certificate({} bytes)", c.len()),
        }
    }
}

/// The key's material parsed for its mechanisms (an RSA key pair with its
/// precomputation, an OAEP key, an AES key schedule), made on first use and
/// kept with the key: parsing on every operation would cost more than the
/// operation. One entry per parsed type.
#[derive(Default, Clone)]
pub struct Prepared(Arc<std::sync::RwLock<Vec<Arc<dyn Any + Send + Sync>>>>);

impl Prepared {
    pub fn get_or_init<T: Any + Send + Sync>(
        &self,
        make: impl FnOnce() -> Result<T, EngineError>,
    ) -> Result<Arc<T>, EngineError> {
        let find = |entries: &Vec<Arc<dyn Any + Send + Sync>>| {
            entries.iter().find_map(|e| e.clone().downcast::<T>().ok())
        };
        if let Some(found) = find(&self.0.read().unwrap_or_else(|p| p.into_inner())) {
            return Ok(found);
        }
        let made = Arc::new(make()?);
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(made.clone());
        Ok(made)
    }
}

impl PartialEq for Prepared {
    /// A cache: never part of what a key is.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Prepared {}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyObject {
    pub handle: KeyHandle,
    pub class: KeyClass,
    pub spec: KeySpec,
    pub owner: String,
    pub shared_with: BTreeSet<String>,
    pub attributes: KeyAttributes,
    pub material: KeyMaterial,
    /// The other half of a key pair.
    pub pair: Option<KeyHandle>,
    #[serde(skip)]
    pub prepared: Prepared,
}

impl KeyObject {
    /// The owner and the users it is shared with may use it; certificates
    /// are public objects, which every crypto user of the cluster sees.
    pub fn usable_by(&self, user: &str) -> bool {
        self.owner == user || self.shared_with.contains(user) || self.class == KeyClass::Certificate
    }
}

fn crypto(context: &str) -> impl Fn(aws_lc_rs::error::Unspecified) -> EngineError + '_ {
    move |_| EngineError::Crypto(context.to_string())
}

/// Checks key bytes brought in by unwrapping against the spec they claim,
/// and returns them as material of the right class.
pub fn imported_material(
    spec: KeySpec,
    bytes: Vec<u8>,
) -> Result<(KeyClass, KeyMaterial), EngineError> {
    let invalid =
        |why: &str| EngineError::DataInvalid(format!("the unwrapped key is not {spec:?}: {why}"));
    match spec {
        KeySpec::Aes { bits } if bytes.len() * 8 == bits as usize => {
            Ok((KeyClass::Secret, KeyMaterial::Secret(bytes)))
        }
        KeySpec::GenericSecret { bytes: n } if bytes.len() == n => {
            Ok((KeyClass::Secret, KeyMaterial::Secret(bytes)))
        }
        KeySpec::Rsa { bits } => {
            let pair =
                RsaKeyPair::from_pkcs8(&bytes).map_err(|_| invalid("not an RSA PKCS#8 key"))?;
            if pair.public_modulus_len() * 8 != bits as usize {
                return Err(invalid("wrong modulus size"));
            }
            Ok((KeyClass::Private, KeyMaterial::Private(bytes)))
        }
        KeySpec::Ec { curve } => {
            EcdsaKeyPair::from_pkcs8(curve.signing(), &bytes)
                .map_err(|_| invalid("not a PKCS#8 key on that curve"))?;
            Ok((KeyClass::Private, KeyMaterial::Private(bytes)))
        }
        _ => Err(invalid("wrong length")),
    }
}

/// Fresh key material for a secret key.
pub fn generate_secret(spec: KeySpec) -> Result<KeyMaterial, EngineError> {
    let len = match spec {
        KeySpec::Aes { bits } => bits as usize / 8,
        KeySpec::GenericSecret { bytes } => bytes,
        other => {
            return Err(EngineError::KeySpecInvalid(format!(
                "{other:?} is not a secret key"
            )))
        }
    };
    let mut bytes = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(crypto("random"))?;
    Ok(KeyMaterial::Secret(bytes))
}

/// Fresh `(private, public)` material for a key pair.
pub fn generate_pair(spec: KeySpec) -> Result<(KeyMaterial, KeyMaterial), EngineError> {
    match spec {
        KeySpec::Rsa { bits } => {
            let size = match bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                _ => KeySize::Rsa4096,
            };
            let pair = RsaKeyPair::generate(size).map_err(crypto("RSA key generation"))?;
            let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                .map_err(crypto("RSA key encoding"))?;
            Ok((
                KeyMaterial::Private(private.as_ref().to_vec()),
                KeyMaterial::Public(pair.public_key().as_ref().to_vec()),
            ))
        }
        KeySpec::Ec { curve } => {
            let pair =
                EcdsaKeyPair::generate(curve.signing()).map_err(crypto("EC key generation"))?;
            let private = pair.to_pkcs8v1().map_err(crypto("EC key encoding"))?;
            Ok((
                KeyMaterial::Private(private.as_ref().to_vec()),
                KeyMaterial::Public(pair.public_key().as_ref().to_vec()),
            ))
        }
        other => Err(EngineError::KeySpecInvalid(format!(
            "{other:?} is not a key pair"
        ))),
    }
}
