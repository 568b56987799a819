//! The control plane's one error type, turned into ARM's wire format in exactly
//! one place ([`IntoResponse`] below).

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::store::StoreError;

/// `error` object of ARM's error envelope; also stored in failed operations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// 401 with ARM's code (`AuthenticationFailed`, `InvalidAuthenticationToken`,
    /// `ExpiredAuthenticationToken`, ...).
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    #[error("The api-version query parameter (?api-version=) is required for all requests.")]
    MissingApiVersion,
    #[error("The resource type '{resource_type}' could not be found in the namespace '{namespace}' for api version '{requested}'. The supported api-versions are '{}'.", supported.join(", "))]
    UnsupportedApiVersion {
        namespace: &'static str,
        resource_type: &'static str,
        requested: String,
        supported: &'static [&'static str],
    },
    /// 400 with a specific ARM code and an optional target (the JSON path or
    /// parameter at fault).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        target: Option<String>,
    },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 403: authenticated, but no role in scope allows the action.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("The requested resource does not support http method '{0}'.")]
    MethodNotAllowed(String),
    /// 413: the body is over ARM's request size limit.
    #[error("The request content size exceeds the maximum size of 4 MB.")]
    RequestContentTooLarge,
    /// 408: the body did not arrive in time.
    #[error("The request timed out while the request content was being received.")]
    RequestTimeout,
    /// 429: a throttling bucket is empty (see [`super::throttling`]).
    #[error("{message}")]
    Throttled {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// Details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ArmError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            target: None,
        }
    }

    pub fn invalid_content(message: impl Into<String>, target: Option<String>) -> Self {
        Self::BadRequest {
            code: "InvalidRequestContent",
            message: message.into(),
            target,
        }
    }

    pub fn resource_not_found(resource_type: &str, name: &str, group: &str) -> Self {
        Self::NotFound {
            code: "ResourceNotFound",
            message: format!(
                "The Resource '{resource_type}/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::MissingApiVersion
            | Self::UnsupportedApiVersion { .. }
            | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestContentTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated { code, .. }
            | Self::BadRequest { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Throttled { code, .. } => code,
            Self::MissingApiVersion => "MissingApiVersionParameter",
            Self::UnsupportedApiVersion { .. } => "NoRegisteredProviderFound",
            Self::PreconditionFailed(_) => "PreconditionFailed",
            Self::MethodNotAllowed(_) => "MethodNotAllowed",
            Self::RequestContentTooLarge => "RequestContentTooLarge",
            Self::RequestTimeout => "RequestTimeout",
            Self::Internal(_) => "InternalServerError",
        }
    }

    pub fn detail(&self) -> ErrorDetail {
        let message = match self {
            Self::Internal(_) => {
                "The server encountered an internal error. Please retry the request.".to_string()
            }
            other => other.to_string(),
        };
        let target = match self {
            Self::BadRequest { target, .. } => target.clone(),
            _ => None,
        };
        ErrorDetail {
            code: self.code().to_string(),
            message,
            target,
            details: Vec::new(),
        }
    }
}

impl From<StoreError> for ArmError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Renders an error body the way ARM does; used for live errors and for the
/// error of a failed long-running operation.
pub fn error_response(status: StatusCode, detail: &ErrorDetail) -> Response {
    (status, Json(json!({ "error": detail }))).into_response()
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let mut response = error_response(self.status(), &self.detail());
        if let Self::Unauthenticated { message, .. } = &self {
            // The same challenge shape ARM sends, so SDK auth policies recognise it.
            let challenge = format!(
                "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"{}\"",
                message.replace('"', "'")
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if let Self::Throttled {
            retry_after_secs, ..
        } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        response
    }
}
