//! Routes of the partition's ownership (`getCertReq`, `storeCert`,
//! `getChallenge`, `unlockCO`), masked objects, keyless operations (digest,
//! random), user administration (`setUserAttributes`, `disableUserAccess`,
//! `findAllKeys`), and the middleware that tells the engine which client a
//! request is from.

use std::net::SocketAddr;

use axum::{
    extract::{connect_info::ConnectInfo, Path, Query, Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
    routing::{get, post},
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};

use super::{blocking, bytes, resolve, session_of, within_limit, ApiJson, AppState, Credentials};
use crate::{
    engine::{
        audit, cluster::UserAttributes, keys::KeyHandle, mechanisms::digest::DigestAlgorithm,
    },
    server::{wire::*, ApiError},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hsms/{hsm}/partition/csr", get(get_cert_req))
        .route(
            "/hsms/{hsm}/partition/certificates",
            post(store_certificate),
        )
        .route("/hsms/{hsm}/users/{name}/challenge", post(get_challenge))
        .route("/hsms/{hsm}/users/{name}/unlock-co", post(unlock_officer))
        .route(
            "/hsms/{hsm}/keys/{handle}/masked",
            post(extract_masked_object),
        )
        .route("/hsms/{hsm}/keys/masked", post(insert_masked_object))
        .route("/hsms/{hsm}/digest", post(digest))
        .route("/hsms/{hsm}/random", post(random))
        .route(
            "/hsms/{hsm}/users/{name}/attributes",
            post(set_user_attributes),
        )
        .route(
            "/hsms/{hsm}/users/{name}/disable-access",
            post(disable_user_access),
        )
        .route("/hsms/{hsm}/keys/all", get(find_all_keys))
}

/// The answer of the calls that return raw bytes (challenge, digest, random).
fn bytes_response(data: Vec<u8>) -> Json<BytesResponse> {
    Json(BytesResponse {
        data: B64.encode(data),
    })
}

/// Runs the request on behalf of its peer's IP address, which the engine
/// writes into audit events as `CallerIpAddress`.
pub(super) async fn caller_address(request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string())
        .unwrap_or_default();
    audit::scope_caller_ip(ip, next.run(request)).await
}

async fn get_cert_req(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
) -> Result<Json<CsrResponse>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let csr = blocking(move || cluster.get_cert_req(session)).await?;
    Ok(Json(CsrResponse { csr }))
}

async fn store_certificate(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<StoreCertRequest>,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    within_limit(request.certificate.len())?;
    blocking(move || {
        cluster.store_certificate(session, request.certificate_type, &request.certificate)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// No login: the owner's signature is the authority (every officer may be locked).
async fn get_challenge(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
) -> Result<Json<BytesResponse>, ApiError> {
    let cluster = resolve(&state, &hsm)?;
    let challenge = cluster.get_challenge(&name)?;
    Ok(bytes_response(challenge))
}

async fn unlock_officer(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
    ApiJson(request): ApiJson<UnlockOfficerRequest>,
) -> Result<StatusCode, ApiError> {
    let cluster = resolve(&state, &hsm)?;
    let signature = bytes("signature", &request.signature)?;
    blocking(move || cluster.unlock_officer(&name, &signature, request.password.as_deref()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn extract_masked_object(
    State(state): State<AppState>,
    Path((hsm, handle)): Path<(String, KeyHandle)>,
    credentials: Credentials,
) -> Result<Json<MaskedObject>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let blob = cluster.extract_masked_object(session, handle)?;
    Ok(Json(MaskedObject {
        data: B64.encode(blob),
    }))
}

async fn insert_masked_object(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<MaskedObject>,
) -> Result<Json<KeyHandles>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let blob = bytes("data", &request.data)?;
    let handle = cluster.insert_masked_object(session, &blob)?;
    Ok(Json(KeyHandles {
        handles: vec![handle],
    }))
}

async fn digest(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<DigestRequest>,
) -> Result<Json<BytesResponse>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let algorithm = DigestAlgorithm::parse(&request.mechanism)?;
    let data = bytes("data", &request.data)?;
    within_limit(data.len())?;
    let out = cluster.digest(session, algorithm, &data)?;
    Ok(bytes_response(out))
}

async fn random(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<RandomRequest>,
) -> Result<Json<BytesResponse>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let out = cluster.generate_random(session, request.length)?;
    Ok(bytes_response(out))
}

async fn set_user_attributes(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<UserAttributesRequest>,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let attributes = UserAttributes {
        login_disabled: request.login_disabled,
    };
    cluster.set_user_attributes(session, &name, &attributes)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller (a crypto user) disables crypto officers' access to itself.
async fn disable_user_access(
    State(state): State<AppState>,
    Path((hsm, name)): Path<(String, String)>,
    credentials: Credentials,
) -> Result<StatusCode, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    cluster.disable_user_access(session, &name)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
struct FindAllQuery {
    user: Option<String>,
}

async fn find_all_keys(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    Query(query): Query<FindAllQuery>,
    credentials: Credentials,
) -> Result<Json<Vec<KeyOwnershipBody>>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let keys = cluster.find_all_keys(session, query.user.as_deref())?;
    Ok(Json(
        keys.into_iter()
            .map(|k| KeyOwnershipBody {
                handle: k.handle,
                owner: k.owner,
                shared_with: k.shared_with.into_iter().collect(),
            })
            .collect(),
    ))
}
