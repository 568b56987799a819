//! The partition's identity and ownership, as the Azure Cloud HSM onboarding
//! flow has them: the partition key and its CSR (`getCertReq`), the
//! customer's partition-owner certificate (PO.crt, `storeCert 4`) and the
//! POAC, the partition's CSR signed with PO.key (`storeCert 8`). The PO key
//! itself never reaches the HSM; it later signs `getChallenge` nonces to
//! unlock or reset a crypto officer (`unlockCO`). The per-cluster masking key
//! of masked objects lives here too.
//!
//! One record per cluster (not per node): the service writes the owner's
//! certificates to every HSM of the cluster, and a backup carries the record,
//! so a restored cluster keeps its owner and can take its masked objects.

use std::collections::BTreeMap;

use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der},
    rand::{SecureRandom, SystemRandom},
    rsa::KeySize,
    signature::{
        RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm, ECDSA_P256_SHA256_ASN1,
        ECDSA_P384_SHA384_ASN1, RSA_PKCS1_2048_8192_SHA256,
    },
};
use serde::{Deserialize, Serialize};
use x509_parser::{
    certificate::X509Certificate, certification_request::X509CertificationRequest,
    prelude::FromDer, public_key::PublicKey,
};

use super::error::EngineError;

/// `storeCert` certificate types, as `azcloudhsm_mgmt_util` numbers them.
pub const CERT_PO: u32 = 4;
pub const CERT_POAC: u32 = 8;

/// Bytes of a `getChallenge` nonce.
const CHALLENGE_LEN: usize = 32;

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Partition {
    /// A random serial naming the partition in its CSR.
    pub serial: String,
    /// PKCS#8 DER of the partition key, made at the first `getCertReq` (RSA
    /// key generation is slow; most test clusters never need one).
    pub key: Option<Vec<u8>>,
    /// PO.crt, DER.
    pub po_certificate: Option<Vec<u8>>,
    /// The POAC, DER.
    pub poac: Option<Vec<u8>>,
    /// AES-256 key of masked objects.
    pub masking_key: Vec<u8>,
    /// Outstanding `getChallenge` nonces, by user; each is good for one try.
    pub challenges: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for Partition {
    /// Never prints key bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("serial", &self.serial)
            .field("key", &self.key.is_some())
            .field("po_certificate", &self.po_certificate.is_some())
            .field("poac", &self.poac.is_some())
            .finish_non_exhaustive()
    }
}

pub(crate) fn random(len: usize) -> Result<Vec<u8>, EngineError> {
    let mut bytes = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| EngineError::Crypto("random".into()))?;
    Ok(bytes)
}

fn invalid(why: impl Into<String>) -> EngineError {
    EngineError::CertificateInvalid(why.into())
}

/// PEM (one certificate) to DER.
fn pem_to_der(pem: &str, what: &str) -> Result<Vec<u8>, EngineError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|_| invalid(format!("{what} is not a PEM certificate")))?;
    Ok(pem.contents)
}

fn parse_certificate<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>, EngineError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| invalid(format!("{what} is not an X.509 certificate: {e}")))?;
    if !cert.validity().is_valid() {
        return Err(invalid(format!("{what} is outside its validity period")));
    }
    Ok(cert)
}

impl Partition {
    pub fn new() -> Result<Self, EngineError> {
        let serial: String = random(8)?.iter().map(|b| format!("{b:02X}")).collect();
        Ok(Self {
            serial,
            key: None,
            po_certificate: None,
            poac: None,
            masking_key: random(32)?,
            challenges: BTreeMap::new(),
        })
    }

    /// What activation still needs, if anything.
    pub fn check_ready(&self) -> Result<(), EngineError> {
        match (&self.po_certificate, &self.poac) {
            (None, _) => Err(EngineError::ActivationIncomplete(
                "store the partition owner certificate first (storeCert PO.crt 4)".into(),
            )),
            (Some(_), None) => Err(EngineError::ActivationIncomplete(
                "store the POAC first: the partition's CSR (getCertReq) signed with PO.key (storeCert POAC.crt 8)"
                    .into(),
            )),
            (Some(_), Some(_)) => Ok(()),
        }
    }

    /// Makes the partition key if there is none yet; whether it did.
    pub fn ensure_key(&mut self) -> Result<bool, EngineError> {
        if self.key.is_some() {
            return Ok(false);
        }
        // RSA-2048, as the service's partition keys are.
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| EngineError::Crypto("partition key generation".into()))?;
        let der = AsDer::<Pkcs8V1Der>::as_der(&pair)
            .map_err(|_| EngineError::Crypto("partition key encoding".into()))?;
        self.key = Some(der.as_ref().to_vec());
        Ok(true)
    }

    fn key_pair(&self) -> Result<rcgen::KeyPair, EngineError> {
        let der = self.key.as_deref().ok_or_else(|| {
            EngineError::ActivationIncomplete(
                "the partition has no CSR yet: run getCertReq first".into(),
            )
        })?;
        rcgen::KeyPair::try_from(der)
            .map_err(|e| EngineError::Crypto(format!("partition key: {e}")))
    }

    /// `getCertReq`: the partition's PKCS#10 CSR, PEM (after [`Self::ensure_key`]).
    pub fn csr_pem(&self) -> Result<String, EngineError> {
        let key = self.key_pair()?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("HSM:{}:PARTN:1, for FIPS mode", self.serial),
        );
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Azure Cloud HSM emulator");
        params
            .serialize_request(&key)
            .and_then(|csr| csr.pem())
            .map_err(|e| EngineError::Crypto(format!("partition CSR: {e}")))
    }

    /// `storeCert`: PO.crt once and for all, then the POAC, which must be
    /// signed by PO.crt's key and certify this partition's key.
    pub fn store_certificate(&mut self, kind: u32, pem: &str) -> Result<(), EngineError> {
        match kind {
            CERT_PO => {
                if self.po_certificate.is_some() {
                    return Err(EngineError::CertificateExists(
                        "the partition owner certificate is stored and can never be changed".into(),
                    ));
                }
                let der = pem_to_der(pem, "PO.crt")?;
                parse_certificate(&der, "PO.crt")?;
                self.po_certificate = Some(der);
                Ok(())
            }
            CERT_POAC => {
                let po_der = self.po_certificate.as_deref().ok_or_else(|| {
                    EngineError::ActivationIncomplete(
                        "store the partition owner certificate (type 4) before the POAC".into(),
                    )
                })?;
                let key = self.key_pair()?;
                let der = pem_to_der(pem, "POAC")?;
                let poac = parse_certificate(&der, "POAC")?;
                let (_, po) = X509Certificate::from_der(po_der)
                    .map_err(|e| EngineError::Storage(format!("stored PO.crt: {e}")))?;
                poac.verify_signature(Some(po.public_key())).map_err(|_| {
                    invalid("the POAC is not signed by the partition owner's key (PO.crt)")
                })?;
                if poac.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
                    return Err(invalid(
                        "the POAC does not certify this partition's key: sign the CSR getCertReq returns",
                    ));
                }
                self.poac = Some(der);
                Ok(())
            }
            other => Err(EngineError::DataInvalid(format!(
                "certificate type {other}: {CERT_PO} (PO.crt) or {CERT_POAC} (POAC)"
            ))),
        }
    }

    /// `getChallenge`: a fresh nonce for `user`, replacing any earlier one.
    pub fn new_challenge(&mut self, user: &str) -> Result<Vec<u8>, EngineError> {
        let nonce = random(CHALLENGE_LEN)?;
        self.challenges.insert(user.to_string(), nonce.clone());
        Ok(nonce)
    }

    /// Takes `user`'s challenge (one try per challenge) and checks that
    /// `signature` is PO.key's signature of it: RSA PKCS#1 v1.5 with SHA-256
    /// or ECDSA (P-256 / SHA-256, P-384 / SHA-384), as
    /// `openssl dgst -sha256 -sign PO.key` makes.
    pub fn take_challenge(&mut self, user: &str, signature: &[u8]) -> Result<(), EngineError> {
        let nonce = self.challenges.remove(user).ok_or_else(|| {
            EngineError::DataInvalid(format!(
                "no challenge is outstanding for '{user}': call getChallenge first"
            ))
        })?;
        let po_der = self.po_certificate.as_deref().ok_or_else(|| {
            EngineError::ActivationIncomplete("the partition has no owner certificate".into())
        })?;
        let (_, po) = X509Certificate::from_der(po_der)
            .map_err(|e| EngineError::Storage(format!("stored PO.crt: {e}")))?;
        let spki = po.public_key();
        let raw = spki.subject_public_key.data.as_ref();
        let algorithm: &'static dyn VerificationAlgorithm = match spki.parsed() {
            Ok(PublicKey::RSA(_)) => &RSA_PKCS1_2048_8192_SHA256,
            Ok(PublicKey::EC(_)) if raw.len() == 65 => &ECDSA_P256_SHA256_ASN1,
            Ok(PublicKey::EC(_)) if raw.len() == 97 => &ECDSA_P384_SHA384_ASN1,
            _ => {
                return Err(invalid(
                    "PO.crt's key is neither RSA nor EC P-256/P-384: it cannot sign challenges",
                ))
            }
        };
        UnparsedPublicKey::new(algorithm, raw)
            .verify(&nonce, signature)
            .map_err(|_| EngineError::SignatureInvalid)
    }
}

/// Checks a CSR (PEM) parses and carries a valid self-signature; for clients
/// that want to check what `getCertReq` returned.
pub fn check_csr(pem: &str) -> Result<(), EngineError> {
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| invalid("not a PEM CSR"))?;
    let (_, csr) = X509CertificationRequest::from_der(&pem.contents)
        .map_err(|e| invalid(format!("not a PKCS#10 CSR: {e}")))?;
    csr.verify_signature()
        .map_err(|_| invalid("the CSR's signature does not verify"))
}
