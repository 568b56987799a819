//! The emulator's admin credential: a token of the well-known principal.
//! One check for every admin surface (service principals, faults, and the
//! data plane's admin routes), so they all refuse alike.

use axum::http::{header::AUTHORIZATION, HeaderMap, HeaderValue};

use crate::{
    arm::{auth::bearer_token, error::ArmError},
    identity::tokens,
    state::AppState,
};

/// Only the well-known principal passes; `what` names the surface in the
/// refusal.
pub fn require_admin(state: &AppState, headers: &HeaderMap, what: &str) -> Result<(), ArmError> {
    require_admin_header(state, headers.get(AUTHORIZATION), what)
}

pub fn require_admin_header(
    state: &AppState,
    header: Option<&HeaderValue>,
    what: &str,
) -> Result<(), ArmError> {
    let header = header.ok_or_else(|| ArmError::Unauthenticated {
        code: "AuthenticationFailed",
        message: "Authentication failed. The 'Authorization' header is missing.".into(),
    })?;
    let token = bearer_token(header)?;
    let principal = state.validated_tokens.get_or_validate(token, || {
        tokens::validate(
            token,
            &state.signing_key,
            &state.config.tenant_id,
            &state.arm_audiences,
        )
    })?;
    if principal.object_id != state.config.client_object_id() {
        return Err(ArmError::Forbidden {
            code: "AuthorizationFailed",
            message: format!(
                "The client '{}' with object id '{}' may not {what}: only the well-known principal may.",
                principal.name, principal.object_id
            ),
        });
    }
    Ok(())
}

/// The data plane's admin routes take the same credential.
pub struct DataPlaneAdmin(pub AppState);

impl cloudhsm_data_plane::server::faults::AdminCheck for DataPlaneAdmin {
    fn check(
        &self,
        authorization: Option<&str>,
    ) -> Result<(), cloudhsm_data_plane::server::faults::AdminRefusal> {
        let header = authorization
            .map(HeaderValue::from_str)
            .transpose()
            .map_err(|_| ArmError::Unauthenticated {
                code: "AuthenticationFailed",
                message: "Authentication failed. The 'Authorization' header is provided in an invalid format.".into(),
            });
        header
            .and_then(|h| {
                require_admin_header(
                    &self.0,
                    h.as_ref(),
                    "use the emulator's admin routes of the data plane",
                )
            })
            .map_err(|e| cloudhsm_data_plane::server::faults::AdminRefusal {
                status: e.status().as_u16(),
                code: e.code().to_string(),
                message: e.detail().message,
            })
    }
}
