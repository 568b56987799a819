//! The HSM network API through the emulator binary, with the Rust client:
//! activation, users, keys and crypto, errors, failover and implicit login.

use cloudhsm_data_plane::{
    engine::{
        attributes::{ids, Attribute},
        keys::Curve,
    },
    KeySpec,
};
use cloudhsm_e2e_tests::{cluster_path, usage, Emulator};
use reqwest::Method;

fn signing() -> Vec<(u32, Attribute)> {
    vec![
        (ids::SIGN, Attribute::Bool(true)),
        (ids::VERIFY, Attribute::Bool(true)),
        (ids::LABEL, Attribute::Text("app-key".into())),
    ]
}

#[tokio::test]
async fn activate_create_users_generate_sign_and_fail_cleanly() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;

    // Activation: the owner's certificates, then the pre-crypto-officer
    // changes its default password.
    emu.activate(&cluster, "officer-password").await;
    let arm = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(arm.body["properties"]["activationState"], "Active");

    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    officer.create_user("CU", "cu1", "user1234").await.unwrap();
    let users = officer.list_users().await.unwrap();
    assert!(users.iter().any(|u| u.name == "cu1" && u.user_type == "CU"));
    let refused = officer
        .generate_key(KeySpec::Aes { bits: 256 }, vec![])
        .await
        .unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (403, "RET_OPERATION_NOT_PERMITTED")
    );

    let cu = emu.hsm_client(&cluster);
    let wrong = cu.login("CU", "cu1", "not-the-password").await.unwrap_err();
    assert_eq!(
        (wrong.status, wrong.code.as_str()),
        (401, "RET_USER_LOGIN_FAILURE")
    );
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let (public, private) = cu
        .generate_key_pair(KeySpec::Rsa { bits: 2048 }, signing())
        .await
        .unwrap();
    let signature = cu
        .sign(private, "SHA256_RSA_PKCS", b"payload")
        .await
        .unwrap();
    cu.verify(public, "SHA256_RSA_PKCS", b"payload", &signature)
        .await
        .unwrap();
    let der = cu.export_public_key(public).await.unwrap();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        &der,
    )
    .verify(b"payload", &signature)
    .unwrap();
    assert_eq!(
        cu.find_keys(vec![(ids::LABEL, Attribute::Text("app-key".into()))])
            .await
            .unwrap(),
        vec![public, private]
    );
    assert_eq!(
        cu.get_attribute(private, ids::SIGN).await.unwrap(),
        Attribute::Bool(true)
    );

    let aes = cu
        .generate_key(
            KeySpec::Aes { bits: 256 },
            usage(&[ids::ENCRYPT, ids::DECRYPT]),
        )
        .await
        .unwrap();
    let sealed = cu.encrypt(aes, "AES_GCM", b"secret", b"").await.unwrap();
    assert_eq!(
        cu.decrypt(aes, "AES_GCM", &sealed, b"").await.unwrap(),
        b"secret"
    );

    // Wrap and unwrap: the unwrapped copy decrypts what the original sealed;
    // a non-extractable key never leaves.
    let kek = cu
        .generate_key(KeySpec::Aes { bits: 256 }, usage(&[ids::WRAP, ids::UNWRAP]))
        .await
        .unwrap();
    let wrapped = cu.wrap_key(kek, aes, "AES_KEY_WRAP_PAD").await.unwrap();
    let copy = cu
        .unwrap_key(
            kek,
            &wrapped,
            "AES_KEY_WRAP_PAD",
            KeySpec::Aes { bits: 256 },
            usage(&[ids::DECRYPT]),
        )
        .await
        .unwrap();
    assert_eq!(
        cu.decrypt(copy, "AES_GCM", &sealed, b"").await.unwrap(),
        b"secret"
    );
    cu.set_attribute(aes, ids::EXTRACTABLE, Attribute::Bool(false))
        .await
        .unwrap();
    let refused = cu.wrap_key(kek, aes, "AES_KEY_WRAP_PAD").await.unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (403, "CKR_KEY_UNEXTRACTABLE")
    );

    // Clear errors, nothing changed.
    let bad = cu.sign(private, "ROT13", b"x").await.unwrap_err();
    assert_eq!(
        (bad.status, bad.code.as_str()),
        (400, "CKR_MECHANISM_INVALID")
    );
    let bad = cu.sign(aes, "SHA256_HMAC", b"x").await.unwrap_err();
    assert_eq!(bad.code, "CKR_KEY_FUNCTION_NOT_PERMITTED");
    let bad = cu
        .sign(private, "SHA256_RSA_PKCS", &vec![0u8; 20_000])
        .await
        .unwrap_err();
    assert_eq!(bad.code, "CKR_DATA_INVALID");
    let bad = cu.sign(999_999, "SHA256_RSA_PKCS", b"x").await.unwrap_err();
    assert_eq!(
        (bad.status, bad.code.as_str()),
        (404, "CKR_OBJECT_HANDLE_INVALID")
    );
    let bad = cu
        .set_attribute(private, ids::EXTRACTABLE, Attribute::Bool(false))
        .await;
    assert!(bad.is_ok());
    let bad = cu
        .set_attribute(private, ids::EXTRACTABLE, Attribute::Bool(true))
        .await
        .unwrap_err();
    assert_eq!(bad.code, "CKR_ATTRIBUTE_READ_ONLY");

    // Requests that are not the API's are refused in its error shape.
    let endpoint: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(emu.data_dir().join("data-plane.json")).unwrap(),
    )
    .unwrap();
    let endpoint = endpoint["endpoint"].as_str().unwrap();
    let unknown = emu
        .http
        .get(format!("{endpoint}/hsms/nowhere.example/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["code"], "RET_UNKNOWN_HSM");
    let hsm = cluster["properties"]["hsms"][0]["fqdn"].as_str().unwrap();
    let anonymous = emu
        .http
        .post(format!("{endpoint}/hsms/{hsm}/keys/find"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let malformed = emu
        .http
        .post(format!("{endpoint}/hsms/{hsm}/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["code"], "RET_INVALID_REQUEST");
}

#[tokio::test]
async fn fails_over_between_hsms_and_logs_in_again_after_a_restart() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    officer.create_user("CU", "cu1", "user1234").await.unwrap();

    let cu = emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let (public, private) = cu
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, signing())
        .await
        .unwrap();

    // HSM 1 fails: the client moves on to HSM 2 without the caller noticing.
    officer.admin_node(emu.token(), 0, "stop").await.unwrap();
    let arm = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(arm.body["properties"]["hsms"][0]["state"], "Failed");
    let signature = cu.sign(private, "ECDSA", b"during failover").await.unwrap();
    cu.verify(public, "ECDSA", b"during failover", &signature)
        .await
        .unwrap();
    // A user created now misses HSM 1 until syncUser; keys catch up.
    officer.create_user("CU", "cu2", "user1234").await.unwrap();
    let key = cu
        .generate_key(KeySpec::Aes { bits: 128 }, vec![])
        .await
        .unwrap();
    officer.admin_node(emu.token(), 0, "start").await.unwrap();
    assert_eq!(
        cu.find_single_key(key).await.unwrap(),
        vec![(0, true), (1, true), (2, true)]
    );
    let listings = cu.node_listings().await.unwrap();
    assert_eq!(listings[1].users, listings[0].users + 1);
    officer.sync_user("cu2").await.unwrap();
    let listings = cu.node_listings().await.unwrap();
    assert!(listings.iter().all(|n| n.digest == listings[0].digest));

    // The emulator restarts: logins are gone; the client logs in again by
    // itself and the key keeps its handle.
    let emu = emu.restart().await;
    let cluster = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await
        .body;
    let cu_again = emu.hsm_client(&cluster);
    cu_again.login("CU", "cu1", "user1234").await.unwrap();
    let signature = cu_again
        .sign(private, "ECDSA", b"after restart")
        .await
        .unwrap();
    cu_again
        .verify(public, "ECDSA", b"after restart", &signature)
        .await
        .unwrap();
    drop(cu);
    let implicit = emu.hsm_client(&cluster);
    std::env::set_var("azcloudhsm_password", "cu1:user1234");
    implicit.login_from_env().await.unwrap();
    assert!(implicit.find_keys(vec![]).await.unwrap().contains(&private));
}
