//! Service principals beyond the well-known one, for least-privilege tests:
//! each has its own client id and secret, gets tokens from the token service
//! as the well-known one does, appears in Graph, and holds only the roles
//! assigned to it.
//!
//! The admin surface is the emulator's own (Azure creates them through
//! Microsoft Graph applications, which this emulator does not model):
//!
//! - `POST /emulator/servicePrincipals` `{"displayName": "..."}` → 201 with
//!   `appId`, `objectId`, `clientSecret` (shown once, as Entra ID shows a new
//!   secret), `tenant`;
//! - `GET /emulator/servicePrincipals` (no secrets), `DELETE
//!   /emulator/servicePrincipals/{appId}`;
//!
//! reachable only with a token of the well-known principal (the emulator's
//! admin credential). `--service-principal appId:secret` at start-up makes
//! one that exists from the first request.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    arm::error::ArmError,
    state::AppState,
    store::{Record, WriteSet},
};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredServicePrincipal {
    pub app_id: String,
    pub object_id: String,
    pub display_name: String,
    /// Kept as given: the emulator's state is a test fixture, and the data
    /// dir is private to its owner (see `engine::store::private_dir`).
    pub secret: String,
}

impl Record for RegisteredServicePrincipal {
    const KIND: &'static str = "servicePrincipal";
    const VERSION: u32 = 1;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/emulator/servicePrincipals", get(list).post(create))
        .route("/emulator/servicePrincipals/{app_id}", delete(remove))
}

/// A registered principal by its client (app) id.
pub fn find(
    state: &AppState,
    app_id: &str,
) -> Result<Option<RegisteredServicePrincipal>, ArmError> {
    Ok(state
        .store
        .get::<RegisteredServicePrincipal>(&app_id.to_ascii_lowercase())?)
}

pub fn all(state: &AppState) -> Result<Vec<RegisteredServicePrincipal>, ArmError> {
    Ok(state
        .store
        .list::<RegisteredServicePrincipal>("", None, usize::MAX)?
        .into_iter()
        .map(|(_, sp)| sp)
        .collect())
}

/// Stores a principal (start-up flags and the POST route).
pub async fn register(
    state: &AppState,
    app_id: &str,
    secret: &str,
    display_name: &str,
) -> Result<RegisteredServicePrincipal, ArmError> {
    let app_id = app_id.to_ascii_lowercase();
    if uuid::Uuid::parse_str(&app_id).is_err() {
        return Err(ArmError::bad_request(
            "InvalidServicePrincipal",
            format!("The appId '{app_id}' is not a GUID."),
        ));
    }
    if app_id == state.config.client_id.to_ascii_lowercase() {
        return Err(ArmError::Conflict {
            code: "ServicePrincipalExists",
            message: format!("'{app_id}' is the well-known principal's client id."),
        });
    }
    if secret.len() < 16 {
        return Err(ArmError::bad_request(
            "InvalidServicePrincipal",
            "A client secret needs at least 16 characters.",
        ));
    }
    let principal = RegisteredServicePrincipal {
        object_id: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, app_id.as_bytes()).to_string(),
        app_id: app_id.clone(),
        display_name: display_name.to_string(),
        secret: secret.to_string(),
    };
    let _guard = state.store.lock_writes().await;
    let mut writes = WriteSet::new();
    writes.put(&app_id, &principal)?;
    state.store.commit(writes).await?;
    Ok(principal)
}

/// Only the well-known principal administers principals.
fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ArmError> {
    crate::identity::admin::require_admin(
        state,
        headers,
        "administer the emulator's service principals",
    )
}

fn render(state: &AppState, sp: &RegisteredServicePrincipal) -> Value {
    json!({
        "appId": sp.app_id,
        "objectId": sp.object_id,
        "displayName": sp.display_name,
        "tenant": state.config.tenant_id,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    display_name: Option<String>,
    app_id: Option<String>,
    client_secret: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ArmError> {
    require_admin(&state, &headers)?;
    let body: CreateBody = if body.iter().all(u8::is_ascii_whitespace) {
        CreateBody {
            display_name: None,
            app_id: None,
            client_secret: None,
        }
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ArmError::invalid_content(
                format!("The request content was invalid and could not be deserialized: {e}."),
                None,
            )
        })?
    };
    let app_id = body
        .app_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if find(&state, &app_id)?.is_some() {
        return Err(ArmError::Conflict {
            code: "ServicePrincipalExists",
            message: format!("A service principal with appId '{app_id}' already exists."),
        });
    }
    let secret = body.client_secret.unwrap_or_else(new_secret);
    let name = body
        .display_name
        .unwrap_or_else(|| format!("emulator-sp-{}", &app_id[..8.min(app_id.len())]));
    let sp = register(&state, &app_id, &secret, &name).await?;
    let mut rendered = render(&state, &sp);
    rendered["clientSecret"] = json!(sp.secret);
    Ok((StatusCode::CREATED, Json(rendered)).into_response())
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ArmError> {
    require_admin(&state, &headers)?;
    let value: Vec<Value> = all(&state)?.iter().map(|sp| render(&state, sp)).collect();
    Ok(Json(json!({ "value": value })))
}

async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
) -> Result<StatusCode, ArmError> {
    require_admin(&state, &headers)?;
    let key = app_id.to_ascii_lowercase();
    let _guard = state.store.lock_writes().await;
    if state
        .store
        .get::<RegisteredServicePrincipal>(&key)?
        .is_none()
    {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut writes = WriteSet::new();
    writes.delete::<RegisteredServicePrincipal>(&key);
    state.store.commit(writes).await?;
    Ok(StatusCode::OK)
}

/// A secret shaped like Entra ID's (40 characters, `~` in it).
fn new_secret() -> String {
    let mut bytes = [0u8; 30];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    use base64::Engine as _;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{}~{}", &text[..3], &text[3..])
}
