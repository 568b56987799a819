//! Digests (SHA-2), for `C_Digest`.

use aws_lc_rs::digest;

use crate::engine::error::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    /// PKCS#11 names (`CKM_SHA256`) and the short ones.
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        let upper = name.to_ascii_uppercase().replace('-', "");
        match upper.strip_prefix("CKM_").unwrap_or(&upper) {
            "SHA256" => Ok(Self::Sha256),
            "SHA384" => Ok(Self::Sha384),
            "SHA512" => Ok(Self::Sha512),
            _ => Err(EngineError::MechanismInvalid(format!(
                "{name} (digests: SHA256, SHA384, SHA512)"
            ))),
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(algorithm, data).as_ref().to_vec()
    }
}
