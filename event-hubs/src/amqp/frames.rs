//! AMQP 1.0 framing (part 2.3): protocol headers, then frames of
//! `[size u32][doff u8][type u8][channel u16][extended header][body]`; an
//! AMQP frame's body is a performative followed by its payload.

use fe2o3_amqp_types::performatives::Performative;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::message::{checked_value_len, value_len};

pub const AMQP_HEADER: [u8; 8] = *b"AMQP\x00\x01\x00\x00";
pub const SASL_HEADER: [u8; 8] = *b"AMQP\x03\x01\x00\x00";
pub const FRAME_AMQP: u8 = 0;
pub const FRAME_SASL: u8 = 1;
/// What we accept per frame (and announce in `open`).
pub const MAX_FRAME_SIZE: u32 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Protocol(String),
}

pub struct RawFrame {
    pub kind: u8,
    pub channel: u16,
    /// Empty for a heartbeat.
    pub body: Vec<u8>,
}

pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<RawFrame, FrameError> {
    let mut header = [0u8; 8];
    reader.read_exact(&mut header).await?;
    let size = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let doff = header[4] as u32 * 4;
    if size > MAX_FRAME_SIZE || doff < 8 || size < doff {
        return Err(FrameError::Protocol(format!(
            "frame of {size} bytes (data offset {doff}) refused; the largest is {MAX_FRAME_SIZE}"
        )));
    }
    let mut rest = vec![0u8; (size - 8) as usize];
    reader.read_exact(&mut rest).await?;
    let body = rest.split_off((doff - 8) as usize);
    Ok(RawFrame {
        kind: header[5],
        channel: u16::from_be_bytes([header[6], header[7]]),
        body,
    })
}

/// An AMQP frame's performative and payload.
pub fn split_amqp(body: &[u8]) -> Result<(Performative, Vec<u8>), FrameError> {
    let len = checked_value_len(body).map_err(|e| FrameError::Protocol(e.to_string()))?;
    let performative = serde_amqp::from_slice(&body[..len])
        .map_err(|e| FrameError::Protocol(format!("undecodable performative: {e}")))?;
    Ok((performative, body[len..].to_vec()))
}

/// Encodes a performative, SASL frame body or other described list with
/// every field present: the codec leaves trailing null fields out, as the
/// spec allows, but pyamqp (the Python SDK's AMQP stack) reads fields by
/// position and fails on a short list.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, FrameError> {
    let compact =
        serde_amqp::to_vec(value).map_err(|e| FrameError::Protocol(format!("encoding: {e}")))?;
    Ok(padded(&compact).unwrap_or(compact))
}

/// The number of fields of the described lists the broker writes.
fn field_count(descriptor: u8) -> Option<usize> {
    Some(match descriptor {
        0x10 => 10,       // open
        0x11 => 8,        // begin
        0x12 => 14,       // attach
        0x13 => 11,       // flow
        0x14 => 11,       // transfer
        0x15 => 6,        // disposition
        0x16 => 3,        // detach
        0x17 | 0x18 => 1, // end, close
        0x1d => 3,        // error
        0x25 => 1,        // rejected
        0x28 => 11,       // source
        0x29 => 7,        // target
        0x40 => 1,        // sasl-mechanisms
        0x44 => 2,        // sasl-outcome
        _ => return None,
    })
}

/// `bytes` (one described list) with its fields, and those of the described
/// lists in it, padded with nulls to their full count; `None` when it is
/// not such a list.
fn padded(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < 4 || bytes[0] != 0x00 || bytes[1] != 0x53 {
        return None;
    }
    let count = field_count(bytes[2])?;
    let list = &bytes[3..];
    let (present, mut items) = match list[0] {
        0x45 => (0, &list[1..1]),
        0xc0 => (
            list.get(2).copied()? as usize,
            list.get(3..2 + *list.get(1)? as usize)?,
        ),
        0xd0 => {
            let size = u32::from_be_bytes(list.get(1..5)?.try_into().ok()?) as usize;
            let n = u32::from_be_bytes(list.get(5..9)?.try_into().ok()?) as usize;
            (n, list.get(9..5 + size)?)
        }
        _ => return None,
    };
    let mut fields = Vec::with_capacity(items.len() + count);
    for index in 0..count.max(present) {
        let item = if index < present {
            let len = value_len(items).ok()?;
            let item = &items[..len];
            items = &items[len..];
            item
        } else {
            &[0x40][..]
        };
        match (bytes[2], index, item) {
            // The codec writes a field at its default as null; pyamqp
            // compares begin's handle-max with a number.
            (0x11, 4, [0x40]) => fields.extend_from_slice(&[0x70, 0xff, 0xff, 0xff, 0xff]),
            _ => match padded(item) {
                Some(inner) => fields.extend_from_slice(&inner),
                None => fields.extend_from_slice(item),
            },
        }
    }
    let mut out = Vec::with_capacity(fields.len() + 12);
    out.extend_from_slice(&bytes[..3]);
    out.push(0xd0);
    out.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&(present.max(count) as u32).to_be_bytes());
    out.extend_from_slice(&fields);
    Some(out)
}

pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    kind: u8,
    channel: u16,
    body: &[u8],
    payload: &[u8],
) -> Result<(), FrameError> {
    let size = 8 + body.len() + payload.len();
    let mut header = [0u8; 8];
    header[..4].copy_from_slice(&(size as u32).to_be_bytes());
    header[4] = 2;
    header[5] = kind;
    header[6..].copy_from_slice(&channel.to_be_bytes());
    writer.write_all(&header).await?;
    writer.write_all(body).await?;
    writer.write_all(payload).await?;
    Ok(())
}
