//! One handler per operation family: parse, resolve the HSM, authenticate,
//! call the engine, shape the answer.

use std::sync::Arc;

use axum::{
    extract::{FromRequestParts, Path, State},
    http::{request::Parts, StatusCode},
    routing::{delete, get, post},
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};

mod admin;
mod certificates;
mod partition;
mod public_keys;

use super::{
    crypto_ops::{self, within_limit, CryptoCall, CryptoOp},
    wire::*,
    ApiError, DataPlaneState, Login,
};
use crate::engine::{
    attributes::KeyAttributes, cluster::Cluster, error::EngineError, keys::KeyHandle,
    mechanisms::Mechanism, users::Role,
};

mod security;

type AppState = Arc<DataPlaneState>;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/hsms/{hsm}/login", post(login))
        .route("/hsms/{hsm}/logout", post(logout))
        .route("/hsms/{hsm}/sessions", post(open_session))
        .route("/hsms/{hsm}/sessions/{session}", delete(close_session))
        .route("/hsms/{hsm}/users", get(list_users).post(create_user))
        .route("/hsms/{hsm}/users/{name}", delete(delete_user))
        .route("/hsms/{hsm}/users/{name}/password", post(change_password))
        .route("/hsms/{hsm}/users/{name}/unlock", post(unlock_user))
        .route("/hsms/{hsm}/users/{name}/sync", post(sync_user))
        .route("/hsms/{hsm}/keys", post(generate_key))
        .route("/hsms/{hsm}/keypairs", post(generate_key_pair))
        .route("/hsms/{hsm}/keys/find", post(find_keys))
        .route("/hsms/{hsm}/keys/{handle}", delete(delete_key))
        .route(
            "/hsms/{hsm}/keys/{handle}/attributes/{id}",
            get(get_attribute).put(set_attribute),
        )
        .route("/hsms/{hsm}/keys/{handle}/share", post(share_key))
        .route("/hsms/{hsm}/keys/{handle}/public", get(export_public_key))
        .route("/hsms/{hsm}/keys/{handle}/nodes", get(find_single_key))
        .route("/hsms/{hsm}/keys/{handle}/wrap", post(wrap_key))
        .route("/hsms/{hsm}/keys/{handle}/unwrap", post(unwrap_key))
        .route("/hsms/{hsm}/keys/{handle}/{operation}", post(crypto))
        .route("/hsms/{hsm}/nodes", get(node_listings))
        .route("/hsms/{hsm}/stream", get(super::stream::upgrade))
        .merge(partition::routes())
        .merge(public_keys::routes())
        .merge(certificates::routes())
        .merge(security::routes())
        .merge(admin::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admin::outage_gate,
        ))
        .layer(axum::middleware::from_fn(partition::caller_address))
        // Outermost: every body is read whole (or refused) before any
        // handler or check can answer early.
        .layer(axum::middleware::from_fn(|request, next| {
            super::limits::body_limit(
                request,
                next,
                super::limits::DATA_PLANE_MAX_BODY,
                super::limits::data_plane_refusal,
            )
        }))
        .with_state(state)
}

/// The HSM a request names, if it exists and is up.
fn resolve(state: &DataPlaneState, hsm: &str) -> Result<Arc<Cluster>, ApiError> {
    let (cluster, node) = locate(state, hsm)?;
    node_up(&cluster, node, hsm)?;
    Ok(cluster)
}

/// The cluster and node an HSM address belongs to, up or not.
pub(super) fn locate(state: &DataPlaneState, hsm: &str) -> Result<(Arc<Cluster>, usize), ApiError> {
    state.directory.resolve(hsm).map_err(|why| match why {
        super::Unreachable::Unknown => ApiError::new(
            StatusCode::NOT_FOUND,
            "RET_UNKNOWN_HSM",
            format!("no HSM has the address '{hsm}'"),
        ),
        // 403 as Azure's own private-link services answer a closed network
        // (not 503: the client must not fail over and retry the next HSM,
        // whose path is just as closed).
        super::Unreachable::Closed(why) => ApiError::new(
            StatusCode::FORBIDDEN,
            "RET_NETWORK_ACCESS_DENIED",
            format!("HSM '{hsm}' is not reachable: {why}"),
        ),
    })
}

/// A stopped HSM answers 503 so the client fails over to the next.
pub(super) fn node_up(cluster: &Cluster, node: usize, hsm: &str) -> Result<(), ApiError> {
    if cluster.node_is_up(node) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "RET_HSM_UNAVAILABLE",
            format!("HSM '{hsm}' is unavailable; use another HSM of the cluster"),
        ))
    }
}

/// A JSON body; anything else is a 400 in the API's error shape.
struct ApiJson<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| ApiJson(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// `Authorization: Bearer <token>` and, for work inside a session,
/// `x-hsm-session: <handle>`.
struct Credentials {
    token: String,
    session: Option<u64>,
}

impl FromRequestParts<AppState> for Credentials {
    type Rejection = ApiError;

    /// The door: a token that is no login is refused here, before the body
    /// is read or anything else about the request is judged.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string)
            .ok_or_else(|| ApiError::from(EngineError::NotLoggedIn))?;
        if !state
            .logins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&token)
        {
            return Err(EngineError::NotLoggedIn.into());
        }
        let session = match parts.headers.get("x-hsm-session") {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| {
                        ApiError::bad_request("x-hsm-session is not a session handle")
                    })?,
            ),
        };
        Ok(Self { token, session })
    }
}

/// The cluster and session of an authenticated request.
fn session_of(
    state: &DataPlaneState,
    hsm: &str,
    credentials: &Credentials,
) -> Result<(Arc<Cluster>, u64), ApiError> {
    let cluster = resolve(state, hsm)?;
    // Who asks comes first: a token that is no login here is refused as
    // such, whatever else the request lacks.
    let logged_in = state
        .logins
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&credentials.token)
        .is_some_and(|login| Arc::ptr_eq(&login.cluster, &cluster));
    if !logged_in {
        return Err(EngineError::NotLoggedIn.into());
    }
    let session = credentials
        .session
        .ok_or_else(|| ApiError::bad_request("x-hsm-session is required"))?;
    login_session(state, &cluster, &credentials.token, session)?;
    Ok((cluster, session))
}

/// Checks that `token` is a login on `cluster` that opened `session`.
pub(super) fn login_session(
    state: &DataPlaneState,
    cluster: &Arc<Cluster>,
    token: &str,
    session: u64,
) -> Result<(), ApiError> {
    let logins = state.logins.lock().unwrap_or_else(|p| p.into_inner());
    let login = logins
        .get(token)
        .ok_or_else(|| ApiError::from(EngineError::NotLoggedIn))?;
    if !Arc::ptr_eq(&login.cluster, cluster) {
        return Err(EngineError::NotLoggedIn.into());
    }
    if !login.sessions.contains(&session) {
        return Err(EngineError::SessionNotFound(session).into());
    }
    Ok(())
}

fn bytes(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    B64.decode(text)
        .map_err(|_| ApiError::bad_request(format!("'{field}' is not base64")))
}

async fn login(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let cluster = resolve(&state, &hsm)?;
    let role = Role::parse(&request.user_type)?;
    let engine = cluster.clone();
    let id = blocking(move || engine.login(role, &request.user, &request.password)).await?;
    register_login(&state, cluster, id)
}

/// A bearer token for an engine login.
fn register_login(
    state: &DataPlaneState,
    cluster: Arc<Cluster>,
    id: crate::engine::sessions::LoginId,
) -> Result<Json<LoginResponse>, ApiError> {
    let token = new_token()?;
    state
        .logins
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            token.clone(),
            Login {
                cluster,
                id,
                sessions: Default::default(),
            },
        );
    Ok(Json(LoginResponse { token }))
}

fn new_token() -> Result<String, ApiError> {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut raw)
        .map_err(|_| ApiError::from(EngineError::Crypto("random".into())))?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

async fn logout(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
) -> Result<StatusCode, ApiError> {
    resolve(&state, &hsm)?;
    let login = state
        .logins
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&credentials.token)
        .ok_or_else(|| ApiError::from(EngineError::NotLoggedIn))?;
    login.cluster.logout(login.id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn open_session(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
) -> Result<Json<SessionResponse>, ApiError> {
    let cluster = resolve(&state, &hsm)?;
    let mut logins = state.logins.lock().unwrap_or_else(|p| p.into_inner());
    let login = logins
        .get_mut(&credentials.token)
        .ok_or_else(|| ApiError::from(EngineError::NotLoggedIn))?;
    if !Arc::ptr_eq(&login.cluster, &cluster) {
        return Err(EngineError::NotLoggedIn.into());
    }
    let session = cluster.open_session(login.id)?;
    login.sessions.insert(session);
    Ok(Json(SessionResponse { session }))
}

async fn close_session(
    State(state): State<AppState>,
    Path((hsm, session)): Path<(String, u64)>,
    credentials: Credentials,
) -> Result<StatusCode, ApiError> {
    let credentials = Credentials {
        session: Some(session),
        ..credentials
    };
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.close_session(session)?;
    if let Some(login) = state
        .logins
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&credentials.token)
    {
        login.sessions.remove(&session);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn list_users(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
) -> Result<Json<Vec<UserInfo>>, ApiError> {
    let cluster = resolve(&state, &hsm)?;
    Ok(Json(
        cluster
            .list_users()?
            .into_iter()
            .map(|(name, role)| UserInfo {
                name,
                user_type: role.as_str().into(),
            })
            .collect(),
    ))
}

/// Runs blocking engine work (password hashing, key generation, crypto)
/// off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, ApiError> {
    // The audit events of the work name the request's caller.
    let ip = crate::engine::audit::caller_ip();
    tokio::task::spawn_blocking(move || crate::engine::audit::with_caller_ip(ip, work))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "CKR_FUNCTION_FAILED",
                e.to_string(),
            )
        })?
        .map_err(ApiError::from)
}

async fn create_user(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let role = Role::parse(&request.user_type)?;
    blocking(move || cluster.create_user(session, role, &request.name, &request.password)).await?;
    Ok(StatusCode::CREATED)
}

async fn delete_user(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
    credentials: Credentials,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.delete_user(session, &name)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_password(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    blocking(move || cluster.change_password(session, &name, &request.password)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unlock_user(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
    credentials: Credentials,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.unlock_user(session, &name)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sync_user(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
    credentials: Credentials,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.sync_user(session, &name)?;
    Ok(StatusCode::NO_CONTENT)
}

fn attributes(
    pairs: &[(u32, crate::engine::attributes::Attribute)],
) -> Result<KeyAttributes, ApiError> {
    let mut attributes = KeyAttributes::default();
    for (id, value) in pairs {
        // At creation the owner sets what the rules let an owner set.
        attributes.set(*id, value, Role::CryptoUser)?;
    }
    Ok(attributes)
}

async fn generate_key(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<GenerateKeyRequest>,
) -> Result<Json<KeyHandles>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let attributes = attributes(&request.attributes)?;
    let handle = blocking(move || cluster.generate_key(session, request.spec, attributes)).await?;
    Ok(Json(KeyHandles {
        handles: vec![handle],
    }))
}

/// Answers `[public, private]`.
async fn generate_key_pair(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<GenerateKeyRequest>,
) -> Result<Json<KeyHandles>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let attributes = attributes(&request.attributes)?;
    let (public, private) =
        blocking(move || cluster.generate_key_pair(session, request.spec, attributes)).await?;
    Ok(Json(KeyHandles {
        handles: vec![public, private],
    }))
}

async fn find_keys(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<FindRequest>,
) -> Result<Json<KeyHandles>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(KeyHandles {
        handles: cluster.find_keys(session, &request.filter)?,
    }))
}

async fn delete_key(
    State(state): State<AppState>,
    Path((hsm, handle)): Path<(String, KeyHandle)>,
    credentials: Credentials,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.delete_key(session, handle)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_attribute(
    State(state): State<AppState>,
    Path((hsm, handle, id)): Path<(String, KeyHandle, u32)>,
    credentials: Credentials,
) -> Result<Json<AttributeValue>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(AttributeValue {
        value: cluster.get_attribute(session, handle, id)?,
    }))
}

async fn set_attribute(
    State(state): State<AppState>,
    Path((hsm, handle, id)): Path<(String, KeyHandle, u32)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<AttributeValue>,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.set_attribute(session, handle, id, request.value)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn share_key(
    State(state): State<AppState>,
    Path((hsm, handle)): Path<(String, KeyHandle)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<ShareRequest>,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.share_key(session, handle, &request.user, request.share)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn export_public_key(
    State(state): State<AppState>,
    Path((hsm, handle)): Path<(String, KeyHandle)>,
    credentials: Credentials,
) -> Result<Json<BytesResponse>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(BytesResponse {
        data: B64.encode(cluster.export_public_key(session, handle)?),
    }))
}

/// `findSingleKey`: any logged-in user, as `azcloudhsm_util` needs a login.
async fn find_single_key(
    State(state): State<AppState>,
    Path((hsm, handle)): Path<(String, KeyHandle)>,
    credentials: Credentials,
) -> Result<Json<Vec<(usize, bool)>>, ApiError> {
    let (cluster, _) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(cluster.find_single_key(handle)))
}

/// `wrapKey`: `handle` is the wrapping key.
async fn wrap_key(
    State(state): State<AppState>,
    Path((hsm, handle)): Path<(String, KeyHandle)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<WrapRequest>,
) -> Result<Json<BytesResponse>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let mechanism = Mechanism::parse(&request.mechanism)?;
    let wrapped = cluster.wrap_key(session, handle, request.target, mechanism)?;
    Ok(Json(BytesResponse {
        data: B64.encode(wrapped),
    }))
}

/// `unwrapKey`: `handle` is the wrapping key; answers the new key's handle.
async fn unwrap_key(
    State(state): State<AppState>,
    Path((hsm, handle)): Path<(String, KeyHandle)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<UnwrapRequest>,
) -> Result<Json<KeyHandles>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let mechanism = Mechanism::parse(&request.mechanism)?;
    let wrapped = bytes("data", &request.data)?;
    let attributes = attributes(&request.attributes)?;
    let handle = cluster.unwrap_key(
        session,
        handle,
        &wrapped,
        mechanism,
        request.spec,
        attributes,
    )?;
    Ok(Json(KeyHandles {
        handles: vec![handle],
    }))
}

/// `sign`, `verify`, `encrypt`, `decrypt`.
async fn crypto(
    State(state): State<AppState>,
    Path((hsm, handle, operation)): Path<(String, KeyHandle, String)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<CryptoRequest>,
) -> Result<Json<BytesResponse>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let call = CryptoCall {
        session,
        handle,
        op: CryptoOp::parse(&operation)?,
        mechanism: Mechanism::parse(&request.mechanism)?,
        data: bytes("data", &request.data)?,
        signature: bytes("signature", &request.signature)?,
        aad: bytes("aad", &request.aad)?,
    };
    let out = crypto_ops::run(cluster, call).await?;
    Ok(Json(BytesResponse {
        data: B64.encode(out),
    }))
}

/// `getHSMInfo`: any logged-in user.
async fn node_listings(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
) -> Result<Json<Vec<NodeListingBody>>, ApiError> {
    let (cluster, _) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(
        cluster
            .node_listings()
            .into_iter()
            .map(|n| NodeListingBody {
                node: n.node,
                up: n.up,
                users: n.users,
                keys: n.keys,
                digest: n.digest,
            })
            .collect(),
    ))
}
