//! The files a user hands the utility and the HSM checks: signed 2FA
//! authdata (public key PEM, base64 digests and signatures) and quorum
//! token approvals.
#![no_main]
use cloudhsm_data_plane::engine::{
    quorum::Approval,
    two_factor::{parse_public_key, verify_signature, AuthData},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(authdata) = serde_json::from_slice::<AuthData>(data) {
        let key = authdata
            .public_key
            .as_deref()
            .and_then(|pem| parse_public_key(pem).ok());
        for entry in &authdata.data {
            if let Some(key) = &key {
                let _ = verify_signature(key, entry.digest.as_bytes(), &entry.signature);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_public_key(text);
    }
    let _ = serde_json::from_slice::<Vec<Approval>>(data);
});
