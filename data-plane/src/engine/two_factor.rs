//! Two-factor authentication for crypto officers, as AWS CloudHSM's
//! `cloudhsm_mgmt_util` has it (seed 004): the HSM issues an *authdata*
//! document with one SHA-256 digest per HSM node; the officer signs each
//! digest with the private half of an RSA-2048 key pair and returns the
//! signatures (and, when registering a key, the public key).
//!
//! A signature is RSASSA-PKCS1-v1_5 with SHA-256 (`sha256WithRSAEncryption`)
//! over the 32 raw digest bytes, i.e. what
//! `openssl dgst -sha256 -sign officer.key digest.bin` produces.
//!
//! The same key serves 2FA and quorum approvals (see `quorum`), as the seed
//! says the cluster uses one key for both.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use aws_lc_rs::{
    rand::{SecureRandom, SystemRandom},
    signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256},
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use rsa::{
    pkcs1::EncodeRsaPublicKey, pkcs8::DecodePublicKey, traits::PublicKeyParts, RsaPublicKey,
};
use serde::{Deserialize, Serialize};

use super::error::EngineError;

/// The authdata format version the HSM writes and accepts.
pub const AUTHDATA_VERSION: &str = "1.0";

/// How long an issued authdata document can be answered. Challenges live in
/// memory only, like logins: after a restart the officer starts again.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);

/// The authdata JSON document, field names as the seed's configuration
/// reference spells them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthData {
    #[serde(rename = "Version")]
    pub version: String,
    /// PEM SubjectPublicKeyInfo; given in responses to createUser and
    /// changePswd (and quorum key registration).
    #[serde(rename = "PublicKey", default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(rename = "Data")]
    pub data: Vec<AuthEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthEntry {
    #[serde(rename = "HsmId")]
    pub hsm_id: String,
    /// Base64 of the 32-byte digest to sign.
    #[serde(rename = "Digest")]
    pub digest: String,
    /// Base64 signature of the digest; empty in the HSM's request.
    #[serde(
        rename = "Signature",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub signature: String,
}

/// A user's registered key and what it is registered for. 2FA only for
/// crypto officers; a 2FA officer is also a quorum approver (seed 004).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAuthKey {
    /// PEM SubjectPublicKeyInfo of an RSA-2048 key.
    pub public_key_pem: String,
    pub two_factor: bool,
    pub quorum: bool,
}

fn invalid_key(why: &str) -> EngineError {
    EngineError::InvalidPublicKey(format!(
        "{why}: a PEM public key (-----BEGIN PUBLIC KEY-----) of an RSA-2048 key is required"
    ))
}

/// Parses a PEM public key, checks it is RSA-2048 and returns it as PKCS#1
/// DER (what the verifier takes).
pub fn parse_public_key(pem: &str) -> Result<Vec<u8>, EngineError> {
    let key = RsaPublicKey::from_public_key_pem(pem.trim()).map_err(|_| invalid_key("not read"))?;
    if key.size() * 8 != 2048 {
        return Err(invalid_key(&format!("the key has {} bits", key.size() * 8)));
    }
    key.to_pkcs1_der()
        .map(|der| der.as_bytes().to_vec())
        .map_err(|_| invalid_key("not encodable"))
}

/// Whether two PEM texts name the same key (whitespace and line wrapping aside).
pub fn same_key(a: &str, b: &str) -> bool {
    matches!((parse_public_key(a), parse_public_key(b)), (Ok(x), Ok(y)) if x == y)
}

/// Checks `signature` (base64) over `digest` against a PKCS#1 DER key.
pub fn verify_signature(key_der: &[u8], digest: &[u8], signature: &str) -> Result<(), EngineError> {
    let signature = B64
        .decode(signature.trim())
        .map_err(|_| EngineError::TwoFactorFailed("a signature is not base64".into()))?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key_der)
        .verify(digest, &signature)
        .map_err(|_| {
            EngineError::TwoFactorFailed(
                "a signature does not verify with the registered public key".into(),
            )
        })
}

/// 32 fresh random bytes hashed with the context: a digest to sign.
pub fn fresh_digest(context: &str) -> Result<[u8; 32], EngineError> {
    let mut nonce = [0u8; 32];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| EngineError::Crypto("random".into()))?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(context.as_bytes());
    ctx.update(&nonce);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(out)
}

struct Challenge<P> {
    /// `(HsmId, digest)` as issued.
    issued: Vec<(String, [u8; 32])>,
    purpose: P,
    expires: Instant,
}

/// What an answered challenge was issued for, and its digests.
pub struct Answered<P> {
    pub purpose: P,
    issued: Vec<(String, [u8; 32])>,
}

impl<P> Answered<P> {
    /// Checks that every issued digest came back, under its HSM, signed by
    /// `key_der`, and nothing else came back.
    pub fn verify(&self, response: &AuthData, key_der: &[u8]) -> Result<(), EngineError> {
        if response.data.len() != self.issued.len() {
            return Err(EngineError::TwoFactorFailed(format!(
                "the authdata has {} entries; the HSM issued {} (one per HSM)",
                response.data.len(),
                self.issued.len()
            )));
        }
        for (hsm, digest) in &self.issued {
            let encoded = B64.encode(digest);
            let entry = response
                .data
                .iter()
                .find(|e| &e.hsm_id == hsm && e.digest == encoded)
                .ok_or_else(|| {
                    EngineError::TwoFactorFailed(format!("the digest for HSM {hsm} is missing"))
                })?;
            if entry.signature.is_empty() {
                return Err(EngineError::TwoFactorFailed(format!(
                    "the digest for HSM {hsm} is not signed"
                )));
            }
            verify_signature(key_der, digest, &entry.signature)?;
        }
        Ok(())
    }
}

/// Authdata documents issued and not yet answered, keyed by their first
/// digest. Each is answered once: taking it removes it.
pub struct Pending<P> {
    challenges: HashMap<String, Challenge<P>>,
}

impl<P> Default for Pending<P> {
    fn default() -> Self {
        Self {
            challenges: HashMap::new(),
        }
    }
}

/// Pending challenges kept at most, so abandoned ones cannot grow memory.
const MAX_PENDING: usize = 1024;

impl<P> Pending<P> {
    /// Issues one digest per HSM in `hsm_ids` for `purpose`.
    pub fn issue(
        &mut self,
        hsm_ids: &[String],
        purpose: P,
        now: Instant,
    ) -> Result<AuthData, EngineError> {
        if hsm_ids.is_empty() {
            return Err(EngineError::NoNodeAvailable);
        }
        self.challenges.retain(|_, c| c.expires > now);
        if self.challenges.len() >= MAX_PENDING {
            return Err(EngineError::TwoFactorFailed(
                "too many unanswered authdata documents; try again later".into(),
            ));
        }
        let mut issued = Vec::with_capacity(hsm_ids.len());
        for hsm in hsm_ids {
            issued.push((hsm.clone(), fresh_digest(hsm)?));
        }
        let document = AuthData {
            version: AUTHDATA_VERSION.into(),
            public_key: None,
            data: issued
                .iter()
                .map(|(hsm, digest)| AuthEntry {
                    hsm_id: hsm.clone(),
                    digest: B64.encode(digest),
                    signature: String::new(),
                })
                .collect(),
        };
        self.challenges.insert(
            document.data[0].digest.clone(),
            Challenge {
                issued,
                purpose,
                expires: now + CHALLENGE_TTL,
            },
        );
        Ok(document)
    }

    /// What the challenge a response answers was issued for, if pending.
    pub fn peek(&self, response: &AuthData) -> Option<&P> {
        let first = response.data.first()?;
        self.challenges.get(&first.digest).map(|c| &c.purpose)
    }

    /// Takes the challenge a response answers (single use), if `accept`
    /// agrees it belongs to the caller; an expired or unknown one is refused.
    pub fn take(
        &mut self,
        response: &AuthData,
        now: Instant,
        accept: impl Fn(&P) -> bool,
    ) -> Result<Answered<P>, EngineError> {
        if response.version != AUTHDATA_VERSION {
            return Err(EngineError::TwoFactorFailed(format!(
                "authdata Version '{}' is not supported (use \"{AUTHDATA_VERSION}\")",
                response.version
            )));
        }
        let unknown = || {
            EngineError::TwoFactorFailed(
                "the authdata answers no pending request (already used, expired or never issued)"
                    .into(),
            )
        };
        let first = response.data.first().ok_or_else(unknown)?;
        match self.challenges.get(&first.digest) {
            Some(c) if accept(&c.purpose) => {}
            _ => return Err(unknown()),
        }
        let challenge = self.challenges.remove(&first.digest).ok_or_else(unknown)?;
        if challenge.expires <= now {
            return Err(unknown());
        }
        Ok(Answered {
            purpose: challenge.purpose,
            issued: challenge.issued,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::{rsa::KeySize, signature::KeyPair};
    use rsa::{pkcs1::DecodeRsaPublicKey, pkcs8::EncodePublicKey};

    fn key_pair(size: KeySize) -> (aws_lc_rs::rsa::KeyPair, String) {
        let pair = aws_lc_rs::rsa::KeyPair::generate(size).unwrap();
        let pem = RsaPublicKey::from_pkcs1_der(pair.public_key().as_ref())
            .unwrap()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        (pair, pem)
    }

    fn sign(pair: &aws_lc_rs::rsa::KeyPair, document: &AuthData) -> AuthData {
        let mut out = document.clone();
        for entry in &mut out.data {
            let digest = B64.decode(&entry.digest).unwrap();
            let mut sig = vec![0; pair.public_modulus_len()];
            pair.sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                &digest,
                &mut sig,
            )
            .unwrap();
            entry.signature = B64.encode(sig);
        }
        out
    }

    #[test]
    fn keys_must_be_rsa_2048() {
        let (_, pem) = key_pair(KeySize::Rsa2048);
        assert!(parse_public_key(&pem).unwrap().len() > 256);
        let (_, big) = key_pair(KeySize::Rsa3072);
        assert!(matches!(
            parse_public_key(&big),
            Err(EngineError::InvalidPublicKey(_))
        ));
        assert!(parse_public_key("not a key").is_err());
        assert!(same_key(&pem, &format!("\n{pem}\n")));
    }

    #[test]
    fn a_challenge_is_answered_once_with_every_digest_signed() {
        let (pair, pem) = key_pair(KeySize::Rsa2048);
        let (other, _) = key_pair(KeySize::Rsa2048);
        let der = parse_public_key(&pem).unwrap();
        let hsms = vec!["hsm1".to_string(), "hsm2".into(), "hsm3".into()];
        let mut pending = Pending::<&str>::default();
        let now = Instant::now();

        let doc = pending.issue(&hsms, "login", now).unwrap();
        assert_eq!(doc.data.len(), 3);
        assert!(doc
            .data
            .iter()
            .all(|e| B64.decode(&e.digest).unwrap().len() == 32));
        let signed = sign(&pair, &doc);
        let answered = pending.take(&signed, now, |p| *p == "login").unwrap();
        answered.verify(&signed, &der).unwrap();
        // Single use.
        assert!(pending.take(&signed, now, |_| true).is_err());

        // Wrong key, a missing signature, a dropped entry, a tampered digest.
        let doc = pending.issue(&hsms, "login", now).unwrap();
        let wrong = sign(&other, &doc);
        let answered = pending.take(&wrong, now, |_| true).unwrap();
        assert!(matches!(
            answered.verify(&wrong, &der),
            Err(EngineError::TwoFactorFailed(_))
        ));
        let mut unsigned = sign(&pair, &doc);
        unsigned.data[2].signature.clear();
        assert!(answered.verify(&unsigned, &der).is_err());
        let mut short = sign(&pair, &doc);
        short.data.pop();
        assert!(answered.verify(&short, &der).is_err());
        let mut moved = sign(&pair, &doc);
        moved.data[1].hsm_id = "hsm3".into();
        assert!(answered.verify(&moved, &der).is_err());

        // Someone else's challenge, and an expired one.
        let doc = pending.issue(&hsms, "login", now).unwrap();
        assert!(pending.take(&doc, now, |p| *p == "other").is_err());
        assert!(pending
            .take(&doc, now + CHALLENGE_TTL + Duration::from_secs(1), |_| true)
            .is_err());
    }
}
