//! Certificate storage over the network API: create a certificate object,
//! copy an object (certificates only). Reading, finding, relabelling and
//! destroying use the key routes, as PKCS#11 uses one set of calls for both.

use axum::{
    extract::{Path, State},
    routing::post,
    Json, Router,
};

use super::{attributes, bytes, session_of, ApiJson, AppState, Credentials};
use crate::{
    engine::keys::KeyHandle,
    server::{wire::*, ApiError},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hsms/{hsm}/certificates", post(create_certificate))
        .route("/hsms/{hsm}/keys/{handle}/copy", post(copy_object))
}

async fn create_certificate(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<CreateCertificateRequest>,
) -> Result<Json<KeyHandles>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let der = bytes("data", &request.data)?;
    let attributes = attributes(&request.attributes)?;
    let handle = cluster.create_certificate(session, der, attributes)?;
    Ok(Json(KeyHandles {
        handles: vec![handle],
    }))
}

async fn copy_object(
    State(state): State<AppState>,
    Path((hsm, handle)): Path<(String, KeyHandle)>,
    credentials: Credentials,
    ApiJson(request): ApiJson<CopyObjectRequest>,
) -> Result<Json<KeyHandles>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let copied = cluster.copy_object(session, handle, request.attributes)?;
    Ok(Json(KeyHandles {
        handles: vec![copied],
    }))
}
