//! Destinations of a diagnostic setting. A sink takes one batch of records
//! (JSON lines, oldest first) and delivers all of them or fails; the worker
//! retries a failed batch whole (at-least-once).

pub mod blob;
pub mod event_hub;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkError {
    /// The destination does not exist (yet): a deleted hub, a missing
    /// account. Retried until it is back.
    Missing(String),
    /// The destination could not be reached (Azurite down, no broker).
    Unavailable(String),
    /// The destination refused the records.
    Refused(String),
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(m) | Self::Unavailable(m) | Self::Refused(m) => f.write_str(m),
        }
    }
}

#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// What the logs call it (`storage account devstoreaccount1`).
    fn describe(&self) -> String;
    async fn deliver(&self, records: &[String]) -> Result<(), SinkError>;
}
