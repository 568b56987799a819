//! What ARM reads from a request line and headers: paths (resource ids),
//! `$filter`, `$skiptoken`, a backup container URI, and bearer tokens.
#![no_main]
use std::sync::OnceLock;

use cloudhsm_control_plane::{
    arm::{odata_filter::ResourceFilter, paging::start_after, resource_id::canonical_path},
    backup_storage::container_uri,
    identity::{signing_key::SigningKey, tokens::validate},
};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cloudhsm-fuzz-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("key dir");
        SigningKey::load_or_create(&dir).expect("signing key")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = canonical_path(text);
    let _ = ResourceFilter::parse(text);
    let _ = start_after(Some(text));
    let _ = container_uri::parse(text);
    let audiences = ["https://management.azure.com".to_string()];
    let _ = validate(text, key(), "00000000-0000-0000-0000-000000000001", &audiences);
});
