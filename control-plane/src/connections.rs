//! Bounds on what a client can hold open on the HTTPS listeners (ARM, data
//! plane, Event Hubs REST): an idle connection is closed after
//! `--idle-timeout` without a byte either way (Azure's load balancers close
//! idle TCP flows after 4 minutes by default), request headers must arrive
//! within `--header-read-timeout` (hyper's own 30 s default, which it
//! applies only once given a timer), and a TLS handshake within axum-server's
//! 10 s. Without them a slow-loris client held a connection, and its task,
//! forever.

use std::{future::Ready, io, time::Duration};

use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub idle_timeout: Duration,
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(240),
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

impl ConnectionLimits {
    /// Applies the header timeout to a listener's HTTP builder (HTTP/1; an
    /// HTTP/2 connection is bounded by the idle timeout, and is sent no
    /// keep-alive pings, which would keep it from ever being idle).
    pub fn configure<A>(&self, server: &mut axum_server::Server<A>) {
        server
            .http_builder()
            .http1()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
    }

    pub fn acceptor(&self) -> LimitedAcceptor {
        LimitedAcceptor {
            idle_timeout: self.idle_timeout,
        }
    }
}

/// Sets `TCP_NODELAY` (a response written in several TLS records or HTTP/2
/// frames must not wait for the peer's delayed ACK) and closes the
/// connection once idle.
#[derive(Debug, Clone, Copy)]
pub struct LimitedAcceptor {
    idle_timeout: Duration,
}

impl<S> axum_server::accept::Accept<TcpStream, S> for LimitedAcceptor {
    type Stream = IdleTimeout<TcpStream>;
    type Service = S;
    type Future = Ready<io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        std::future::ready(
            stream
                .set_nodelay(true)
                .map(|_| (IdleTimeout::new(stream, self.idle_timeout), service)),
        )
    }
}

pub use cloudhsm_data_plane::server::idle::IdleTimeout;
