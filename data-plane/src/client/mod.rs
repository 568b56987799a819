//! The Rust client of the network API, used by the CLI and tests. Like the
//! Cloud HSM client SDK it logs in once, fails over to the next HSM when one
//! is unavailable, and logs in again by itself (implicit login) when its
//! login is gone, e.g. after the emulator restarted, retrying operations
//! that are safe to repeat.

mod partition;
mod public_keys;
mod security;
mod signer;
mod two_factor_steps;

pub use signer::TwoFactorKey;

mod blocking;
mod stream;

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::{
    engine::{attributes::Attribute, keys::KeySpec},
    server::{frames::RequestFrame, wire::*, CryptoOp},
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ClientError {
    /// HTTP status, 0 when no HSM could be reached.
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ClientError {
    fn local(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: 0,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Where the cluster is: the data-plane endpoint and the HSMs' addresses (as
/// `properties.hsms[].fqdn` lists them), plus the CA to trust.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://127.0.0.1:2225`
    pub endpoint: String,
    pub hsm_addresses: Vec<String>,
    pub ca_pem: Option<Vec<u8>>,
    /// The emulator's socket on this machine (`localSocket` of the client
    /// configuration): the blocking path's frames go there when it can
    /// connect, the endpoint otherwise.
    pub local_socket: Option<std::path::PathBuf>,
}

/// Credentials from the environment, as the SDK reads them:
/// `azcloudhsm_password="user:password"`, `azcloudhsm_user_type` (default `CU`).
pub fn credentials_from_env() -> Option<(String, String, String)> {
    let pair = std::env::var("azcloudhsm_password").ok()?;
    let (user, password) = pair.split_once(':')?;
    let user_type = std::env::var("azcloudhsm_user_type").unwrap_or_else(|_| "CU".into());
    Some((user_type, user.to_string(), password.to_string()))
}

#[derive(Default)]
struct Connection {
    token: Option<String>,
    session: Option<u64>,
    credentials: Option<(String, String, String)>,
    /// The HSM currently used; the next ones are tried when it fails.
    current: usize,
}

pub struct HsmClient {
    http: reqwest::Client,
    config: ClientConfig,
    connection: Mutex<Connection>,
    /// Operations answered over the framed stream (see [`stream`]).
    streamed: AtomicU64,
    stream: stream::Current,
    /// The calling thread's own connection, for [`HsmClient::crypto_blocking`].
    blocking: blocking::Blocking,
    use_stream: bool,
}

/// Whether a failure means "try another HSM".
fn unavailable(status: StatusCode) -> bool {
    status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::BAD_GATEWAY
}

impl HsmClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        if config.hsm_addresses.is_empty() {
            return Err(ClientError::local(
                "RET_INVALID_CONFIG",
                "the configuration lists no HSM address",
            ));
        }
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if let Some(pem) = &config.ca_pem {
            let ca = reqwest::Certificate::from_pem(pem).map_err(|e| {
                ClientError::local("RET_INVALID_CONFIG", format!("CA certificate: {e}"))
            })?;
            builder = builder
                .add_root_certificate(ca)
                .tls_built_in_root_certs(false);
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::local("RET_INVALID_CONFIG", e.to_string()))?;
        Ok(Self {
            http,
            config,
            connection: Mutex::new(Connection::default()),
            streamed: AtomicU64::new(0),
            stream: Default::default(),
            blocking: Default::default(),
            use_stream: true,
        })
    }

    /// A client that sends everything as HTTPS+JSON, never the framed
    /// stream (e.g. behind a proxy that refuses connection upgrades).
    pub fn without_stream(mut self) -> Self {
        self.use_stream = false;
        self
    }

    /// One request to one HSM.
    async fn send(
        &self,
        hsm: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        session: Option<u64>,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let url = format!(
            "{}/hsms/{hsm}{path}",
            self.config.endpoint.trim_end_matches('/')
        );
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(session) = session {
            request = request.header("x-hsm-session", session.to_string());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok((status, value))
    }

    /// Sends to the current HSM, failing over through the others.
    async fn send_with_failover(
        &self,
        connection: &mut Connection,
        method: Method,
        path: &str,
        with_session: bool,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), ClientError> {
        let count = self.config.hsm_addresses.len();
        let mut last = ClientError::local("RET_NO_HSM_AVAILABLE", "no HSM of the cluster answered");
        for attempt in 0..count {
            let index = (connection.current + attempt) % count;
            let hsm = &self.config.hsm_addresses[index];
            let session = if with_session {
                connection.session
            } else {
                None
            };
            match self
                .send(
                    hsm,
                    method.clone(),
                    path,
                    connection.token.as_deref(),
                    session,
                    body,
                )
                .await
            {
                Ok((status, value)) if !unavailable(status) => {
                    connection.current = index;
                    return Ok((status, value));
                }
                Ok((status, value)) => last = error_from(status, &value),
                Err(e) => last = ClientError::local("RET_NO_HSM_AVAILABLE", format!("{hsm}: {e}")),
            }
        }
        Err(last)
    }

    async fn establish(&self, connection: &mut Connection) -> Result<(), ClientError> {
        let (user_type, user, password) = connection.credentials.clone().ok_or_else(|| {
            ClientError::local(
                "CKR_USER_NOT_LOGGED_IN",
                "not logged in: call login, or set azcloudhsm_password",
            )
        })?;
        connection.token = None;
        connection.session = None;
        let body = serde_json::to_value(LoginRequest {
            user_type,
            user,
            password,
        })
        .map_err(|e| ClientError::local("RET_INVALID_REQUEST", e.to_string()))?;
        let (status, value) = self
            .send_with_failover(connection, Method::POST, "/login", false, Some(&body))
            .await?;
        if !status.is_success() {
            return Err(error_from(status, &value));
        }
        let login: LoginResponse = parse(value)?;
        self.open_session(connection, login.token).await
    }

    /// Takes a fresh login `token` and opens the session calls go through.
    async fn open_session(
        &self,
        connection: &mut Connection,
        token: String,
    ) -> Result<(), ClientError> {
        connection.token = Some(token);
        let (status, value) = self
            .send_with_failover(connection, Method::POST, "/sessions", false, None)
            .await?;
        if !status.is_success() {
            return Err(error_from(status, &value));
        }
        connection.session = Some(parse::<SessionResponse>(value)?.session);
        Ok(())
    }

    /// `loginHSM`: logs in and opens a session; remembers the credentials
    /// for implicit re-login.
    pub async fn login(
        &self,
        user_type: &str,
        user: &str,
        password: &str,
    ) -> Result<(), ClientError> {
        let mut connection = self.connection.lock().await;
        connection.credentials = Some((
            user_type.to_string(),
            user.to_string(),
            password.to_string(),
        ));
        let result = self.establish(&mut connection).await;
        if result.is_err() {
            connection.credentials = None;
        }
        result
    }

    /// Logs in with [`credentials_from_env`].
    pub async fn login_from_env(&self) -> Result<(), ClientError> {
        let (user_type, user, password) = credentials_from_env().ok_or_else(|| {
            ClientError::local(
                "CKR_USER_NOT_LOGGED_IN",
                "azcloudhsm_password is not set as user:password",
            )
        })?;
        self.login(&user_type, &user, &password).await
    }

    pub async fn logout(&self) -> Result<(), ClientError> {
        let mut connection = self.connection.lock().await;
        let (status, value) = self
            .send_with_failover(&mut connection, Method::POST, "/logout", false, None)
            .await?;
        *connection = Connection {
            current: connection.current,
            ..Default::default()
        };
        if status.is_success() {
            Ok(())
        } else {
            Err(error_from(status, &value))
        }
    }

    /// An operation inside the session. With `repeatable`, a lost login is
    /// re-established and the operation sent again.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<B>,
        repeatable: bool,
    ) -> Result<T, ClientError> {
        let body = body
            .map(|b| serde_json::to_value(b))
            .transpose()
            .map_err(|e| ClientError::local("RET_INVALID_REQUEST", e.to_string()))?;
        let mut connection = self.connection.lock().await;
        if connection.token.is_none() {
            self.establish(&mut connection).await?;
        }
        let (mut status, mut value) = self
            .send_with_failover(&mut connection, method.clone(), path, true, body.as_ref())
            .await?;
        let lost = matches!(
            value.get("code").and_then(Value::as_str),
            Some("CKR_USER_NOT_LOGGED_IN" | "CKR_SESSION_HANDLE_INVALID")
        );
        if lost && repeatable && connection.credentials.is_some() {
            self.establish(&mut connection).await?;
            (status, value) = self
                .send_with_failover(&mut connection, method, path, true, body.as_ref())
                .await?;
        }
        if status.is_success() {
            parse(if value.is_null() {
                Value::Object(Default::default())
            } else {
                value
            })
            .or_else(|_| parse(Value::Null))
        } else {
            Err(error_from(status, &value))
        }
    }

    pub async fn list_users(&self) -> Result<Vec<UserInfo>, ClientError> {
        self.call::<(), _>(Method::GET, "/users", None, true).await
    }

    pub async fn create_user(
        &self,
        user_type: &str,
        name: &str,
        password: &str,
    ) -> Result<(), ClientError> {
        let body = CreateUserRequest {
            user_type: user_type.into(),
            name: name.into(),
            password: password.into(),
        };
        self.call::<_, Value>(Method::POST, "/users", Some(body), false)
            .await
            .map(drop)
    }

    pub async fn delete_user(&self, name: &str) -> Result<(), ClientError> {
        self.call::<(), Value>(Method::DELETE, &format!("/users/{name}"), None, false)
            .await
            .map(drop)
    }

    pub async fn change_password(&self, name: &str, password: &str) -> Result<(), ClientError> {
        let body = PasswordRequest {
            password: password.into(),
        };
        self.call::<_, Value>(
            Method::POST,
            &format!("/users/{name}/password"),
            Some(body),
            false,
        )
        .await
        .map(drop)
    }

    pub async fn unlock_user(&self, name: &str) -> Result<(), ClientError> {
        self.call::<(), Value>(Method::POST, &format!("/users/{name}/unlock"), None, true)
            .await
            .map(drop)
    }

    pub async fn sync_user(&self, name: &str) -> Result<(), ClientError> {
        self.call::<(), Value>(Method::POST, &format!("/users/{name}/sync"), None, true)
            .await
            .map(drop)
    }

    /// `genSymKey`: the new key's handle.
    pub async fn generate_key(
        &self,
        spec: KeySpec,
        attributes: Vec<(u32, Attribute)>,
    ) -> Result<u64, ClientError> {
        self.call_for_handle("/keys", GenerateKeyRequest { spec, attributes })
            .await
    }

    /// `genRSAKeyPair` / `genECCKeyPair`: `(public, private)` handles.
    pub async fn generate_key_pair(
        &self,
        spec: KeySpec,
        attributes: Vec<(u32, Attribute)>,
    ) -> Result<(u64, u64), ClientError> {
        let handles: KeyHandles = self
            .call(
                Method::POST,
                "/keypairs",
                Some(GenerateKeyRequest { spec, attributes }),
                false,
            )
            .await?;
        match handles.handles[..] {
            [public, private] => Ok((public, private)),
            _ => Err(ClientError::local(
                "RET_INVALID_RESPONSE",
                "expected two handles",
            )),
        }
    }

    pub async fn find_keys(&self, filter: Vec<(u32, Attribute)>) -> Result<Vec<u64>, ClientError> {
        let handles: KeyHandles = self
            .call(
                Method::POST,
                "/keys/find",
                Some(FindRequest { filter }),
                true,
            )
            .await?;
        Ok(handles.handles)
    }

    pub async fn get_attribute(&self, handle: u64, id: u32) -> Result<Attribute, ClientError> {
        let value: AttributeValue = self
            .call::<(), _>(
                Method::GET,
                &format!("/keys/{handle}/attributes/{id}"),
                None,
                true,
            )
            .await?;
        Ok(value.value)
    }

    pub async fn set_attribute(
        &self,
        handle: u64,
        id: u32,
        value: Attribute,
    ) -> Result<(), ClientError> {
        self.call::<_, Value>(
            Method::PUT,
            &format!("/keys/{handle}/attributes/{id}"),
            Some(AttributeValue { value }),
            true,
        )
        .await
        .map(drop)
    }

    pub async fn share_key(&self, handle: u64, user: &str, share: bool) -> Result<(), ClientError> {
        self.call::<_, Value>(
            Method::POST,
            &format!("/keys/{handle}/share"),
            Some(ShareRequest {
                user: user.into(),
                share,
            }),
            true,
        )
        .await
        .map(drop)
    }

    pub async fn delete_key(&self, handle: u64) -> Result<(), ClientError> {
        self.call::<(), Value>(Method::DELETE, &format!("/keys/{handle}"), None, false)
            .await
            .map(drop)
    }

    pub async fn export_public_key(&self, handle: u64) -> Result<Vec<u8>, ClientError> {
        let out: BytesResponse = self
            .call::<(), _>(Method::GET, &format!("/keys/{handle}/public"), None, true)
            .await?;
        decode(&out.data)
    }

    async fn crypto(
        &self,
        handle: u64,
        operation: &str,
        request: CryptoRequest,
    ) -> Result<Vec<u8>, ClientError> {
        let out: BytesResponse = self
            .call(
                Method::POST,
                &format!("/keys/{handle}/{operation}"),
                Some(request),
                true,
            )
            .await?;
        decode(&out.data)
    }

    pub async fn sign(
        &self,
        handle: u64,
        mechanism: &str,
        data: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        self.crypto_call(CryptoInput::new(handle, CryptoOp::Sign, mechanism, data))
            .await
    }

    pub async fn verify(
        &self,
        handle: u64,
        mechanism: &str,
        data: &[u8],
        signature: &[u8],
    ) -> Result<(), ClientError> {
        self.crypto_call(CryptoInput {
            signature,
            ..CryptoInput::new(handle, CryptoOp::Verify, mechanism, data)
        })
        .await
        .map(drop)
    }

    pub async fn encrypt(
        &self,
        handle: u64,
        mechanism: &str,
        data: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        self.crypto_call(CryptoInput {
            aad,
            ..CryptoInput::new(handle, CryptoOp::Encrypt, mechanism, data)
        })
        .await
    }

    pub async fn decrypt(
        &self,
        handle: u64,
        mechanism: &str,
        data: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        self.crypto_call(CryptoInput {
            aad,
            ..CryptoInput::new(handle, CryptoOp::Decrypt, mechanism, data)
        })
        .await
    }

    /// How many operations the framed stream answered, with their output or
    /// a final error (the rest went over HTTPS+JSON).
    pub fn streamed_operations(&self) -> u64 {
        self.streamed.load(Ordering::Relaxed)
    }

    /// Sign, verify, encrypt and decrypt go over the framed stream; when it
    /// cannot answer (no stream, HSM unavailable, login or session gone) the
    /// operation is sent over HTTPS+JSON, which fails over, logs in again and
    /// retries as it does for every operation. The operations are safe to
    /// repeat, so one the stream may have run is simply sent again.
    pub async fn crypto_call(&self, input: CryptoInput<'_>) -> Result<Vec<u8>, ClientError> {
        if self.use_stream {
            // The lock covers only reading the login: the stream carries
            // many calls of one client at once.
            let login = {
                let mut connection = self.connection.lock().await;
                if connection.token.is_none() && connection.credentials.is_some() {
                    self.establish(&mut connection).await?;
                }
                self.stream_login(&connection)
            };
            if let Some((token, session, hsm)) = login {
                let request = stream_request(&token, session, &input);
                if let Ok(Some(answer)) = stream::call(&self.config, &self.stream, &hsm, request)
                    .await
                    .map(|answer| self.settled(answer))
                {
                    return answer;
                }
            }
        }
        let request = CryptoRequest {
            mechanism: input.mechanism.into(),
            data: B64.encode(input.data),
            signature: B64.encode(input.signature),
            aad: B64.encode(input.aad),
        };
        self.crypto(input.handle, input.op.name(), request).await
    }

    /// The operation done by the calling thread on the client's own
    /// connection (see [`blocking`]), for callers that would block on the
    /// answer anyway (the PKCS#11 module). `None` when that path cannot
    /// answer (not logged in yet, the HSM unreachable, the login or session
    /// gone): then [`Self::crypto_call`], which can, and which may safely
    /// repeat an operation this path sent.
    pub fn crypto_blocking(&self, input: CryptoInput<'_>) -> Option<Result<Vec<u8>, ClientError>> {
        if !self.use_stream {
            return None;
        }
        let (token, session, hsm) = self.stream_login(&*self.connection.try_lock().ok()?)?;
        let request = stream_request(&token, session, &input);
        let response = self.blocking.call(&self.config, &hsm, request).ok()?;
        self.settled(frame_answer(response))
    }

    /// A stream's answer, counted, or `None` when it means the operation
    /// must go over HTTPS+JSON (HSM unavailable, login or session gone).
    fn settled(
        &self,
        answer: Result<Vec<u8>, ClientError>,
    ) -> Option<Result<Vec<u8>, ClientError>> {
        match answer {
            Err(e) if needs_http(&e) => None,
            answer => {
                self.streamed.fetch_add(1, Ordering::Relaxed);
                Some(answer)
            }
        }
    }

    /// (token, session, HSM address) of the login, when there is one.
    fn stream_login(&self, connection: &Connection) -> Option<(String, u64, String)> {
        match (&connection.token, connection.session) {
            (Some(token), Some(session)) => Some((
                token.clone(),
                session,
                self.config.hsm_addresses[connection.current].clone(),
            )),
            _ => None,
        }
    }

    /// `wrapKey`: `target` wrapped under `wrapping`.
    pub async fn wrap_key(
        &self,
        wrapping: u64,
        target: u64,
        mechanism: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let request = WrapRequest {
            target,
            mechanism: mechanism.into(),
        };
        let out: BytesResponse = self
            .call(
                Method::POST,
                &format!("/keys/{wrapping}/wrap"),
                Some(request),
                true,
            )
            .await?;
        decode(&out.data)
    }

    /// `unwrapKey`: the new key's handle.
    pub async fn unwrap_key(
        &self,
        wrapping: u64,
        wrapped: &[u8],
        mechanism: &str,
        spec: KeySpec,
        attributes: Vec<(u32, Attribute)>,
    ) -> Result<u64, ClientError> {
        let request = UnwrapRequest {
            mechanism: mechanism.into(),
            data: B64.encode(wrapped),
            spec,
            attributes,
        };
        let handles: KeyHandles = self
            .call(
                Method::POST,
                &format!("/keys/{wrapping}/unwrap"),
                Some(request),
                false,
            )
            .await?;
        handles
            .handles
            .first()
            .copied()
            .ok_or_else(|| ClientError::local("RET_INVALID_RESPONSE", "no handle returned"))
    }

    pub async fn node_listings(&self) -> Result<Vec<NodeListingBody>, ClientError> {
        self.call::<(), _>(Method::GET, "/nodes", None, true).await
    }

    pub async fn find_single_key(&self, handle: u64) -> Result<Vec<(usize, bool)>, ClientError> {
        self.call::<(), _>(Method::GET, &format!("/keys/{handle}/nodes"), None, true)
            .await
    }

    /// Emulator fault injection: `stop`, `start` or `replace` HSM `node`.
    /// `admin_token` is a control-plane token of the emulator's well-known
    /// principal (its admin credential), not an HSM login.
    pub async fn admin_node(
        &self,
        admin_token: &str,
        node: usize,
        action: &str,
    ) -> Result<(), ClientError> {
        self.admin_call(
            admin_token,
            Method::POST,
            &format!("/admin/nodes/{node}/{action}"),
        )
        .await
        .map(drop)
    }

    /// An emulator admin route, with the admin credential, through the first
    /// HSM that answers (admin routes answer even for a stopped HSM).
    async fn admin_call(
        &self,
        admin_token: &str,
        method: Method,
        path: &str,
    ) -> Result<Value, ClientError> {
        let mut last = ClientError::local("RET_NO_HSM_AVAILABLE", "no HSM of the cluster answered");
        for hsm in &self.config.hsm_addresses {
            match self
                .send(hsm, method.clone(), path, Some(admin_token), None, None)
                .await
            {
                Ok((status, value)) if status.is_success() => return Ok(value),
                Ok((status, value)) if !unavailable(status) => {
                    return Err(error_from(status, &value))
                }
                Ok((status, value)) => last = error_from(status, &value),
                Err(e) => last = ClientError::local("RET_NO_HSM_AVAILABLE", format!("{hsm}: {e}")),
            }
        }
        Err(last)
    }
}

/// Stream answers that the HTTP path handles better: an unavailable HSM (it
/// fails over) and a lost login or session (it logs in again).
fn stream_request<'a>(token: &'a str, session: u64, input: &CryptoInput<'a>) -> RequestFrame<'a> {
    RequestFrame {
        id: 0,
        op: input.op.code(),
        session,
        handle: input.handle,
        token,
        mechanism: input.mechanism,
        data: input.data,
        signature: input.signature,
        aad: input.aad,
    }
}

/// One sign, verify, encrypt or decrypt: what both the framed stream and the
/// HTTP API take.
#[derive(Clone, Copy, Debug)]
pub struct CryptoInput<'a> {
    pub handle: u64,
    pub op: CryptoOp,
    pub mechanism: &'a str,
    pub data: &'a [u8],
    /// Verify only.
    pub signature: &'a [u8],
    /// AEAD mechanisms only.
    pub aad: &'a [u8],
}

impl<'a> CryptoInput<'a> {
    /// No signature, no additional data.
    pub fn new(handle: u64, op: CryptoOp, mechanism: &'a str, data: &'a [u8]) -> Self {
        Self {
            handle,
            op,
            mechanism,
            data,
            signature: &[],
            aad: &[],
        }
    }
}

/// A stream response as the client's result.
fn frame_answer(response: crate::server::frames::ResponseFrame) -> Result<Vec<u8>, ClientError> {
    response
        .result
        .map_err(|(status, code, message)| ClientError {
            status,
            code,
            message,
        })
}

fn needs_http(e: &ClientError) -> bool {
    unavailable(StatusCode::from_u16(e.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE))
        || matches!(
            e.code.as_str(),
            "CKR_USER_NOT_LOGGED_IN" | "CKR_SESSION_HANDLE_INVALID"
        )
}

fn error_from(status: StatusCode, value: &Value) -> ClientError {
    ClientError {
        status: status.as_u16(),
        code: value
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("RET_UNEXPECTED_RESPONSE")
            .to_string(),
        message: value
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}")),
    }
}

fn parse<T: DeserializeOwned>(value: Value) -> Result<T, ClientError> {
    serde_json::from_value(value)
        .map_err(|e| ClientError::local("RET_INVALID_RESPONSE", e.to_string()))
}

fn decode(text: &str) -> Result<Vec<u8>, ClientError> {
    B64.decode(text)
        .map_err(|e| ClientError::local("RET_INVALID_RESPONSE", e.to_string()))
}
