//! Blob Storage destination (`storageAccountId`): Azure Monitor's layout,
//! container `insights-logs-hsmserviceoperations`, one append blob per
//! cluster and hour at
//! `resourceId=/SUBSCRIPTIONS/.../CLOUDHSMCLUSTERS/{NAME}/y=/m=/d=/h=/m=00/PT1H.json`,
//! one JSON record per line.
//!
//! The account lives where `--storage-blob-endpoint` says (Azurite's
//! `http://127.0.0.1:10000/{account}` by default) and is written with Shared
//! Key authorization (`--storage-account-key`, Azurite's well-known key by
//! default): Azure Monitor writes with its own trusted identity, which the
//! emulator has no way to be. Plain REST through reqwest, because the Rust
//! blob SDK has no append blobs or Shared Key.

use std::{collections::BTreeMap, collections::HashSet, sync::Mutex};

use aws_lc_rs::hmac;
use base64::Engine;
use chrono::{DateTime, Utc};
use reqwest013::{Method, StatusCode};

use super::{Sink, SinkError};
use crate::diagnostics::record;

pub const CONTAINER: &str = "insights-logs-hsmserviceoperations";
/// The blob API version written (Azurite 3.35 knows it, as backups pin).
const API_VERSION: &str = crate::backup_storage::BLOB_API_VERSION;
/// Blob Storage's largest append block.
const MAX_APPEND_BLOCK: usize = 4 * 1024 * 1024;

/// Where and how storage accounts are reached (the flags).
#[derive(Clone)]
pub struct BlobAccounts {
    pub http: reqwest013::Client,
    /// With `{account}` where the account name goes.
    pub endpoint_template: String,
    /// The Shared Key (base64) every account is written with.
    pub account_key: String,
}

impl BlobAccounts {
    pub fn sink(&self, account: &str, cluster_id: &str) -> Result<BlobSink, String> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(self.account_key.trim())
            .map_err(|e| format!("--storage-account-key is not base64: {e}"))?;
        Ok(BlobSink {
            http: self.http.clone(),
            account: account.to_string(),
            endpoint: self
                .endpoint_template
                .replace("{account}", account)
                .trim_end_matches('/')
                .to_string(),
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            prefix: format!("resourceId={}", cluster_id.to_ascii_uppercase()),
            ready: Mutex::new(HashSet::new()),
        })
    }
}

pub struct BlobSink {
    http: reqwest013::Client,
    account: String,
    /// `http(s)://host:port/{account}` (path style) or `https://{account}.blob...`.
    endpoint: String,
    key: hmac::Key,
    /// `resourceId=/SUBSCRIPTIONS/...` of the cluster.
    prefix: String,
    /// The container and blobs known to exist (created by us or found).
    ready: Mutex<HashSet<String>>,
}

/// The blob of the hour `time` falls in.
pub fn blob_name(prefix: &str, time: DateTime<Utc>) -> String {
    format!(
        "{prefix}/{}/m=00/PT1H.json",
        time.format("y=%Y/m=%m/d=%d/h=%H")
    )
}

impl BlobSink {
    fn is_ready(&self, what: &str) -> bool {
        self.ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(what)
    }

    fn mark(&self, what: &str, ready: bool) {
        let mut set = self.ready.lock().unwrap_or_else(|p| p.into_inner());
        if ready {
            set.insert(what.to_string());
        } else {
            set.clear();
        }
    }

    /// The Shared Key `Authorization` of a request (the Blob service's
    /// string-to-sign: verb, standard headers, `x-ms-*` headers, then the
    /// resource with its query parameters).
    fn authorization(
        &self,
        method: &Method,
        url: &url::Url,
        content_length: usize,
        headers: &[(&str, String)],
        if_none_match: &str,
    ) -> String {
        let mut ms_headers: Vec<(String, String)> = headers
            .iter()
            .filter(|(n, _)| n.starts_with("x-ms-"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        ms_headers.sort();
        let length = if content_length == 0 {
            String::new()
        } else {
            content_length.to_string()
        };
        let mut to_sign = format!("{method}\n\n\n{length}\n\n\n\n\n\n{if_none_match}\n\n\n");
        for (name, value) in ms_headers {
            to_sign.push_str(&format!("{name}:{value}\n"));
        }
        to_sign.push_str(&format!("/{}{}", self.account, url.path()));
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        query.sort();
        for (name, value) in query {
            to_sign.push_str(&format!("\n{name}:{value}"));
        }
        let signature = hmac::sign(&self.key, to_sign.as_bytes());
        format!(
            "SharedKey {}:{}",
            self.account,
            base64::engine::general_purpose::STANDARD.encode(signature.as_ref())
        )
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        extra: &[(&str, String)],
        if_none_match: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, String), SinkError> {
        let url = url::Url::parse(&format!("{}/{path_and_query}", self.endpoint))
            .map_err(|e| SinkError::Refused(format!("the blob URL: {e}")))?;
        let mut headers: Vec<(&str, String)> = vec![
            (
                "x-ms-date",
                Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            ),
            ("x-ms-version", API_VERSION.to_string()),
        ];
        headers.extend(extra.iter().cloned());
        let authorization = self.authorization(&method, &url, body.len(), &headers, if_none_match);
        let mut request = self
            .http
            .request(method, url)
            .header("Authorization", authorization)
            .header("Content-Length", body.len().to_string());
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        if !if_none_match.is_empty() {
            request = request.header("If-None-Match", if_none_match);
        }
        let response = request.body(body).send().await.map_err(|e| {
            SinkError::Unavailable(format!(
                "storage account {} is unreachable at {}: {e}",
                self.account, self.endpoint
            ))
        })?;
        let status = response.status();
        let code = response
            .headers()
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Ok((status, code))
    }

    fn failure(&self, what: &str, status: StatusCode, code: &str) -> SinkError {
        let message = format!(
            "{what} in storage account {}: {} {code}",
            self.account,
            status.as_u16()
        );
        match status.as_u16() {
            404 => SinkError::Missing(message),
            s if s >= 500 => SinkError::Unavailable(message),
            _ => SinkError::Refused(message),
        }
    }

    async fn ensure_container(&self) -> Result<(), SinkError> {
        if self.is_ready(CONTAINER) {
            return Ok(());
        }
        let (status, code) = self
            .send(
                Method::PUT,
                &format!("{CONTAINER}?restype=container"),
                &[],
                "",
                Vec::new(),
            )
            .await?;
        if status == StatusCode::CREATED || code == "ContainerAlreadyExists" {
            self.mark(CONTAINER, true);
            return Ok(());
        }
        Err(self.failure("creating the container", status, &code))
    }

    async fn ensure_blob(&self, blob: &str) -> Result<(), SinkError> {
        if self.is_ready(blob) {
            return Ok(());
        }
        let (status, code) = self
            .send(
                Method::PUT,
                &format!("{CONTAINER}/{blob}"),
                &[
                    ("x-ms-blob-type", "AppendBlob".to_string()),
                    ("x-ms-blob-content-type", "application/json".to_string()),
                ],
                "*",
                Vec::new(),
            )
            .await?;
        if status == StatusCode::CREATED
            || code == "BlobAlreadyExists"
            || status == StatusCode::CONFLICT
        {
            self.mark(blob, true);
            return Ok(());
        }
        Err(self.failure("creating the append blob", status, &code))
    }

    async fn append(&self, blob: &str, bytes: Vec<u8>) -> Result<(), SinkError> {
        let (status, code) = self
            .send(
                Method::PUT,
                &format!("{CONTAINER}/{blob}?comp=appendblock"),
                &[],
                "",
                bytes,
            )
            .await?;
        if status == StatusCode::CREATED {
            return Ok(());
        }
        // A container or blob deleted under us: create them again next time.
        self.mark(blob, false);
        Err(self.failure("appending to the blob", status, &code))
    }
}

#[async_trait::async_trait]
impl Sink for BlobSink {
    fn describe(&self) -> String {
        format!("storage account {} ({})", self.account, self.endpoint)
    }

    async fn deliver(&self, records: &[String]) -> Result<(), SinkError> {
        // By hour, in order: a batch across an hour boundary goes to two blobs.
        let mut by_blob: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for line in records {
            let time = record::time_of(line).unwrap_or_else(Utc::now);
            let blob = blob_name(&self.prefix, time);
            if !by_blob.contains_key(&blob) {
                order.push(blob.clone());
            }
            let bytes = by_blob.entry(blob).or_default();
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        self.ensure_container().await?;
        for blob in order {
            let bytes = by_blob.remove(&blob).unwrap_or_default();
            self.ensure_blob(&blob).await?;
            let mut rest = bytes.as_slice();
            while !rest.is_empty() {
                // Blocks end at a line end unless a line is bigger than a block.
                let mut take = rest.len().min(MAX_APPEND_BLOCK);
                if take < rest.len() {
                    if let Some(end) = rest[..take].iter().rposition(|b| *b == b'\n') {
                        take = end + 1;
                    }
                }
                self.append(&blob, rest[..take].to_vec()).await?;
                rest = &rest[take..];
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_named_by_cluster_and_hour_as_azure_monitor_names_them() {
        let time = DateTime::parse_from_rfc3339("2026-12-02T01:07:09.123Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            blob_name("resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.HARDWARESECURITYMODULES/CLOUDHSMCLUSTERS/C1", time),
            "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.HARDWARESECURITYMODULES/CLOUDHSMCLUSTERS/C1/y=2026/m=12/d=02/h=01/m=00/PT1H.json"
        );
    }
}
