//! The emulator's Event Hubs data plane: what an Event Hubs namespace's
//! endpoint answers once the control plane has made the namespace, its hubs
//! and rules.
//!
//! - [`log`]: per hub partition, an append-only segment log on disk (offset =
//!   byte position, sequence numbers from 0, enqueued time), recovered after a
//!   crash, pruned per the hub's retention.
//! - [`Broker`]: the hubs' logs and the one publish path every front end
//!   (AMQP, REST, the emulator's own diagnostics delivery) goes through.
//! - [`amqp`]: the AMQP 1.0 listener the Event Hubs SDKs talk to (`$cbs`,
//!   `$management`, senders, receivers with offset filters).
//! - [`rest`]: the REST send API (`POST /{hub}/messages`).
//! - [`sas`]: shared access signatures, checked against the rules' keys.
//!
//! Nothing here knows ARM: what exists and who may do what comes from a
//! [`Directory`] the control plane implements over its store.

pub mod amqp;
mod broker;
mod directory;
pub mod log;
pub mod message;
pub mod rest;
pub mod sas;

pub use broker::{Broker, BrokerError, BrokerOptions, EventData, PartitionInfo, ReceivedEvent};
pub use directory::{AccessRule, Directory, DirectoryError, HubInfo, Rights};
