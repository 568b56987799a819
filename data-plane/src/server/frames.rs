//! The framed stream's wire format, shared with the client. Every frame is a
//! big-endian `u32` length followed by that many bytes; requests carry an id
//! the response echoes, so many requests can be in flight on one connection.
//!
//! Request:  id u32 | op u8 | session u64 | key u64 | token (u16 len) |
//!           mechanism (u16 len) | data (u32 len) | signature (u32 len) | aad (u32 len)
//!           (the op's high bit, [`LONE_CALLER`], is a hint, not part of the op)
//! Response: id u32 | status u16 | on 200 the output bytes; otherwise
//!           code (u16 len) and the message (the rest, UTF-8)

/// The `Upgrade` token that asks for the stream.
pub const PROTOCOL: &str = "cloudhsm-frames/1";

/// Set in a request's op byte by a client whose caller is alone (one
/// operation at a time, the next a few microseconds after this answer): the
/// server then watches for the next frame instead of sleeping. Without it
/// (many callers, which need the CPUs) the server never spins.
pub const LONE_CALLER: u8 = 0x80;

/// Larger frames end the connection: nothing legitimate comes near it
/// (inputs are limited to 16 KiB), and it bounds what a peer makes us buffer.
pub const MAX_FRAME: usize = 1024 * 1024;

pub struct RequestFrame<'a> {
    pub id: u32,
    pub op: u8,
    pub session: u64,
    pub handle: u64,
    pub token: &'a str,
    pub mechanism: &'a str,
    pub data: &'a [u8],
    pub signature: &'a [u8],
    pub aad: &'a [u8],
}

/// A response: the output, or `(status, code, message)`.
pub struct ResponseFrame {
    pub id: u32,
    pub result: Result<Vec<u8>, (u16, String, String)>,
}

fn put_u16_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_u32_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Appends the frame, length prefix included, to `out`.
pub fn encode_request(frame: &RequestFrame<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&frame.id.to_be_bytes());
    out.push(frame.op);
    out.extend_from_slice(&frame.session.to_be_bytes());
    out.extend_from_slice(&frame.handle.to_be_bytes());
    put_u16_bytes(out, frame.token.as_bytes());
    put_u16_bytes(out, frame.mechanism.as_bytes());
    put_u32_bytes(out, frame.data);
    put_u32_bytes(out, frame.signature);
    put_u32_bytes(out, frame.aad);
    let length = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&length.to_be_bytes());
}

pub fn encode_response(frame: &ResponseFrame, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&frame.id.to_be_bytes());
    match &frame.result {
        Ok(output) => {
            out.extend_from_slice(&200u16.to_be_bytes());
            out.extend_from_slice(output);
        }
        Err((status, code, message)) => {
            out.extend_from_slice(&status.to_be_bytes());
            put_u16_bytes(out, code.as_bytes());
            out.extend_from_slice(message.as_bytes());
        }
    }
    let length = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&length.to_be_bytes());
}

/// Reads fields off a frame body; `None` once it runs short.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    fn short_bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    fn long_bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.short_bytes()?).ok()
    }
}

/// The id of a frame body, when at least that much is there.
pub fn frame_id(body: &[u8]) -> Option<u32> {
    Cursor(body).u32()
}

/// Decodes a request body (without its length prefix); `None` when malformed.
pub fn decode_request(body: &[u8]) -> Option<RequestFrame<'_>> {
    let mut c = Cursor(body);
    let frame = RequestFrame {
        id: c.u32()?,
        op: c.take(1)?[0],
        session: c.u64()?,
        handle: c.u64()?,
        token: c.text()?,
        mechanism: c.text()?,
        data: c.long_bytes()?,
        signature: c.long_bytes()?,
        aad: c.long_bytes()?,
    };
    c.0.is_empty().then_some(frame)
}

pub fn decode_response(body: &[u8]) -> Option<ResponseFrame> {
    let mut c = Cursor(body);
    let id = c.u32()?;
    let status = c.u16()?;
    let result = if status == 200 {
        Ok(c.0.to_vec())
    } else {
        let code = c.text()?.to_string();
        let message = String::from_utf8_lossy(c.0).into_owned();
        Err((status, code, message))
    };
    Some(ResponseFrame { id, result })
}

/// Frames gathered into one write, at most.
pub const WRITE_BATCH: usize = 256 * 1024;

/// Where a writer takes encoded frames from: the server's bounded queue of
/// answers (back-pressure on a client that does not read) or the client's
/// unbounded queue of requests.
pub trait FrameQueue {
    fn next(&mut self) -> impl std::future::Future<Output = Option<Vec<u8>>> + Send;
    /// A frame already queued, without waiting.
    fn ready(&mut self) -> Option<Vec<u8>>;
}

impl FrameQueue for tokio::sync::mpsc::Receiver<Vec<u8>> {
    fn next(&mut self) -> impl std::future::Future<Output = Option<Vec<u8>>> + Send {
        self.recv()
    }
    fn ready(&mut self) -> Option<Vec<u8>> {
        self.try_recv().ok()
    }
}

impl FrameQueue for tokio::sync::mpsc::UnboundedReceiver<Vec<u8>> {
    fn next(&mut self) -> impl std::future::Future<Output = Option<Vec<u8>>> + Send {
        self.recv()
    }
    fn ready(&mut self) -> Option<Vec<u8>> {
        self.try_recv().ok()
    }
}

/// Writes queued frames until the queue closes or a write fails, each write
/// carrying every frame queued by then (up to [`WRITE_BATCH`]), so a busy
/// connection needs few TLS records and system calls.
pub async fn write_batched<W, Q>(mut writer: W, mut queue: Q)
where
    W: tokio::io::AsyncWrite + Unpin,
    Q: FrameQueue,
{
    let mut batch = Vec::with_capacity(64 * 1024);
    while gather(&mut queue, &mut batch).await {
        if write_flushed(&mut writer, &batch).await.is_err() {
            break;
        }
        batch.clear();
    }
}

/// Waits for a frame and appends it to `batch` with every frame queued by
/// then (up to [`WRITE_BATCH`]); `false` once the queue is closed and empty.
pub async fn gather<Q: FrameQueue>(queue: &mut Q, batch: &mut Vec<u8>) -> bool {
    let Some(first) = queue.next().await else {
        return false;
    };
    batch.extend_from_slice(&first);
    // Let the tasks this wake-up made runnable queue their frames too, so
    // one TLS write and one system call carry them all.
    tokio::task::yield_now().await;
    while batch.len() < WRITE_BATCH {
        match queue.ready() {
            Some(more) => batch.extend_from_slice(&more),
            None => break,
        }
    }
    true
}

pub async fn write_flushed<W>(writer: &mut W, bytes: &[u8]) -> std::io::Result<()>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    writer.write_all(bytes).await?;
    writer.flush().await
}

/// Whether `buffered` starts with a whole frame (prefix and body), so
/// reading the next one will not wait for the network.
pub fn whole_frame_buffered(buffered: &[u8]) -> bool {
    match buffered.get(..4) {
        Some(prefix) => {
            let length = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
            buffered.len() - 4 >= length
        }
        None => false,
    }
}

/// [`read_frame`] for a blocking reader (the client's calling thread, the
/// emulator's thread for a local connection).
pub fn read_frame_blocking<R: std::io::Read + ?Sized>(
    reader: &mut R,
    body: &mut Vec<u8>,
) -> std::io::Result<Option<()>> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = checked_length(prefix)?;
    body.clear();
    body.resize(length, 0);
    reader.read_exact(body)?;
    Ok(Some(()))
}

/// A frame's length from its prefix, refused above [`MAX_FRAME`].
fn checked_length(prefix: [u8; 4]) -> std::io::Result<usize> {
    let length = u32::from_be_bytes(prefix) as usize;
    if length > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {length} bytes; at most {MAX_FRAME}"),
        ));
    }
    Ok(length)
}

/// Reads one frame body; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
    body: &mut Vec<u8>,
) -> std::io::Result<Option<()>> {
    use tokio::io::AsyncReadExt;
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = checked_length(prefix)?;
    body.clear();
    body.resize(length, 0);
    reader.read_exact(body).await?;
    Ok(Some(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses_round_trip() {
        let mut out = Vec::new();
        encode_request(
            &RequestFrame {
                id: 7,
                op: 3,
                session: 42,
                handle: 9,
                token: "abc",
                mechanism: "AES_GCM",
                data: &[1, 2, 3],
                signature: &[],
                aad: &[4],
            },
            &mut out,
        );
        assert_eq!(
            u32::from_be_bytes(out[..4].try_into().unwrap()) as usize,
            out.len() - 4
        );
        let frame = decode_request(&out[4..]).expect("decodes");
        assert_eq!(
            (frame.id, frame.op, frame.session, frame.handle),
            (7, 3, 42, 9)
        );
        assert_eq!((frame.token, frame.mechanism), ("abc", "AES_GCM"));
        assert_eq!(
            (frame.data, frame.signature, frame.aad),
            (&[1u8, 2, 3][..], &[][..], &[4u8][..])
        );
        // Truncated or trailing bytes are malformed, not misread.
        assert!(decode_request(&out[4..out.len() - 1]).is_none());
        let mut longer = out[4..].to_vec();
        longer.push(0);
        assert!(decode_request(&longer).is_none());

        let mut out = Vec::new();
        let error = (409, "CKR_SESSION_BUSY".to_string(), "busy".to_string());
        encode_response(
            &ResponseFrame {
                id: 5,
                result: Err(error.clone()),
            },
            &mut out,
        );
        encode_response(
            &ResponseFrame {
                id: 6,
                result: Ok(vec![9; 3]),
            },
            &mut out,
        );
        let first = u32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
        let a = decode_response(&out[4..4 + first]).expect("error frame");
        assert_eq!((a.id, a.result), (5, Err(error)));
        let b = decode_response(&out[8 + first..]).expect("output frame");
        assert_eq!((b.id, b.result), (6, Ok(vec![9; 3])));
    }
}
