//! Request and response bodies of the network API, shared with the client.

use serde::{Deserialize, Serialize};

use crate::engine::{attributes::Attribute, keys::KeySpec};

#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LoginRequest {
    /// `PRECO`, `CO`, `CU` or `AU`, as `loginHSM -u` takes it.
    pub user_type: String,
    pub user: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionResponse {
    pub session: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    pub user_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CreateUserRequest {
    pub user_type: String,
    pub name: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PasswordRequest {
    pub password: String,
}

/// Key attributes to set at generation, by attribute id.
#[derive(Debug, Serialize, Deserialize)]
pub struct GenerateKeyRequest {
    pub spec: KeySpec,
    #[serde(default)]
    pub attributes: Vec<(u32, Attribute)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct KeyHandles {
    pub handles: Vec<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FindRequest {
    #[serde(default)]
    pub filter: Vec<(u32, Attribute)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AttributeValue {
    pub value: Attribute,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ShareRequest {
    pub user: String,
    pub share: bool,
}

/// Binary data travels as standard base64.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct CryptoRequest {
    pub mechanism: String,
    pub data: String,
    #[serde(default)]
    pub signature: String,
    #[serde(default)]
    pub aad: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BytesResponse {
    pub data: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NodeListingBody {
    pub node: usize,
    pub up: bool,
    pub users: usize,
    pub keys: usize,
    pub digest: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WrapRequest {
    pub target: u64,
    pub mechanism: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UnwrapRequest {
    pub mechanism: String,
    /// The wrapped key, base64.
    pub data: String,
    pub spec: KeySpec,
    #[serde(default)]
    pub attributes: Vec<(u32, Attribute)>,
}

/// `getCertReq`: the partition's CSR.
#[derive(Debug, Serialize, Deserialize)]
pub struct CsrResponse {
    pub csr: String,
}

/// `storeCert`: `certificate_type` 4 for PO.crt, 8 for the POAC.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoreCertRequest {
    pub certificate_type: u32,
    /// PEM.
    pub certificate: String,
}

/// `unlockCO`: PO.key's signature over the challenge, base64; with
/// `password`, the officer's password is reset too.
#[derive(Debug, Serialize, Deserialize)]
pub struct UnlockOfficerRequest {
    pub signature: String,
    #[serde(default)]
    pub password: Option<String>,
}

/// `insertMaskedObject`: the blob `extractMaskedObject` returned, base64.
#[derive(Debug, Serialize, Deserialize)]
pub struct MaskedObject {
    pub data: String,
}

/// `C_Digest`: `mechanism` is `SHA256`, `SHA384` or `SHA512`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DigestRequest {
    pub mechanism: String,
    pub data: String,
}

/// `C_GenerateRandom`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RandomRequest {
    pub length: usize,
}

// ---- 2FA and quorum (see engine::two_factor, engine::quorum) ----

pub use crate::engine::{
    cluster::{SecurityChange, SecurityView},
    quorum::{Approval, Token},
    two_factor::{AuthData, AuthEntry},
};

/// `getToken`: `user` or `quorum`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenRequest {
    pub service: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ApproveRequest {
    pub approvals: Vec<Approval>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ApprovalCount {
    pub approvals: usize,
}

/// `setMValue`.
#[derive(Debug, Serialize, Deserialize)]
pub struct MValueRequest {
    pub m: u8,
}

/// `importPubKey`: the key's bytes as the engine keeps public keys (RSA
/// PKCS#1 RSAPublicKey, EC uncompressed point), base64.
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportPublicKeyRequest {
    pub spec: KeySpec,
    pub data: String,
    #[serde(default)]
    pub attributes: Vec<(u32, Attribute)>,
}

/// A certificate object: its DER, base64; label and id as for keys.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreateCertificateRequest {
    pub data: String,
    #[serde(default)]
    pub attributes: Vec<(u32, Attribute)>,
}

/// `C_CopyObject`: the attributes the copy gets instead of the original's.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CopyObjectRequest {
    #[serde(default)]
    pub attributes: Vec<(u32, Attribute)>,
}

/// `setUserAttributes`: attributes left out stay as they are.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UserAttributesRequest {
    #[serde(default)]
    pub login_disabled: Option<bool>,
}

/// One key of `findAllKeys`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyOwnershipBody {
    pub handle: u64,
    pub owner: String,
    pub shared_with: Vec<String>,
}
