//! Deployment templates: ARM template expressions (`[concat(...)]`) and the
//! template document around them.
#![no_main]
use cloudhsm_control_plane::deployments::{expressions, template::Template};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = expressions::parse(text);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = Template::parse(value);
    }
});
