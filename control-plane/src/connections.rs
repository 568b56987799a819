//! Bounds on what a client can hold open on the HTTPS listeners (ARM, data
//! plane, Event Hubs REST): an idle connection is closed after
//! `--idle-timeout` without a byte either way (Azure's load balancers close
//! idle TCP flows after 4 minutes by default), request headers must arrive
//! within `--header-read-timeout` (hyper's own 30 s default, which it
//! applies only once given a timer), and a TLS handshake within axum-server's
//! 10 s. Without them a slow-loris client held a connection, and its task,
//! forever.

use std::{
    future::{Future, Ready},
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::{Instant, Sleep},
};

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

/// A stream whose reads fail with `TimedOut` once nothing has been read or
/// written for `idle`: the server then drops the connection.
pub struct IdleTimeout<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> IdleTimeout<S> {
    pub fn new(inner: S, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn touch(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle for too long",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.touch();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
