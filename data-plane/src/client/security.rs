//! Client calls for the opt-in 2FA and quorum features. The 2FA commands
//! take the officer's [`TwoFactorKey`] and do both halves of the exchange
//! with the steps in `two_factor_steps` (the one 2FA wire path): fetch the
//! authdata, sign it, hand it back.

use reqwest::Method;
use serde_json::Value;

use super::{ClientError, HsmClient, TwoFactorKey};
use crate::server::wire::*;

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
        let authdata = self
            .begin_login(&mut connection, user_type, user, password)
            .await?;
        let signed = key.sign_authdata(&authdata)?;
        self.finish_login(&mut connection, &signed).await
    }

    /// Signs an authdata document the HSM issued in this session and hands
    /// it back with the public key.
    async fn answer(&self, request: AuthData, key: &TwoFactorKey) -> Result<(), ClientError> {
        self.complete_two_factor(&key.sign_authdata_with_key(&request)?)
            .await
    }

    /// `createUser CO <name> <password> -2fa`.
    pub async fn create_user_two_factor(
        &self,
        user_type: &str,
        name: &str,
        password: &str,
        key: &TwoFactorKey,
    ) -> Result<(), ClientError> {
        let authdata = self
            .create_user_two_factor_begin(user_type, name, password)
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
        let authdata = self
            .change_password_two_factor_begin(name, password)
            .await?;
        self.answer(authdata, key).await
    }

    /// `registerQuorumPubKey`: the logged-in officer becomes a quorum approver.
    pub async fn register_quorum_key(&self, key: &TwoFactorKey) -> Result<(), ClientError> {
        let authdata = self.register_quorum_key_begin().await?;
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
