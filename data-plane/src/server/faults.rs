//! What the emulator's admin may do to the data plane, and who the admin is.
//!
//! The admin credential is the control plane's (a token of its well-known
//! principal): the data plane cannot check it itself, so whoever builds the
//! [`super::DataPlaneState`] hands in an [`AdminCheck`]. Without one, every
//! admin route is refused. An injected outage ([`Outage`]) makes every HSM
//! answer 503, or drop each request without an answer, until it ends.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::StatusCode;

use super::ApiError;

/// Refusal of a request that lacks the admin credential: status, code and
/// message as the control plane would answer them.
#[derive(Debug, Clone)]
pub struct AdminRefusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// Decides whether an `Authorization` header carries the admin credential.
pub trait AdminCheck: Send + Sync {
    fn check(&self, authorization: Option<&str>) -> Result<(), AdminRefusal>;
}

/// The check of a data plane built without an admin: nobody is one.
pub struct NoAdmin;

impl AdminCheck for NoAdmin {
    fn check(&self, _: Option<&str>) -> Result<(), AdminRefusal> {
        Err(AdminRefusal {
            status: 403,
            code: "AuthorizationFailed".into(),
            message: "this data plane has no admin credential configured".into(),
        })
    }
}

impl From<AdminRefusal> for ApiError {
    fn from(r: AdminRefusal) -> Self {
        ApiError::new(
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::FORBIDDEN),
            &r.code,
            r.message,
        )
    }
}

/// How the HSMs behave during an injected outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutageMode {
    /// Every request is answered `503 RET_HSM_UNAVAILABLE`.
    Unavailable,
    /// Every request's connection is closed without an answer.
    Drop,
}

/// The data plane's injected outage, if one is on.
#[derive(Default)]
pub struct Outage {
    current: Mutex<Option<(OutageMode, Instant)>>,
}

impl Outage {
    /// Starts (or replaces) an outage that ends by itself after `duration`.
    pub fn begin(&self, mode: OutageMode, duration: Duration) {
        *self.lock() = Some((mode, Instant::now() + duration));
    }

    pub fn end(&self) {
        *self.lock() = None;
    }

    /// The outage on now and how long it has left.
    pub fn current(&self) -> Option<(OutageMode, Duration)> {
        let mut current = self.lock();
        match *current {
            Some((mode, until)) => match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some((mode, left)),
                _ => {
                    *current = None;
                    None
                }
            },
            None => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(OutageMode, Instant)>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The answer of an HSM during an `unavailable` outage.
pub(super) fn unavailable_error() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "RET_HSM_UNAVAILABLE",
        "the HSMs of the data plane are unavailable (an injected outage); retry later",
    )
}
