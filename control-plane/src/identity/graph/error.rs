//! Graph's one error type, rendered in Graph's wire format in one place:
//! `{"error": {"code", "message", "innerError": {"date", "request-id",
//! "client-request-id"}}}` (the Azure CLI reads `error.message`).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::arm::error::ArmError;

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// 401 `InvalidAuthenticationToken`.
    #[error("{0}")]
    Unauthenticated(String),
    /// 404 for an object id the directory does not hold.
    #[error("Resource '{0}' does not exist or one of its queried reference-property objects are not present.")]
    NotFound(String),
    /// 400 with Graph's code (`Request_BadRequest`, `BadRequest`, ...).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 400 for a `$filter` outside what the emulator evaluates.
    #[error("{0}")]
    UnsupportedQuery(String),
    /// 501 for a Graph call the emulator does not serve.
    #[error("{0}")]
    NotServed(String),
    /// Details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ArmError> for GraphError {
    fn from(e: ArmError) -> Self {
        match e {
            ArmError::Unauthenticated { message, .. } => Self::Unauthenticated(message),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl GraphError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "Request_ResourceNotFound"),
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::UnsupportedQuery(_) => (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery"),
            Self::NotServed(_) => (StatusCode::NOT_IMPLEMENTED, "Request_UnsupportedQuery"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "generalException"),
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error in Graph");
                "An internal server error occurred. Please retry the request.".to_string()
            }
            other => other.to_string(),
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": request_id,
                    "client-request-id": request_id,
                },
            }
        });
        (status, Json(body)).into_response()
    }
}
