//! List paging: a full page carries a `nextLink` with an opaque `$skiptoken`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};

use super::{api_version, error::ArmError, request_context::query_param};

/// Where a page starts: after the storage key the token names.
pub fn start_after(query: Option<&str>) -> Result<Option<String>, ArmError> {
    let Some(token) = query_param(query, "$skiptoken") else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| ArmError::BadRequest {
            code: "InvalidSkipToken",
            message: "The $skiptoken is invalid: use the nextLink of the previous page.".into(),
            target: Some("$skiptoken".into()),
        })
}

/// `{"value": [...], "nextLink": ...}`. `items` were fetched with one more
/// than `page_size` so a further page is known to exist without a second scan.
pub fn page(
    base_url: &str,
    path: &str,
    query: Option<&str>,
    items: Vec<(String, Value)>,
    page_size: usize,
) -> Value {
    page_carrying(base_url, path, query, items, page_size, &[])
}

/// [`page`] whose `nextLink` also repeats the query parameters named in
/// `carried` (`$filter`, `$top`, ...), so the next page is the same query's.
pub fn page_carrying(
    base_url: &str,
    path: &str,
    query: Option<&str>,
    mut items: Vec<(String, Value)>,
    page_size: usize,
    carried: &[&str],
) -> Value {
    let more = items.len() > page_size;
    items.truncate(page_size);
    let next_link = match (more, items.last()) {
        (true, Some((last_key, _))) => {
            let api = api_version::from_query(query).unwrap_or_default();
            let token = URL_SAFE_NO_PAD.encode(last_key.as_bytes());
            let repeated: String = carried
                .iter()
                .filter_map(|name| query_param(query, name).map(|value| (name, value)))
                .map(|(name, value)| {
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                    format!("&{name}={encoded}")
                })
                .collect();
            Some(format!(
                "{base_url}{path}?api-version={api}{repeated}&$skiptoken={token}"
            ))
        }
        _ => None,
    };
    let value: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
    match next_link {
        Some(link) => json!({ "value": value, "nextLink": link }),
        None => json!({ "value": value }),
    }
}

/// One page of the records of kind `T` under `prefix`, rendered for the wire.
pub fn list_records<T: crate::store::Record>(
    state: &crate::state::AppState,
    prefix: &str,
    uri: &axum::http::Uri,
    render: impl Fn(T) -> Value,
) -> Result<axum::Json<Value>, ArmError> {
    let after = start_after(uri.query())?;
    let size = state.config.page_size;
    let items = state
        .store
        .list::<T>(prefix, after.as_deref(), size + 1)?
        .into_iter()
        .map(|(key, record)| (key, render(record)))
        .collect();
    Ok(axum::Json(page(
        &state.config.base_url,
        uri.path(),
        uri.query(),
        items,
        size,
    )))
}
