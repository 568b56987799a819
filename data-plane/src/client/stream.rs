//! The client end of the framed stream (see `server::stream`): one upgraded
//! TLS connection per HSM, shared by every [`super::HsmClient`] of the
//! process that talks to that HSM, as the Cloud HSM client daemon shares its
//! connections among applications. Requests carry their own login token and
//! session, so sharing changes nothing about who may do what; many requests
//! are in flight at once and are written in batches.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc, Mutex, OnceLock,
    },
    time::Duration,
};

use tokio::{
    io::BufReader,
    sync::{mpsc, oneshot},
};

use super::{ClientConfig, ClientError};
use crate::server::frames::{self, RequestFrame, MAX_FRAME, PROTOCOL};

/// How long an answer may take, as the HTTP client's request timeout.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

type Pending = Arc<Mutex<HashMap<u32, oneshot::Sender<frames::ResponseFrame>>>>;

struct Connection {
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    pending: Pending,
    next_id: AtomicU32,
    alive: Arc<AtomicBool>,
}

/// (endpoint, HSM address, CA): connections are shared only where they
/// would reach the same server with the same trust.
type PoolKey = (String, String, Option<Vec<u8>>);

fn pool() -> &'static Mutex<HashMap<PoolKey, Arc<Connection>>> {
    static POOL: OnceLock<Mutex<HashMap<PoolKey, Arc<Connection>>>> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// Serialises connecting, so concurrent first calls open one connection.
fn connecting() -> &'static tokio::sync::Mutex<()> {
    static CONNECTING: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    CONNECTING.get_or_init(Default::default)
}

/// Why the stream could not answer: the caller then uses the HTTP API,
/// which fails over, logs in again and reports errors in full.
#[derive(Debug)]
pub(super) struct Unusable;

/// A client's own reference to the connection it last used, so the shared
/// pool (and hashing its key) is consulted only when that changes.
#[derive(Default)]
pub(super) struct Current(Mutex<Option<(String, Arc<Connection>)>>);

impl Connection {
    fn usable(&self) -> bool {
        self.alive.load(Ordering::Acquire) && !self.outgoing.is_closed()
    }
}

/// One operation; `Err(Unusable)` when the stream is not available.
pub(super) async fn call(
    config: &ClientConfig,
    current: &Current,
    hsm: &str,
    request: RequestFrame<'_>,
) -> Result<Result<Vec<u8>, ClientError>, Unusable> {
    let known = lock(&current.0)
        .as_ref()
        .filter(|(address, c)| address == hsm && c.usable())
        .map(|(_, c)| c.clone());
    let connection = match known {
        Some(connection) => connection,
        None => {
            let connection = connection(config, hsm, request.token).await?;
            *lock(&current.0) = Some((hsm.to_string(), connection.clone()));
            connection
        }
    };
    let id = connection.next_id.fetch_add(1, Ordering::Relaxed);
    let mut frame = Vec::with_capacity(64 + request.data.len() + request.signature.len());
    frames::encode_request(&RequestFrame { id, ..request }, &mut frame);
    if frame.len() - 4 > MAX_FRAME {
        return Err(Unusable);
    }
    let (answer, answered) = oneshot::channel();
    lock(&connection.pending).insert(id, answer);
    // The reader marks the connection dead before it drops the waiters, so
    // a waiter registered after that is caught here.
    if !connection.alive.load(Ordering::Acquire) || connection.outgoing.send(frame).is_err() {
        lock(&connection.pending).remove(&id);
        return Err(Unusable);
    }
    // The sender is dropped unanswered when the connection breaks; an
    // answer that never comes is given up as the HTTP client's timeout does.
    let response = match tokio::time::timeout(ANSWER_TIMEOUT, answered).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => return Err(Unusable),
        Err(_) => {
            lock(&connection.pending).remove(&id);
            return Err(Unusable);
        }
    };
    Ok(super::frame_answer(response))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn connection(
    config: &ClientConfig,
    hsm: &str,
    token: &str,
) -> Result<Arc<Connection>, Unusable> {
    let key = (
        config.endpoint.clone(),
        hsm.to_ascii_lowercase(),
        config.ca_pem.clone(),
    );
    let live =
        |pool: &HashMap<PoolKey, Arc<Connection>>| pool.get(&key).filter(|c| c.usable()).cloned();
    if let Some(found) = live(&lock(pool())) {
        return Ok(found);
    }
    let _connecting = connecting().lock().await;
    if let Some(found) = live(&lock(pool())) {
        return Ok(found);
    }
    let fresh = Arc::new(open(config, hsm, token).await?);
    lock(pool()).insert(key, fresh.clone());
    Ok(fresh)
}

/// Upgrades a new HTTP/1.1 connection and starts its reader and writer.
async fn open(config: &ClientConfig, hsm: &str, token: &str) -> Result<Connection, Unusable> {
    let mut builder = reqwest::Client::builder()
        .http1_only()
        .connect_timeout(Duration::from_secs(10));
    if let Some(pem) = &config.ca_pem {
        let ca = reqwest::Certificate::from_pem(pem).map_err(|_| Unusable)?;
        builder = builder
            .add_root_certificate(ca)
            .tls_built_in_root_certs(false);
    }
    let http = builder.build().map_err(|_| Unusable)?;
    let url = format!(
        "{}/hsms/{hsm}/stream",
        config.endpoint.trim_end_matches('/')
    );
    let response = http
        .get(url)
        .bearer_auth(token)
        .header(reqwest::header::CONNECTION, "upgrade")
        .header(reqwest::header::UPGRADE, PROTOCOL)
        .send()
        .await
        .map_err(|_| Unusable)?;
    if response.status() != reqwest::StatusCode::SWITCHING_PROTOCOLS {
        return Err(Unusable);
    }
    let io = response.upgrade().await.map_err(|_| Unusable)?;
    let (reader, writer) = tokio::io::split(io);
    let (outgoing, queue) = mpsc::unbounded_channel::<Vec<u8>>();
    let pending: Pending = Default::default();
    let alive = Arc::new(AtomicBool::new(true));

    let writer_alive = alive.clone();
    tokio::spawn(async move {
        frames::write_batched(writer, queue).await;
        writer_alive.store(false, Ordering::Release);
    });

    let (reader_pending, reader_alive) = (pending.clone(), alive.clone());
    tokio::spawn(async move {
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        let mut body = Vec::new();
        while let Ok(Some(())) = frames::read_frame(&mut reader, &mut body).await {
            let Some(response) = frames::decode_response(&body) else {
                break;
            };
            if let Some(waiter) = lock(&reader_pending).remove(&response.id) {
                let _ = waiter.send(response);
            }
        }
        // Broken or closed: waiting callers learn it and fall back.
        reader_alive.store(false, Ordering::Release);
        lock(&reader_pending).clear();
    });

    Ok(Connection {
        outgoing,
        pending,
        next_id: AtomicU32::new(1),
        alive,
    })
}
