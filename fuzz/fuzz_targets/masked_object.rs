//! `insertMaskedObject`'s blob: the envelope as given, and (since random
//! bytes never pass the tag) the sealed content itself, masked under the
//! key and read back, which must give the same object.
#![no_main]
use cloudhsm_data_plane::engine::{
    keys::KeyObject,
    masking::{mask, unmask},
};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [9u8; 32];

fuzz_target!(|data: &[u8]| {
    let _ = unmask(&KEY, data);
    if let Ok(object) = serde_json::from_slice::<KeyObject>(data) {
        let blob = mask(&KEY, &object).expect("masking a readable object");
        assert_eq!(unmask(&KEY, &blob).expect("unmasking what was masked"), object);
    }
});
