//! The engine, module per concept (after kryoptic: objects, attributes,
//! mechanisms and sessions kept separate and small).

pub mod attributes;
pub mod audit;
pub mod backup_format;
pub mod base64_bytes;
pub mod cluster;
pub mod error;
pub mod keys;
pub mod length_prefixed;
pub mod masking;
pub mod mechanisms;
pub mod nodes;
pub mod partition;
pub mod quorum;
pub mod sessions;
pub mod store;
pub mod two_factor;
pub mod users;
