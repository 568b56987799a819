//! Tokens for user-assigned managed identities, over the App Service managed
//! identity protocol (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`,
//! api-version 2019-08-01) that `azure_identity`, MSAL and the Azure CLI use.
//!
//! Storage tokens carry `aud` `https://storage.azure.com` and the v1 issuer
//! `https://sts.windows.net/{tenant}/`, which is what Azurite's OAuth mode
//! checks.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;

use super::tokens::{TokenIssuer, TOKEN_LIFETIME_SECS};
use crate::{config::STORAGE_AUDIENCE, providers::managed_identity, state::AppState};

pub const PATH: &str = "/msi/token";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(token))
}

/// The App Service endpoint's error shape.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "message": message.into(),
        "correlationId": uuid::Uuid::new_v4(),
    });
    (status, Json(body)).into_response()
}

async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let secret = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    if !super::secret_matches(secret, &state.config.identity_header) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "The X-IDENTITY-HEADER header is missing or wrong: send the value of IDENTITY_HEADER.",
        );
    }
    if query.get("api-version").map(String::as_str) != Some("2019-08-01") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Unsupported api-version: use 2019-08-01.",
        );
    }
    let Some(resource) = query.get("resource").filter(|r| !r.is_empty()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The 'resource' parameter is required.",
        );
    };
    let known = state
        .arm_audiences
        .iter()
        .map(String::as_str)
        .chain([STORAGE_AUDIENCE])
        .any(|a| a.trim_end_matches('/') == resource.trim_end_matches('/'));
    if !known {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("The resource '{resource}' is not one the emulator issues tokens for (Resource Manager, Blob Storage)."),
        );
    }

    let found = if let Some(client_id) = query.get("client_id") {
        managed_identity::find_by_client_id(&state, client_id)
    } else if let Some(id) = query.get("mi_res_id").or_else(|| query.get("msi_res_id")) {
        managed_identity::find_by_id(&state, id)
    } else if let Some(principal) = query.get("principal_id").or_else(|| query.get("object_id")) {
        managed_identity::find_by_principal_id(&state, principal)
    } else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The emulator has no system-assigned identity: pass client_id, mi_res_id or principal_id of a user-assigned identity.",
        );
    };
    let identity = match found {
        Ok(Some(identity)) => identity,
        Ok(None) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.",
            )
        }
        Err(e) => return e.into_response(),
    };

    let now = chrono::Utc::now().timestamp();
    // Tokens name the resource the way it was asked for, as Entra ID does.
    let aud = resource.trim_end_matches('/');
    let issued = TokenIssuer {
        key: &state.signing_key,
        tenant: &state.config.tenant_id,
    }
    .issue_app_token(
        aud,
        &identity.properties.client_id,
        &identity.properties.principal_id,
        Some(&identity.id),
        now,
    );
    match issued {
        Ok(access_token) => Json(json!({
            "access_token": access_token,
            "expires_on": (now + TOKEN_LIFETIME_SECS).to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.properties.client_id,
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}
