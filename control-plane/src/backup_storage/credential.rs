//! A `TokenCredential` for the Azure SDK that gets a user-assigned managed
//! identity's token over HTTP from the App Service managed-identity endpoint
//! (`IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`, api-version 2019-08-01) — the
//! emulator's own endpoint, asked the way an application on App Service
//! asks it, never minted in-process.
//!
//! Why not `azure_identity::ManagedIdentityCredential`: it reads
//! `IDENTITY_ENDPOINT` / `IDENTITY_HEADER` from the process environment and
//! trusts only the system's CAs, while the emulator serves many identities
//! from one process and its endpoint has a certificate from the emulator's
//! own CA. This credential speaks the same protocol with both given.

use std::{collections::HashMap, sync::Mutex};

use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    error::ErrorKind,
};
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Debug)]
pub struct ManagedIdentityEndpointCredential {
    http: reqwest013::Client,
    /// `IDENTITY_ENDPOINT`.
    endpoint: String,
    /// `IDENTITY_HEADER`.
    header: String,
    client_id: String,
    /// The last token per resource, reused until shortly before it
    /// expires (as the SDK's own credentials cache theirs).
    cached: Mutex<HashMap<String, AccessToken>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Epoch seconds as a string, as App Service sends it.
    expires_on: String,
}

impl ManagedIdentityEndpointCredential {
    pub fn new(
        http: reqwest013::Client,
        endpoint: String,
        header: String,
        client_id: String,
    ) -> Self {
        Self {
            http,
            endpoint,
            header,
            client_id,
            cached: Mutex::new(HashMap::new()),
        }
    }

    async fn fetch(&self, resource: &str) -> azure_core::Result<AccessToken> {
        let failed =
            |message: String| azure_core::Error::with_message(ErrorKind::Credential, message);
        let mut url = url::Url::parse(&self.endpoint)
            .map_err(|e| failed(format!("IDENTITY_ENDPOINT is not a URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", "2019-08-01")
            .append_pair("resource", resource)
            .append_pair("client_id", &self.client_id);
        let response = self
            .http
            .get(url)
            .header("X-IDENTITY-HEADER", &self.header)
            .send()
            .await
            .map_err(|e| failed(format!("the managed-identity endpoint is unreachable: {e}")))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            failed(format!(
                "reading the managed-identity endpoint's answer: {e}"
            ))
        })?;
        if !status.is_success() {
            return Err(failed(format!(
                "the managed-identity endpoint refused a token ({status}): {text}"
            )));
        }
        let token: TokenResponse = serde_json::from_str(&text).map_err(|e| {
            failed(format!(
                "the managed-identity endpoint's answer is malformed: {e}"
            ))
        })?;
        let expires = token
            .expires_on
            .parse::<i64>()
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or_else(|| {
                failed("the managed-identity endpoint sent no valid expires_on".into())
            })?;
        Ok(AccessToken::new(token.access_token, expires))
    }
}

#[async_trait::async_trait]
impl TokenCredential for ManagedIdentityEndpointCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let Some(scope) = scopes.first() else {
            return Err(azure_core::Error::with_message(
                ErrorKind::Credential,
                "no scope was requested",
            ));
        };
        // Scope `https://storage.azure.com/.default` is resource `https://storage.azure.com`.
        let resource = scope.trim_end_matches("/.default");
        let fresh_until = OffsetDateTime::now_utc() + time::Duration::minutes(5);
        if let Some(token) = self
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(resource)
        {
            if token.expires_on > fresh_until {
                return Ok(token.clone());
            }
        }
        let token = self.fetch(resource).await?;
        self.cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(resource.to_string(), token.clone());
        Ok(token)
    }
}
