//! The officer's side of 2FA and quorum: an RSA-2048 key pair that signs
//! authdata digests and quorum tokens, as an officer would with
//! `openssl dgst -sha256 -sign officer.key` (see `engine::two_factor`).

use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::{KeyPair, KeySize},
    signature::{KeyPair as _, RSA_PKCS1_SHA256},
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use rsa::{
    pkcs1::DecodeRsaPublicKey,
    pkcs8::{EncodePublicKey, LineEnding},
};

use super::ClientError;
use crate::engine::{quorum::Approval, quorum::Token, two_factor::AuthData};

pub struct TwoFactorKey {
    pair: KeyPair,
}

fn local(message: impl Into<String>) -> ClientError {
    ClientError {
        status: 0,
        code: "RET_INVALID_KEY".into(),
        message: message.into(),
    }
}

impl TwoFactorKey {
    /// A fresh RSA-2048 key pair.
    pub fn generate() -> Result<Self, ClientError> {
        KeyPair::generate(KeySize::Rsa2048)
            .map(|pair| Self { pair })
            .map_err(|_| local("RSA key generation failed"))
    }

    /// From a PKCS#8 DER private key (`openssl pkcs8 -topk8 -outform DER`).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, ClientError> {
        KeyPair::from_pkcs8(der)
            .map(|pair| Self { pair })
            .map_err(|_| local("not an RSA PKCS#8 private key"))
    }

    /// The private key as PKCS#8 DER, to keep it between runs.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, ClientError> {
        AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&self.pair)
            .map(|der| der.as_ref().to_vec())
            .map_err(|_| local("RSA key encoding failed"))
    }

    /// The public key as PEM SubjectPublicKeyInfo, as authdata carries it.
    pub fn public_key_pem(&self) -> Result<String, ClientError> {
        rsa::RsaPublicKey::from_pkcs1_der(self.pair.public_key().as_ref())
            .map_err(|_| local("RSA public key"))?
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| local("RSA public key encoding failed"))
    }

    /// Signs base64 digest bytes; answers the base64 signature.
    pub fn sign_digest(&self, digest: &str) -> Result<String, ClientError> {
        let digest = B64
            .decode(digest)
            .map_err(|_| local("a digest is not base64"))?;
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                &digest,
                &mut signature,
            )
            .map_err(|_| local("signing failed"))?;
        Ok(B64.encode(signature))
    }

    /// The HSM's authdata with every digest signed, without the public key
    /// (a 2FA login).
    pub fn sign_authdata(&self, request: &AuthData) -> Result<AuthData, ClientError> {
        let mut response = request.clone();
        for entry in &mut response.data {
            entry.signature = self.sign_digest(&entry.digest)?;
        }
        Ok(response)
    }

    /// Signed authdata with the public key (createUser, changePswd,
    /// registerQuorumPubKey).
    pub fn sign_authdata_with_key(&self, request: &AuthData) -> Result<AuthData, ClientError> {
        let mut response = self.sign_authdata(request)?;
        response.public_key = Some(self.public_key_pem()?);
        Ok(response)
    }

    /// This officer's approval of a quorum token.
    pub fn approve(&self, user: &str, token: &Token) -> Result<Approval, ClientError> {
        Ok(Approval {
            user: user.to_string(),
            signature: self.sign_digest(&token.digest)?,
        })
    }
}
