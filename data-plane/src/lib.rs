//! The Cloud HSM cluster engine: three HSM nodes kept in sync, crypto officers
//! and crypto users, keys with attributes, mechanisms, sessions and audit
//! events. It knows nothing about HTTP: it takes plain Rust values and returns
//! `Result<_, EngineError>`; a network layer maps those to its wire format.

pub mod client;
pub mod engine;
pub mod onboarding;
pub mod server;
pub mod watch;

pub use engine::{
    attributes::{Attribute, KeyAttributes},
    cluster::{Cluster, ClusterConfig},
    error::EngineError,
    keys::{KeyHandle, KeySpec},
    mechanisms::Mechanism,
    sessions::{LoginId, SessionHandle},
    users::Role,
};
