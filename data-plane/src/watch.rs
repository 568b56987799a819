//! Watching a socket for a few microseconds without sleeping on it.
//!
//! Both ends of the framed stream do it for a lone caller: a PKCS#11
//! application thread sends its next operation a few microseconds after an
//! answer, and a thread that sleeps in `read` instead waits for its (idle,
//! virtual) CPU to be woken, as long again as a 4 KiB AES-GCM.

use std::{
    os::fd::RawFd,
    time::{Duration, Instant},
};

/// Whether the socket has bytes (or an end) to read, without waiting.
pub fn readable_now(socket: RawFd) -> bool {
    let mut poll = libc::pollfd {
        fd: socket,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a count of one, no timeout; the descriptor
    // belongs to the caller's socket, which outlives the call.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    ready != 0
}

/// Polls the socket for up to `budget`; returns as soon as something
/// arrived. Reading stays the caller's blocking read's job, so nothing is
/// read here and nothing can be lost; when the budget runs out it returns
/// and the read blocks.
pub fn briefly(socket: RawFd, budget: Duration) {
    if budget.is_zero() {
        return;
    }
    let start = Instant::now();
    while start.elapsed() < budget {
        if readable_now(socket) {
            return;
        }
        std::hint::spin_loop();
    }
}
