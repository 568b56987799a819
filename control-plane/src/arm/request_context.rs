//! Request-scoped headers every ARM response carries, and the path rewrite
//! that makes routing case-insensitive where ARM is.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, Uri},
    middleware::Next,
    response::Response,
};

use super::resource_id::canonical_path;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-ms-correlation-request-id");
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");

/// Runs before routing (so it is generic over the body type the server
/// hands in): canonicalises the keyword segments of the path.
pub fn canonicalise_path<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let uri = request.uri();
    let canonical = canonical_path(uri.path());
    if canonical != uri.path() {
        let rebuilt = match uri.query() {
            Some(q) => format!("{canonical}?{q}"),
            None => canonical,
        };
        if let Ok(new_uri) = rebuilt.parse::<Uri>() {
            *request.uri_mut() = new_uri;
        }
    }
    request
}

/// Adds `x-ms-request-id` to every response and echoes the caller's
/// correlation and client request ids, as ARM does.
pub async fn request_ids(request: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let correlation = request
        .headers()
        .get(&CORRELATION_ID)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static(""))
        });
    let client_request_id = request.headers().get(&CLIENT_REQUEST_ID).cloned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, v);
    }
    headers.insert(CORRELATION_ID, correlation);
    if let Some(v) = client_request_id {
        headers.insert(CLIENT_REQUEST_ID, v);
    }
    response
}

/// One parameter of a raw query string, percent-decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let uri: Uri = format!("/?{}", query?).parse().ok()?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .ok()?
        .0
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}
