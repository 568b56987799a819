//! What an AMQP peer sends the Event Hubs broker: frame bodies
//! (performatives), message sections and batches, link addresses and
//! selector filters.
#![no_main]
use cloudhsm_event_hubs::{
    amqp::{
        frames::split_amqp,
        nodes::{parse_address, parse_selector},
    },
    message::{incoming_batch, incoming_event, sections},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = split_amqp(data);
    if let Ok(found) = sections(data) {
        for section in found {
            let _ = section.decode();
        }
    }
    let _ = incoming_event(data);
    let _ = incoming_batch(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_address(text);
        let _ = parse_selector(text);
    }
});
