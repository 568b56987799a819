//! Issuing and validating the emulator's JWT access tokens.
//!
//! Tokens look like Microsoft identity platform v1 access tokens (what ARM
//! receives): issuer `https://sts.windows.net/{tenant}/`, `tid`, `oid`,
//! `appid`, `idtyp`, signed RS256 with the key published in the JWKS.

use std::{collections::HashMap, sync::RwLock};

use jsonwebtoken::{errors::ErrorKind, Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::signing_key::SigningKey;
use crate::arm::error::ArmError;

pub const TOKEN_LIFETIME_SECS: i64 = 3599;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    pub ver: String,
    pub uti: String,
    /// Resource id of the managed identity a token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xms_mirid: Option<String>,
}

/// Who made an ARM request, as ARM records it in `systemData`.
#[derive(Debug, Clone)]
pub struct Principal {
    pub object_id: String,
    /// `createdBy`/`lastModifiedBy`: the application id for applications.
    pub name: String,
    /// `createdByType`: `Application`, `ManagedIdentity` or `User`.
    pub kind: &'static str,
    /// The token's validity window (epoch seconds).
    pub not_before: i64,
    pub expires: i64,
}

/// ARM tolerates five minutes of clock skew.
const CLOCK_SKEW_SECS: i64 = 300;

pub fn issuer(tenant: &str) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

pub struct TokenIssuer<'a> {
    pub key: &'a SigningKey,
    pub tenant: &'a str,
}

impl TokenIssuer<'_> {
    /// An app-only token for `client_id` (a service principal, or a managed
    /// identity when `managed_identity_id` names its resource).
    pub fn issue_app_token(
        &self,
        audience: &str,
        client_id: &str,
        object_id: &str,
        managed_identity_id: Option<&str>,
        now: i64,
    ) -> Result<String, ArmError> {
        let claims = Claims {
            aud: audience.to_string(),
            iss: issuer(self.tenant),
            iat: now,
            nbf: now,
            exp: now + TOKEN_LIFETIME_SECS,
            tid: self.tenant.to_string(),
            oid: object_id.to_string(),
            sub: object_id.to_string(),
            appid: Some(client_id.to_string()),
            idtyp: Some("app".into()),
            ver: "1.0".into(),
            uti: uuid::Uuid::new_v4().simple().to_string(),
            xms_mirid: managed_identity_id.map(str::to_string),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key.encoding)
            .map_err(|e| ArmError::Internal(format!("signing a token: {e}")))
    }
}

/// Checks a bearer token the way ARM does and names the failure with ARM's
/// codes. `audiences` are the accepted `aud` values, compared without a
/// trailing slash.
pub fn validate(
    token: &str,
    key: &SigningKey,
    tenant: &str,
    audiences: &[String],
) -> Result<Principal, ArmError> {
    let invalid = |message: String| ArmError::Unauthenticated {
        code: "InvalidAuthenticationToken",
        message,
    };
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid("The access token is invalid: it is not a well-formed JWT.".into()))?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(key.kid.as_str()) {
        return Err(invalid(
            "The access token is invalid: it was not signed by this emulator's token service."
                .into(),
        ));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false; // checked below, slash-insensitively
    validation.set_issuer(&[issuer(tenant)]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.leeway = CLOCK_SKEW_SECS as u64;
    // jsonwebtoken skips `nbf` unless asked; a token not valid yet is refused.
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation).map_err(|e| {
        match e.kind() {
            ErrorKind::ExpiredSignature => ArmError::Unauthenticated {
                code: "ExpiredAuthenticationToken",
                message: "The access token expiry UTC time is earlier than current UTC time.".into(),
            },
            ErrorKind::InvalidIssuer => ArmError::Unauthenticated {
                code: "InvalidAuthenticationTokenTenant",
                message: format!(
                    "The access token is from the wrong issuer. It must match the tenant 'https://sts.windows.net/{tenant}/' associated with this subscription."
                ),
            },
            ErrorKind::ImmatureSignature => invalid(
                "The access token is not yet valid: its 'nbf' (not before) time is later than the current UTC time.".into(),
            ),
            ErrorKind::InvalidSignature => {
                invalid("The access token signature is invalid.".into())
            }
            _ => invalid(format!("The access token is invalid: {e}.")),
        }
    })?;
    let claims = data.claims;
    let aud = claims.aud.trim_end_matches('/');
    if !audiences.iter().any(|a| a.trim_end_matches('/') == aud) {
        return Err(ArmError::Unauthenticated {
            code: "InvalidAuthenticationTokenAudience",
            message: format!(
                "The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences '{}'.",
                claims.aud,
                audiences.join("','")
            ),
        });
    }
    let (name, kind) = match (claims.xms_mirid.is_some(), claims.appid.clone()) {
        (true, Some(appid)) => (appid, "ManagedIdentity"),
        (false, Some(appid)) if claims.idtyp.as_deref() == Some("app") => (appid, "Application"),
        _ => (claims.oid.clone(), "User"),
    };
    Ok(Principal {
        object_id: claims.oid,
        name,
        kind,
        not_before: claims.nbf,
        expires: claims.exp,
    })
}

/// Tokens already validated, so a client reusing its token (as every SDK
/// does for an hour) costs one signature check, not one per request. Only
/// successes are kept; an entry is used only inside its validity window.
#[derive(Default)]
pub struct ValidatedTokens {
    entries: RwLock<HashMap<String, Principal>>,
}

/// Enough for many clients; past it the cache starts over rather than grow.
const MAX_CACHED_TOKENS: usize = 4096;

impl ValidatedTokens {
    pub fn get_or_validate(
        &self,
        token: &str,
        validate: impl FnOnce() -> Result<Principal, ArmError>,
    ) -> Result<Principal, ArmError> {
        let now = chrono::Utc::now().timestamp();
        let usable = |p: &Principal| {
            p.not_before - CLOCK_SKEW_SECS <= now && now < p.expires + CLOCK_SKEW_SECS
        };
        if let Ok(entries) = self.entries.read() {
            if let Some(principal) = entries.get(token).filter(|p| usable(p)) {
                return Ok(principal.clone());
            }
        }
        let principal = validate()?;
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_CACHED_TOKENS {
                entries.clear();
            }
            entries.insert(token.to_string(), principal.clone());
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(not_before: i64, expires: i64) -> Principal {
        Principal {
            object_id: "o".into(),
            name: "app".into(),
            kind: "Application",
            not_before,
            expires,
        }
    }

    #[test]
    fn cache_answers_within_the_validity_window_only() {
        let cache = ValidatedTokens::default();
        let now = chrono::Utc::now().timestamp();
        let mut checks = 0;
        for _ in 0..3 {
            cache
                .get_or_validate("good", || {
                    checks += 1;
                    Ok(principal(now, now + 3600))
                })
                .unwrap();
        }
        assert_eq!(checks, 1, "a valid token is checked once");

        let mut checks = 0;
        for _ in 0..2 {
            let _ = cache.get_or_validate("expired", || {
                checks += 1;
                Ok(principal(now - 7200, now - 3600))
            });
        }
        assert_eq!(checks, 2, "an expired entry is never served from the cache");

        let refused = cache.get_or_validate("bad", || {
            Err(ArmError::Unauthenticated {
                code: "InvalidAuthenticationToken",
                message: "no".into(),
            })
        });
        assert!(refused.is_err());
        assert!(
            cache
                .get_or_validate("bad", || Ok(principal(now, now + 60)))
                .is_ok(),
            "failures are not cached"
        );
    }
}
