//! The data-plane network API: HTTPS + JSON, one listener for every cluster.
//! A request names the HSM it is for (`/hsms/{address}/...`), as a client
//! reaches a cluster by its HSMs' addresses; an HSM that is down answers 503
//! so the client fails over to the next. The engine does the work; this
//! module only parses, authenticates and maps errors.

mod crypto_ops;
pub mod faults;
pub mod frames;
pub mod idle;
pub mod limits;
pub mod local;
mod routes;
mod stream;
pub mod wire;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use crate::engine::{cluster::Cluster, error::EngineError, sessions::LoginId};

pub use crypto_ops::{CryptoOp, MAX_DATA};
pub use routes::router;

/// Finds the cluster and node an HSM address belongs to. The control plane
/// knows which addresses its clusters have.
pub trait ClusterDirectory: Send + Sync {
    fn resolve(&self, hsm_address: &str) -> Result<(Arc<Cluster>, usize), Unreachable>;
}

/// Why an HSM address does not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// No HSM has that address.
    Unknown,
    /// The HSM exists but its network path is closed (e.g. the cluster's
    /// `publicNetworkAccess` is `Disabled`); the text says why.
    Closed(String),
}

/// A client's login: the bearer token it was given stands for it.
struct Login {
    cluster: Arc<Cluster>,
    id: LoginId,
    sessions: HashSet<u64>,
}

pub struct DataPlaneState {
    directory: Arc<dyn ClusterDirectory>,
    logins: Mutex<HashMap<String, Login>>,
    /// Who may use the admin routes (node faults, audit reads).
    admin: Arc<dyn faults::AdminCheck>,
    outage: Arc<faults::Outage>,
}

impl DataPlaneState {
    /// A data plane without an admin: its admin routes refuse everyone.
    pub fn new(directory: Arc<dyn ClusterDirectory>) -> Arc<Self> {
        Self::with_admin(
            directory,
            Arc::new(faults::NoAdmin),
            Arc::new(faults::Outage::default()),
        )
    }

    /// A data plane whose admin routes take what `admin` accepts, and whose
    /// HSMs go down while `outage` is on.
    pub fn with_admin(
        directory: Arc<dyn ClusterDirectory>,
        admin: Arc<dyn faults::AdminCheck>,
        outage: Arc<faults::Outage>,
    ) -> Arc<Self> {
        Arc::new(Self {
            directory,
            logins: Mutex::new(HashMap::new()),
            admin,
            outage,
        })
    }
}

/// Every failure, as `{"code","message"}` with an HTTP status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "RET_INVALID_REQUEST", message)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        use EngineError::*;
        let status = match &e {
            LoginFailed | NotLoggedIn => StatusCode::UNAUTHORIZED,
            NotPermitted(_)
            | KeyFunctionNotPermitted(_)
            | KeyUnextractable
            | AttributeReadOnly(_) => StatusCode::FORBIDDEN,
            UserLocked(_) => StatusCode::LOCKED,
            KeyNotFound(_) | UserNotFound(_) | SessionNotFound(_) | NodeNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            SessionBusy(_)
            | UserExists(_)
            | AlreadyLoggedIn(_)
            | CapacityExceeded { .. }
            | CertificateExists(_)
            | ActivationIncomplete(_) => StatusCode::CONFLICT,
            NoNodeAvailable => StatusCode::SERVICE_UNAVAILABLE,
            TwoFactorRequired(_) | TwoFactorFailed(_) => StatusCode::UNAUTHORIZED,
            QuorumRequired(_) => StatusCode::FORBIDDEN,
            TokenNotFound => StatusCode::NOT_FOUND,
            FeatureDisabled(_) | TokenExists(_) => StatusCode::CONFLICT,
            TokenExpired => StatusCode::GONE,
            Crypto(_) | Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(wire::ErrorBody {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response()
    }
}
