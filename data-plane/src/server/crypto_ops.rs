//! The hot crypto operations (sign, verify, encrypt, decrypt), shared by the
//! HTTPS+JSON route and the framed stream so both apply the same limits and
//! reach the engine the same way.

use std::sync::Arc;

use axum::http::StatusCode;

use super::ApiError;
use crate::engine::{cluster::Cluster, error::EngineError, keys::KeyHandle, mechanisms::Mechanism};

/// Inputs above this are refused, as the HSM's message size limit.
pub const MAX_DATA: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoOp {
    Sign,
    Verify,
    Encrypt,
    Decrypt,
}

impl CryptoOp {
    const ALL: [Self; 4] = [Self::Sign, Self::Verify, Self::Encrypt, Self::Decrypt];

    /// The operation's name in the HTTP API's path.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
        }
    }

    pub fn parse(name: &str) -> Result<Self, ApiError> {
        Self::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "RET_INVALID_REQUEST",
                    format!("no operation '{name}'"),
                )
            })
    }

    /// The stream's one-byte code.
    pub fn code(self) -> u8 {
        match self {
            Self::Sign => 1,
            Self::Verify => 2,
            Self::Encrypt => 3,
            Self::Decrypt => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Sign,
            2 => Self::Verify,
            3 => Self::Encrypt,
            4 => Self::Decrypt,
            _ => return None,
        })
    }
}

/// One operation's inputs, already decoded from the wire.
pub struct CryptoCall {
    pub session: u64,
    pub handle: KeyHandle,
    pub op: CryptoOp,
    pub mechanism: Mechanism,
    pub data: Vec<u8>,
    pub signature: Vec<u8>,
    pub aad: Vec<u8>,
}

/// Where an operation runs. RSA private-key operations take hundreds of
/// microseconds (milliseconds at 4096 bits), so they leave the async workers;
/// the rest cost less than the hop to a blocking thread. Symmetric ones cost
/// a few microseconds, less than handing them to another task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// Run where the request was read.
    Cheap,
    /// Run on the async workers, off the connection's reader.
    Moderate,
    /// Run on a blocking thread.
    Slow,
}

pub fn cost(op: CryptoOp, mechanism: Mechanism) -> Cost {
    use Mechanism::*;
    match (op, mechanism) {
        (
            CryptoOp::Sign,
            RsaPkcs1Sha256 | RsaPkcs1Sha384 | RsaPkcs1Sha512 | RsaPssSha256 | RsaPssSha384
            | RsaPssSha512,
        )
        | (CryptoOp::Decrypt, RsaOaep) => Cost::Slow,
        (_, AesGcm | AesCbcPad | HmacSha256 | HmacSha384 | HmacSha512) => Cost::Cheap,
        _ => Cost::Moderate,
    }
}

fn execute(cluster: &Cluster, call: CryptoCall) -> Result<Vec<u8>, EngineError> {
    let CryptoCall {
        session,
        handle,
        op,
        mechanism,
        data,
        signature,
        aad,
    } = call;
    match op {
        CryptoOp::Sign => cluster.sign(session, handle, mechanism, &data),
        CryptoOp::Verify => cluster
            .verify(session, handle, mechanism, &data, &signature)
            .map(|()| Vec::new()),
        CryptoOp::Encrypt => cluster.encrypt(session, handle, mechanism, &data, &aad),
        CryptoOp::Decrypt => cluster.decrypt(session, handle, mechanism, &data, &aad),
    }
}

/// Inputs are bounded by the HSM's message size.
pub fn within_limit(len: usize) -> Result<(), ApiError> {
    if len > MAX_DATA {
        return Err(EngineError::DataInvalid(format!(
            "{len} bytes; at most {MAX_DATA} per operation"
        ))
        .into());
    }
    Ok(())
}

/// Checks the size limit and runs the operation on the engine.
pub async fn run(cluster: Arc<Cluster>, call: CryptoCall) -> Result<Vec<u8>, ApiError> {
    within_limit(call.data.len())?;
    if cost(call.op, call.mechanism) == Cost::Slow {
        super::routes::blocking(move || execute(&cluster, call)).await
    } else {
        execute(&cluster, call).map_err(ApiError::from)
    }
}

/// [`run`] on the calling thread, whatever the cost (a local stream's own
/// thread), on behalf of the client at `caller`.
pub fn run_here(cluster: &Cluster, call: CryptoCall, caller: &str) -> Result<Vec<u8>, ApiError> {
    within_limit(call.data.len())?;
    crate::engine::audit::with_caller_ip(caller.to_string(), || execute(cluster, call))
        .map_err(ApiError::from)
}
