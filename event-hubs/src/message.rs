//! The AMQP message bytes the broker keeps and sends: a message is a run of
//! sections (described values); the broker keeps a sender's `properties`,
//! `application-properties` and body sections as they came, and puts its own
//! `message-annotations` (sequence number, offset, enqueued time, partition
//! key) in front when it delivers them.

use serde_amqp::Value;

/// Section descriptor codes (AMQP 1.0, 3.2).
pub const HEADER: u64 = 0x70;
pub const DELIVERY_ANNOTATIONS: u64 = 0x71;
pub const MESSAGE_ANNOTATIONS: u64 = 0x72;
pub const PROPERTIES: u64 = 0x73;
pub const APPLICATION_PROPERTIES: u64 = 0x74;
pub const DATA: u64 = 0x75;
pub const AMQP_SEQUENCE: u64 = 0x76;
pub const AMQP_VALUE: u64 = 0x77;
pub const FOOTER: u64 = 0x78;

pub const PARTITION_KEY_ANNOTATION: &str = "x-opt-partition-key";

#[derive(Debug, thiserror::Error)]
#[error("malformed AMQP message: {0}")]
pub struct MalformedMessage(pub &'static str);

fn need(buf: &[u8], n: usize) -> Result<(), MalformedMessage> {
    if buf.len() < n {
        Err(MalformedMessage("truncated value"))
    } else {
        Ok(())
    }
}

fn be_u32(buf: &[u8]) -> usize {
    u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize
}

/// The bytes after a fixed-width constructor (`0x40..=0x9f`): its high
/// nibble says how many (AMQP 1.0, 1.2).
fn fixed_width(code: u8) -> usize {
    match code >> 4 {
        0x4 => 0,
        0x5 => 1,
        0x6 => 2,
        0x7 => 4,
        0x8 => 8,
        _ => 16,
    }
}

/// The encoded length of the AMQP value at the start of `buf`.
pub fn value_len(buf: &[u8]) -> Result<usize, MalformedMessage> {
    need(buf, 1)?;
    let code = buf[0];
    let len = match code {
        0x00 => {
            let descriptor = value_len(&buf[1..])?;
            let value = value_len(&buf[1 + descriptor..])?;
            1 + descriptor + value
        }
        0x40..=0x9f => 1 + fixed_width(code),
        0xa0..=0xaf | 0xc0..=0xcf | 0xe0..=0xef => {
            need(buf, 2)?;
            2 + buf[1] as usize
        }
        0xb0..=0xbf | 0xd0..=0xdf | 0xf0..=0xff => {
            need(buf, 5)?;
            5 + be_u32(&buf[1..])
        }
        _ => return Err(MalformedMessage("unknown format code")),
    };
    need(buf, len)?;
    Ok(len)
}

/// Compound values nested deeper than this are refused (no sender needs it,
/// and it bounds the walk's stack).
const MAX_DEPTH: usize = 32;

/// The encoded length of the value at the start of `buf`, after checking
/// that every length and count declared inside it fits in the bytes there.
/// serde_amqp allocates a string's or binary's declared length before it
/// reads it, so one unchecked 4-byte length made it ask for gigabytes
/// (found by the `amqp_frames` fuzz target).
fn checked_len(buf: &[u8], depth: usize) -> Result<usize, MalformedMessage> {
    need(buf, 1)?;
    if depth > MAX_DEPTH {
        return Err(MalformedMessage("nested too deeply"));
    }
    if buf[0] == 0x00 {
        let descriptor = checked_len(&buf[1..], depth + 1)?;
        let value = checked_len(&buf[1 + descriptor..], depth + 1)?;
        return Ok(1 + descriptor + value);
    }
    Ok(1 + checked_body(buf[0], &buf[1..], depth)?)
}

/// [`checked_len`] of a whole value: what any bytes from a peer pass before
/// serde_amqp decodes them (performatives, SASL frames, message sections).
pub fn checked_value_len(buf: &[u8]) -> Result<usize, MalformedMessage> {
    checked_len(buf, 0)
}

/// The length of a value's bytes after its constructor `code`, checked as
/// [`checked_len`] does.
fn checked_body(code: u8, rest: &[u8], depth: usize) -> Result<usize, MalformedMessage> {
    let (width, compound) = match code {
        0x40..=0x9f => {
            let width = fixed_width(code);
            return need(rest, width).map(|_| width);
        }
        0xa0..=0xaf => (1, false),
        0xb0..=0xbf => (4, false),
        0xc0..=0xcf | 0xe0..=0xef => (1, true),
        0xd0..=0xdf | 0xf0..=0xff => (4, true),
        _ => return Err(MalformedMessage("unknown format code")),
    };
    need(rest, width)?;
    let size = if width == 1 {
        rest[0] as usize
    } else {
        be_u32(rest)
    };
    need(rest, width + size)?;
    if compound {
        let contents = &rest[width..width + size];
        need(contents, width)?;
        let count = if width == 1 {
            contents[0] as usize
        } else {
            be_u32(contents)
        };
        // Every item takes a byte at least: a larger count is a lie. A
        // map's count is of keys and values (serde_amqp subtracts two per
        // entry, so an odd count overflowed it).
        if count > contents.len() {
            return Err(MalformedMessage("more items than bytes"));
        }
        if matches!(code, 0xc1 | 0xd1) && count % 2 == 1 {
            return Err(MalformedMessage("a map with a key and no value"));
        }
        let mut items = &contents[width..];
        if code >= 0xe0 {
            // An array: one constructor (an empty one may leave it out),
            // then the elements' bodies.
            if count > 0 || !items.is_empty() {
                need(items, 1)?;
                let element = items[0];
                if element == 0x00 {
                    return Err(MalformedMessage("described array elements"));
                }
                // Elements of no width (null, true, false, 0, an empty
                // list) say nothing an array needs, and serde_amqp reads
                // them differently from their encoding's size.
                if (0x40..=0x45).contains(&element) && count > 0 {
                    return Err(MalformedMessage("an array of constants"));
                }
                items = &items[1..];
                for _ in 0..count {
                    let n = checked_body(element, items, depth + 1)?;
                    items = &items[n..];
                }
            }
        } else {
            for _ in 0..count {
                let n = checked_len(items, depth + 1)?;
                items = &items[n..];
            }
        }
        // The size must be the items' exactly: bytes left over would be
        // read by serde_amqp as whatever follows, unchecked.
        if !items.is_empty() {
            return Err(MalformedMessage(
                "bytes left over inside a list, map or array",
            ));
        }
    }
    Ok(width + size)
}

/// The numeric descriptor of a described value (symbolic descriptors of the
/// message sections mapped to their codes).
fn descriptor_code(buf: &[u8]) -> Result<(u64, usize), MalformedMessage> {
    need(buf, 2)?;
    if buf[0] != 0x00 {
        return Err(MalformedMessage("a section is not a described value"));
    }
    let len = value_len(&buf[1..])?;
    let descriptor = &buf[1..1 + len];
    let code = match descriptor[0] {
        0x53 => descriptor[1] as u64,
        0x44 => 0,
        0x80 => u64::from_be_bytes(
            descriptor[1..9]
                .try_into()
                .map_err(|_| MalformedMessage("descriptor"))?,
        ),
        0xa3 | 0xb3 => {
            let name = &descriptor[if descriptor[0] == 0xa3 { 2 } else { 5 }..];
            match name {
                b"amqp:header:list" => HEADER,
                b"amqp:delivery-annotations:map" => DELIVERY_ANNOTATIONS,
                b"amqp:message-annotations:map" => MESSAGE_ANNOTATIONS,
                b"amqp:properties:list" => PROPERTIES,
                b"amqp:application-properties:map" => APPLICATION_PROPERTIES,
                b"amqp:data:binary" => DATA,
                b"amqp:amqp-sequence:list" => AMQP_SEQUENCE,
                b"amqp:amqp-value:*" => AMQP_VALUE,
                b"amqp:footer:map" => FOOTER,
                _ => return Err(MalformedMessage("unknown section")),
            }
        }
        _ => return Err(MalformedMessage("unknown descriptor")),
    };
    Ok((code, 1 + len))
}

/// A section: its descriptor code, its whole bytes, and where its value starts.
pub struct Section<'a> {
    pub code: u64,
    pub bytes: &'a [u8],
    value_start: usize,
}

impl<'a> Section<'a> {
    pub fn value_bytes(&self) -> &'a [u8] {
        &self.bytes[self.value_start..]
    }
    /// The bytes of a `data` section's binary.
    pub fn binary(&self) -> Result<&'a [u8], MalformedMessage> {
        let value = self.value_bytes();
        match value.first() {
            Some(0xa0) => Ok(&value[2..]),
            Some(0xb0) => Ok(&value[5..]),
            _ => Err(MalformedMessage("a data section does not hold binary")),
        }
    }
    pub fn decode(&self) -> Result<Value, MalformedMessage> {
        checked_value_len(self.value_bytes())?;
        serde_amqp::from_slice(self.value_bytes())
            .map_err(|_| MalformedMessage("undecodable section"))
    }
}

pub fn sections(mut payload: &[u8]) -> Result<Vec<Section<'_>>, MalformedMessage> {
    let mut out = Vec::new();
    while !payload.is_empty() {
        let (code, value_start) = descriptor_code(payload)?;
        let len = value_len(payload)?;
        out.push(Section {
            code,
            bytes: &payload[..len],
            value_start,
        });
        payload = &payload[len..];
    }
    Ok(out)
}

/// An event as received from a sender, before the log gives it a place.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingEvent {
    pub partition_key: Option<String>,
    /// `properties`, `application-properties` and body sections, encoded.
    pub sections: Vec<u8>,
}

fn annotation_string(
    section: &Section<'_>,
    name: &str,
) -> Result<Option<String>, MalformedMessage> {
    if let Value::Map(map) = section.decode()? {
        for (key, value) in map.iter() {
            let matches = match key {
                Value::Symbol(s) => s.0 == name,
                Value::String(s) => s == name,
                _ => false,
            };
            if matches {
                return Ok(match value {
                    Value::String(s) => Some(s.clone()),
                    Value::Symbol(s) => Some(s.0.clone()),
                    _ => None,
                });
            }
        }
    }
    Ok(None)
}

/// One message as a sender sent it (message format 0).
pub fn incoming_event(payload: &[u8]) -> Result<IncomingEvent, MalformedMessage> {
    let mut event = IncomingEvent {
        partition_key: None,
        sections: Vec::with_capacity(payload.len()),
    };
    for section in sections(payload)? {
        match section.code {
            MESSAGE_ANNOTATIONS => {
                event.partition_key = annotation_string(&section, PARTITION_KEY_ANNOTATION)?
            }
            PROPERTIES | APPLICATION_PROPERTIES | DATA | AMQP_SEQUENCE | AMQP_VALUE => {
                event.sections.extend_from_slice(section.bytes)
            }
            _ => {}
        }
    }
    Ok(event)
}

/// A batch (message format 0x80013700): each `data` section of the outer
/// message is one encoded message; the outer message's partition key applies
/// to all of them.
pub fn incoming_batch(payload: &[u8]) -> Result<Vec<IncomingEvent>, MalformedMessage> {
    let mut outer_key = None;
    let mut events = Vec::new();
    for section in sections(payload)? {
        match section.code {
            MESSAGE_ANNOTATIONS => {
                outer_key = annotation_string(&section, PARTITION_KEY_ANNOTATION)?
            }
            DATA => events.push(incoming_event(section.binary()?)?),
            _ => {}
        }
    }
    for event in &mut events {
        if event.partition_key.is_none() {
            event.partition_key = outer_key.clone();
        }
    }
    Ok(events)
}

fn put_binary_like(out: &mut Vec<u8>, small: u8, large: u8, bytes: &[u8]) {
    if bytes.len() <= u8::MAX as usize {
        out.push(small);
        out.push(bytes.len() as u8);
    } else {
        out.push(large);
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

fn put_symbol(out: &mut Vec<u8>, s: &str) {
    put_binary_like(out, 0xa3, 0xb3, s.as_bytes());
}
fn put_string(out: &mut Vec<u8>, s: &str) {
    put_binary_like(out, 0xa1, 0xb1, s.as_bytes());
}

fn put_json(out: &mut Vec<u8>, value: &serde_json::Value) {
    match value {
        serde_json::Value::Null => out.push(0x40),
        serde_json::Value::Bool(b) => out.push(if *b { 0x41 } else { 0x42 }),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => {
                out.push(0x81);
                out.extend_from_slice(&i.to_be_bytes());
            }
            None => {
                out.push(0x82);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_be_bytes());
            }
        },
        serde_json::Value::String(s) => put_string(out, s),
        // Application properties hold simple values only: anything else as its JSON text.
        other => put_string(out, &other.to_string()),
    }
}

/// A map32 of `entries` (already encoded key/value pairs) after a section descriptor.
fn put_section_map(out: &mut Vec<u8>, code: u8, count: usize, entries: &[u8]) {
    out.extend_from_slice(&[0x00, 0x53, code, 0xd1]);
    out.extend_from_slice(&((entries.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&((count * 2) as u32).to_be_bytes());
    out.extend_from_slice(entries);
}

/// The sections of an event the emulator itself publishes: its properties
/// as `application-properties`, its body as one `data` section.
pub fn encode_event_sections(properties: &[(String, serde_json::Value)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    if !properties.is_empty() {
        let mut entries = Vec::new();
        for (name, value) in properties {
            put_string(&mut entries, name);
            put_json(&mut entries, value);
        }
        put_section_map(
            &mut out,
            APPLICATION_PROPERTIES as u8,
            properties.len(),
            &entries,
        );
    }
    out.extend_from_slice(&[0x00, 0x53, DATA as u8]);
    put_binary_like(&mut out, 0xa0, 0xb0, body);
    out
}

/// The annotations the broker adds to a delivered event.
pub fn delivery_annotations(
    sequence_number: i64,
    offset: u64,
    enqueued_ms: i64,
    partition_key: Option<&str>,
) -> Vec<u8> {
    let mut entries = Vec::with_capacity(128);
    let mut count = 3;
    put_symbol(&mut entries, "x-opt-sequence-number");
    entries.push(0x81);
    entries.extend_from_slice(&sequence_number.to_be_bytes());
    put_symbol(&mut entries, "x-opt-offset");
    put_string(&mut entries, &offset.to_string());
    put_symbol(&mut entries, "x-opt-enqueued-time");
    entries.push(0x83);
    entries.extend_from_slice(&enqueued_ms.to_be_bytes());
    if let Some(key) = partition_key {
        count += 1;
        put_symbol(&mut entries, PARTITION_KEY_ANNOTATION);
        put_string(&mut entries, key);
    }
    let mut out = Vec::with_capacity(entries.len() + 12);
    put_section_map(&mut out, MESSAGE_ANNOTATIONS as u8, count, &entries);
    out
}

/// The body of stored sections: the `data` sections' bytes joined (what the
/// SDKs' `body_as_str` shows), or the encoded value of any other body.
pub fn body_of(stored_sections: &[u8]) -> Result<Vec<u8>, MalformedMessage> {
    let mut body = Vec::new();
    for section in sections(stored_sections)? {
        match section.code {
            DATA => body.extend_from_slice(section.binary()?),
            AMQP_VALUE | AMQP_SEQUENCE => body.extend_from_slice(section.value_bytes()),
            _ => {}
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_events_split_back_into_their_sections() {
        let props = vec![
            ("kind".to_string(), serde_json::json!("audit")),
            ("n".to_string(), serde_json::json!(3)),
        ];
        let body = vec![7u8; 300];
        let sections_bytes = encode_event_sections(&props, &body);
        let parsed = sections(&sections_bytes).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].code, APPLICATION_PROPERTIES);
        assert!(matches!(parsed[0].decode().unwrap(), Value::Map(m) if m.len() == 2));
        assert_eq!(body_of(&sections_bytes).unwrap(), body);

        let mut message = delivery_annotations(5, 1024, 1_700_000_000_000, Some("key-1"));
        message.extend_from_slice(&sections_bytes);
        let event = incoming_event(&message).unwrap();
        assert_eq!(event.partition_key.as_deref(), Some("key-1"));
        assert_eq!(event.sections, sections_bytes);
    }

    #[test]
    fn lengths_inside_a_section_must_fit_before_it_is_decoded() {
        // application-properties: a map whose one key is a sym32 claiming
        // 2.9 GB (as the fuzzer's input did): refused, nothing allocated.
        let lying = [
            0x00, 0x53, 0x74, 0xc1, 0x0b, 0x02, 0xb3, 0xac, 0xac, 0xac, 0xac, 0x61, 0x62, 0xa1,
            0x01, 0x63,
        ];
        let parsed = sections(&lying).unwrap();
        assert!(parsed[0].decode().is_err());
        // More items than bytes, nesting past the bound, an array's element
        // running past its end.
        let counted = [0x00, 0x53, 0x77, 0xc0, 0x02, 0xff, 0x40];
        assert!(sections(&counted).unwrap()[0].decode().is_err());
        let odd_map = [0x00, 0x53, 0x74, 0xc1, 0x02, 0x01, 0x40];
        assert!(sections(&odd_map).unwrap()[0].decode().is_err());
        let mut deep = vec![0x00, 0x53, 0x77];
        for _ in 0..40 {
            deep.extend_from_slice(&[0xc0, 0x00, 0x01]);
        }
        deep.push(0x40);
        let mut size = 2;
        for level in (0..40).rev() {
            deep[3 + level * 3 + 1] = size as u8;
            size += 3;
        }
        assert!(sections(&deep).is_ok());
        assert!(sections(&deep).unwrap()[0].decode().is_err());
        let array = [0x00, 0x53, 0x77, 0xe0, 0x05, 0x02, 0xa1, 0x01, 0x61, 0x09];
        assert!(sections(&array).unwrap()[0].decode().is_err());
        // The same shapes, honest, decode.
        let honest = [
            0x00, 0x53, 0x74, 0xc1, 0x07, 0x02, 0xa3, 0x01, 0x61, 0xa1, 0x01, 0x63,
        ];
        assert!(matches!(
            sections(&honest).unwrap()[0].decode().unwrap(),
            Value::Map(m) if m.len() == 1
        ));
        let array = [
            0x00, 0x53, 0x77, 0xe0, 0x06, 0x02, 0xa1, 0x01, 0x61, 0x01, 0x62,
        ];
        assert!(sections(&array).unwrap()[0].decode().is_ok());
        // An empty array keeps its constructor; an empty list has none.
        let empty = [0x00, 0x53, 0x77, 0xc0, 0x05, 0x01, 0xe0, 0x02, 0x00, 0xa3];
        assert!(sections(&empty).unwrap()[0].decode().is_ok());
        // A list whose size leaves bytes after its items (found by a 600 s
        // run of amqp_frames: an array of `false` with three bytes more,
        // which serde_amqp read as a list8 of size 0, and overflowed).
        let loose = [0x00, 0x53, 0x77, 0xc0, 0x03, 0x01, 0x40, 0x40];
        assert!(sections(&loose).unwrap()[0].decode().is_err());
        let constants = [0x00, 0x53, 0x77, 0xe0, 0x02, 0x05, 0x42];
        assert!(sections(&constants).unwrap()[0].decode().is_err());
        let found = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/regressions/amqp_frames/crash-01ff2784a2ec5ee2fa2b2e4db0782b5f7375b209"
        ))
        .unwrap();
        assert!(sections(&found).unwrap()[0].decode().is_err());
    }

    #[test]
    fn batches_carry_one_message_per_data_section() {
        let inner = |text: &str| encode_event_sections(&[], text.as_bytes());
        let mut outer = delivery_annotations(0, 0, 0, Some("outer"));
        for text in ["a", "b"] {
            outer.extend_from_slice(&[0x00, 0x53, 0x75]);
            put_binary_like(&mut outer, 0xa0, 0xb0, &inner(text));
        }
        let events = incoming_batch(&outer).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(body_of(&events[1].sections).unwrap(), b"b");
        assert_eq!(events[0].partition_key.as_deref(), Some("outer"));
        assert!(incoming_event(&[0x00, 0x53]).is_err());
    }
}

/// A small AMQP value builder for the messages the broker itself writes
/// (`$cbs` and `$management` responses).
#[derive(Debug, Clone)]
pub enum Amqp {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Str(String),
    Sym(String),
    Timestamp(i64),
    List(Vec<Amqp>),
    Map(Vec<(Amqp, Amqp)>),
    /// Already-encoded bytes of one value.
    Raw(Vec<u8>),
}

impl Amqp {
    pub fn str(s: impl Into<String>) -> Amqp {
        Amqp::Str(s.into())
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Amqp::Null => out.push(0x40),
            Amqp::Bool(b) => out.push(if *b { 0x41 } else { 0x42 }),
            Amqp::Int(i) => {
                out.push(0x71);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Amqp::Long(i) => {
                out.push(0x81);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Amqp::Timestamp(ms) => {
                out.push(0x83);
                out.extend_from_slice(&ms.to_be_bytes());
            }
            Amqp::Str(s) => put_string(out, s),
            Amqp::Sym(s) => put_symbol(out, s),
            Amqp::Raw(bytes) => out.extend_from_slice(bytes),
            Amqp::List(items) => {
                let mut inner = Vec::new();
                items.iter().for_each(|i| i.encode(&mut inner));
                out.push(0xd0);
                out.extend_from_slice(&((inner.len() + 4) as u32).to_be_bytes());
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
                out.extend_from_slice(&inner);
            }
            Amqp::Map(entries) => {
                let mut inner = Vec::new();
                for (k, v) in entries {
                    k.encode(&mut inner);
                    v.encode(&mut inner);
                }
                out.push(0xd1);
                out.extend_from_slice(&((inner.len() + 4) as u32).to_be_bytes());
                out.extend_from_slice(&((entries.len() * 2) as u32).to_be_bytes());
                out.extend_from_slice(&inner);
            }
        }
    }

    /// This value as the section with descriptor `code`.
    pub fn section(&self, code: u64) -> Vec<u8> {
        let mut out = vec![0x00, 0x53, code as u8];
        self.encode(&mut out);
        out
    }
}

/// The encoded bytes of the first field of a list (as `message-id`, the
/// first field of `properties`), `None` when absent or null.
pub fn first_list_field(list: &[u8]) -> Option<&[u8]> {
    let items = match list.first()? {
        0xc0 if list.len() >= 3 && list[2] > 0 => &list[3..],
        0xd0 if list.len() >= 9 && be_u32(&list[5..]) > 0 => &list[9..],
        _ => return None,
    };
    let len = value_len(items).ok()?;
    Some(&items[..len]).filter(|v| v[0] != 0x40)
}
