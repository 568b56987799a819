//! The emulator's own identity platform: a token service compatible with the
//! Microsoft identity platform's client-credentials flow, and validation of the
//! bearer tokens it issues; and the part of Microsoft Graph that lists those
//! identities.

pub mod adfs;
pub mod graph;
pub mod managed_identity_endpoint;
pub mod signing_key;
pub mod token_service;
pub mod tokens;
