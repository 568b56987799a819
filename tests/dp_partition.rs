//! The partition through the network API and the Rust client: activation
//! with the owner's certificates, `unlockCO` with PO.key, masked objects,
//! digest, random and RSA-OAEP wrapping, user attributes and
//! `disableUserAccess`, `findAllKeys`, the caller's address in audit events,
//! and a busy session.

use cloudhsm_data_plane::{
    client::{ClientError, HsmClient},
    engine::{
        attributes::{ids, Attribute},
        partition::check_csr,
    },
    onboarding::PartitionOwner,
    server::wire::{KeyOwnershipBody, UserAttributesRequest},
    KeySpec,
};
use cloudhsm_e2e_tests::{cluster_path, usage, Emulator};
use reqwest::Method;

#[track_caller]
fn assert_error(result: Result<impl std::fmt::Debug, ClientError>, status: u16, code: &str) {
    let error = result.expect_err("the call should fail");
    assert_eq!(
        (error.status, error.code.as_str()),
        (status, code),
        "{}",
        error.message
    );
}

async fn activation_state(emu: &Emulator, name: &str) -> String {
    let arm = emu.call(Method::GET, &cluster_path("rg", name), None).await;
    arm.body["properties"]["activationState"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A CSR for a key that is not the partition's.
fn foreign_csr() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    rcgen::CertificateParams::new(vec![])
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap()
}

/// An activated cluster with crypto users `cu1` and `cu2`; the officer's client.
async fn cluster_with_users(emu: &Emulator, name: &str) -> (serde_json::Value, HsmClient) {
    let cluster = emu.create_cluster("rg", name).await;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    for cu in ["cu1", "cu2"] {
        officer.create_user("CU", cu, "user1234").await.unwrap();
    }
    (cluster, officer)
}

/// A started emulator with group `rg` and [`cluster_with_users`] `chsm1`.
async fn emulator_with_chsm1() -> (Emulator, serde_json::Value, HsmClient) {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let (cluster, officer) = cluster_with_users(&emu, "chsm1").await;
    (emu, cluster, officer)
}

async fn cu(emu: &Emulator, cluster: &serde_json::Value, name: &str) -> HsmClient {
    let client = emu.hsm_client(cluster);
    client.login("CU", name, "user1234").await.unwrap();
    client
}

#[tokio::test]
async fn activation_needs_the_owners_certificates_and_the_po_certificate_never_changes() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    let preco = emu.hsm_client(&cluster);
    preco.login("PRECO", "admin", "password").await.unwrap();

    // Without the certificates the password change does not activate.
    assert_error(
        preco.change_password("admin", "officer-password").await,
        409,
        "RET_PARTITION_NOT_INITIALIZED",
    );
    assert_eq!(activation_state(&emu, "chsm1").await, "NotActivated");

    let csr = preco.get_cert_req().await.unwrap();
    assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    check_csr(&csr).unwrap();
    assert_eq!(
        preco.get_cert_req().await.unwrap(),
        csr,
        "one partition key"
    );

    let owner = PartitionOwner::generate_rsa().unwrap();
    assert_error(
        preco
            .store_certificate(8, &owner.sign_csr(&csr).unwrap())
            .await,
        409,
        "RET_PARTITION_NOT_INITIALIZED",
    );
    assert_error(
        preco.store_certificate(4, "not a certificate").await,
        400,
        "RET_INVALID_CERTIFICATE",
    );
    assert_error(
        preco.store_certificate(5, owner.certificate_pem()).await,
        400,
        "CKR_DATA_INVALID",
    );
    preco
        .store_certificate(4, owner.certificate_pem())
        .await
        .unwrap();
    let intruder = PartitionOwner::generate().unwrap();
    assert_error(
        preco.store_certificate(4, intruder.certificate_pem()).await,
        409,
        "RET_CERTIFICATE_EXISTS",
    );
    // A POAC signed by another key, or for another key, is refused.
    assert_error(
        preco
            .store_certificate(8, &intruder.sign_csr(&csr).unwrap())
            .await,
        400,
        "RET_INVALID_CERTIFICATE",
    );
    assert_error(
        preco
            .store_certificate(8, &owner.sign_csr(&foreign_csr()).unwrap())
            .await,
        400,
        "RET_INVALID_CERTIFICATE",
    );
    assert_error(
        preco.change_password("admin", "officer-password").await,
        409,
        "RET_PARTITION_NOT_INITIALIZED",
    );
    assert_eq!(activation_state(&emu, "chsm1").await, "NotActivated");

    preco
        .store_certificate(8, &owner.sign_csr(&csr).unwrap())
        .await
        .unwrap();
    preco
        .change_password("admin", "officer-password")
        .await
        .unwrap();
    assert_eq!(activation_state(&emu, "chsm1").await, "Active");

    // After a restart the owner is still the owner.
    let emu = emu.restart().await;
    let cluster = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await
        .body;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    assert_eq!(officer.get_cert_req().await.unwrap(), csr);
    assert_error(
        officer
            .store_certificate(4, intruder.certificate_pem())
            .await,
        409,
        "RET_CERTIFICATE_EXISTS",
    );
    assert_error(
        officer
            .store_certificate(8, &owner.sign_csr(&csr).unwrap())
            .await,
        409,
        "RET_CERTIFICATE_EXISTS",
    );
    officer.create_user("CU", "cu1", "user1234").await.unwrap();
    let cu = cu(&emu, &cluster, "cu1").await;
    assert_error(cu.get_cert_req().await, 403, "RET_OPERATION_NOT_PERMITTED");
    assert_error(
        cu.store_certificate(4, owner.certificate_pem()).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
}

#[tokio::test]
async fn unlock_co_takes_the_challenge_signed_with_the_po_key() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;

    // Before activation there is no owner to ask.
    let fresh = emu.create_cluster("rg", "fresh").await;
    assert_error(
        emu.hsm_client(&fresh).get_challenge("admin").await,
        409,
        "RET_PARTITION_NOT_INITIALIZED",
    );

    let cluster = emu.create_cluster("rg", "chsm1").await;
    let owner = emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    officer
        .create_user("CO", "co2", "officer2-password")
        .await
        .unwrap();
    officer.create_user("CU", "cu1", "user1234").await.unwrap();

    let co2 = emu.hsm_client(&cluster);
    for _ in 0..5 {
        assert_error(
            co2.login("CO", "co2", "wrong-password").await,
            401,
            "RET_USER_LOGIN_FAILURE",
        );
    }
    assert_error(
        co2.login("CO", "co2", "officer2-password").await,
        423,
        "RET_USER_LOCKED",
    );

    let anyone = emu.hsm_client(&cluster);
    // Signed by another key: refused, and the challenge is spent.
    let challenge = anyone.get_challenge("co2").await.unwrap();
    assert_eq!(challenge.len(), 32);
    let intruder = PartitionOwner::generate().unwrap();
    assert_error(
        anyone
            .unlock_officer("co2", &intruder.sign_challenge(&challenge).unwrap(), None)
            .await,
        400,
        "CKR_SIGNATURE_INVALID",
    );
    assert_error(
        anyone
            .unlock_officer("co2", &owner.sign_challenge(&challenge).unwrap(), None)
            .await,
        400,
        "CKR_DATA_INVALID",
    );
    assert_error(
        co2.login("CO", "co2", "officer2-password").await,
        423,
        "RET_USER_LOCKED",
    );

    // The owner's signature unlocks and resets the password.
    let challenge = anyone.get_challenge("co2").await.unwrap();
    anyone
        .unlock_officer(
            "co2",
            &owner.sign_challenge(&challenge).unwrap(),
            Some("reset-password-1"),
        )
        .await
        .unwrap();
    assert_error(
        co2.login("CO", "co2", "officer2-password").await,
        401,
        "RET_USER_LOGIN_FAILURE",
    );
    co2.login("CO", "co2", "reset-password-1").await.unwrap();

    // Only for crypto officers; a crypto officer unlocks the others.
    assert_error(
        anyone.get_challenge("cu1").await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        anyone.get_challenge("nobody").await,
        404,
        "RET_USER_NOT_FOUND",
    );
    let challenge = anyone.get_challenge("co2").await.unwrap();
    assert_error(
        anyone
            .unlock_officer(
                "co2",
                &owner.sign_challenge(&challenge).unwrap(),
                Some("short"),
            )
            .await,
        400,
        "CKR_PIN_LEN_RANGE",
    );
}

#[tokio::test]
async fn masked_objects_return_only_to_their_cluster() {
    let (emu, cluster, _officer) = emulator_with_chsm1().await;
    let cu1 = cu(&emu, &cluster, "cu1").await;
    let cu2 = cu(&emu, &cluster, "cu2").await;

    let key = cu1
        .generate_key(
            KeySpec::Aes { bits: 256 },
            vec![
                (ids::ENCRYPT, Attribute::Bool(true)),
                (ids::DECRYPT, Attribute::Bool(true)),
                (ids::EXTRACTABLE, Attribute::Bool(false)),
                (ids::LABEL, Attribute::Text("masked".into())),
            ],
        )
        .await
        .unwrap();
    let sealed = cu1.encrypt(key, "AES_GCM", b"secret", b"").await.unwrap();
    cu1.share_key(key, "cu2", true).await.unwrap();

    // Not extractable, yet it can be masked: by its owner only.
    let blob = cu1.extract_masked_object(key).await.unwrap();
    assert!(
        !blob.windows(6).any(|w| w == b"masked"),
        "the blob is sealed"
    );
    assert_error(
        cu2.extract_masked_object(key).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        cu2.insert_masked_object(&blob).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );

    // Back in as a new key with everything it had.
    cu1.delete_key(key).await.unwrap();
    let restored = cu1.insert_masked_object(&blob).await.unwrap();
    assert_ne!(restored, key);
    assert_eq!(
        cu1.decrypt(restored, "AES_GCM", &sealed, b"")
            .await
            .unwrap(),
        b"secret"
    );
    assert_eq!(
        cu1.get_attribute(restored, ids::EXTRACTABLE).await.unwrap(),
        Attribute::Bool(false)
    );
    assert_eq!(
        cu1.get_attribute(restored, ids::LABEL).await.unwrap(),
        Attribute::Text("masked".into())
    );
    assert_eq!(
        cu2.decrypt(restored, "AES_GCM", &sealed, b"")
            .await
            .unwrap(),
        b"secret",
        "the share came back too"
    );

    // Altered, or from another cluster: refused, nothing inserted.
    let mut altered = blob.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert_error(
        cu1.insert_masked_object(&altered).await,
        400,
        "CKR_WRAPPED_KEY_INVALID",
    );
    assert_error(
        cu1.insert_masked_object(b"garbage").await,
        400,
        "CKR_WRAPPED_KEY_INVALID",
    );
    let (other, _) = cluster_with_users(&emu, "chsm2").await;
    let other_cu1 = cu(&emu, &other, "cu1").await;
    assert_error(
        other_cu1.insert_masked_object(&blob).await,
        400,
        "CKR_WRAPPED_KEY_INVALID",
    );
    assert!(other_cu1.find_keys(vec![]).await.unwrap().is_empty());
    assert_eq!(
        cu1.find_keys(vec![]).await.unwrap(),
        vec![restored],
        "refused inserts added nothing"
    );
}

#[tokio::test]
async fn digest_random_and_rsa_oaep_wrapping() {
    let (emu, cluster, officer) = emulator_with_chsm1().await;
    let cu1 = cu(&emu, &cluster, "cu1").await;

    for (name, algorithm) in [
        ("SHA256", &aws_lc_rs::digest::SHA256),
        ("SHA384", &aws_lc_rs::digest::SHA384),
        ("CKM_SHA512", &aws_lc_rs::digest::SHA512),
    ] {
        assert_eq!(
            cu1.digest(name, b"abc").await.unwrap(),
            aws_lc_rs::digest::digest(algorithm, b"abc").as_ref(),
            "{name}"
        );
    }
    assert_eq!(officer.digest("SHA256", b"").await.unwrap().len(), 32);
    assert_error(
        cu1.digest("MD5", b"abc").await,
        400,
        "CKR_MECHANISM_INVALID",
    );
    assert_error(
        cu1.digest("SHA256", &vec![0u8; 20_000]).await,
        400,
        "CKR_DATA_INVALID",
    );

    let a = cu1.generate_random(32).await.unwrap();
    let b = cu1.generate_random(32).await.unwrap();
    assert_eq!((a.len(), b.len()), (32, 32));
    assert_ne!(a, b);
    assert_eq!(
        cu1.generate_random(16 * 1024).await.unwrap().len(),
        16 * 1024
    );
    assert_error(cu1.generate_random(0).await, 400, "CKR_DATA_INVALID");
    assert_error(
        cu1.generate_random(16 * 1024 + 1).await,
        400,
        "CKR_DATA_INVALID",
    );

    // RSA-OAEP: wrap under the public key, unwrap with the private key.
    let (public, private) = cu1
        .generate_key_pair(
            KeySpec::Rsa { bits: 2048 },
            usage(&[ids::WRAP, ids::UNWRAP]),
        )
        .await
        .unwrap();
    let crypt = usage(&[ids::ENCRYPT, ids::DECRYPT]);
    let aes = cu1
        .generate_key(KeySpec::Aes { bits: 256 }, crypt.clone())
        .await
        .unwrap();
    let sealed = cu1.encrypt(aes, "AES_GCM", b"payload", b"").await.unwrap();
    let wrapped = cu1.wrap_key(public, aes, "RSA_OAEP").await.unwrap();
    assert_eq!(wrapped.len(), 256);
    let copy = cu1
        .unwrap_key(
            private,
            &wrapped,
            "RSA_OAEP",
            KeySpec::Aes { bits: 256 },
            crypt,
        )
        .await
        .unwrap();
    assert_eq!(
        cu1.decrypt(copy, "AES_GCM", &sealed, b"").await.unwrap(),
        b"payload"
    );
    assert_error(
        cu1.wrap_key(private, aes, "RSA_OAEP").await,
        400,
        "CKR_MECHANISM_INVALID",
    );
    assert_error(
        cu1.unwrap_key(
            public,
            &wrapped,
            "RSA_OAEP",
            KeySpec::Aes { bits: 256 },
            vec![],
        )
        .await,
        400,
        "CKR_MECHANISM_INVALID",
    );
    assert_error(
        cu1.unwrap_key(
            private,
            &[1u8; 256],
            "RSA_OAEP",
            KeySpec::Aes { bits: 256 },
            vec![],
        )
        .await,
        400,
        "CKR_ENCRYPTED_DATA_INVALID",
    );

    // The same rules as AES key wrap: EXTRACTABLE, WRAP_WITH_TRUSTED, owner.
    let guarded = cu1
        .generate_key(KeySpec::Aes { bits: 128 }, usage(&[ids::WRAP_WITH_TRUSTED]))
        .await
        .unwrap();
    assert_error(
        cu1.wrap_key(public, guarded, "RSA_OAEP").await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    officer
        .set_attribute(public, ids::TRUSTED, Attribute::Bool(true))
        .await
        .unwrap();
    cu1.wrap_key(public, guarded, "RSA_OAEP").await.unwrap();
    cu1.set_attribute(aes, ids::EXTRACTABLE, Attribute::Bool(false))
        .await
        .unwrap();
    assert_error(
        cu1.wrap_key(public, aes, "RSA_OAEP").await,
        403,
        "CKR_KEY_UNEXTRACTABLE",
    );
    cu1.share_key(copy, "cu2", true).await.unwrap();
    cu1.share_key(public, "cu2", true).await.unwrap();
    let cu2 = cu(&emu, &cluster, "cu2").await;
    assert_error(
        cu2.wrap_key(public, copy, "RSA_OAEP").await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
}

#[tokio::test]
async fn user_attributes_disable_user_access_and_find_all_keys() {
    let (emu, cluster, officer) = emulator_with_chsm1().await;
    let cu1 = cu(&emu, &cluster, "cu1").await;
    let cu2 = cu(&emu, &cluster, "cu2").await;
    let k1 = cu1
        .generate_key(KeySpec::Aes { bits: 128 }, usage(&[ids::ENCRYPT]))
        .await
        .unwrap();
    cu1.share_key(k1, "cu2", true).await.unwrap();
    let k2 = cu2
        .generate_key(KeySpec::Aes { bits: 128 }, vec![])
        .await
        .unwrap();

    // findAllKeys: officers see handles and owners, and still cannot use keys.
    let all = officer.find_all_keys(None).await.unwrap();
    assert_eq!(
        all,
        vec![
            KeyOwnershipBody {
                handle: k1,
                owner: "cu1".into(),
                shared_with: vec!["cu2".into()],
            },
            KeyOwnershipBody {
                handle: k2,
                owner: "cu2".into(),
                shared_with: vec![],
            },
        ]
    );
    let of_cu2: Vec<u64> = officer
        .find_all_keys(Some("cu2"))
        .await
        .unwrap()
        .iter()
        .map(|k| k.handle)
        .collect();
    assert_eq!(of_cu2, vec![k1, k2]);
    assert_error(
        officer.encrypt(k1, "AES_GCM", b"x", b"").await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    let own: Vec<u64> = cu1
        .find_all_keys(None)
        .await
        .unwrap()
        .iter()
        .map(|k| k.handle)
        .collect();
    assert_eq!(own, vec![k1]);
    assert_error(
        cu1.find_all_keys(Some("cu2")).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        officer.find_all_keys(Some("nobody")).await,
        404,
        "RET_USER_NOT_FOUND",
    );

    // setUserAttributes: a disabled user's logins end and it cannot log in.
    let disable = |on: bool| UserAttributesRequest {
        login_disabled: Some(on),
    };
    officer
        .set_user_attributes("cu2", disable(true))
        .await
        .unwrap();
    assert_error(
        cu2.find_all_keys(None).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        emu.hsm_client(&cluster)
            .login("CU", "cu2", "user1234")
            .await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    officer
        .set_user_attributes("cu2", disable(false))
        .await
        .unwrap();
    assert_eq!(cu2.find_all_keys(None).await.unwrap().len(), 2);
    assert_error(
        officer.set_user_attributes("admin", disable(true)).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        cu1.set_user_attributes("cu2", disable(true)).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        officer.set_user_attributes("nobody", disable(true)).await,
        404,
        "RET_USER_NOT_FOUND",
    );

    // disableUserAccess: cu1 takes its management away from officers, for good.
    assert_error(
        cu1.disable_user_access("cu2").await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        officer.disable_user_access("admin").await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    cu1.disable_user_access("cu1").await.unwrap();
    cu1.delete_key(k1).await.unwrap();
    let emu = emu.restart().await;
    let cluster = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await
        .body;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    assert_error(
        officer.delete_user("cu1").await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        officer.change_password("cu1", "officer-chosen-1").await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert_error(
        officer.set_user_attributes("cu1", disable(true)).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    let cu1 = cu(&emu, &cluster, "cu1").await;
    cu1.change_password("cu1", "my-own-choice-1").await.unwrap();
    // Other users stay manageable.
    officer
        .change_password("cu2", "officer-chosen-2")
        .await
        .unwrap();
}

#[tokio::test]
async fn audit_events_name_the_caller_ip_and_a_busy_session_is_refused() {
    let (emu, cluster, _officer) = emulator_with_chsm1().await;
    let cu1 = cu(&emu, &cluster, "cu1").await;
    cu1.digest("SHA256", b"abc").await.unwrap();
    let events = cu1.audit_events(emu.token()).await.unwrap();
    for name in [
        "CN_LOGIN",
        "CN_STORE_CERT",
        "CN_CREATE_USER",
        "HASH_SINGLE_CALL",
    ] {
        let event = events
            .iter()
            .find(|e| e["OperationName"] == name)
            .unwrap_or_else(|| panic!("no {name} event"));
        assert_eq!(event["CallerIpAddress"], "127.0.0.1", "{name}");
    }
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("cu1") && !text.contains("user1234"));

    // Two calls at once on one session: the second is refused, clearly.
    let endpoint: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(emu.data_dir().join("data-plane.json")).unwrap(),
    )
    .unwrap();
    let hsm = cluster["properties"]["hsms"][0]["fqdn"].as_str().unwrap();
    let base = format!("{}/hsms/{hsm}", endpoint["endpoint"].as_str().unwrap());
    let login: serde_json::Value = emu
        .http
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"user_type": "CU", "user": "cu1", "password": "user1234"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let session: serde_json::Value = emu
        .http
        .post(format!("{base}/sessions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = session["session"].to_string();
    let request = |path: &str, body: serde_json::Value| {
        emu.http
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .header("x-hsm-session", &session)
            .json(&body)
            .send()
    };
    // RSA-4096 generation holds the session for a while.
    let slow = request(
        "/keypairs",
        serde_json::json!({"spec": {"Rsa": {"bits": 4096}}, "attributes": []}),
    );
    let digest = serde_json::json!({"mechanism": "SHA256", "data": ""});
    let probe = async {
        for _ in 0..500 {
            let response = request("/digest", digest.clone()).await.unwrap();
            if response.status() == 409 {
                let body: serde_json::Value = response.json().await.unwrap();
                return Some(body);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        None
    };
    let (slow, busy) = tokio::join!(slow, probe);
    assert_eq!(slow.unwrap().status(), 200, "the first call completes");
    let busy = busy.expect("a concurrent call on the session is refused");
    assert_eq!(busy["code"], "CKR_OPERATION_ACTIVE");
    assert!(busy["message"]
        .as_str()
        .unwrap()
        .contains("one thread at a time"));
    let after = request("/digest", digest).await.unwrap();
    assert_eq!(after.status(), 200, "the session is free again");
}
