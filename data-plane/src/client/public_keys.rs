//! Client call for `importPubKey`.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use reqwest::Method;

use super::{ClientError, HsmClient};
use crate::{
    engine::{attributes::Attribute, keys::KeySpec},
    server::wire::*,
};

impl HsmClient {
    /// `importPubKey`: `key` is an RSA PKCS#1 RSAPublicKey or an EC
    /// uncompressed point; answers the new key's handle.
    pub async fn import_public_key(
        &self,
        spec: KeySpec,
        key: &[u8],
        attributes: Vec<(u32, Attribute)>,
    ) -> Result<u64, ClientError> {
        let request = ImportPublicKeyRequest {
            spec,
            data: B64.encode(key),
            attributes,
        };
        let handles: KeyHandles = self
            .call(Method::POST, "/keys/public", Some(request), false)
            .await?;
        handles
            .handles
            .first()
            .copied()
            .ok_or_else(|| ClientError::local("RET_INVALID_RESPONSE", "no handle returned"))
    }
}
