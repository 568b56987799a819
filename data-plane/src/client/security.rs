//! Client calls for the opt-in 2FA and quorum features. The 2FA commands
//! take the officer's [`TwoFactorKey`] and do both halves of the exchange:
//! fetch the authdata, sign it, hand it back.

use reqwest::Method;
use serde_json::Value;

use super::{error_from, parse, ClientError, HsmClient, TwoFactorKey};
use crate::server::wire::*;

fn body<T: serde::Serialize>(value: &T) -> Result<Value, ClientError> {
    serde_json::to_value(value)
        .map_err(|e| ClientError::local("RET_INVALID_REQUEST", e.to_string()))
}

impl HsmClient {
    /// `loginHSM <type> <user> <password> -2fa`. A 2FA login is not
    /// re-established implicitly: it needs the second factor again.
    pub async fn login_two_factor(
        &self,
        user_type: &str,
        user: &str,
        password: &str,
        key: &TwoFactorKey,
    ) -> Result<(), ClientError> {
        let mut connection = self.connection.lock().await;
        connection.credentials = None;
        connection.token = None;
        connection.session = None;
        let request = body(&LoginRequest {
            user_type: user_type.into(),
            user: user.into(),
            password: password.into(),
        })?;
        let (status, value) = self
            .send_with_failover(
                &mut connection,
                Method::POST,
                "/2fa/login",
                false,
                Some(&request),
            )
            .await?;
        if !status.is_success() {
            return Err(error_from(status, &value));
        }
        let signed = key.sign_authdata(&parse::<AuthData>(value)?)?;
        let (status, value) = self
            .send_with_failover(
                &mut connection,
                Method::POST,
                "/2fa/login/complete",
                false,
                Some(&body(&signed)?),
            )
            .await?;
        if !status.is_success() {
            return Err(error_from(status, &value));
        }
        let login: LoginResponse = parse(value)?;
        self.open_session(&mut connection, login.token).await
    }

    /// Signs an authdata document the HSM issued in this session and hands
    /// it back with the public key.
    async fn answer(&self, request: AuthData, key: &TwoFactorKey) -> Result<(), ClientError> {
        let signed = key.sign_authdata_with_key(&request)?;
        self.call::<_, Value>(Method::POST, "/2fa/complete", Some(signed), false)
            .await
            .map(drop)
    }

    /// `createUser CO <name> <password> -2fa`.
    pub async fn create_user_two_factor(
        &self,
        user_type: &str,
        name: &str,
        password: &str,
        key: &TwoFactorKey,
    ) -> Result<(), ClientError> {
        let request = CreateUserRequest {
            user_type: user_type.into(),
            name: name.into(),
            password: password.into(),
        };
        let authdata = self
            .call(Method::POST, "/2fa/users", Some(request), false)
            .await?;
        self.answer(authdata, key).await
    }

    /// `changePswd CO <name> <password> -2fa`: adds 2FA or rotates its key.
    /// (A plain [`HsmClient::change_password`] removes 2FA.)
    pub async fn change_password_two_factor(
        &self,
        name: &str,
        password: &str,
        key: &TwoFactorKey,
    ) -> Result<(), ClientError> {
        let request = PasswordRequest {
            password: password.into(),
        };
        let authdata = self
            .call(
                Method::POST,
                &format!("/2fa/users/{name}/password"),
                Some(request),
                false,
            )
            .await?;
        self.answer(authdata, key).await
    }

    /// `registerQuorumPubKey`: the logged-in officer becomes a quorum approver.
    pub async fn register_quorum_key(&self, key: &TwoFactorKey) -> Result<(), ClientError> {
        let authdata = self
            .call::<(), _>(Method::POST, "/quorum/keys", None, false)
            .await?;
        self.answer(authdata, key).await
    }

    pub async fn security(&self) -> Result<SecurityView, ClientError> {
        self.call::<(), _>(Method::GET, "/security", None, true)
            .await
    }

    /// Turns 2FA or quorum on or off (an officer; quorum-controlled while
    /// quorum is on).
    pub async fn set_security(&self, change: SecurityChange) -> Result<SecurityView, ClientError> {
        self.call(Method::PUT, "/security", Some(change), false)
            .await
    }

    /// `setMValue <service> <m>`.
    pub async fn set_m_value(&self, service: &str, m: u8) -> Result<(), ClientError> {
        self.call::<_, Value>(
            Method::PUT,
            &format!("/quorum/m/{service}"),
            Some(MValueRequest { m }),
            false,
        )
        .await
        .map(drop)
    }

    /// `getToken <service>`.
    pub async fn get_token(&self, service: &str) -> Result<Token, ClientError> {
        self.call(
            Method::POST,
            "/quorum/tokens",
            Some(TokenRequest {
                service: service.into(),
            }),
            false,
        )
        .await
    }

    /// `listTokens`.
    pub async fn list_tokens(&self) -> Result<Vec<Token>, ClientError> {
        self.call::<(), _>(Method::GET, "/quorum/tokens", None, true)
            .await
    }

    /// `delToken`.
    pub async fn delete_token(&self, id: &str) -> Result<(), ClientError> {
        self.call::<(), Value>(Method::DELETE, &format!("/quorum/tokens/{id}"), None, false)
            .await
            .map(drop)
    }

    /// `approveToken`: hands in approvers' signatures; answers how many the
    /// token now holds.
    pub async fn approve_token(
        &self,
        id: &str,
        approvals: Vec<Approval>,
    ) -> Result<usize, ClientError> {
        let count: ApprovalCount = self
            .call(
                Method::POST,
                &format!("/quorum/tokens/{id}/approvals"),
                Some(ApproveRequest { approvals }),
                false,
            )
            .await?;
        Ok(count.approvals)
    }
}
