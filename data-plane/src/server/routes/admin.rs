//! The emulator's admin routes on the data-plane listener (emulator
//! extensions, not part of the service): stop, start or replace an HSM of
//! the cluster, and read the cluster's recent audit events. Both need the
//! admin credential (see [`crate::server::faults`]), never an HSM login. And
//! the gate every other request passes while an outage is injected.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    extract::{FromRequestParts, Path, Request, State},
    http::{request::Parts, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};

use super::{locate, AppState};
use crate::{
    engine::audit::AuditEvent,
    server::{
        faults::{unavailable_error, OutageMode},
        ApiError,
    },
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hsms/{hsm}/admin/nodes/{node}/{action}", post(node_admin))
        .route("/hsms/{hsm}/admin/audit-events", get(audit_events))
}

/// A request that carries the admin credential.
struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let authorization = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        state.admin.check(authorization)?;
        Ok(Admin)
    }
}

/// Stop, start or replace an HSM of the cluster; reached through any HSM of
/// the cluster, even a stopped one.
async fn node_admin(
    _: Admin,
    State(state): State<AppState>,
    Path((hsm, node, action)): Path<(String, usize, String)>,
) -> Result<StatusCode, ApiError> {
    let (cluster, _) = locate(&state, &hsm)?;
    match action.as_str() {
        "stop" => cluster.stop_node(node)?,
        "start" => cluster.start_node(node)?,
        "replace" => cluster.replace_node(node)?,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown action '{other}' (stop, start, replace)"
            )))
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The cluster's recent audit events, as a diagnostic setting would ship
/// them.
async fn audit_events(
    _: Admin,
    State(state): State<AppState>,
    Path(hsm): Path<String>,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    let (cluster, _) = locate(&state, &hsm)?;
    Ok(Json(cluster.audit_events()))
}

/// During an injected outage every HSM request is answered 503 or has its
/// connection dropped; the admin routes still answer, so the outage can be
/// inspected and faults applied meanwhile.
pub(in crate::server) async fn outage_gate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let admin = request.uri().path().contains("/admin/");
    match state.outage.current() {
        Some((OutageMode::Unavailable, _)) if !admin => unavailable_error().into_response(),
        Some((OutageMode::Drop, _)) if !admin => severed(),
        _ => next.run(request).await,
    }
}

/// A response whose body fails at once: hyper closes the connection (or
/// resets the HTTP/2 stream) without a complete answer, as a dropped
/// connection looks to a client.
fn severed() -> Response {
    Response::new(axum::body::Body::new(Severed))
}

struct Severed;

impl hyper::body::Body for Severed {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected outage: connection dropped",
        ))))
    }
}
