//! The data plane on a Unix socket in the data dir, for clients on the same
//! machine (the PKCS#11 module's calling-thread connections; the async
//! client and the utility stay on the TCP endpoint).
//!
//! The real service's HSMs are reached over the network with TLS; here they
//! are in this process, and a client on the same machine pays for TLS and
//! TCP on loopback more than for the operation itself (a 4 KiB AES-GCM
//! costs the engine under 2 µs; four TLS passes over it and two loopback TCP
//! round trips cost ten times that). The socket serves the same router as
//! the data-plane listener: the same routes, the same per-request and
//! per-frame authorisation, the same faults and audit (CallerIpAddress
//! 127.0.0.1). What guards it instead of TLS is the file's mode: 0600, in
//! the data dir, so only the emulator's user can connect, as only that user
//! can read the data dir's keys anyway. A client uses it only when its
//! configuration names it (`saveConfig` copies `localSocket` from
//! `data-plane.json`), and falls back to the TCP endpoint when it cannot
//! connect.
//!
//! A framed stream upgraded on this socket is served by a thread of its own
//! (up to [`MAX_THREADS`] at once; more are served by the runtime as TCP
//! streams are): the client sends one operation at a time and waits, so a
//! thread that reads, runs and writes it saves the runtime's wake-ups,
//! I/O-driver polls and task hand-offs, which cost more than a 4 KiB
//! AES-GCM.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use axum::{extract::connect_info::ConnectInfo, Extension, Router};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::net::{UnixListener, UnixStream};

use super::idle::IdleTimeout;

/// The socket's name in the data dir.
pub const FILE_NAME: &str = "data-plane.sock";

/// Local streams served by threads of their own at most; a local user
/// opening more cannot make the emulator start threads without bound.
pub const MAX_THREADS: usize = 128;

/// What a connection on the socket is to hyper; a stream upgraded from it
/// is this again (see [`take`]).
type LocalIo = TokioIo<IdleTimeout<UnixStream>>;

/// Binds the socket (replacing one left by an emulator that was killed);
/// `Ok(None)` when the path is too long for a socket address, which only
/// means clients use the TCP endpoint.
pub fn bind(data_dir: &Path) -> Result<Option<(UnixListener, PathBuf)>, String> {
    let path = data_dir.join(FILE_NAME);
    // sun_path holds 108 bytes with its terminating NUL.
    if path.as_os_str().len() >= 108 {
        tracing::warn!(path = %path.display(), "data dir path too long for a Unix socket; the data plane is on TCP only");
        return Ok(None);
    }
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("removing the old {}: {e}", path.display())),
    }
    let listener =
        UnixListener::bind(&path).map_err(|e| format!("binding {}: {e}", path.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("securing {}: {e}", path.display()))?;
    }
    Ok(Some((listener, path)))
}

/// Serves `router` (the data plane's) on the socket until the process ends:
/// HTTP/1.1 with upgrades (the framed stream), with the listeners' header
/// and idle timeouts.
pub async fn serve(
    listener: UnixListener,
    router: Router,
    header_read_timeout: Duration,
    idle_timeout: Duration,
) {
    // Audit events name the caller's address; a local caller's is loopback.
    let router = router.layer(Extension(ConnectInfo(SocketAddr::from((
        [127, 0, 0, 1],
        0,
    )))));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, say: wait a moment rather than spin.
                tracing::warn!(error = %e, "accepting on the data plane's local socket");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let io: LocalIo = TokioIo::new(IdleTimeout::new(stream, idle_timeout));
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(io, service)
                .with_upgrades();
            // A client that goes away mid-request is not an error of ours.
            let _ = connection.await;
        });
    }
}

/// A local stream taken back from hyper for a thread of its own.
pub(super) struct Taken {
    pub stream: std::os::unix::net::UnixStream,
    /// What hyper had read past the upgrade request.
    pub buffered: axum::body::Bytes,
    pub idle: Duration,
    pub _slot: ThreadSlot,
}

/// One of the [`MAX_THREADS`], held while its thread serves.
pub(super) struct ThreadSlot;

impl ThreadSlot {
    fn reserve() -> Option<Self> {
        if THREADS.fetch_add(1, Ordering::Relaxed) >= MAX_THREADS {
            THREADS.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(ThreadSlot)
    }
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Where an upgraded stream is served.
pub(super) enum Served {
    /// A thread of its own, as a blocking socket.
    Thread(Taken),
    /// The runtime (a TCP stream, or no thread to be had).
    Runtime(hyper::upgrade::Upgraded),
    /// Neither: the socket could not be taken off the runtime, and the
    /// connection is gone (the client falls back to the endpoint).
    Lost,
}

/// Takes the upgraded connection for a thread when it came from the local
/// socket and a thread may be had.
pub(super) fn take(upgraded: hyper::upgrade::Upgraded) -> Served {
    let Some(slot) = ThreadSlot::reserve() else {
        return Served::Runtime(upgraded);
    };
    let parts = match upgraded.downcast::<LocalIo>() {
        Ok(parts) => parts,
        Err(upgraded) => return Served::Runtime(upgraded),
    };
    let (stream, idle) = parts.io.into_inner().into_inner();
    match stream.into_std() {
        Ok(stream) => Served::Thread(Taken {
            stream,
            buffered: parts.read_buf,
            idle,
            _slot: slot,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "taking a local stream off the runtime");
            Served::Lost
        }
    }
}
