//! The sliver of Microsoft Graph the Azure CLI needs to resolve principals
//! (`az role assignment create/list --assignee`, `az ad sp show`), served on
//! the emulator's base URL, which its cloud metadata advertises as the Graph
//! endpoint (`{base}/v1.0/...`).
//!
//! It lives under `identity` because it is a view of the identities the
//! token service issues tokens to ([`directory`]), not an ARM provider: it
//! takes no `api-version`, has no subscriptions, and answers in Graph's
//! shapes and errors ([`error::GraphError`]). Requests need a token for a
//! Graph audience (the base URL or `https://graph.microsoft.com`).
//!
//! Served (v1.0; path segments match case-insensitively, as on Graph):
//! - `GET /servicePrincipals[?$filter=...]` ([`filter`] lists the clauses)
//! - `GET /servicePrincipals/{id}`, `GET /servicePrincipals(appId='{appId}')`
//! - `POST /directoryObjects/getByIds`, `GET /directoryObjects/{id}`
//! - `GET /users[?$filter=...]` (always empty: the emulator has no users),
//!   `GET /users/{id}` (404), `GET /me` (400, app tokens only)
//!
//! Anything else under `/v1.0` or `/beta` answers 501 naming what is served.

pub mod directory;
mod error;
mod filter;

use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, Request, State},
    http::{header::AUTHORIZATION, Method},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::any,
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use self::{directory::ServicePrincipal, error::GraphError};
use crate::{
    arm::{auth::bearer_token, request_context::query_param},
    identity::tokens,
    state::AppState,
};

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1.0/{*path}", any(v1))
        .route("/beta/{*path}", any(beta))
        .route_layer(middleware::from_fn_with_state(state, require_graph_token))
}

/// Like ARM's bearer check, against Graph's audiences. Not through the
/// validated-token cache: that remembers a token as valid for ARM's
/// audiences, and Graph is called too rarely to need one of its own.
async fn require_graph_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let checked = match request.headers().get(AUTHORIZATION) {
        None => Err(GraphError::Unauthenticated("Access token is empty.".into())),
        Some(header) => bearer_token(header)
            .and_then(|token| {
                tokens::validate(
                    token,
                    &state.signing_key,
                    &state.config.tenant_id,
                    &state.graph_audiences,
                )
            })
            .map_err(GraphError::from),
    };
    match checked {
        Ok(_) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

const SERVED: &str = "The emulator's Microsoft Graph serves only: GET /v1.0/servicePrincipals (with $filter on servicePrincipalNames, appId, id or displayName), GET /v1.0/servicePrincipals/{id}, GET /v1.0/servicePrincipals(appId='{appId}'), POST /v1.0/directoryObjects/getByIds, GET /v1.0/directoryObjects/{id}, GET /v1.0/users, GET /v1.0/me.";

fn not_served(method: &Method, uri: &axum::http::Uri) -> GraphError {
    GraphError::NotServed(format!("'{method} {}' is not served. {SERVED}", uri.path()))
}

async fn beta(method: Method, OriginalUri(uri): OriginalUri) -> GraphError {
    not_served(&method, &uri)
}

async fn v1(
    State(state): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    Path(path): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, GraphError> {
    let graph = Graph {
        state: &state,
        context: format!("{}/v1.0/$metadata#", state.config.base_url),
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let filter = query_param(uri.query(), "$filter");
    match (&method, lower.as_slice()) {
        (&Method::GET, ["serviceprincipals"]) => graph.list_service_principals(filter.as_deref()),
        (&Method::GET, ["serviceprincipals", _]) => graph.service_principal(segments[1]),
        (&Method::GET, [key]) if key.starts_with("serviceprincipals(") => {
            graph.service_principal_by_key(&segments[0]["servicePrincipals(".len()..])
        }
        (&Method::POST, ["directoryobjects", "getbyids"]) => graph.get_by_ids(&body),
        (&Method::GET, ["directoryobjects", _]) => graph.directory_object(segments[1]),
        (&Method::GET, ["users"]) => Ok(graph.collection("users", Vec::new())),
        (&Method::GET, ["users", _]) => Err(GraphError::NotFound(segments[1].to_string())),
        (&Method::GET, ["me"]) => Err(GraphError::BadRequest {
            code: "BadRequest",
            message: "/me request is only valid with delegated authentication flow.".into(),
        }),
        _ => Err(not_served(&method, &uri)),
    }
}

struct Graph<'a> {
    state: &'a AppState,
    /// `{base}/v1.0/$metadata#`, to which each answer appends its entity set.
    context: String,
}

#[derive(Deserialize)]
struct GetByIds {
    ids: Vec<String>,
    #[serde(default)]
    types: Vec<String>,
}

impl Graph<'_> {
    fn tenant(&self) -> &str {
        &self.state.config.tenant_id
    }

    fn collection(&self, entity_set: &str, value: Vec<Value>) -> Json<Value> {
        Json(json!({
            "@odata.context": format!("{}{entity_set}", self.context),
            "value": value,
        }))
    }

    fn entity(&self, entity_set: &str, mut body: Value) -> Json<Value> {
        body["@odata.context"] = json!(format!("{}{entity_set}/$entity", self.context));
        Json(body)
    }

    fn list_service_principals(&self, filter: Option<&str>) -> Result<Json<Value>, GraphError> {
        let clauses = match filter {
            Some(filter) => filter::parse(filter).map_err(|clause| {
                GraphError::UnsupportedQuery(format!(
                    "Unsupported query: the emulator's Graph cannot evaluate '{clause}'. It evaluates servicePrincipalNames/any(c:c eq '...'), appId eq '...', id eq '...', displayName eq '...' and startswith(displayName,'...'), joined by 'and'."
                ))
            })?,
            None => Vec::new(),
        };
        let value = directory::service_principals(self.state)?
            .iter()
            .filter(|sp| clauses.iter().all(|c| c.matches(sp)))
            .map(|sp| sp.render(self.tenant()))
            .collect();
        Ok(self.collection("servicePrincipals", value))
    }

    fn service_principal(&self, id: &str) -> Result<Json<Value>, GraphError> {
        let sp = self.known(id)?;
        Ok(self.entity("servicePrincipals", sp.render(self.tenant())))
    }

    /// `(appId='X')` or `('id')`, the alternate- and primary-key forms.
    fn service_principal_by_key(&self, key: &str) -> Result<Json<Value>, GraphError> {
        let key = key.strip_suffix(')').unwrap_or(key);
        let unquote = |s: &str| s.trim().trim_matches('\'').to_string();
        let found = match key.split_once('=') {
            Some((property, value)) if property.trim().eq_ignore_ascii_case("appId") => {
                let app_id = unquote(value);
                directory::service_principals(self.state)?
                    .into_iter()
                    .find(|sp| sp.app_id.eq_ignore_ascii_case(&app_id))
                    .ok_or(GraphError::NotFound(app_id))?
            }
            Some(_) => {
                return Err(GraphError::BadRequest {
                    code: "Request_BadRequest",
                    message: format!(
                        "'{key}' is not an alternate key of servicePrincipal: use appId."
                    ),
                })
            }
            None => self.known(&unquote(key))?,
        };
        Ok(self.entity("servicePrincipals", found.render(self.tenant())))
    }

    fn directory_object(&self, id: &str) -> Result<Json<Value>, GraphError> {
        let sp = self.known(id)?;
        Ok(self.entity("directoryObjects", typed(&sp, self.tenant())))
    }

    /// Only the ids the directory holds come back, as on Graph.
    fn get_by_ids(&self, body: &[u8]) -> Result<Json<Value>, GraphError> {
        let request: GetByIds =
            serde_json::from_slice(body).map_err(|e| GraphError::BadRequest {
                code: "Request_BadRequest",
                message: format!(
                    "The request body must be {{\"ids\": [...], \"types\": [...]}}: {e}."
                ),
            })?;
        let wants_service_principals = request.types.is_empty()
            || request.types.iter().any(|t| {
                t.eq_ignore_ascii_case("servicePrincipal")
                    || t.eq_ignore_ascii_case("directoryObject")
            });
        let value = if wants_service_principals {
            directory::service_principals(self.state)?
                .iter()
                .filter(|sp| request.ids.iter().any(|id| id.eq_ignore_ascii_case(&sp.id)))
                .map(|sp| typed(sp, self.tenant()))
                .collect()
        } else {
            Vec::new()
        };
        Ok(self.collection("directoryObjects", value))
    }

    /// A service principal by object id; Graph refuses a malformed id
    /// before looking.
    fn known(&self, id: &str) -> Result<ServicePrincipal, GraphError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(GraphError::BadRequest {
                code: "Request_BadRequest",
                message: format!("Invalid object identifier '{id}'."),
            });
        }
        directory::by_id(self.state, id)?.ok_or_else(|| GraphError::NotFound(id.to_string()))
    }
}

/// A directory object names its type, as in `getByIds` and `/directoryObjects`.
fn typed(sp: &ServicePrincipal, tenant: &str) -> Value {
    let mut body = sp.render(tenant);
    body["@odata.type"] = json!("#microsoft.graph.servicePrincipal");
    body
}
