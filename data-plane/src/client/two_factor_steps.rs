//! 2FA as the management utility runs it: the HSM's authdata goes to the
//! officer, who signs the digests elsewhere (with a key the client never
//! holds) and hands the file back. Each exchange is two calls here, where
//! [`HsmClient::login_two_factor`] and friends do both halves with an
//! in-process [`super::TwoFactorKey`].

use reqwest::Method;
use serde_json::Value;

use super::{error_from, parse, ClientError, Connection, HsmClient};
use crate::server::wire::*;

pub(super) fn body<T: serde::Serialize>(value: &T) -> Result<Value, ClientError> {
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
        self.begin_login(&mut connection, user_type, user, password)
            .await
    }

    /// Second half: the signed authdata logs in and opens the session.
    pub async fn login_two_factor_complete(&self, signed: &AuthData) -> Result<(), ClientError> {
        let mut connection = self.connection.lock().await;
        self.finish_login(&mut connection, signed).await
    }

    /// The login halves on a connection the caller holds, so that
    /// [`HsmClient::login_two_factor`] can run both under one lock (no other
    /// call on this client slips between them).
    pub(super) async fn begin_login(
        &self,
        connection: &mut Connection,
        user_type: &str,
        user: &str,
        password: &str,
    ) -> Result<AuthData, ClientError> {
        connection.credentials = None;
        connection.token = None;
        connection.session = None;
        let request = body(&LoginRequest {
            user_type: user_type.into(),
            user: user.into(),
            password: password.into(),
        })?;
        self.post_unsessioned(connection, "/2fa/login", Some(&request))
            .await
            .and_then(parse)
    }

    pub(super) async fn finish_login(
        &self,
        connection: &mut Connection,
        signed: &AuthData,
    ) -> Result<(), ClientError> {
        let login: LoginResponse = self
            .post_unsessioned(connection, "/2fa/login/complete", Some(&body(signed)?))
            .await
            .and_then(parse)?;
        self.open_session(connection, login.token).await
    }

    /// A POST outside any session (the login exchange, the anonymous
    /// partition calls), its error status mapped to the client error.
    pub(super) async fn post_unsessioned(
        &self,
        connection: &mut Connection,
        path: &str,
        request: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let (status, value) = self
            .send_with_failover(connection, Method::POST, path, false, request)
            .await?;
        if !status.is_success() {
            return Err(error_from(status, &value));
        }
        Ok(value)
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
