//! Issuing and validating the emulator's JWT access tokens.
//!
//! Tokens look like Microsoft identity platform v1 access tokens (what ARM
//! receives): issuer `https://sts.windows.net/{tenant}/`, `tid`, `oid`,
//! `appid`, `idtyp`, signed RS256 with the key published in the JWKS.

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
}

/// Who made an ARM request, as ARM records it in `systemData`.
#[derive(Debug, Clone)]
pub struct Principal {
    pub object_id: String,
    /// `createdBy`/`lastModifiedBy`: the application id for applications.
    pub name: String,
    /// `createdByType`: `Application`, `ManagedIdentity` or `User`.
    pub kind: &'static str,
}

pub fn issuer(tenant: &str) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

pub struct TokenIssuer<'a> {
    pub key: &'a SigningKey,
    pub tenant: &'a str,
}

impl TokenIssuer<'_> {
    pub fn issue_app_token(
        &self,
        audience: &str,
        client_id: &str,
        object_id: &str,
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
    validation.leeway = 300; // ARM tolerates five minutes of clock skew
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
    let (name, kind) = match (claims.idtyp.as_deref(), claims.appid.clone()) {
        (Some("app"), Some(appid)) => (appid, "Application"),
        (Some("managedIdentity"), Some(appid)) => (appid, "ManagedIdentity"),
        _ => (claims.oid.clone(), "User"),
    };
    Ok(Principal {
        object_id: claims.oid,
        name,
        kind,
    })
}
