//! HTTP to the emulator: TLS trust from endpoints.json, the bearer token,
//! `--debug` logging with secrets masked, and ARM's error envelope turned
//! into [`CliError::Service`].

use std::time::Duration;

use reqwest::{header::HeaderMap, Method, StatusCode};
use serde_json::Value;

use super::{
    error::{CliError, CliResult},
    profile::{self, CachedToken, Endpoints, Profile},
};

/// Renew a cached token this long before it expires.
const TOKEN_MARGIN_SECS: u64 = 300;
const ARM_SCOPE: &str = "https://management.azure.com/.default";

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Success as it is; an error status as the service's own error.
    pub fn ok(self) -> CliResult<Self> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(service_error(self.status, &self.body))
        }
    }
}

/// ARM's `{"error":{"code","message"}}` or the token service's
/// `{"error","error_description"}`.
pub fn service_error(status: StatusCode, body: &Value) -> CliError {
    let (code, message) = match &body["error"] {
        Value::Object(e) => (
            e.get("code")
                .and_then(Value::as_str)
                .unwrap_or("Unknown")
                .to_string(),
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ),
        Value::String(code) => (
            code.clone(),
            body["error_description"].as_str().unwrap_or("").to_string(),
        ),
        _ => (
            status
                .canonical_reason()
                .unwrap_or("Error")
                .replace(' ', ""),
            match body {
                Value::String(s) => s.clone(),
                Value::Null => format!("Operation returned an invalid status '{status}'"),
                other => other.to_string(),
            },
        ),
    };
    CliError::Service {
        status: status.as_u16(),
        code,
        message,
    }
}

pub struct Http {
    client: reqwest::Client,
    debug: bool,
}

impl Http {
    pub fn new(ca_certificate: Option<&str>, debug: bool) -> CliResult<Self> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(60));
        if let Some(ca) = ca_certificate {
            let pem = std::fs::read(ca).map_err(|e| {
                CliError::client(format!(
                    "cannot read the emulator's CA certificate '{ca}': {e}"
                ))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| CliError::client(format!("'{ca}' is not a PEM certificate: {e}")))?;
            // Trust the emulator's CA only: its certificates are for it alone.
            builder = builder
                .add_root_certificate(cert)
                .tls_built_in_root_certs(false);
        }
        Ok(Self {
            client: builder.build()?,
            debug,
        })
    }

    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        form: Option<&[(&str, &str)]>,
        if_match: Option<&str>,
    ) -> CliResult<Reply> {
        let mut request = self
            .client
            .request(method.clone(), url)
            .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
            .header(
                reqwest::header::USER_AGENT,
                concat!("az-cloudhsm/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(b);
        }
        if let Some(f) = form {
            request = request.form(f);
        }
        if let Some(etag) = if_match {
            request = request.header(reqwest::header::IF_MATCH, etag);
        }
        let request = request.build()?;
        if self.debug {
            debug_request(&request, body, form.is_some());
        }
        let response = self.client.execute(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if self.debug {
            debug_response(status, &headers, &body);
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// GET with a bearer token; an error status as the service's error.
    pub async fn get(&self, url: &str, token: &str) -> CliResult<Reply> {
        self.send(Method::GET, url, Some(token), None, None, None)
            .await?
            .ok()
    }

    /// Client-credentials grant against the emulator's token service.
    pub async fn client_credentials(
        &self,
        endpoints: &Endpoints,
        client_secret: &str,
    ) -> CliResult<CachedToken> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            endpoints.authority.trim_end_matches('/'),
            endpoints.tenant_id
        );
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", endpoints.client_id.as_str()),
            ("client_secret", client_secret),
            ("scope", ARM_SCOPE),
        ];
        let reply = self
            .send(Method::POST, &url, None, None, Some(&form), None)
            .await?
            .ok()?;
        let access_token = reply.body["access_token"]
            .as_str()
            .ok_or_else(|| CliError::client("the token service answered without an access_token"))?
            .to_string();
        let expires_in = reply.body["expires_in"]
            .as_u64()
            .or_else(|| {
                reply.body["expires_in"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
            })
            .unwrap_or(3600);
        Ok(CachedToken {
            access_token,
            expires_on: profile::now_secs() + expires_in,
        })
    }
}

/// A logged-in client of the resource manager.
pub struct Arm {
    http: Http,
    profile: Profile,
    pub subscription: String,
    base: String,
    /// Replaced when the service rejects it (see [`Arm::send`]).
    token: std::sync::Mutex<String>,
}

impl Arm {
    /// Loads the profile, picks the subscription, and has a valid token
    /// (cached, or renewed with the stored service principal).
    pub async fn connect(subscription: Option<&str>, debug: bool) -> CliResult<Self> {
        let profile = Profile::load()?;
        let subscription = profile.subscription(subscription)?.id.clone();
        let http = Http::new(profile.endpoints.ca_certificate.as_deref(), debug)?;
        let base = profile
            .endpoints
            .resource_manager
            .trim_end_matches('/')
            .to_string();
        let arm = Self {
            http,
            profile,
            subscription,
            base,
            token: Default::default(),
        };
        match profile::load_token() {
            Some(t) if t.expires_on > profile::now_secs() + TOKEN_MARGIN_SECS => {
                arm.set_token(t.access_token)
            }
            _ => arm.renew_token().await?,
        }
        Ok(arm)
    }

    fn token(&self) -> String {
        self.token.lock().map(|t| t.clone()).unwrap_or_default()
    }

    fn set_token(&self, token: String) {
        if let Ok(mut t) = self.token.lock() {
            *t = token;
        }
    }

    async fn renew_token(&self) -> CliResult<()> {
        let t = self
            .http
            .client_credentials(&self.profile.endpoints, &self.profile.client_secret)
            .await?;
        profile::save_token(&t)?;
        self.set_token(t.access_token);
        Ok(())
    }

    /// Sends with the current token; a 401 (a cached token the emulator no
    /// longer accepts, e.g. after its data dir was reset) renews the token
    /// once and sends again.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> CliResult<Reply> {
        let url = self.url(path);
        let reply = self
            .http
            .send(
                method.clone(),
                &url,
                Some(&self.token()),
                body,
                None,
                if_match,
            )
            .await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        self.renew_token().await?;
        self.http
            .send(method, &url, Some(&self.token()), body, None, if_match)
            .await
    }

    /// `path` is relative to the resource manager unless it is a full URL
    /// (operation links are).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("https://") || path.starts_with("http://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> CliResult<Reply> {
        self.send(method, path, body, None).await
    }

    /// A write that applies only if the resource still has `etag` (a
    /// read-modify-write that must not undo someone else's change).
    pub async fn write_if_match(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        etag: Option<&str>,
    ) -> CliResult<Reply> {
        self.send(method, path, Some(body), etag).await?.ok()
    }

    /// A call whose error status is an error.
    pub async fn call_checked(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> CliResult<Reply> {
        self.call(method, path, body).await?.ok()
    }

    /// Every item of a paged list (follows `nextLink`).
    pub async fn list(&self, path: &str) -> CliResult<Value> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(url) = next.take() {
            let reply = self.call_checked(Method::GET, &url, None).await?;
            if let Some(values) = reply.body["value"].as_array() {
                items.extend(values.iter().cloned());
            }
            next = reply.body["nextLink"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        Ok(Value::Array(items))
    }
}

/// Names whose values never appear in `--debug` output.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "clientSecret",
    "token",
    "password",
];

fn mask(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    if SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(k)) && !v.is_null() {
                        (k.clone(), Value::String("*****".into()))
                    } else {
                        (k.clone(), mask(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask).collect()),
        Value::String(s) => Value::String(mask_sas(s)),
        other => other.clone(),
    }
}

/// A SAS signature in a URL is a credential.
fn mask_sas(text: &str) -> String {
    let Some(start) = text.find("sig=") else {
        return text.to_string();
    };
    let rest = &text[start + 4..];
    let end = rest.find('&').unwrap_or(rest.len());
    format!("{}sig=*****{}", &text[..start], mask_sas(&rest[end..]))
}

fn debug_line(text: &str) {
    eprintln!("DEBUG: cli.azure.cli.core.sdk.policies: {text}");
}

fn debug_headers(headers: &HeaderMap) {
    for (name, value) in headers {
        let shown = if name == reqwest::header::AUTHORIZATION {
            "*****".to_string()
        } else {
            mask_sas(value.to_str().unwrap_or("<binary>"))
        };
        debug_line(&format!("    '{name}': '{shown}'"));
    }
}

fn debug_request(request: &reqwest::Request, body: Option<&Value>, is_form: bool) {
    debug_line(&format!(
        "Request URL: '{}'",
        mask_sas(request.url().as_str())
    ));
    debug_line(&format!("Request method: '{}'", request.method()));
    debug_line("Request headers:");
    debug_headers(request.headers());
    match (body, is_form) {
        (Some(b), _) => debug_line(&format!("Request body:\n{}", mask(b))),
        // The only form this CLI sends is the token request: its secret stays out.
        (None, true) => debug_line("Request body: <client credentials, not logged>"),
        (None, false) => debug_line("No body was attached to the request"),
    }
}

fn debug_response(status: StatusCode, headers: &HeaderMap, body: &Value) {
    debug_line(&format!("Response status: {}", status.as_u16()));
    debug_line("Response headers:");
    debug_headers(headers);
    if !body.is_null() {
        debug_line(&format!("Response content:\n{}", mask(body)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_tokens_secrets_and_sas_signatures() {
        let v = serde_json::json!({"access_token": "eyJ", "x": [{"token": "sv=1&sig=abc"}],
                                   "uri": "https://a/b?sv=1&sig=abc&se=2"});
        let m = mask(&v).to_string();
        assert!(!m.contains("eyJ") && !m.contains("abc"), "{m}");
        assert!(m.contains("se=2"));
    }
}
