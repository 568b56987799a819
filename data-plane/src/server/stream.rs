//! The framed stream: a lean transport for sign, verify, encrypt and decrypt.
//!
//! One HTTPS+JSON request per operation spends far more CPU on HTTP, JSON and
//! base64 than an ECDSA sign or a 4 KiB AES-GCM encrypt costs. A client that
//! wants throughput upgrades one HTTP/1.1 connection per HSM
//! (`GET /hsms/{hsm}/stream`, `Upgrade: cloudhsm-frames/1`, bearer token of a
//! login on that cluster) and then sends binary frames ([`super::frames`])
//! over the same TLS connection, many in flight at once, from any number of
//! logins and sessions. Each frame is authorised exactly as an HTTP request
//! (token, cluster, session) and answers the same error codes; the engine
//! audits it the same way. Responses are written in batches so a busy
//! connection needs few TLS records and system calls.

use std::{
    future::Future,
    sync::Arc,
    task::Poll,
    time::{Duration, Instant},
};

use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncRead, AsyncWrite, BufReader},
    sync::{mpsc, Semaphore},
};

use super::{
    crypto_ops::{self, Cost, CryptoCall, CryptoOp},
    frames::{self, RequestFrame, ResponseFrame, PROTOCOL},
    local::{self, Served, Taken},
    routes::{locate, login_session, node_up},
    ApiError, DataPlaneState,
};
use crate::engine::{audit, cluster::Cluster, error::EngineError, mechanisms::Mechanism};

/// Operations of one connection running at once, and answers waiting to be
/// written, at most: a client that sends without reading is slowed down
/// (its frames stay unread) instead of filling the server's memory.
const MAX_IN_FLIGHT: usize = 1024;

/// `GET /hsms/{hsm}/stream`: switches the connection to frames.
pub(super) async fn upgrade(
    State(state): State<Arc<DataPlaneState>>,
    Path(hsm): Path<String>,
    mut request: Request,
) -> Result<Response, ApiError> {
    let (cluster, _) = locate(&state, &hsm)?;
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::from(EngineError::NotLoggedIn))?;
    // Only a login on this cluster may hold a stream open.
    let logged_in = state
        .logins
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(token)
        .is_some_and(|login| Arc::ptr_eq(&login.cluster, &cluster));
    if !logged_in {
        return Err(EngineError::NotLoggedIn.into());
    }
    let asked = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(PROTOCOL));
    if !asked {
        return Err(ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "RET_INVALID_REQUEST",
            format!("send 'Connection: Upgrade' and 'Upgrade: {PROTOCOL}' over HTTP/1.1"),
        ));
    }
    let on_upgrade = hyper::upgrade::on(&mut request);
    // The peer's address, for the audit events of every frame.
    let caller = audit::caller_ip();
    tokio::spawn(async move {
        // A failed upgrade means the client went away; nothing to answer.
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        match local::take(upgraded) {
            Served::Thread(taken) => serve_on_thread(state, hsm, caller, taken),
            Served::Runtime(upgraded) => serve(state, hsm, caller, TokioIo::new(upgraded)).await,
            Served::Lost => {}
        }
    });
    Ok((
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static(PROTOCOL)),
        ],
    )
        .into_response())
}

/// Reads frames until the client closes. Cheap operations run here and
/// their answers are written by this task as soon as no whole frame is
/// waiting in the read buffer (one request at a time, as a PKCS#11
/// application thread sends them, then costs no hand-off between tasks;
/// pipelined requests are answered in one write). Slow ones (RSA) run as
/// tasks of their own, so operations of different sessions use every core,
/// and a writer task batches their answers.
async fn serve<IO>(state: Arc<DataPlaneState>, hsm: String, caller: String, io: IO)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (reader, writer) = tokio::io::split(io);
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let writer = Arc::new(tokio::sync::Mutex::new(writer));
    let (answers, outgoing) = mpsc::channel::<Vec<u8>>(MAX_IN_FLIGHT);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let writing = tokio::spawn(write_answers(writer.clone(), outgoing));
    let mut body = Vec::new();
    let mut inline = Vec::new();
    // Whether the last frame's sender said its caller is alone.
    let mut watch = Duration::ZERO;
    loop {
        match read_watching(&mut reader, &mut body, watch).await {
            Ok(Some(())) => {}
            // End of stream, a broken connection or an oversized frame.
            Ok(None) | Err(_) => break,
        }
        let Some(received) = receive(&state, &hsm, &body) else {
            break;
        };
        let id = received.id;
        watch = received.watch;
        match received.prepared {
            Err(error) => encode(id, Err(error), &mut inline),
            Ok((cluster, call)) if crypto_ops::cost(call.op, call.mechanism) == Cost::Cheap => {
                // Bounded (16 KiB) and a few microseconds: cheaper here than a task.
                let result =
                    audit::scope_caller_ip(caller.clone(), crypto_ops::run(cluster, call)).await;
                encode(id, result, &mut inline);
            }
            Ok((cluster, call)) => {
                let answers = answers.clone();
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    break;
                };
                let caller = caller.clone();
                tokio::spawn(async move {
                    let result =
                        audit::scope_caller_ip(caller, crypto_ops::run(cluster, call)).await;
                    let mut answer = Vec::new();
                    encode(id, result, &mut answer);
                    let _ = answers.send(answer).await;
                    drop(permit);
                });
            }
        }
        let more_waiting = frames::whole_frame_buffered(reader.buffer());
        if !inline.is_empty() && (!more_waiting || inline.len() >= frames::WRITE_BATCH) {
            let mut writer = writer.lock().await;
            if frames::write_flushed(&mut *writer, &inline).await.is_err() {
                break;
            }
            inline.clear();
        }
    }
    drop(answers);
    let _ = writing.await;
}

/// Serves a local stream on a thread of its own (see [`local`]); a thread
/// that cannot be started closes the connection, and the client falls back.
fn serve_on_thread(state: Arc<DataPlaneState>, hsm: String, caller: String, taken: Taken) {
    let started = std::thread::Builder::new()
        .name("hsm-local-stream".into())
        .spawn(move || {
            // Ends with the connection: closed, broken, idle or bad frames.
            let _ = serve_blocking(&state, &hsm, &caller, taken);
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "starting a local stream's thread");
    }
}

/// [`serve`] with blocking reads and writes: one frame at a time, every
/// operation run here, answers written as soon as no whole frame waits.
fn serve_blocking(
    state: &DataPlaneState,
    hsm: &str,
    caller: &str,
    taken: Taken,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    let Taken {
        stream,
        buffered,
        idle,
        _slot,
    } = taken;
    stream.set_nonblocking(false)?;
    // Idle that long, the connection is closed, as on the runtime.
    stream.set_read_timeout(Some(idle))?;
    stream.set_write_timeout(Some(idle))?;
    let socket = stream.as_raw_fd();
    let mut writer = stream.try_clone()?;
    let mut reader =
        std::io::BufReader::with_capacity(64 * 1024, std::io::Cursor::new(buffered).chain(stream));
    let (mut body, mut answers) = (Vec::new(), Vec::new());
    let mut watch = Duration::ZERO;
    loop {
        if reader.buffer().is_empty() {
            crate::watch::briefly(socket, watch);
        }
        if frames::read_frame_blocking(&mut reader, &mut body)?.is_none() {
            return Ok(());
        }
        let Some(received) = receive(state, hsm, &body) else {
            return Ok(());
        };
        watch = received.watch;
        let result = received
            .prepared
            .and_then(|(cluster, call)| crypto_ops::run_here(&cluster, call, caller));
        encode(received.id, result, &mut answers);
        let more_waiting = frames::whole_frame_buffered(reader.buffer());
        if !more_waiting || answers.len() >= frames::WRITE_BATCH {
            writer.write_all(&answers)?;
            answers.clear();
        }
    }
}

/// How long a connection that has just been answered keeps its worker
/// awake for the next frame. A PKCS#11 application thread sends its next
/// operation a few microseconds after the answer; a worker that sleeps on
/// it instead pays a context switch and a wake-up (on an idle virtual CPU
/// as long again as a 4 KiB AES-GCM) before it can read it.
const WATCH_FOR_NEXT_FRAME: Duration = Duration::from_micros(50);

/// Reads the next frame; while none has come, for up to `watch`, yields
/// instead of sleeping. Tokio polls its I/O
/// driver without blocking whenever a task yields, so a frame that arrives
/// meanwhile is seen at once; other tasks still run.
async fn read_watching<R>(
    reader: &mut R,
    body: &mut Vec<u8>,
    watch: Duration,
) -> std::io::Result<Option<()>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    if watch.is_zero() {
        // Most frames (many callers): no clock reads, no extra poll.
        return frames::read_frame(reader, body).await;
    }
    let read = frames::read_frame(reader, body);
    tokio::pin!(read);
    let until = Instant::now() + watch;
    loop {
        let once = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
        match once {
            Poll::Ready(outcome) => return outcome,
            Poll::Pending if Instant::now() < until => tokio::task::yield_now().await,
            Poll::Pending => return read.await,
        }
    }
}

/// Writes the answers of slow operations, batched.
async fn write_answers<W>(writer: Arc<tokio::sync::Mutex<W>>, mut queue: mpsc::Receiver<Vec<u8>>)
where
    W: AsyncWrite + Unpin,
{
    let mut batch = Vec::with_capacity(64 * 1024);
    while frames::gather(&mut queue, &mut batch).await {
        let mut writer = writer.lock().await;
        if frames::write_flushed(&mut *writer, &batch).await.is_err() {
            break;
        }
        batch.clear();
    }
}

/// A frame's body as both ways of serving a stream take it.
struct Received {
    id: u32,
    prepared: Result<(Arc<Cluster>, CryptoCall), ApiError>,
    /// How long to watch for the next frame (its sender's caller is alone).
    watch: Duration,
}

/// Authorises and decodes a frame's body; `None` when an injected outage
/// drops connections, this one too.
fn receive(state: &DataPlaneState, hsm: &str, body: &[u8]) -> Option<Received> {
    if matches!(
        state.outage.current(),
        Some((super::faults::OutageMode::Drop, _))
    ) {
        return None;
    }
    let prepared = frames::decode_request(body)
        .ok_or_else(|| ApiError::bad_request("malformed frame"))
        .and_then(|request| prepare(state, hsm, &request));
    let watch = match prepared {
        Ok((_, _, true)) => WATCH_FOR_NEXT_FRAME,
        _ => Duration::ZERO,
    };
    Some(Received {
        id: frames::frame_id(body).unwrap_or(0),
        prepared: prepared.map(|(cluster, call, _)| (cluster, call)),
        watch,
    })
}

/// Authorises a frame as the HTTP route authorises a request and decodes
/// its operation (and whether its sender is a lone caller).
/// Every frame finds its cluster anew (the directory answers from memory),
/// so a cluster being deleted stops answering on open streams at once.
fn prepare(
    state: &DataPlaneState,
    hsm: &str,
    request: &RequestFrame<'_>,
) -> Result<(Arc<Cluster>, CryptoCall, bool), ApiError> {
    if state.outage.current().is_some() {
        return Err(super::faults::unavailable_error());
    }
    let (cluster, node) = locate(state, hsm)?;
    node_up(&cluster, node, hsm)?;
    login_session(state, &cluster, request.token, request.session)?;
    let lone = request.op & frames::LONE_CALLER != 0;
    let op = CryptoOp::from_code(request.op & !frames::LONE_CALLER)
        .ok_or_else(|| ApiError::bad_request(format!("no operation {}", request.op)))?;
    let call = CryptoCall {
        session: request.session,
        handle: request.handle,
        op,
        mechanism: Mechanism::parse(request.mechanism)?,
        data: request.data.to_vec(),
        signature: request.signature.to_vec(),
        aad: request.aad.to_vec(),
    };
    Ok((cluster, call, lone))
}

/// Appends the answer's frame to `out`.
fn encode(id: u32, result: Result<Vec<u8>, ApiError>, out: &mut Vec<u8>) {
    let result = result.map_err(|e| (e.status.as_u16(), e.code, e.message));
    frames::encode_response(&ResponseFrame { id, result }, out);
}
