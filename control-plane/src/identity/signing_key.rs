//! The RSA key that signs every token, generated once per data dir and kept
//! there so tokens stay valid across restarts.

use std::path::Path;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::{pkcs8::DecodePrivateKey, traits::PublicKeyParts, RsaPrivateKey};
use serde_json::{json, Value};

pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// Public key as a JWK, published at the JWKS endpoint.
    pub jwk: Value,
}

const FILE_NAME: &str = "token-signing-key.pem";

impl SigningKey {
    pub fn load_or_create(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join(FILE_NAME);
        let pem = match std::fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
                    .map_err(|e| format!("generating the token signing key: {e}"))?;
                let pem = key.serialize_pem();
                crate::tls::write_private_file(&path, pem.as_bytes())?;
                pem
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        Self::from_pkcs8_pem(&pem)
    }

    fn from_pkcs8_pem(pem: &str) -> Result<Self, String> {
        let private = RsaPrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| format!("token signing key is unreadable: {e}"))?;
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
        // A stable key id derived from the modulus, like a thumbprint.
        let kid = n.chars().rev().take(27).collect::<String>();
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| format!("token signing key is unusable: {e}"))?;
        let decoding = DecodingKey::from_rsa_components(&n, &e)
            .map_err(|e| format!("token signing key is unusable: {e}"))?;
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e,
        });
        Ok(Self {
            kid,
            encoding,
            decoding,
            jwk,
        })
    }
}
