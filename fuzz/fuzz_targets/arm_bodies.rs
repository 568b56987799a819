//! ARM request bodies through every JSON Schema the control plane validates
//! with (the validator must answer, never panic, on any JSON).
#![no_main]
use std::sync::OnceLock;

use cloudhsm_control_plane::arm::schema::SchemaRegistry;
use libfuzzer_sys::fuzz_target;

fn registry() -> &'static SchemaRegistry {
    static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| SchemaRegistry::load().expect("schemas"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for name in registry().names() {
        let _ = registry().validate(name, &body);
    }
});
