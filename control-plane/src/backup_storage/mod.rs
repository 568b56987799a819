//! Blob Storage for cluster backups, through the GA Azure SDK for Rust
//! (`azure_storage_blob` 1.x on `azure_core` 1.x), authenticated as the
//! cluster's user-assigned managed identity.
//!
//! - Transport: a reqwest client that trusts the emulator's CA (Azurite in
//!   the tests serves a certificate from it) besides the usual roots, with
//!   decompression off as the SDK requires for ranged downloads.
//! - API version: the SDK's default (`2026-04-06`) is newer than Azurite
//!   3.35.0 knows, so the clients pin `2025-11-05`, the newest version
//!   Azurite 3.35 accepts; real Azure accepts it too, and Azurite can keep
//!   its version check.
//! - Retries: the SDK's exponential retry policy (500, 503, timeouts and
//!   connection errors), bounded so an unreachable account fails in seconds.
//! - Uploads stage blocks and commit the block list last, so an interrupted
//!   backup leaves no blob behind, only uncommitted blocks Blob Storage
//!   discards.

pub mod container_uri;
pub mod credential;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures::StreamExt;

use azure_core::{
    credentials::TokenCredential,
    error::ErrorKind,
    http::{
        ClientOptions, ExponentialRetryOptions, RequestContent, RetryOptions, StatusCode, Transport,
    },
    time::Duration,
};
use azure_storage_blob::{
    models::BlockLookupList, BlobContainerClient, BlobContainerClientOptions,
};

pub use container_uri::ContainerUri;
use credential::ManagedIdentityEndpointCredential;

/// The blob API version the clients speak (see the module docs).
pub const BLOB_API_VERSION: &str = "2025-11-05";
/// Size of one staged block.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;
/// Blocks staged at once.
const PARALLEL_BLOCKS: usize = 4;

/// Why a blob operation failed, in the terms the operation result reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobError {
    ContainerNotFound,
    BlobNotFound,
    /// 403 from the service.
    Forbidden(String),
    /// No connection, TLS failure or time-out after the retries.
    Unreachable(String),
    /// The managed identity got no token.
    Credential(String),
    Other(String),
}

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ContainerNotFound => f.write_str("the container does not exist"),
            Self::BlobNotFound => f.write_str("the blob does not exist"),
            Self::Forbidden(m) | Self::Unreachable(m) | Self::Credential(m) | Self::Other(m) => {
                f.write_str(m)
            }
        }
    }
}

fn classify(e: azure_core::Error) -> BlobError {
    match e.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let code = error_code.clone().unwrap_or_default();
            match (*status, code.as_str()) {
                (StatusCode::NotFound, "ContainerNotFound") => BlobError::ContainerNotFound,
                (StatusCode::NotFound, _) => BlobError::BlobNotFound,
                (StatusCode::Forbidden, _) => {
                    BlobError::Forbidden(format!("Blob Storage refused access ({code})"))
                }
                (s, _) if u16::from(s) >= 500 => BlobError::Unreachable(format!(
                    "Blob Storage kept failing ({} {code}) after retries",
                    u16::from(s)
                )),
                (s, _) => {
                    BlobError::Other(format!("Blob Storage answered {} {code}", u16::from(s)))
                }
            }
        }
        ErrorKind::Credential => BlobError::Credential(e.to_string()),
        ErrorKind::Io | ErrorKind::Connection => {
            BlobError::Unreachable(format!("Blob Storage is unreachable: {e}"))
        }
        _ => BlobError::Unreachable(format!("Blob Storage request failed: {e}")),
    }
}

/// Shared by every backup and restore: one HTTP client, one retry policy,
/// one credential per managed identity.
#[derive(Clone)]
pub struct BackupStorage {
    http: reqwest013::Client,
    retry: RetryOptions,
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` of the emulator's own
    /// managed-identity endpoint, where the credentials get their tokens.
    identity_endpoint: String,
    identity_header: String,
    /// By the identity's client id: a credential keeps its tokens until
    /// shortly before they expire, as an application keeps its credential,
    /// so a restore after a backup (or the next nightly backup) does not
    /// fetch the identity's token again.
    credentials: Arc<Mutex<HashMap<String, Arc<ManagedIdentityEndpointCredential>>>>,
}

impl BackupStorage {
    /// `ca_pem`: an extra CA to trust (the emulator's own).
    pub fn new(
        ca_pem: Option<&[u8]>,
        identity_endpoint: String,
        identity_header: String,
    ) -> Result<Self, String> {
        let mut builder = reqwest013::Client::builder()
            .no_gzip()
            .no_deflate()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(120));
        if let Some(pem) = ca_pem {
            let ca = reqwest013::Certificate::from_pem(pem)
                .map_err(|e| format!("the CA certificate: {e}"))?;
            builder = builder.add_root_certificate(ca);
        }
        let http = builder
            .build()
            .map_err(|e| format!("the blob HTTP client: {e}"))?;
        let retry = RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: Duration::milliseconds(100),
            max_retries: 5,
            max_total_elapsed: Duration::seconds(20),
            max_delay: Duration::seconds(2),
        });
        Ok(Self {
            http,
            retry,
            identity_endpoint,
            identity_header,
            credentials: Default::default(),
        })
    }

    /// The HTTP client (trusting the emulator's CA), for other blob writers.
    pub fn http_client(&self) -> reqwest013::Client {
        self.http.clone()
    }

    /// The credential of the managed identity `client_id`, which asks the
    /// managed-identity endpoint for its tokens.
    pub fn credential(&self, client_id: &str) -> Arc<dyn TokenCredential> {
        self.credentials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(client_id.to_string())
            .or_insert_with(|| {
                Arc::new(ManagedIdentityEndpointCredential::new(
                    self.http.clone(),
                    self.identity_endpoint.clone(),
                    self.identity_header.clone(),
                    client_id.to_string(),
                ))
            })
            .clone()
    }

    fn container(
        &self,
        uri: &ContainerUri,
        credential: Arc<dyn TokenCredential>,
    ) -> Result<BlobContainerClient, BlobError> {
        let options = BlobContainerClientOptions {
            client_options: ClientOptions {
                retry: self.retry.clone(),
                transport: Some(Transport::new(Arc::new(self.http.clone()))),
                ..Default::default()
            },
            version: BLOB_API_VERSION.into(),
        };
        BlobContainerClient::new(uri.url.clone(), Some(credential), Some(options))
            .map_err(|e| BlobError::Other(format!("the container URL: {e}")))
    }

    /// Checks the container exists (and the identity may read it).
    pub async fn check_container(
        &self,
        uri: &ContainerUri,
        credential: Arc<dyn TokenCredential>,
    ) -> Result<(), BlobError> {
        let container = self.container(uri, credential)?;
        match container.get_properties(None).await {
            Ok(_) => Ok(()),
            Err(e) => Err(match classify(e) {
                BlobError::BlobNotFound => BlobError::ContainerNotFound,
                other => other,
            }),
        }
    }

    /// Uploads `bytes` as block blob `name`: blocks first, the block list
    /// last, so the blob appears whole or not at all.
    pub async fn upload(
        &self,
        uri: &ContainerUri,
        credential: Arc<dyn TokenCredential>,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<(), BlobError> {
        let blob = self
            .container(uri, credential)?
            .blob_client(name)
            .block_blob_client();
        let bytes = bytes::Bytes::from(bytes);
        let ids: Vec<Vec<u8>> = (0..bytes.len().div_ceil(BLOCK_SIZE).max(1))
            .map(|i| format!("block-{i:08}").into_bytes())
            .collect();
        let blob = Arc::new(blob);
        let stages = ids.iter().cloned().enumerate().map(|(i, id)| {
            let chunk = bytes.slice(i * BLOCK_SIZE..((i + 1) * BLOCK_SIZE).min(bytes.len()));
            let blob = blob.clone();
            async move {
                let len = chunk.len() as u64;
                blob.stage_block(&id, len, RequestContent::from(chunk.to_vec()), None)
                    .await
                    .map(drop)
            }
        });
        let results: Vec<_> = futures::stream::iter(stages)
            .buffer_unordered(PARALLEL_BLOCKS)
            .collect()
            .await;
        for result in results {
            result.map_err(classify)?;
        }
        let list = BlockLookupList {
            latest: Some(ids),
            ..Default::default()
        };
        let content = list
            .try_into()
            .map_err(|e: azure_core::Error| BlobError::Other(format!("the block list: {e}")))?;
        blob.commit_block_list(content, None)
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Downloads blob `name` whole.
    pub async fn download(
        &self,
        uri: &ContainerUri,
        credential: Arc<dyn TokenCredential>,
        name: &str,
    ) -> Result<Vec<u8>, BlobError> {
        let blob = self.container(uri, credential)?.blob_client(name);
        let result = blob.download(None).await.map_err(classify)?;
        let body = result.body.collect().await.map_err(classify)?;
        Ok(body.to_vec())
    }
}
