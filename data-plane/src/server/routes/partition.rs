//! Routes of the partition's ownership (`getCertReq`, `storeCert`,
//! `getChallenge`, `unlockCO`), masked objects, and keyless operations
//! (digest, random).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};

use super::{
    blocking, bytes, resolve, session_of, ApiJson, AppState, Credentials, MAX_DATA,
};
use crate::{
    engine::{error::EngineError, keys::KeyHandle, mechanisms::digest::DigestAlgorithm},
    server::{wire::*, ApiError},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hsms/{hsm}/partition/csr", get(get_cert_req))
        .route("/hsms/{hsm}/partition/certificates", post(store_certificate))
        .route("/hsms/{hsm}/users/{name}/challenge", post(get_challenge))
        .route("/hsms/{hsm}/users/{name}/unlock-co", post(unlock_officer))
        .route("/hsms/{hsm}/keys/{handle}/masked", post(extract_masked_object))
        .route("/hsms/{hsm}/keys/masked", post(insert_masked_object))
        .route("/hsms/{hsm}/digest", post(digest))
        .route("/hsms/{hsm}/random", post(random))
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
    if request.certificate.len() > MAX_DATA {
        return Err(EngineError::DataInvalid(format!(
            "a certificate of {} bytes; at most {MAX_DATA}",
            request.certificate.len()
        ))
        .into());
    }
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
    Ok(Json(BytesResponse {
        data: B64.encode(challenge),
    }))
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
    if data.len() > MAX_DATA {
        return Err(EngineError::DataInvalid(format!(
            "{} bytes; at most {MAX_DATA} per operation",
            data.len()
        ))
        .into());
    }
    let out = cluster.digest(session, algorithm, &data)?;
    Ok(Json(BytesResponse {
        data: B64.encode(out),
    }))
}

async fn random(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<RandomRequest>,
) -> Result<Json<BytesResponse>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let out = cluster.generate_random(session, request.length)?;
    Ok(Json(BytesResponse {
        data: B64.encode(out),
    }))
}
