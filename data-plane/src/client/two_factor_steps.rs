//! 2FA as the management utility runs it: the HSM's authdata goes to the
//! officer, who signs the digests elsewhere (with a key the client never
//! holds) and hands the file back. Each exchange is two calls here, where
//! [`HsmClient::login_two_factor`] and friends do both halves with an
//! in-process [`super::TwoFactorKey`].

use reqwest::Method;
use serde_json::Value;

use super::{error_from, parse, ClientError, HsmClient};
use crate::server::wire::*;

fn body<T: serde::Serialize>(value: &T) -> Result<Value, ClientError> {
    serde_json::to_value(value)
        .map_err(|e| ClientError::local("RET_INVALID_REQUEST", e.to_string()))
}

impl HsmClient {
    /// `loginHSM ... -2fa`, first half: checks the password and answers the
    /// authdata to sign. Any current login is dropped.
    pub async fn login_two_factor_begin(
        &self,
        user_type: &str,
        user: &str,
        password: &str,
    ) -> Result<AuthData, ClientError> {
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
        parse(value)
    }

    /// Second half: the signed authdata logs in and opens the session.
    pub async fn login_two_factor_complete(&self, signed: &AuthData) -> Result<(), ClientError> {
        let mut connection = self.connection.lock().await;
        let (status, value) = self
            .send_with_failover(
                &mut connection,
                Method::POST,
                "/2fa/login/complete",
                false,
                Some(&body(signed)?),
            )
            .await?;
        if !status.is_success() {
            return Err(error_from(status, &value));
        }
        let login: LoginResponse = parse(value)?;
        self.open_session(&mut connection, login.token).await
    }

    /// `changePswd ... -2fa`, first half: the authdata to sign (with the
    /// officer's public key added to the answer).
    pub async fn change_password_two_factor_begin(
        &self,
        name: &str,
        password: &str,
    ) -> Result<AuthData, ClientError> {
        let request = PasswordRequest {
            password: password.into(),
        };
        self.call(
            Method::POST,
            &format!("/2fa/users/{name}/password"),
            Some(request),
            false,
        )
        .await
    }

    /// `createUser CO ... -2fa`, first half.
    pub async fn create_user_two_factor_begin(
        &self,
        user_type: &str,
        name: &str,
        password: &str,
    ) -> Result<AuthData, ClientError> {
        let request = CreateUserRequest {
            user_type: user_type.into(),
            name: name.into(),
            password: password.into(),
        };
        self.call(Method::POST, "/2fa/users", Some(request), false)
            .await
    }

    /// `registerQuorumPubKey`, first half.
    pub async fn register_quorum_key_begin(&self) -> Result<AuthData, ClientError> {
        self.call::<(), _>(Method::POST, "/quorum/keys", None, false)
            .await
    }

    /// Second half of createUser, changePswd and registerQuorumPubKey.
    pub async fn complete_two_factor(&self, signed: &AuthData) -> Result<(), ClientError> {
        self.call::<_, Value>(Method::POST, "/2fa/complete", Some(signed), false)
            .await
            .map(drop)
    }
}
