//! OpenID discovery, JWKS and the token endpoint (client-credentials grant),
//! shaped like the Microsoft identity platform so MSAL-based credentials
//! (`azure.identity.ClientSecretCredential` with `authority=<emulator>`) work.
//!
//! Errors use the identity platform's OAuth error body
//! (`error`, `error_description` with an AADSTS code, `error_codes`).

use std::collections::HashMap;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Form, Json, Router,
};
use serde_json::json;

use super::tokens::{TokenIssuer, TOKEN_LIFETIME_SECS};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(openid_configuration_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/discovery/keys", get(jwks))
        .route("/{tenant}/oauth2/v2.0/token", post(token_v2))
        .route("/{tenant}/oauth2/token", post(token_v1))
}

pub(super) struct OAuthError {
    pub(super) status: StatusCode,
    pub(super) error: &'static str,
    pub(super) aadsts: u32,
    pub(super) description: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.error,
            "error_description": format!("AADSTS{}: {}", self.aadsts, self.description),
            "error_codes": [self.aadsts],
            "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": uuid::Uuid::new_v4(),
            "correlation_id": uuid::Uuid::new_v4(),
        });
        (self.status, Json(body)).into_response()
    }
}

fn check_tenant(state: &AppState, tenant: &str) -> Result<(), OAuthError> {
    if tenant.eq_ignore_ascii_case(&state.config.tenant_id) {
        Ok(())
    } else {
        Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_tenant",
            aadsts: 90002,
            description: format!(
                "Tenant '{tenant}' not found. This emulator serves tenant '{}'.",
                state.config.tenant_id
            ),
        })
    }
}

/// Discovery also answers for the multi-tenant aliases, as the identity
/// platform does: `az logout` and `az account clear` build an MSAL public
/// client for `{authority}/organizations` just to find cached accounts.
fn check_discovery_tenant(state: &AppState, tenant: &str) -> Result<(), OAuthError> {
    if ["common", "organizations"]
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(tenant))
    {
        return Ok(());
    }
    check_tenant(state, tenant)
}

async fn openid_configuration_v2(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, OAuthError> {
    check_discovery_tenant(&state, &tenant)?;
    let base = format!("{}/{}", state.config.base_url, state.config.tenant_id);
    Ok(Json(json!({
        "issuer": format!("{base}/v2.0"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "grant_types_supported": ["client_credentials"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "cloudhsm.emulator",
    }))
    .into_response())
}

async fn openid_configuration_v1(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, OAuthError> {
    check_discovery_tenant(&state, &tenant)?;
    let base = format!("{}/{}", state.config.base_url, state.config.tenant_id);
    Ok(Json(json!({
        "issuer": super::tokens::issuer(&state.config.tenant_id),
        "token_endpoint": format!("{base}/oauth2/token"),
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "jwks_uri": format!("{base}/discovery/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response())
}

pub(super) async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "keys": [state.signing_key.jwk] }))
}

/// v2 endpoint: the resource comes from `scope` (`{resource}/.default`).
async fn token_v2(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, OAuthError> {
    check_tenant(&state, &tenant)?;
    let resource = resource_from_scope(&form)?;
    issue(&state, &form, resource, TokenShape::V2)
}

/// The resource of a client-credentials `scope`: `{resource}/.default`.
pub(super) fn resource_from_scope(form: &HashMap<String, String>) -> Result<&str, OAuthError> {
    let scope = form.get("scope").map(String::as_str).unwrap_or_default();
    scope
        .split_whitespace()
        .find_map(|s| s.strip_suffix("/.default"))
        .ok_or_else(|| OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_scope",
            aadsts: 1002012,
            description: format!(
                "The provided value for scope '{scope}' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        })
}

/// v1 endpoint: the resource is a form field.
async fn token_v1(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, OAuthError> {
    check_tenant(&state, &tenant)?;
    let resource = form.get("resource").cloned().unwrap_or_default();
    issue(&state, &form, &resource, TokenShape::V1)
}

/// How a token response is laid out: each endpoint answers in its own shape.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenShape {
    /// Entra ID v1: numbers as strings, `expires_on`, `resource`.
    V1,
    /// Entra ID v2: numbers as numbers.
    V2,
    /// AD FS: `token_type` `bearer`, `expires_in` a number, plus the
    /// `resource` or `scope` asked for.
    Adfs,
}

pub(super) fn issue(
    state: &AppState,
    form: &HashMap<String, String>,
    resource: &str,
    shape: TokenShape,
) -> Result<Response, OAuthError> {
    let config = &state.config;
    let grant = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    if grant != "client_credentials" {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            aadsts: 70003,
            description: format!(
                "The app requested an unsupported grant type '{grant}'. This emulator supports 'client_credentials'."
            ),
        });
    }
    let client_id = form
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    // The well-known principal, or one registered through the emulator's
    // admin surface (`identity::service_principals`).
    let registered = if client_id == config.client_id {
        None
    } else {
        super::service_principals::find(state, client_id)
            .ok()
            .flatten()
    };
    if client_id != config.client_id && registered.is_none() {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "unauthorized_client",
            aadsts: 700016,
            description: format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                config.tenant_id
            ),
        });
    }
    let (expected_secret, app_id, object_id) = match &registered {
        Some(sp) => (sp.secret.clone(), sp.app_id.clone(), sp.object_id.clone()),
        None => (
            config.client_secret.clone(),
            config.client_id.clone(),
            config.client_object_id(),
        ),
    };
    if !super::secret_matches(
        form.get("client_secret").map(String::as_str),
        &expected_secret,
    ) {
        return Err(OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            aadsts: 7000215,
            description: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.".into(),
        });
    }
    let known = config
        .token_audiences()
        .into_iter()
        .find(|a| a.trim_end_matches('/') == resource.trim_end_matches('/'));
    let Some(audience) = known else {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_resource",
            aadsts: 500011,
            description: format!(
                "The resource principal named {resource} was not found in the tenant named {}.",
                config.tenant_id
            ),
        });
    };
    let now = chrono::Utc::now().timestamp();
    let token = TokenIssuer {
        key: &state.signing_key,
        tenant: &config.tenant_id,
    }
    .issue_app_token(&audience, &app_id, &object_id, None, now)
    .map_err(|e| OAuthError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: "server_error",
        aadsts: 90033,
        description: e.to_string(),
    })?;
    let body = match shape {
        TokenShape::V1 => json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECS.to_string(),
            "ext_expires_in": TOKEN_LIFETIME_SECS.to_string(),
            "expires_on": (now + TOKEN_LIFETIME_SECS).to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "access_token": token,
        }),
        TokenShape::V2 => json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECS,
            "ext_expires_in": TOKEN_LIFETIME_SECS,
            "access_token": token,
        }),
        TokenShape::Adfs => {
            let mut body = json!({
                "access_token": token,
                "token_type": "bearer",
                "expires_in": TOKEN_LIFETIME_SECS,
            });
            for echoed in ["resource", "scope"] {
                if let Some(value) = form.get(echoed) {
                    body[echoed] = json!(value);
                }
            }
            body
        }
    };
    Ok(Json(body).into_response())
}
