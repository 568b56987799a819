//! A backup blob read back from storage (anyone with the container can put
//! bytes there): the header without the key, then the whole envelope.
#![no_main]
use cloudhsm_data_plane::engine::backup_format::{open, read_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_header(data);
    let _ = open(&[7u8; 32], data);
});
