//! `importPubKey`: a public key from outside the HSM (a partner's RSA or EC
//! key) becomes a key object its importer can verify, encrypt or wrap
//! with. Public keys are not secret, so importing one needs no wrapping.

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use rsa::{pkcs1::DecodeRsaPublicKey, traits::PublicKeyParts};

use super::{
    Cluster, EngineError, KeyAttributes, KeyClass, KeyHandle, KeyMaterial, KeyObject, KeySpec,
    SessionHandle,
};
use crate::engine::keys::Curve;

/// Checks the key's bytes against the spec claimed for them: an RSA PKCS#1
/// RSAPublicKey of that size, or a point on that curve.
fn check_public_material(spec: KeySpec, bytes: &[u8]) -> Result<(), EngineError> {
    let invalid =
        |why: &str| EngineError::DataInvalid(format!("the public key is not {spec:?}: {why}"));
    match spec {
        KeySpec::Rsa { bits } => {
            let key = rsa::RsaPublicKey::from_pkcs1_der(bytes)
                .map_err(|_| invalid("not a PKCS#1 RSAPublicKey"))?;
            if key.size() * 8 != bits as usize {
                return Err(invalid("wrong modulus size"));
            }
            Ok(())
        }
        KeySpec::Ec { curve } => {
            let algorithm: &'static dyn VerificationAlgorithm = match curve {
                Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1,
                Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1,
                Curve::Secp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1,
            };
            ParsedPublicKey::new(algorithm, bytes)
                .map(drop)
                .map_err(|_| invalid("not a point on that curve"))
        }
        other => Err(EngineError::KeySpecInvalid(format!(
            "{other:?}: only RSA and EC public keys are imported"
        ))),
    }
}

impl Cluster {
    /// The caller owns the imported key; it does what a public key does.
    pub fn import_public_key(
        &self,
        session: SessionHandle,
        spec: KeySpec,
        bytes: Vec<u8>,
        attributes: KeyAttributes,
    ) -> Result<KeyHandle, EngineError> {
        self.audited("CN_CREATE_OBJECT", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            spec.check()?;
            check_public_material(spec, &bytes)?;
            let mut attributes = attributes;
            attributes.sign = false;
            attributes.decrypt = false;
            attributes.unwrap = false;
            attributes.sensitive = false;
            attributes.private = false;
            attributes.extractable = true;
            attributes.local = false; // made outside the HSM
            attributes.never_extractable = false;
            attributes.always_sensitive = false;
            let mut state = self.lock();
            let handle = self.allocate_handle(&mut state)?;
            state.put_key(KeyObject {
                handle,
                class: KeyClass::Public,
                spec,
                owner: caller.user,
                shared_with: Default::default(),
                attributes,
                material: KeyMaterial::Public(bytes),
                pair: None,
                prepared: Default::default(),
            });
            Ok(handle)
        })
    }
}
