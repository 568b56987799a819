//! `importPubKey` over the network API.

use axum::{
    extract::{Path, State},
    routing::post,
    Json, Router,
};

use super::{attributes, bytes, session_of, ApiJson, AppState, Credentials};
use crate::server::{wire::*, ApiError};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/hsms/{hsm}/keys/public", post(import_public_key))
}

async fn import_public_key(
    State(state): State<AppState>,
    Path(hsm): Path<String>,
    credentials: Credentials,
    ApiJson(request): ApiJson<ImportPublicKeyRequest>,
) -> Result<Json<KeyHandles>, ApiError> {
    let (cluster, session) = session_of(&state, &hsm, &credentials)?;
    let key = bytes("data", &request.data)?;
    let attributes = attributes(&request.attributes)?;
    let handle = cluster.import_public_key(session, request.spec, key, attributes)?;
    Ok(Json(KeyHandles {
        handles: vec![handle],
    }))
}
