//! `api-version`: required on every ARM request and checked per resource type.

use std::marker::PhantomData;

use axum::{extract::FromRequestParts, http::request::Parts};

use super::error::ArmError;

/// The api-versions one resource type answers to.
pub trait VersionedType: Send + Sync + 'static {
    const NAMESPACE: &'static str;
    const RESOURCE_TYPE: &'static str;
    const SUPPORTED: &'static [&'static str];
}

/// Extractor: the request's `api-version`, already checked against `T`.
pub struct ApiVersion<T> {
    pub value: String,
    _type: PhantomData<T>,
}

impl<T> ApiVersion<T> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// Finds `api-version` in a raw query string.
pub fn from_query(query: Option<&str>) -> Option<String> {
    super::request_context::query_param(query, "api-version")
}

pub fn check<T: VersionedType>(query: Option<&str>) -> Result<String, ArmError> {
    let requested = from_query(query)
        .filter(|v| !v.is_empty())
        .ok_or(ArmError::MissingApiVersion)?;
    if T::SUPPORTED
        .iter()
        .any(|v| v.eq_ignore_ascii_case(&requested))
    {
        Ok(requested)
    } else {
        Err(ArmError::UnsupportedApiVersion {
            namespace: T::NAMESPACE,
            resource_type: T::RESOURCE_TYPE,
            requested,
            supported: T::SUPPORTED,
        })
    }
}

impl<S: Send + Sync, T: VersionedType> FromRequestParts<S> for ApiVersion<T> {
    type Rejection = ArmError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ArmError> {
        Ok(Self {
            value: check::<T>(parts.uri.query())?,
            _type: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Widgets;
    impl VersionedType for Widgets {
        const NAMESPACE: &'static str = "Contoso.Widgets";
        const RESOURCE_TYPE: &'static str = "widgets";
        const SUPPORTED: &'static [&'static str] = &["2025-03-31", "2024-06-30-preview"];
    }

    #[test]
    fn missing_unsupported_and_supported_versions() {
        assert!(matches!(
            check::<Widgets>(None),
            Err(ArmError::MissingApiVersion)
        ));
        assert!(matches!(
            check::<Widgets>(Some("foo=1&api-version=")),
            Err(ArmError::MissingApiVersion)
        ));
        let err = check::<Widgets>(Some("api-version=2020-01-01")).unwrap_err();
        assert_eq!(err.code(), "NoRegisteredProviderFound");
        assert!(err.to_string().contains("'2025-03-31, 2024-06-30-preview'"));
        assert_eq!(
            check::<Widgets>(Some("a=b&api-version=2025-03-31")).unwrap(),
            "2025-03-31"
        );
    }
}
