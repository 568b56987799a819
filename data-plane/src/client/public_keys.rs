//! Client calls that create an object: `importPubKey`, certificates, copies.

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
        self.call_for_handle("/keys/public", request).await
    }

    /// A certificate object (`der`: an X.509 certificate) with label and id
    /// among `attributes`; answers its handle.
    pub async fn create_certificate(
        &self,
        der: &[u8],
        attributes: Vec<(u32, Attribute)>,
    ) -> Result<u64, ClientError> {
        let request = CreateCertificateRequest {
            data: B64.encode(der),
            attributes,
        };
        self.call_for_handle("/certificates", request).await
    }

    /// `C_CopyObject` (certificates): the copy's handle.
    pub async fn copy_object(
        &self,
        handle: u64,
        attributes: Vec<(u32, Attribute)>,
    ) -> Result<u64, ClientError> {
        self.call_for_handle(
            &format!("/keys/{handle}/copy"),
            CopyObjectRequest { attributes },
        )
        .await
    }

    /// A POST that creates one key and answers its handle (importPubKey,
    /// insertMaskedObject).
    pub(super) async fn call_for_handle<B: serde::Serialize>(
        &self,
        path: &str,
        body: B,
    ) -> Result<u64, ClientError> {
        let handles: KeyHandles = self.call(Method::POST, path, Some(body), false).await?;
        handles
            .handles
            .first()
            .copied()
            .ok_or_else(|| ClientError::local("RET_INVALID_RESPONSE", "no handle returned"))
    }
}
