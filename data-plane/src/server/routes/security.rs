//! Routes of the opt-in 2FA and quorum features. A 2FA step is two calls:
//! the first answers the HSM's authdata, the second hands it back signed
//! (`/2fa/login/complete` for a login, `/2fa/complete` inside a session for
//! createUser, changePswd and registerQuorumPubKey).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post, put},
    Json, Router,
};

use super::{blocking, register_login, resolve, session_of, ApiJson, AppState, Credentials};
use crate::{
    engine::{quorum::Service, users::Role},
    server::{wire::*, ApiError},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hsms/{hsm}/2fa/login", post(login_begin))
        .route("/hsms/{hsm}/2fa/login/complete", post(login_complete))
        .route("/hsms/{hsm}/2fa/users", post(create_user_begin))
        .route(
            "/hsms/{hsm}/2fa/users/{name}/password",
            post(change_password_begin),
        )
        .route("/hsms/{hsm}/2fa/complete", post(complete))
        .route("/hsms/{hsm}/security", get(security).put(set_security))
        .route("/hsms/{hsm}/quorum/keys", post(register_key_begin))
        .route("/hsms/{hsm}/quorum/m/{service}", put(set_m_value))
        .route(
            "/hsms/{hsm}/quorum/tokens",
            get(list_tokens).post(get_token),
        )
        .route("/hsms/{hsm}/quorum/tokens/{id}", delete(delete_token))
        .route(
            "/hsms/{hsm}/quorum/tokens/{id}/approvals",
            post(approve_token),
        )
}

/// `loginHSM ... -2fa`, first half: the password, answered with authdata.
async fn login_begin(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<AuthData>, ApiError> {
    let cluster = resolve(&state, &hsm)?;
    let role = Role::parse(&request.user_type)?;
    let authdata =
        blocking(move || cluster.login_two_factor_begin(role, &request.user, &request.password))
            .await?;
    Ok(Json(authdata))
}

/// Second half: the signed authdata, answered with the login token.
async fn login_complete(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    ApiJson(response): ApiJson<AuthData>,
) -> Result<Json<LoginResponse>, ApiError> {
    let cluster = resolve(&state, &hsm)?;
    let engine = cluster.clone();
    let id = blocking(move || engine.login_two_factor_complete(&response)).await?;
    register_login(&state, cluster, id)
}

async fn create_user_begin(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<Json<AuthData>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let role = Role::parse(&request.user_type)?;
    let authdata = blocking(move || {
        cluster.create_user_two_factor_begin(session, role, &request.name, &request.password)
    })
    .await?;
    Ok(Json(authdata))
}

async fn change_password_begin(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<PasswordRequest>,
) -> Result<Json<AuthData>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let authdata = blocking(move || {
        cluster.change_password_two_factor_begin(session, &name, &request.password)
    })
    .await?;
    Ok(Json(authdata))
}

async fn register_key_begin(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
) -> Result<Json<AuthData>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(cluster.register_quorum_key_begin(session)?))
}

async fn complete(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(response): ApiJson<AuthData>,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    blocking(move || cluster.complete_two_factor(session, &response)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `getPolicy`: any logged-in user.
async fn security(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
) -> Result<Json<SecurityView>, ApiError> {
    let (cluster, _) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(cluster.security()?))
}

async fn set_security(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(change): ApiJson<SecurityChange>,
) -> Result<Json<SecurityView>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(cluster.set_security(session, change)?))
}

async fn set_m_value(
    State(state): State<AppState>,
    Path((hsm, service)): Path<(String, String)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<MValueRequest>,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.set_m_value(session, Service::parse(&service)?, request.m)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_token(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<Token>), ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let token = cluster.get_token(session, Service::parse(&request.service)?)?;
    Ok((StatusCode::CREATED, Json(token)))
}

async fn list_tokens(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
) -> Result<Json<Vec<Token>>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    Ok(Json(cluster.list_tokens(session)?))
}

async fn delete_token(
    State(state): State<AppState>,
    Path((hsm, id)): Path<(String, String)>,
    credentials: Credentials,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.delete_token(session, &id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn approve_token(
    State(state): State<AppState>,
    Path((hsm, id)): Path<(String, String)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<ApproveRequest>,
) -> Result<Json<ApprovalCount>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let approvals =
        blocking(move || cluster.approve_token(session, &id, &request.approvals)).await?;
    Ok(Json(ApprovalCount { approvals }))
}
