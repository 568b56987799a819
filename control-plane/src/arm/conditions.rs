//! ETags and the `If-Match` / `If-None-Match` preconditions ARM honours.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderValue},
};

use super::error::ArmError;

/// A fresh, quoted entity tag: every write gets a new one.
pub fn new_etag() -> String {
    format!("\"{}\"", uuid::Uuid::new_v4())
}

fn normalise(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"')
}

fn matches(list: &str, current: &str) -> bool {
    list.split(',')
        .any(|t| t.trim() == "*" || normalise(t) == normalise(current))
}

/// Extractor for a write's preconditions.
#[derive(Debug, Default)]
pub struct Preconditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
}

impl Preconditions {
    /// `current` is the stored resource's ETag, `None` when it does not exist.
    pub fn check(&self, current: Option<&str>) -> Result<(), ArmError> {
        if let Some(expected) = &self.if_match {
            let ok = current.is_some_and(|c| matches(expected, c));
            if !ok {
                return Err(ArmError::PreconditionFailed(match current {
                    Some(_) => format!("The specified precondition 'If-Match = {expected}' failed: the resource has changed."),
                    None => format!("The specified precondition 'If-Match = {expected}' failed: the resource does not exist."),
                }));
            }
        }
        if let (Some(unwanted), Some(c)) = (&self.if_none_match, current) {
            if matches(unwanted, c) {
                return Err(ArmError::PreconditionFailed(format!(
                    "The specified precondition 'If-None-Match = {unwanted}' failed: the resource already exists."
                )));
            }
        }
        Ok(())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Preconditions {
    type Rejection = ArmError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ArmError> {
        let text = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Self {
            if_match: text(header::IF_MATCH),
            if_none_match: text(header::IF_NONE_MATCH),
        })
    }
}

pub fn etag_header(headers: &mut HeaderMap, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(if_match: Option<&str>, if_none_match: Option<&str>) -> Preconditions {
        Preconditions {
            if_match: if_match.map(Into::into),
            if_none_match: if_none_match.map(Into::into),
        }
    }

    #[test]
    fn if_match_and_if_none_match() {
        let tag = "\"abc\"";
        assert!(pre(None, None).check(Some(tag)).is_ok());
        assert!(pre(Some("\"abc\""), None).check(Some(tag)).is_ok());
        assert!(pre(Some("W/\"abc\""), None).check(Some(tag)).is_ok());
        assert!(pre(Some("*"), None).check(Some(tag)).is_ok());
        assert!(pre(Some("*"), None).check(None).is_err());
        assert!(pre(Some("\"old\""), None).check(Some(tag)).is_err());
        assert!(pre(None, Some("*")).check(Some(tag)).is_err());
        assert!(pre(None, Some("*")).check(None).is_ok());
        assert!(pre(None, Some("\"other\"")).check(Some(tag)).is_ok());
    }
}
