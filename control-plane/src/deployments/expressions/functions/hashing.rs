//! `uniqueString` and `guid`, with Azure's exact algorithms, so names a
//! template derives here are the names it derives in Azure.
//!
//! * `uniqueString(a, b, ...)`: the arguments joined with '-', UTF-8, hashed
//!   with the 64-bit MurmurHash variant of Azure's resource stack (two
//!   32-bit lanes, seed 0), then the hash's bits read 5 at a time from the
//!   most significant into 13 characters of `a-z2-7`.
//! * `guid(a, b, ...)`: an RFC 4122 §4.3 name-based (version 5, SHA-1) UUID
//!   of the arguments joined with '-', UTF-8, in namespace
//!   11fb06fb-712d-4ddd-98c7-e71bbd588830.

use serde_json::Value;
use uuid::Uuid;

use super::Invocation;
use crate::deployments::expressions::values::str_arg;
use crate::deployments::expressions::ExprError;

const GUID_NAMESPACE: Uuid = Uuid::from_u128(0x11fb06fb_712d_4ddd_98c7_e71bbd588830);
const BASE32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn joined_strings(args: &[Value]) -> Result<String, ExprError> {
    let parts = (0..args.len())
        .map(|i| str_arg(args, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join("-"))
}

pub fn unique_string(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(Value::String(unique_string_of(&joined_strings(args)?)))
}

pub fn guid(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let name = joined_strings(args)?;
    Ok(Value::String(
        Uuid::new_v5(&GUID_NAMESPACE, name.as_bytes()).to_string(),
    ))
}

pub fn unique_string_of(text: &str) -> String {
    let mut hash = murmur_hash64(text.as_bytes());
    (0..13)
        .map(|_| {
            let symbol = BASE32_ALPHABET[(hash >> 59) as usize] as char;
            hash <<= 5;
            symbol
        })
        .collect()
}

/// Little-endian 32-bit word from up to 4 bytes.
fn word(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .enumerate()
        .fold(0, |w, (i, b)| w | (u32::from(*b) << (8 * i)))
}

fn final_mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Azure's MurmurHash64: two interleaved MurmurHash3-style 32-bit lanes
/// over 8-byte blocks, combined at the end (high lane in the high bits).
fn murmur_hash64(data: &[u8]) -> u64 {
    const C1: u32 = 0x239b_961b;
    const C2: u32 = 0xab0e_9789;
    let mix1 = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    let mix2 = |k: u32| k.wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
    let (mut h1, mut h2) = (0u32, 0u32);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        h1 ^= mix1(word(&block[..4]));
        h1 = h1
            .rotate_left(19)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x561c_cd1b);
        h2 ^= mix2(word(&block[4..]));
        h2 = h2
            .rotate_left(13)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x0bca_a747);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        h1 ^= mix1(word(tail));
        if tail.len() > 4 {
            h2 ^= mix2(word(&tail[4..]));
        }
    }
    let length = data.len() as u32;
    h1 ^= length;
    h2 ^= length;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = final_mix(h1);
    h2 = final_mix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (u64::from(h2) << 32) | u64::from(h1)
}
