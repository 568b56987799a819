//! Bearer-token authentication for every ARM route.

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{header::AUTHORIZATION, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::error::ArmError;
use crate::{
    identity::tokens::{self, Principal},
    state::AppState,
};

/// Middleware: rejects a request without a valid token before anything else
/// looks at it, and leaves the [`Principal`] for handlers.
pub async fn require_bearer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&state, request.headers().get(AUTHORIZATION)) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

fn authenticate(
    state: &AppState,
    header: Option<&axum::http::HeaderValue>,
) -> Result<Principal, ArmError> {
    let header = header.ok_or_else(|| ArmError::Unauthenticated {
        code: "AuthenticationFailed",
        message: "Authentication failed. The 'Authorization' header is missing.".into(),
    })?;
    let token = bearer_token(header)?;
    state.validated_tokens.get_or_validate(token, || {
        tokens::validate(
            token,
            &state.signing_key,
            &state.config.tenant_id,
            &state.arm_audiences,
        )
    })
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(header: &axum::http::HeaderValue) -> Result<&str, ArmError> {
    header
        .to_str()
        .ok()
        .and_then(|h| {
            let (scheme, token) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ArmError::Unauthenticated {
            code: "AuthenticationFailed",
            message: "Authentication failed. The 'Authorization' header is provided in an invalid format.".into(),
        })
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ArmError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ArmError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ArmError::Internal("route is missing the authentication layer".into()))
    }
}
