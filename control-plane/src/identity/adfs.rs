//! The token service under the `adfs` authority, so credentials configured
//! from the environment alone work: with `AZURE_TENANT_ID=adfs` and
//! `AZURE_AUTHORITY_HOST=<emulator>`, MSAL treats the authority as AD FS,
//! skips instance discovery (which would go to login.microsoftonline.com)
//! and reads `{host}/adfs/.well-known/openid-configuration`: it takes
//! `token_endpoint` and `authorization_endpoint` from there and the tenant
//! from the token endpoint's first path segment (`adfs`).
//!
//! AD FS is only the shape of the exchange: the tokens are the emulator's own
//! tenant's (same issuer, `tid`, keys), so everything that checks a token
//! treats them as any other.

use std::collections::HashMap;

use axum::{
    extract::State,
    response::Response,
    routing::{get, post},
    Form, Json, Router,
};
use serde_json::json;

use super::token_service::{issue, jwks, resource_from_scope, OAuthError, TokenShape};
use crate::state::AppState;

/// The authority's path; MSAL recognises AD FS by this tenant name.
pub const TENANT: &str = "adfs";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/adfs/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/adfs/discovery/keys", get(jwks))
        // AD FS itself advertises the endpoint with a trailing slash; both work.
        .route("/adfs/oauth2/token", post(token))
        .route("/adfs/oauth2/token/", post(token))
}

/// AD FS's discovery document, trimmed to what the emulator does.
async fn openid_configuration(State(state): State<AppState>) -> Json<serde_json::Value> {
    let base = format!("{}/{TENANT}", state.config.base_url);
    Json(json!({
        "issuer": base,
        // What the issued tokens carry: the emulator tenant's issuer.
        "access_token_issuer": super::tokens::issuer(&state.config.tenant_id),
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "jwks_uri": format!("{base}/discovery/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["client_credentials"],
        "subject_types_supported": ["pairwise"],
        "scopes_supported": ["openid", "profile", "email"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "capabilities": [],
    }))
}

/// Client credentials, the resource named either way AD FS takes it: v1's
/// `resource=`, or `scope={resource}/.default` as MSAL sends it.
async fn token(
    State(state): State<AppState>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, OAuthError> {
    let resource = match form.get("resource").filter(|r| !r.is_empty()) {
        Some(resource) => resource.as_str(),
        None => resource_from_scope(&form)?,
    };
    issue(&state, &form, resource, TokenShape::Adfs)
}
