//! The data plane's binary stream frames (requests from clients, responses
//! the client reads) and the JSON request bodies of its REST routes.
#![no_main]
use cloudhsm_data_plane::server::frames::{decode_request, decode_response, frame_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = frame_id(data);
    let _ = decode_request(data);
    let _ = decode_response(data);
    let _ = serde_json::from_slice::<serde_json::Value>(data);
});
