//! The emulator's own identity platform: a token service compatible with the
//! Microsoft identity platform's client-credentials flow, and validation of the
//! bearer tokens it issues; and the part of Microsoft Graph that lists those
//! identities.

pub mod adfs;
pub mod admin;
pub mod graph;
pub mod managed_identity_endpoint;
pub mod service_principals;
pub mod signing_key;
pub mod token_service;
pub mod tokens;

/// Compares a secret a caller sent with the expected one in constant time
/// (for equal lengths), so response timing tells nothing about how much of a
/// guess was right.
pub fn secret_matches(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|given| {
        aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), expected.as_bytes())
            .is_ok()
    })
}
