//! Client calls for the partition's ownership (activation, `unlockCO`),
//! masked objects, digest and random.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use reqwest::Method;
use serde_json::Value;

use super::{decode, parse, two_factor_steps::body, ClientError, HsmClient};
use crate::{
    engine::{
        cluster::{PRECO_DEFAULT_PASSWORD, PRECO_USER},
        partition::{CERT_PO, CERT_POAC},
    },
    onboarding::PartitionOwner,
    server::wire::*,
};

/// An engine error from the client's own (local) onboarding crypto, in the
/// client's error shape; status 0 says it never reached the HSM.
fn local_engine_error(e: crate::engine::error::EngineError) -> ClientError {
    ClientError {
        status: 0,
        code: e.code().into(),
        message: e.to_string(),
    }
}

impl HsmClient {
    /// `getCertReq`: the partition's CSR, PEM.
    pub async fn get_cert_req(&self) -> Result<String, ClientError> {
        let out: CsrResponse = self
            .call::<(), _>(Method::GET, "/partition/csr", None, true)
            .await?;
        Ok(out.csr)
    }

    /// `storeCert <pem> <type>`: 4 for PO.crt, 8 for the POAC.
    pub async fn store_certificate(
        &self,
        certificate_type: u32,
        pem: &str,
    ) -> Result<(), ClientError> {
        let body = StoreCertRequest {
            certificate_type,
            certificate: pem.into(),
        };
        self.call::<_, Value>(Method::POST, "/partition/certificates", Some(body), false)
            .await
            .map(drop)
    }

    /// The whole onboarding flow for a new cluster: log in as `PRECO admin`
    /// (default password), `getCertReq`, `storeCert` PO.crt then the POAC
    /// signed with `owner`'s key, and `changePswd PRECO admin <new_password>`,
    /// which activates the cluster. Logs out at the end.
    pub async fn activate(
        &self,
        owner: &PartitionOwner,
        new_password: &str,
    ) -> Result<(), ClientError> {
        self.login("PRECO", PRECO_USER, PRECO_DEFAULT_PASSWORD)
            .await?;
        let csr = self.get_cert_req().await?;
        self.store_certificate(CERT_PO, owner.certificate_pem())
            .await?;
        let poac = owner.sign_csr(&csr).map_err(local_engine_error)?;
        self.store_certificate(CERT_POAC, &poac).await?;
        self.change_password(PRECO_USER, new_password).await?;
        self.logout().await
    }

    /// [`Self::activate`] with a freshly generated partition owner, returned
    /// for later `unlockCO` challenges.
    pub async fn activate_with_new_owner(
        &self,
        new_password: &str,
    ) -> Result<PartitionOwner, ClientError> {
        let owner = PartitionOwner::generate().map_err(local_engine_error)?;
        self.activate(&owner, new_password).await?;
        Ok(owner)
    }

    /// An unauthenticated call (no login needed), with failover.
    async fn call_anonymous<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ClientError> {
        let mut connection = self.connection.lock().await;
        let value = self
            .post_unsessioned(&mut connection, path, body.as_ref())
            .await?;
        parse(if value.is_null() {
            Value::Object(Default::default())
        } else {
            value
        })
    }

    /// `getChallenge`: a nonce for PO.key to sign, to unlock officer `user`.
    pub async fn get_challenge(&self, user: &str) -> Result<Vec<u8>, ClientError> {
        let out: BytesResponse = self
            .call_anonymous(&format!("/users/{user}/challenge"), None)
            .await?;
        decode(&out.data)
    }

    /// `unlockCO`: unlocks officer `user` (and resets its password if one
    /// is given) with PO.key's signature over its challenge.
    pub async fn unlock_officer(
        &self,
        user: &str,
        signature: &[u8],
        new_password: Option<&str>,
    ) -> Result<(), ClientError> {
        let body = body(&UnlockOfficerRequest {
            signature: B64.encode(signature),
            password: new_password.map(str::to_string),
        })?;
        self.call_anonymous::<Value>(&format!("/users/{user}/unlock-co"), Some(body))
            .await
            .map(drop)
    }

    /// `extractMaskedObject`: the key as a blob only this cluster (or one
    /// restored from its backup) takes back.
    pub async fn extract_masked_object(&self, handle: u64) -> Result<Vec<u8>, ClientError> {
        let out: MaskedObject = self
            .call::<(), _>(Method::POST, &format!("/keys/{handle}/masked"), None, true)
            .await?;
        decode(&out.data)
    }

    /// `insertMaskedObject`: the new key's handle.
    pub async fn insert_masked_object(&self, blob: &[u8]) -> Result<u64, ClientError> {
        let body = MaskedObject {
            data: B64.encode(blob),
        };
        self.call_for_handle("/keys/masked", body).await
    }

    /// `C_Digest`: `mechanism` is `SHA256`, `SHA384` or `SHA512`.
    pub async fn digest(&self, mechanism: &str, data: &[u8]) -> Result<Vec<u8>, ClientError> {
        let body = DigestRequest {
            mechanism: mechanism.into(),
            data: B64.encode(data),
        };
        let out: BytesResponse = self.call(Method::POST, "/digest", Some(body), true).await?;
        decode(&out.data)
    }

    /// `C_GenerateRandom`.
    pub async fn generate_random(&self, length: usize) -> Result<Vec<u8>, ClientError> {
        let out: BytesResponse = self
            .call(
                Method::POST,
                "/random",
                Some(RandomRequest { length }),
                true,
            )
            .await?;
        decode(&out.data)
    }

    /// `setUserAttributes`: e.g. disable or re-enable a user's login.
    pub async fn set_user_attributes(
        &self,
        user: &str,
        attributes: UserAttributesRequest,
    ) -> Result<(), ClientError> {
        self.call::<_, Value>(
            Method::POST,
            &format!("/users/{user}/attributes"),
            Some(attributes),
            true,
        )
        .await
        .map(drop)
    }

    /// `disableUserAccess`: the logged-in crypto user `user` takes its
    /// management away from crypto officers.
    pub async fn disable_user_access(&self, user: &str) -> Result<(), ClientError> {
        self.call::<(), Value>(
            Method::POST,
            &format!("/users/{user}/disable-access"),
            None,
            true,
        )
        .await
        .map(drop)
    }

    /// `findAllKeys`: handles and owners (of `user`'s keys, if given).
    pub async fn find_all_keys(
        &self,
        user: Option<&str>,
    ) -> Result<Vec<KeyOwnershipBody>, ClientError> {
        let path = match user {
            Some(user) => format!("/keys/all?user={user}"),
            None => "/keys/all".to_string(),
        };
        self.call::<(), _>(Method::GET, &path, None, true).await
    }

    /// The cluster's recent audit events (`CloudHsmServiceOperationAuditLogs`
    /// rows): an emulator admin route, so `admin_token` is a control-plane
    /// token of the well-known principal.
    pub async fn audit_events(&self, admin_token: &str) -> Result<Vec<Value>, ClientError> {
        let value = self
            .admin_call(admin_token, Method::GET, "/admin/audit-events")
            .await?;
        parse(value)
    }
}
