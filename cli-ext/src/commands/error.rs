//! The CLI's one error type, and the one place it becomes an exit code and
//! an `ERROR:` line — with the Azure CLI's conventions: 2 for usage errors
//! (bad flags or values, caught before anything is sent), 3 when the service
//! says the resource does not exist (az's rule since azure-cli#6612: a 404
//! exits 3, so scripts can tell "missing" from "failed"), 1 for every other
//! failure.

use std::fmt;

#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: nothing was sent.
    Usage(String),
    /// An error answered by the resource manager or the token service.
    Service {
        status: u16,
        code: String,
        message: String,
    },
    /// A long-running operation or a wait ended badly.
    Operation { code: String, message: String },
    /// Not logged in, unreadable configuration, unreachable emulator...
    Client(String),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    pub fn client(message: impl Into<String>) -> Self {
        Self::Client(message.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) => 2,
            Self::Service { status: 404, .. } => 3,
            _ => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) | Self::Client(m) => f.write_str(m),
            Self::Service { code, message, .. } | Self::Operation { code, message } => {
                write!(f, "({code}) {message}")
            }
        }
    }
}

impl From<reqwest::Error> for CliError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display stops at the outermost layer ("error sending request"):
        // the cause (refused connection, bad certificate) is what a user needs.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Self::Client(message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::Client(e.to_string())
    }
}

pub type CliResult<T> = Result<T, CliError>;
