//! The framed stream driven by the calling thread: one TLS connection per
//! client, written and read by the thread that makes the call.
//!
//! The shared stream ([`super::stream`]) hands every frame to a writer task
//! and every answer back through a reader task: three thread hand-offs per
//! call, which cost more than a P-256 signature or a 4 KiB AES-GCM
//! encryption. A caller that blocks anyway (a PKCS#11 application thread)
//! gets its answer sooner by doing the I/O itself. Anything unusual (no
//! login yet, the HSM unreachable, a broken connection) is left to the async
//! path, which fails over, logs in again and reports errors in full.
//!
//! When the configuration names the emulator's socket on this machine
//! (`localSocket`), the connection is made there: the same upgrade and
//! frames without TLS and TCP, which cost more than a 4 KiB AES-GCM.

use std::{
    io::{BufRead, BufReader, Write},
    net::{TcpStream, ToSocketAddrs},
    os::{fd::AsRawFd, unix::net::UnixStream},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};

use super::ClientConfig;
use crate::server::frames::{self, RequestFrame, ResponseFrame, MAX_FRAME, PROTOCOL};

/// As the async client's connect and answer timeouts.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// After a failure the blocking path stands aside this long, so an HSM that
/// is down costs the async path's failover, not a connect attempt per call.
const BACK_OFF: Duration = Duration::from_secs(1);
/// How long a lone caller watches its socket before sleeping on it. A 4 KiB
/// AES-GCM or a P-256 signature comes back in 20-40 µs; a thread that
/// sleeps instead waits as long again for its (idle, virtual) CPU to wake.
const WATCH_FOR_ANSWER: Duration = Duration::from_micros(100);

/// Calls of this process on the blocking path at this moment. Only a lone
/// call watches its socket: with more, the CPUs have other work to do and
/// watching would take cycles from it.
static CALLS: AtomicUsize = AtomicUsize::new(0);

/// Counts a call in [`CALLS`] for as long as it lives.
struct Counted;

impl Counted {
    fn enter() -> (Self, usize) {
        (Counted, CALLS.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        CALLS.fetch_sub(1, Ordering::Relaxed);
    }
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

enum Io {
    Plain(BufReader<TcpStream>),
    Tls(Box<BufReader<Tls>>),
    /// The emulator's socket on this machine (see
    /// [`crate::server::local`]): no TLS, no TCP.
    Local(BufReader<UnixStream>),
}

impl Io {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Io::Plain(r) => r.get_mut().write_all(bytes),
            Io::Local(r) => r.get_mut().write_all(bytes),
            Io::Tls(r) => {
                let tls = r.get_mut();
                tls.write_all(bytes)?;
                tls.flush()
            }
        }
    }

    fn reader(&mut self) -> &mut dyn BufRead {
        match self {
            Io::Plain(r) => r,
            Io::Tls(r) => r,
            Io::Local(r) => r,
        }
    }

    /// Watches the socket for up to `budget` without sleeping, unless an
    /// answer is already buffered (see [`crate::watch`]).
    fn watch_briefly(&self, budget: Duration) {
        let (buffered, socket) = match self {
            Io::Plain(r) => (!r.buffer().is_empty(), r.get_ref().as_raw_fd()),
            Io::Tls(r) => (!r.buffer().is_empty(), r.get_ref().get_ref().as_raw_fd()),
            Io::Local(r) => (!r.buffer().is_empty(), r.get_ref().as_raw_fd()),
        };
        if !buffered {
            crate::watch::briefly(socket, budget);
        }
    }
}

struct Open {
    hsm: String,
    io: Io,
    next_id: u32,
    frame: Vec<u8>,
    body: Vec<u8>,
}

/// A client's own blocking connection, opened at first use.
#[derive(Default)]
pub(super) struct Blocking {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    open: Option<Open>,
    failed_at: Option<Instant>,
}

/// Why the blocking path did not answer; the caller uses the async path.
#[derive(Debug)]
pub(super) struct Unusable;

impl Blocking {
    /// One operation on this thread; `Err(Unusable)` when the connection
    /// cannot be had or breaks (nothing is known about the operation then:
    /// the operations sent here are safe to repeat).
    pub(super) fn call(
        &self,
        config: &ClientConfig,
        hsm: &str,
        request: RequestFrame<'_>,
    ) -> Result<ResponseFrame, Unusable> {
        // A second call of the same client at once (not how the PKCS#11
        // module uses a client) takes the async path rather than waiting.
        let Ok(mut state) = self.state.try_lock() else {
            return Err(Unusable);
        };
        let (_counted, calls) = Counted::enter();
        if state.failed_at.is_some_and(|at| at.elapsed() < BACK_OFF) {
            return Err(Unusable);
        }
        if state.open.as_ref().is_some_and(|open| open.hsm != hsm) {
            state.open = None;
        }
        if state.open.is_none() {
            match connect(config, hsm, request.token) {
                Ok(io) => {
                    state.open = Some(Open {
                        hsm: hsm.to_string(),
                        io,
                        next_id: 1,
                        frame: Vec::new(),
                        body: Vec::new(),
                    })
                }
                Err(Unusable) => {
                    state.failed_at = Some(Instant::now());
                    return Err(Unusable);
                }
            }
        }
        let Some(open) = state.open.as_mut() else {
            return Err(Unusable);
        };
        let watch = if calls == 1 {
            WATCH_FOR_ANSWER
        } else {
            Duration::ZERO
        };
        match exchange(open, request, watch) {
            Ok(response) => Ok(response),
            Err(Unusable) => {
                state.open = None;
                state.failed_at = Some(Instant::now());
                Err(Unusable)
            }
        }
    }
}

fn exchange(
    open: &mut Open,
    request: RequestFrame<'_>,
    watch: Duration,
) -> Result<ResponseFrame, Unusable> {
    let id = open.next_id;
    open.next_id = open.next_id.wrapping_add(1);
    open.frame.clear();
    // A caller that watches for its answer sends its next frame as soon.
    let op = if watch.is_zero() {
        request.op
    } else {
        request.op | frames::LONE_CALLER
    };
    frames::encode_request(&RequestFrame { id, op, ..request }, &mut open.frame);
    if open.frame.len() - 4 > MAX_FRAME {
        return Err(Unusable);
    }
    open.io.write_all(&open.frame).map_err(|_| Unusable)?;
    open.io.watch_briefly(watch);
    match frames::read_frame_blocking(open.io.reader(), &mut open.body) {
        Ok(Some(())) => {}
        // Closed, broken or an oversized frame.
        Ok(None) | Err(_) => return Err(Unusable),
    }
    match frames::decode_response(&open.body) {
        // One call at a time: the answer is to this request.
        Some(response) if response.id == id => Ok(response),
        _ => Err(Unusable),
    }
}

/// Connects to the endpoint and upgrades the connection to frames, as the
/// async client does through its HTTP client.
fn connect(config: &ClientConfig, hsm: &str, token: &str) -> Result<Io, Unusable> {
    let (tls, host, port, base) = split_endpoint(&config.endpoint).ok_or(Unusable)?;
    // The emulator's socket on this machine when there is one; a socket
    // that is gone or refuses (an emulator elsewhere, or stopped) leaves
    // the endpoint.
    if let Some(local) = config
        .local_socket
        .as_deref()
        .and_then(|path| UnixStream::connect(path).ok())
    {
        local
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .map_err(|_| Unusable)?;
        local
            .set_write_timeout(Some(ANSWER_TIMEOUT))
            .map_err(|_| Unusable)?;
        let mut io = Io::Local(BufReader::with_capacity(64 * 1024, local));
        upgrade(&mut io, &base, &host_header(tls, &host, port), hsm, token)?;
        return Ok(io);
    }
    let address = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|_| Unusable)?
        .next()
        .ok_or(Unusable)?;
    let tcp = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).map_err(|_| Unusable)?;
    // Small frames, one at a time: Nagle would hold each for an ACK.
    tcp.set_nodelay(true).map_err(|_| Unusable)?;
    tcp.set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|_| Unusable)?;
    tcp.set_write_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|_| Unusable)?;
    let mut io = if tls {
        let connection = rustls::ClientConnection::new(
            tls_config(config.ca_pem.as_deref())?,
            ServerName::try_from(host.clone()).map_err(|_| Unusable)?,
        )
        .map_err(|_| Unusable)?;
        Io::Tls(Box::new(BufReader::with_capacity(
            64 * 1024,
            rustls::StreamOwned::new(connection, tcp),
        )))
    } else {
        Io::Plain(BufReader::with_capacity(64 * 1024, tcp))
    };
    upgrade(&mut io, &base, &host_header(tls, &host, port), hsm, token)?;
    Ok(io)
}

/// The `Host` header of requests to the endpoint.
fn host_header(tls: bool, host: &str, port: u16) -> String {
    if (tls && port == 443) || (!tls && port == 80) {
        host.to_string()
    } else {
        format!("{host}:{port}")
    }
}

/// Asks for the stream on a new connection and reads the answer's head.
fn upgrade(
    io: &mut Io,
    base: &str,
    host_header: &str,
    hsm: &str,
    token: &str,
) -> Result<(), Unusable> {
    let request = format!(
        "GET {base}/hsms/{hsm}/stream HTTP/1.1\r\nHost: {host_header}\r\n\
         Authorization: Bearer {token}\r\nConnection: upgrade\r\nUpgrade: {PROTOCOL}\r\n\r\n"
    );
    io.write_all(request.as_bytes()).map_err(|_| Unusable)?;
    // The answer's head, line by line; the stream's frames follow it.
    let reader = io.reader();
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|_| Unusable)?;
    if !line.starts_with("HTTP/1.1 101") {
        return Err(Unusable);
    }
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(|_| Unusable)?;
        if read == 0 || line.len() > 8 * 1024 {
            return Err(Unusable);
        }
        if line == "\r\n" {
            break;
        }
    }
    Ok(())
}

/// (TLS?, host, port, path prefix) of `https://host:port/prefix`.
fn split_endpoint(endpoint: &str) -> Option<(bool, String, u16, String)> {
    let (tls, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (true, rest)
    } else {
        (false, endpoint.strip_prefix("http://")?)
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None => default_port(tls),
        };
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port.parse().ok()?),
            None => (authority.to_string(), default_port(tls)),
        }
    };
    Some((tls, host, port, path.to_string()))
}

fn default_port(tls: bool) -> u16 {
    if tls {
        443
    } else {
        80
    }
}

/// The configuration's CA as the only root, as the async client trusts it;
/// built once per CA and shared by every connection.
fn tls_config(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, Unusable> {
    static BUILT: Mutex<Vec<(Vec<u8>, Arc<rustls::ClientConfig>)>> = Mutex::new(Vec::new());
    // Without a CA the async client's trust applies; leave it to that path.
    let pem = ca_pem.ok_or(Unusable)?;
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, config)) = built.iter().find(|(key, _)| key == pem) {
        return Ok(config.clone());
    }
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(pem) {
        roots
            .add(certificate.map_err(|_| Unusable)?)
            .map_err(|_| Unusable)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| Unusable)?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    built.push((pem.to_vec(), config.clone()));
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::split_endpoint;

    #[test]
    fn endpoints_split_into_scheme_host_port_and_prefix() {
        assert_eq!(
            split_endpoint("https://127.0.0.1:8443"),
            Some((true, "127.0.0.1".into(), 8443, String::new()))
        );
        assert_eq!(
            split_endpoint("http://localhost/base/"),
            Some((false, "localhost".into(), 80, "/base".into()))
        );
        assert_eq!(
            split_endpoint("https://[::1]:9000/x"),
            Some((true, "::1".into(), 9000, "/x".into()))
        );
        assert_eq!(split_endpoint("ftp://host"), None);
        assert_eq!(split_endpoint("https://host:notaport"), None);
    }
}
