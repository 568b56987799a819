//! Request-body bounds shared by the emulator's HTTP listeners (the data
//! plane here, the control plane through [`body_limit`]).
//!
//! Why read the whole body even when it is too large: a server that answers
//! before the client has finished sending, then closes, makes the kernel
//! reset the connection with the client's bytes unread; over HTTP/2 the
//! stream is reset. Either way the client sees a reset or a TLS EOF, not the
//! answer. So an oversized body is read and thrown away (up to
//! [`DRAIN_FACTOR`] times the limit, bounded in time) and the client gets a
//! clean `413` with an error body it can show.

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::header::{CONNECTION, CONTENT_LENGTH},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;

/// How much past the limit is still read before answering: beyond that, the
/// client is sending something no legitimate caller sends and the connection
/// is closed after the answer.
pub const DRAIN_FACTOR: usize = 16;

/// How long a body may take to arrive (slow-loris bodies are cut off).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong while reading a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProblem {
    /// Larger than the limit; `drained` says whether the rest was read (the
    /// connection can be kept) or not (it must be closed).
    TooLarge { drained: bool },
    /// The client stopped sending before the body was complete.
    TimedOut,
    /// The connection failed mid-body.
    Broken,
}

/// Reads the request's body into memory, at most `max` bytes, and gives the
/// request back with that body; or says why it cannot.
pub async fn buffer_body(request: Request, max: usize) -> Result<Request, BodyProblem> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let read = tokio::time::timeout(BODY_TIMEOUT, read_bounded(body, max, declared)).await;
    match read {
        Err(_) => Err(BodyProblem::TimedOut),
        Ok(Err(problem)) => Err(problem),
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, Body::from(bytes))),
    }
}

async fn read_bounded(
    mut body: Body,
    max: usize,
    declared: Option<u64>,
) -> Result<Bytes, BodyProblem> {
    let drain_cap = max.saturating_mul(DRAIN_FACTOR);
    if declared.is_some_and(|n| n > drain_cap as u64) {
        // Not worth reading: answer at once and close.
        return Err(BodyProblem::TooLarge { drained: false });
    }
    let mut buffer = Vec::with_capacity(declared.map_or(0, |n| (n as usize).min(max)));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyProblem::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > drain_cap {
            return Err(BodyProblem::TooLarge { drained: false });
        }
        if seen <= max {
            buffer.extend_from_slice(&data);
        }
    }
    if seen > max {
        return Err(BodyProblem::TooLarge { drained: true });
    }
    Ok(Bytes::from(buffer))
}

/// Middleware body: buffers the body within `max`, or answers with what
/// `refuse` makes of the problem (closing the connection when the body was
/// not read to its end).
pub async fn body_limit(
    request: Request,
    next: axum::middleware::Next,
    max: usize,
    refuse: fn(BodyProblem) -> Response,
) -> Response {
    match buffer_body(request, max).await {
        Ok(request) => next.run(request).await,
        Err(problem) => {
            let mut response = refuse(problem);
            let keep = matches!(problem, BodyProblem::TooLarge { drained: true });
            if !keep {
                response
                    .headers_mut()
                    .insert(CONNECTION, axum::http::HeaderValue::from_static("close"));
            }
            response
        }
    }
}

/// The data plane's largest request body. Its biggest legitimate bodies are
/// masked objects and wrapped keys (tens of KiB); crypto data is bounded
/// separately by [`super::MAX_DATA`].
pub const DATA_PLANE_MAX_BODY: usize = 1024 * 1024;

/// The data plane's answer, in its own error shape.
pub fn data_plane_refusal(problem: BodyProblem) -> Response {
    use axum::http::StatusCode;
    let (status, code, message) = match problem {
        BodyProblem::TooLarge { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "RET_DATA_LEN_TOO_LARGE",
            format!(
                "The request body exceeds the data plane's limit of {} bytes.",
                DATA_PLANE_MAX_BODY
            ),
        ),
        BodyProblem::TimedOut => (
            StatusCode::REQUEST_TIMEOUT,
            "RET_REQUEST_TIMEOUT",
            format!(
                "The request body did not arrive within {} seconds.",
                BODY_TIMEOUT.as_secs()
            ),
        ),
        BodyProblem::Broken => (
            StatusCode::BAD_REQUEST,
            "RET_INVALID_REQUEST",
            "The request body could not be read.".to_string(),
        ),
    };
    super::ApiError {
        status,
        code: code.to_string(),
        message,
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Vec<u8>, declared: Option<usize>) -> Request {
        let mut builder = Request::builder().method("POST").uri("/x");
        if let Some(n) = declared {
            builder = builder.header(CONTENT_LENGTH, n);
        }
        builder.body(Body::from(body)).expect("request")
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_kept_whole() {
        let buffered = buffer_body(request(vec![7; 100], Some(100)), 100)
            .await
            .expect("within the limit");
        let bytes = buffered
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(bytes.len(), 100);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_read_to_its_end_then_refused() {
        let problem = buffer_body(request(vec![7; 101], None), 100).await.err();
        assert_eq!(problem, Some(BodyProblem::TooLarge { drained: true }));
    }

    #[tokio::test]
    async fn a_body_far_over_the_limit_is_not_read() {
        let declared = 100 * DRAIN_FACTOR + 1;
        let problem = buffer_body(request(Vec::new(), Some(declared)), 100)
            .await
            .err();
        assert_eq!(problem, Some(BodyProblem::TooLarge { drained: false }));
    }
}
