//! Backup and restore through a real Azurite (HTTPS with the emulator's CA,
//! OAuth): the cluster's managed identity, role assignments, the six
//! 2025-03-31 operations, and every fault the issue names.

use cloudhsm_data_plane::{
    engine::{
        attributes::{ids, Attribute},
        backup_format,
        keys::Curve,
    },
    KeySpec,
};
use cloudhsm_e2e_tests::{
    azurite::{assign_role, storage_token, Azurite, BLOB_DATA_CONTRIBUTOR},
    backup_jobs::{self, backup_body, restore_body},
    cluster_path, Emulator,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn label(text: &str) -> (u32, Attribute) {
    (ids::LABEL, Attribute::Text(text.into()))
}

/// Emulator + Azurite + a container + an identity with the role on it.
struct Setup {
    emu: Emulator,
    azurite: Azurite,
    identity: Value,
    container: String,
}

async fn setup() -> Setup {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let identity = emu.put_identity("rg", "backup-id").await;
    let azurite = Azurite::start(&emu).await;
    let token = storage_token(&emu, &identity).await;
    azurite.create_container(&token, "backups").await;
    let container = azurite.container_uri("backups");
    Setup {
        emu,
        azurite,
        identity,
        container,
    }
}

impl Setup {
    fn principal(&self) -> &str {
        self.identity["properties"]["principalId"]
            .as_str()
            .expect("principalId")
    }

    async fn grant(&self) {
        let reply = assign_role(&self.emu, "rg", self.principal(), BLOB_DATA_CONTRIBUTOR).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }

    /// A cluster using the identity (created by `cluster_with_identity` for the first).
    async fn cluster(&self, name: &str) -> Value {
        let mut body = cloudhsm_e2e_tests::cluster_body();
        body["identity"] = json!({
            "type": "UserAssigned",
            "userAssignedIdentities": { self.identity["id"].as_str().expect("id"): {} }
        });
        let reply = self
            .emu
            .call(Method::PUT, &cluster_path("rg", name), Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        let op = reply
            .header("azure-asyncoperation")
            .expect("Azure-AsyncOperation");
        assert_eq!(
            self.emu.wait_async_operation(&op).await["status"],
            "Succeeded"
        );
        self.emu
            .call(Method::GET, &cluster_path("rg", name), None)
            .await
            .body
    }

    async fn activation_state(&self, name: &str) -> Value {
        self.emu
            .call(Method::GET, &cluster_path("rg", name), None)
            .await
            .body["properties"]["activationState"]
            .clone()
    }

    /// An active cluster with a crypto user `cu1` and one RSA signing key
    /// labelled `signer`; returns the cluster, the key's handle and public key.
    async fn active_cluster_with_key(&self, name: &str) -> (Value, u64, Vec<u8>) {
        let cluster = self.cluster(name).await;
        self.emu.activate(&cluster, "officer-pass1").await;
        let officer = self.emu.hsm_client(&cluster);
        officer.login("CO", "admin", "officer-pass1").await.unwrap();
        officer.create_user("CU", "cu1", "user1234").await.unwrap();
        let cu = self.emu.hsm_client(&cluster);
        cu.login("CU", "cu1", "user1234").await.unwrap();
        let (public, private) = cu
            .generate_key_pair(
                KeySpec::Rsa { bits: 2048 },
                vec![
                    (ids::SIGN, Attribute::Bool(true)),
                    (ids::VERIFY, Attribute::Bool(true)),
                    label("signer"),
                ],
            )
            .await
            .unwrap();
        let der = cu.export_public_key(public).await.unwrap();
        (cluster, private, der)
    }

    /// kill -9, then a start on the same data dir; Azurite keeps running.
    async fn restart(self) -> Self {
        let Setup {
            emu,
            azurite,
            identity,
            container,
        } = self;
        Setup {
            emu: emu.restart().await,
            azurite,
            identity,
            container,
        }
    }

    /// Runs `restore` or `validateRestoreProperties` of `backup_id` on
    /// cluster `name`; the final operation status.
    async fn restore_job(&self, name: &str, action: &str, backup_id: &str) -> Value {
        backup_jobs::run(
            &self.emu,
            "rg",
            name,
            action,
            restore_body(&self.container, backup_id),
        )
        .await
    }

    async fn backup(&self, name: &str) -> String {
        let done = backup_jobs::run(
            &self.emu,
            "rg",
            name,
            "backup",
            backup_body(&self.container),
        )
        .await;
        assert_eq!(done["status"], "Succeeded", "{done}");
        done["properties"]["backupId"]
            .as_str()
            .expect("backupId")
            .to_string()
    }
}

/// The property names a spec definition allows (its own and its `allOf` bases').
fn spec_properties(definition: &str) -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/spec/2025-03-31/openapi-2025-03-31.json"
    );
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let def = &spec["definitions"][definition];
    let mut names: Vec<String> = def["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for base in def["allOf"].as_array().into_iter().flatten() {
        let name = base["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        names.extend(spec_properties(name));
    }
    names
}

/// Every field of a result's `properties` is one the spec defines.
fn assert_spec_fields(definition: &str, properties: &Value) {
    let allowed = spec_properties(definition);
    for key in properties.as_object().expect("properties").keys() {
        assert!(
            allowed.contains(key),
            "{definition} has no '{key}': {properties}"
        );
    }
}

fn verify_rsa(der: &[u8], message: &[u8], signature: &[u8]) {
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        der,
    )
    .verify(message, signature)
    .expect("the signature verifies under the public key taken before the backup");
}

#[tokio::test]
async fn backup_then_restore_into_a_new_cluster_keeps_users_keys_and_shares() {
    let s = setup().await;
    s.grant().await;
    let (source, _, rsa_public) = s.active_cluster_with_key("chsm-src").await;

    // More state: a second user the RSA key is shared with, an EC and an AES key.
    let officer = s.emu.hsm_client(&source);
    officer.login("CO", "admin", "officer-pass1").await.unwrap();
    officer.create_user("CU", "cu2", "user5678").await.unwrap();
    let cu = s.emu.hsm_client(&source);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let signer = cu.find_keys(vec![label("signer")]).await.unwrap();
    let ec = cu
        .generate_key_pair(
            KeySpec::Ec { curve: Curve::P256 },
            vec![(ids::SIGN, Attribute::Bool(true)), label("ec")],
        )
        .await
        .unwrap();
    let aes = cu
        .generate_key(
            KeySpec::Aes { bits: 256 },
            vec![
                (ids::ENCRYPT, Attribute::Bool(true)),
                (ids::DECRYPT, Attribute::Bool(true)),
                label("aes"),
            ],
        )
        .await
        .unwrap();
    let sealed = cu
        .encrypt(aes, "AES_GCM", b"kept secret", b"")
        .await
        .unwrap();
    let private = signer[1];
    cu.share_key(private, "cu2", true).await.unwrap();

    // Validate, then back up: the operation result is a BackupResult.
    let validated = backup_jobs::run(
        &s.emu,
        "rg",
        "chsm-src",
        "validateBackupProperties",
        backup_body(&s.container),
    )
    .await;
    assert_eq!(validated["status"], "Succeeded", "{validated}");
    let reply = backup_jobs::post(
        &s.emu,
        "rg",
        "chsm-src",
        "backup",
        backup_body(&s.container),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let location = reply.header("location").expect("Location");
    assert!(location.contains("/backupOperationStatus/"), "{location}");
    let done = s
        .emu
        .wait_async_operation(&reply.header("azure-asyncoperation").unwrap())
        .await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    let result = &done["properties"];
    assert_eq!(result["status"], "Succeeded");
    assert_eq!(
        result["statusDetails"], "Backup operation completed successfully.",
        "{result}"
    );
    assert_eq!(result["azureStorageBlobContainerUri"], s.container);
    assert!(
        result["startTime"].is_string() && result["endTime"].is_string(),
        "{result}"
    );
    assert_spec_fields("BackupResultProperties", result);
    let backup_id = result["backupId"].as_str().expect("backupId").to_string();
    let job_id = result["jobId"].as_str().expect("jobId").to_string();
    // backupOperationStatus/{jobId} answers the same result.
    let status = s.emu.wait_location(&location).await;
    assert_eq!(status.status, StatusCode::OK, "{status:?}");
    assert_eq!(status.body["properties"]["backupId"], backup_id.as_str());
    assert_eq!(status.body["properties"]["jobId"], job_id.as_str());

    // The blob is in Azurite, a versioned envelope that does not show key material.
    let token = storage_token(&s.emu, &s.identity).await;
    let (code, blob) = s.azurite.get_blob(&token, "backups", &backup_id).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(&blob[..8], backup_format::MAGIC);
    assert!(
        !String::from_utf8_lossy(&blob).contains("cu1"),
        "user names must not be readable"
    );
    // Azurite really checks the bearer token (OAuth mode).
    let (refused, _) = s
        .azurite
        .get_blob("not-a-token", "backups", &backup_id)
        .await;
    assert!(
        refused == StatusCode::UNAUTHORIZED || refused == StatusCode::FORBIDDEN,
        "{refused}"
    );

    // A restore needs a cluster that is not activated.
    let refused = backup_jobs::post(
        &s.emu,
        "rg",
        "chsm-src",
        "restore",
        restore_body(&s.container, &backup_id),
    )
    .await;
    refused.expect_error(StatusCode::BAD_REQUEST, "ClusterAlreadyActivated");

    // Restore into a new cluster.
    let target = s.cluster("chsm-dst").await;
    assert_eq!(s.activation_state("chsm-dst").await, "NotActivated");
    let validated = s
        .restore_job("chsm-dst", "validateRestoreProperties", &backup_id)
        .await;
    assert_eq!(validated["status"], "Succeeded", "{validated}");
    assert_eq!(
        s.activation_state("chsm-dst").await,
        "NotActivated",
        "validation changes nothing"
    );
    let restored = s.restore_job("chsm-dst", "restore", &backup_id).await;
    assert_eq!(restored["status"], "Succeeded", "{restored}");
    assert_eq!(restored["properties"]["status"], "Succeeded");
    assert!(restored["properties"]["jobId"].is_string());
    assert_spec_fields("BackupRestoreBaseResultProperties", &restored["properties"]);
    assert_eq!(s.activation_state("chsm-dst").await, "Active");

    // Old passwords, same key ids, attributes and shares; signatures verify
    // under the public key taken before the backup.
    let cu = s.emu.hsm_client(&target);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    assert_eq!(cu.find_keys(vec![label("signer")]).await.unwrap(), signer);
    assert_eq!(
        cu.find_keys(vec![label("ec")]).await.unwrap(),
        vec![ec.0, ec.1]
    );
    assert_eq!(
        cu.get_attribute(private, ids::SIGN).await.unwrap(),
        Attribute::Bool(true)
    );
    let signature = cu
        .sign(private, "SHA256_RSA_PKCS", b"after restore")
        .await
        .unwrap();
    verify_rsa(&rsa_public, b"after restore", &signature);
    assert_eq!(
        cu.decrypt(aes, "AES_GCM", &sealed, b"").await.unwrap(),
        b"kept secret"
    );
    let cu2 = s.emu.hsm_client(&target);
    cu2.login("CU", "cu2", "user5678").await.unwrap();
    let shared = cu2
        .sign(private, "SHA256_RSA_PKCS", b"shared")
        .await
        .unwrap();
    verify_rsa(&rsa_public, b"shared", &shared);
    let officer = s.emu.hsm_client(&target);
    officer.login("CO", "admin", "officer-pass1").await.unwrap();

    // Work on the restored cluster (a key deleted, one made) is kept through
    // a kill -9 on top of what the restore wrote.
    cu.delete_key(ec.0).await.unwrap();
    let made_after = cu
        .generate_key(KeySpec::Aes { bits: 128 }, vec![label("after restore")])
        .await
        .unwrap();
    let emu = s.emu.restart().await;
    let status = emu
        .call(Method::GET, &cluster_path("rg", "chsm-dst"), None)
        .await;
    assert_eq!(status.body["properties"]["activationState"], "Active");
    let cu = emu.hsm_client(&target);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    assert_eq!(cu.find_keys(vec![label("ec")]).await.unwrap(), vec![ec.1]);
    assert_eq!(
        cu.find_keys(vec![label("after restore")]).await.unwrap(),
        vec![made_after]
    );
    let signature = cu
        .sign(private, "SHA256_RSA_PKCS", b"after restart")
        .await
        .unwrap();
    verify_rsa(&rsa_public, b"after restart", &signature);
}

#[tokio::test]
async fn requests_that_cannot_work_are_refused_up_front() {
    let s = setup().await;
    s.grant().await;
    s.active_cluster_with_key("chsm1").await;
    let with_token =
        json!({ "azureStorageBlobContainerUri": s.container, "token": "sv=2022-11-02&sig=abc" });
    backup_jobs::post(&s.emu, "rg", "chsm1", "backup", with_token)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidParameter");
    for bad in [
        "not a uri",
        "http://127.0.0.1:1/devstoreaccount1/backups",
        "https://127.0.0.1:1/devstoreaccount1",
    ] {
        let reply = backup_jobs::post(&s.emu, "rg", "chsm1", "backup", backup_body(bad)).await;
        let error = reply.expect_error(StatusCode::BAD_REQUEST, "InvalidParameter");
        assert_eq!(error["target"], "azureStorageBlobContainerUri");
    }
    backup_jobs::post(&s.emu, "rg", "chsm1", "backup", json!({}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    backup_jobs::post(&s.emu, "rg", "chsm1", "restore", backup_body(&s.container))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    backup_jobs::post(&s.emu, "rg", "nosuch", "backup", backup_body(&s.container))
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");

    // A cluster without an identity.
    let plain = s.emu.create_cluster("rg", "chsm-noid").await;
    s.emu.activate(&plain, "officer-pass1").await;
    let error = backup_jobs::post(
        &s.emu,
        "rg",
        "chsm-noid",
        "backup",
        backup_body(&s.container),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "ManagedIdentityNotConfigured")
    .clone();
    assert_eq!(error["target"], "identity");

    // Unknown job ids.
    let unknown = s
        .emu
        .call(
            Method::GET,
            &backup_jobs::action_path(
                "rg",
                "chsm1",
                "backupOperationStatus/0123456789abcdef0123456789abcdef",
            ),
            None,
        )
        .await;
    unknown.expect_error(StatusCode::NOT_FOUND, "OperationNotFound");
}

#[tokio::test]
async fn storage_side_problems_fail_the_job_with_a_clear_error() {
    let s = setup().await;
    let (cluster, private, der) = s.active_cluster_with_key("chsm1").await;

    // No role assignment: 403 in the operation result, as Azure Storage answers.
    let done = backup_jobs::run(&s.emu, "rg", "chsm1", "backup", backup_body(&s.container)).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(
        done["error"]["code"], "AuthorizationPermissionMismatch",
        "{done}"
    );
    assert_eq!(done["properties"]["status"], "Failed");
    assert_eq!(
        done["properties"]["error"]["code"],
        "AuthorizationPermissionMismatch"
    );
    assert_eq!(
        done["properties"]["statusDetails"], done["error"]["message"],
        "a failed job's details are its error's message: {done}"
    );
    // A management role grants no data access either.
    let owner = assign_role(
        &s.emu,
        "rg",
        s.principal(),
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    )
    .await;
    assert_eq!(owner.status, StatusCode::CREATED);
    let done = backup_jobs::run(
        &s.emu,
        "rg",
        "chsm1",
        "validateBackupProperties",
        backup_body(&s.container),
    )
    .await;
    assert_eq!(
        done["error"]["code"], "AuthorizationPermissionMismatch",
        "{done}"
    );
    s.grant().await;

    // Missing container.
    let missing = s.azurite.container_uri("nosuchcontainer");
    let done = backup_jobs::run(
        &s.emu,
        "rg",
        "chsm1",
        "validateBackupProperties",
        backup_body(&missing),
    )
    .await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "ContainerNotFound", "{done}");

    // Unknown backup id.
    let target = s.cluster("chsm-dst").await;
    let done = backup_jobs::run(
        &s.emu,
        "rg",
        "chsm-dst",
        "restore",
        restore_body(&s.container, "cloudhsm-nosuchbackup"),
    )
    .await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "BackupNotFound", "{done}");
    assert_eq!(s.activation_state("chsm-dst").await, "NotActivated");

    // Truncated, tampered and foreign blobs fail the integrity check and
    // leave the target as it was.
    let backup_id = s.backup("chsm1").await;
    let token = storage_token(&s.emu, &s.identity).await;
    let (_, blob) = s.azurite.get_blob(&token, "backups", &backup_id).await;
    let mut tampered = blob.clone();
    let at = tampered.len() - 40;
    tampered[at] ^= 0x20;
    let foreign = backup_format::seal(
        &[7u8; 32],
        "foreign",
        "elsewhere",
        "2026-01-01T00:00:00Z",
        &[("meta".into(), b"{}".to_vec())],
    )
    .unwrap();
    for (name, bytes) in [
        ("truncated", blob[..blob.len() / 2].to_vec()),
        ("tampered", tampered),
        ("foreign", foreign),
        ("garbage", b"hello".to_vec()),
    ] {
        s.azurite.put_blob(&token, "backups", name, bytes).await;
        let done = backup_jobs::run(
            &s.emu,
            "rg",
            "chsm-dst",
            "restore",
            restore_body(&s.container, name),
        )
        .await;
        assert_eq!(done["status"], "Failed", "{name}: {done}");
        assert_eq!(
            done["error"]["code"], "BackupIntegrityCheckFailed",
            "{name}: {done}"
        );
        assert!(
            done["error"]["message"]
                .as_str()
                .unwrap()
                .contains("backup integrity check failed"),
            "{done}"
        );
        assert_eq!(
            s.activation_state("chsm-dst").await,
            "NotActivated",
            "{name}"
        );
    }
    // The target still takes the PRECO default login: nothing was applied.
    let preco = s.emu.hsm_client(&target);
    preco.login("PRECO", "admin", "password").await.unwrap();
    preco.logout().await.unwrap();

    // Azurite down: the backup fails clearly, the cluster is untouched.
    let mut s = s;
    s.azurite.stop();
    let done = backup_jobs::run(&s.emu, "rg", "chsm1", "backup", backup_body(&s.container)).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "StorageUnavailable", "{done}");
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{done}"
    );
    assert_eq!(s.activation_state("chsm1").await, "Active");
    let cu = s.emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let signature = cu
        .sign(private, "SHA256_RSA_PKCS", b"still here")
        .await
        .unwrap();
    verify_rsa(&der, b"still here", &signature);
}

#[tokio::test]
async fn role_assignments_crud_and_refusals() {
    let s = setup().await;
    let sub = cloudhsm_e2e_tests::SUB;
    let scope = format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1");
    let name = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let path = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"
    );
    let body = |role: &str, principal: &str| {
        json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "principalId": principal, "principalType": "ServicePrincipal"}})
    };
    let created = s
        .emu
        .call(
            Method::PUT,
            &path,
            Some(body(BLOB_DATA_CONTRIBUTOR, s.principal())),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(
        created.body["type"],
        "Microsoft.Authorization/roleAssignments"
    );
    assert_eq!(created.body["name"], name);
    assert_eq!(created.body["properties"]["scope"], scope);
    assert_eq!(created.body["properties"]["principalId"], s.principal());
    let got = s.emu.call(Method::GET, &path, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["id"], created.body["id"]);

    // Listed at the scope and, inherited, below; filtered by principal.
    let list = s
        .emu
        .call(Method::GET, &format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId eq '{}'", s.principal()), None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1, "{list:?}");

    // Refusals.
    let other = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/4fa85f64-5717-4562-b3fc-2c963f66afa6?api-version=2022-04-01");
    s.emu
        .call(
            Method::PUT,
            &other,
            Some(body(BLOB_DATA_CONTRIBUTOR, s.principal())),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "RoleAssignmentExists");
    s.emu
        .call(
            Method::PUT,
            &other,
            Some(body("00000000-1111-2222-3333-444444444444", s.principal())),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "RoleDefinitionDoesNotExist");
    s.emu
        .call(
            Method::PUT,
            &other,
            Some(body(
                BLOB_DATA_CONTRIBUTOR,
                "11111111-2222-3333-4444-555555555555",
            )),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "PrincipalNotFound");
    let not_guid = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/not-a-guid?api-version=2022-04-01");
    s.emu
        .call(
            Method::PUT,
            &not_guid,
            Some(body(BLOB_DATA_CONTRIBUTOR, s.principal())),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidRoleAssignmentId");

    // Delete: 200 with the assignment, then 204; GET is 404.
    let deleted = s.emu.call(Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(
        s.emu.call(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    s.emu
        .call(Method::GET, &path, None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "RoleAssignmentNotFound");
}

/// A stand-in for Blob Storage that fails the requests `fail_at` names
/// (503 ServerBusy, then 500 InternalError alternately) and forwards the
/// rest to the real Azurite. HTTPS (the managed identity's token only goes
/// over TLS), with the emulator's certificate; wiremock serves plain HTTP only.
mod flaky_blob {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use axum::{body::Bytes, extract::State, http::Request, response::Response};

    #[derive(Clone)]
    struct Proxy {
        upstream: String,
        seen: Arc<AtomicUsize>,
        failed: Arc<AtomicUsize>,
        fail_at: Arc<Vec<usize>>,
        http: reqwest::Client,
    }

    pub struct Flaky {
        pub port: u16,
        pub failed: Arc<AtomicUsize>,
        handle: axum_server::Handle,
    }

    impl Drop for Flaky {
        fn drop(&mut self) {
            self.handle.shutdown();
        }
    }

    async fn forward(State(proxy): State<Proxy>, request: Request<axum::body::Body>) -> Response {
        let n = proxy.seen.fetch_add(1, Ordering::SeqCst);
        if proxy.fail_at.contains(&n) {
            let k = proxy.failed.fetch_add(1, Ordering::SeqCst);
            let (status, code) = if k % 2 == 0 {
                (503, "ServerBusy")
            } else {
                (500, "InternalError")
            };
            return Response::builder()
                .status(status)
                .header("x-ms-error-code", code)
                .header("content-type", "application/xml")
                .body(format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>injected</Message></Error>").into())
                .unwrap();
        }
        let (parts, body) = request.into_parts();
        let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let url = format!(
            "{}{}",
            proxy.upstream,
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
        );
        let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap();
        let mut upstream = proxy.http.request(method, url).body(body.to_vec());
        for (name, value) in parts.headers.iter() {
            if name != "host" && name != "content-length" {
                upstream = upstream.header(name.as_str(), value.as_bytes());
            }
        }
        let reply = upstream.send().await.unwrap();
        let mut response = Response::builder().status(reply.status().as_u16());
        for (name, value) in reply.headers().iter() {
            if name != "content-length" && name != "transfer-encoding" {
                response = response.header(name.as_str(), value.as_bytes());
            }
        }
        response.body(reply.bytes().await.unwrap().into()).unwrap()
    }

    pub async fn start(
        emulator: &cloudhsm_e2e_tests::Emulator,
        azurite_port: u16,
        fail_at: Vec<usize>,
    ) -> Flaky {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let tls = emulator.data_dir().join("tls");
        let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(
            tls.join("server.pem"),
            tls.join("server.key"),
        )
        .await
        .unwrap();
        let failed = Arc::new(AtomicUsize::new(0));
        let proxy = Proxy {
            upstream: format!("https://127.0.0.1:{azurite_port}"),
            seen: Arc::new(AtomicUsize::new(0)),
            failed: failed.clone(),
            fail_at: Arc::new(fail_at),
            http: emulator.http.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(proxy);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, config).handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        Flaky {
            port,
            failed,
            handle,
        }
    }
}

#[tokio::test]
async fn transient_blob_errors_are_retried_with_backoff() {
    let s = setup().await;
    s.grant().await;
    let (_, private, der) = s.active_cluster_with_key("chsm1").await;
    // Fail the container check twice, a block stage and the block-list commit once each.
    let flaky = flaky_blob::start(&s.emu, s.azurite.port, vec![0, 1, 3, 5]).await;
    let container = format!("https://127.0.0.1:{}/devstoreaccount1/backups", flaky.port);
    let done = backup_jobs::run(&s.emu, "rg", "chsm1", "backup", backup_body(&container)).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(
        flaky.failed.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "every injected fault was met"
    );
    // The blob is whole: it restores (read straight from Azurite).
    let backup_id = done["properties"]["backupId"].as_str().unwrap();
    let target = s.cluster("chsm-dst").await;
    let restored = backup_jobs::run(
        &s.emu,
        "rg",
        "chsm-dst",
        "restore",
        restore_body(&s.container, backup_id),
    )
    .await;
    assert_eq!(restored["status"], "Succeeded", "{restored}");
    let cu = s.emu.hsm_client(&target);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    verify_rsa(
        &der,
        b"m",
        &cu.sign(private, "SHA256_RSA_PKCS", b"m").await.unwrap(),
    );
}

/// Blob names in a container (List Blobs, committed blobs only).
async fn committed_blobs(s: &Setup, token: &str) -> Vec<String> {
    let url = format!("{}?restype=container&comp=list", s.container);
    let xml = s
        .emu
        .http
        .get(url)
        .bearer_auth(token)
        .header(
            "x-ms-version",
            cloudhsm_e2e_tests::azurite::BLOB_API_VERSION,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    xml.split("<Name>")
        .skip(1)
        .filter_map(|p| p.split("</Name>").next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn kill_9_during_a_backup_ends_failed_or_succeeded_never_stuck() {
    let s = setup().await;
    s.grant().await;
    s.active_cluster_with_key("chsm1").await;
    let target_name = "chsm-dst";
    s.cluster(target_name).await;
    let reply = backup_jobs::post(&s.emu, "rg", "chsm1", "backup", backup_body(&s.container)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let status_url = reply.header("azure-asyncoperation").unwrap();
    let status_path = &status_url[status_url.find("/subscriptions/").unwrap()..];
    let s = s.restart().await;
    let status = s.emu.call(Method::GET, status_path, None).await;
    assert_eq!(status.status, StatusCode::OK, "{status:?}");
    let outcome = status.body["status"].as_str().unwrap().to_string();
    assert!(
        outcome == "Succeeded" || outcome == "Failed",
        "never left InProgress: {status:?}"
    );
    if outcome == "Failed" {
        assert_eq!(
            status.body["error"]["code"], "OperationInterrupted",
            "{status:?}"
        );
        assert!(
            status.body["properties"]["backupId"].is_null(),
            "a failed backup names no blob"
        );
    }
    // Every committed blob is a whole backup: each validates for restore.
    let token = storage_token(&s.emu, &s.identity).await;
    for blob in committed_blobs(&s, &token).await {
        let done = s
            .restore_job(target_name, "validateRestoreProperties", &blob)
            .await;
        assert_eq!(
            done["status"], "Succeeded",
            "blob {blob} is not a whole backup: {done}"
        );
    }
    // The cluster backs up normally after the restart.
    s.backup("chsm1").await;
}

/// A restore lands in one atomic batch (the snapshot): after a kill -9 its
/// job is `Succeeded` with the cluster restored, or `Failed` with the
/// cluster untouched and able to take the restore again; never in between.
#[tokio::test]
async fn kill_9_during_a_restore_leaves_it_whole_or_not_at_all() {
    let s = setup().await;
    s.grant().await;
    let (_, _, public) = s.active_cluster_with_key("chsm-src").await;
    let backup_id = s.backup("chsm-src").await;
    let target = s.cluster("chsm-dst").await;
    let reply = backup_jobs::post(
        &s.emu,
        "rg",
        "chsm-dst",
        "restore",
        restore_body(&s.container, &backup_id),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let status_url = reply.header("azure-asyncoperation").unwrap();
    let status_path = status_url[status_url.find("/subscriptions/").unwrap()..].to_string();
    let s = s.restart().await;

    let status = s.emu.call(Method::GET, &status_path, None).await;
    let outcome = status.body["status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match outcome.as_str() {
        "Succeeded" => assert_eq!(s.activation_state("chsm-dst").await, "Active"),
        "Failed" => {
            assert_eq!(
                status.body["error"]["code"], "OperationInterrupted",
                "{status:?}"
            );
            assert_eq!(s.activation_state("chsm-dst").await, "NotActivated");
            let again = s.restore_job("chsm-dst", "restore", &backup_id).await;
            assert_eq!(again["status"], "Succeeded", "{again}");
        }
        other => panic!("never left {other}: {status:?}"),
    }
    // Either way the restored cluster now signs with the backed-up key.
    let cu = s.emu.hsm_client(&target);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let signer = cu.find_keys(vec![label("signer")]).await.unwrap();
    let signature = cu
        .sign(signer[1], "SHA256_RSA_PKCS", b"after a crash")
        .await
        .unwrap();
    verify_rsa(&public, b"after a crash", &signature);
}
