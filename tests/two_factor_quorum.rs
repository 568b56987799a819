//! Opt-in 2FA for crypto officers and M-of-N quorum for user management,
//! through the emulator binary's network API with the Rust client (and raw
//! requests for malformed input): each rule, its errors, and persistence
//! across `kill -9`.

use std::time::Duration;

use cloudhsm_data_plane::{
    client::{ClientError, HsmClient, TwoFactorKey},
    server::wire::{AuthData, SecurityChange},
};
use cloudhsm_e2e_tests::Emulator;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn assert_error(result: Result<impl std::fmt::Debug, ClientError>, status: u16, code: &str) {
    let error = result.expect_err("the call should fail");
    assert_eq!(
        (error.status, error.code.as_str()),
        (status, code),
        "{error}"
    );
}

fn turn_on(two_factor: Option<bool>, quorum: Option<bool>) -> SecurityChange {
    SecurityChange {
        two_factor,
        quorum,
        ..Default::default()
    }
}

/// A provisioned, activated cluster; answers it and its officer `admin`'s client.
async fn activated(emu: &Emulator) -> (Value, HsmClient) {
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    emu.activate(&cluster, "officer-password").await;
    let admin = emu.hsm_client(&cluster);
    admin
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    (cluster, admin)
}

async fn post(emu: &Emulator, url: &str, body: Value) -> (StatusCode, Value) {
    let response = emu.http.post(url).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_factor_officers_over_the_network_api() {
    let emu = Emulator::start().await;
    let (cluster, admin) = activated(&emu).await;
    let key = TwoFactorKey::generate().unwrap();
    let wrong = TwoFactorKey::generate().unwrap();

    // Off until a crypto officer turns it on; a crypto user cannot.
    assert_error(
        admin
            .create_user_two_factor("CO", "co2", "officer2-pass", &key)
            .await,
        409,
        "RET_FEATURE_DISABLED",
    );
    admin.create_user("CU", "cu1", "user1234").await.unwrap();
    let cu = emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    assert_error(
        cu.set_security(turn_on(Some(true), None)).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    assert!(
        admin
            .set_security(turn_on(Some(true), None))
            .await
            .unwrap()
            .two_factor
    );

    // Crypto officers only.
    assert_error(
        admin
            .create_user_two_factor("CU", "cu2", "user1234", &key)
            .await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    admin
        .create_user_two_factor("CO", "co2", "officer2-pass", &key)
        .await
        .unwrap();
    let view = admin.security().await.unwrap();
    assert_eq!(view.two_factor_officers, ["co2"]);
    assert_eq!(view.quorum_officers, ["co2"]);

    // The password alone is refused; the wrong key is refused.
    let co2 = emu.hsm_client(&cluster);
    assert_error(
        co2.login("CO", "co2", "officer2-pass").await,
        401,
        "RET_2FA_REQUIRED",
    );
    assert_error(
        co2.login_two_factor("CO", "co2", "officer2-pass", &wrong)
            .await,
        401,
        "RET_2FA_VERIFICATION_FAILED",
    );

    // The authdata exchange itself: one digest per HSM; unsigned, malformed
    // and replayed answers are refused.
    let begin = emu.hsm_url(&cluster, "/2fa/login");
    let complete = emu.hsm_url(&cluster, "/2fa/login/complete");
    let credentials = json!({"user_type": "CO", "user": "co2", "password": "officer2-pass"});
    let (status, authdata) = post(&emu, &begin, credentials.clone()).await;
    assert_eq!(status, StatusCode::OK, "{authdata}");
    assert_eq!(authdata["Version"], "1.0");
    let hsms: Vec<&str> = authdata["Data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["HsmId"].as_str().unwrap())
        .collect();
    assert_eq!(hsms, ["hsm1", "hsm2", "hsm3"]);
    let (status, body) = post(&emu, &complete, authdata.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("RET_2FA_VERIFICATION_FAILED")
        )
    );
    let (status, body) = post(&emu, &complete, json!({"Version": "1.0"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("RET_INVALID_REQUEST"))
    );
    let (_, authdata) = post(&emu, &begin, credentials.clone()).await;
    let request: AuthData = serde_json::from_value(authdata).unwrap();
    let signed = serde_json::to_value(key.sign_authdata(&request).unwrap()).unwrap();
    let (status, body) = post(&emu, &complete, signed.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["token"].is_string());
    let (status, body) = post(&emu, &complete, signed).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("RET_2FA_VERIFICATION_FAILED")
        ),
        "a signed authdata is used once"
    );

    // Logged in with both factors, co2 manages users.
    co2.login_two_factor("CO", "co2", "officer2-pass", &key)
        .await
        .unwrap();
    co2.create_user("CU", "cu3", "user1234").await.unwrap();

    // Rotate the key with changePswd -2fa: the old key stops working.
    let rotated = TwoFactorKey::generate().unwrap();
    co2.change_password_two_factor("co2", "officer2-new", &rotated)
        .await
        .unwrap();
    let again = emu.hsm_client(&cluster);
    assert_error(
        again
            .login_two_factor("CO", "co2", "officer2-new", &key)
            .await,
        401,
        "RET_2FA_VERIFICATION_FAILED",
    );
    again
        .login_two_factor("CO", "co2", "officer2-new", &rotated)
        .await
        .unwrap();

    // Acknowledged 2FA state survives kill -9.
    let emu = emu.restart().await;
    let after = emu.hsm_client(&cluster);
    assert_error(
        after.login("CO", "co2", "officer2-new").await,
        401,
        "RET_2FA_REQUIRED",
    );
    after
        .login_two_factor("CO", "co2", "officer2-new", &rotated)
        .await
        .unwrap();
    assert!(after.security().await.unwrap().two_factor);
    // A plain changePswd removes 2FA.
    after
        .change_password("co2", "officer2-plain")
        .await
        .unwrap();
    emu.hsm_client(&cluster)
        .login("CO", "co2", "officer2-plain")
        .await
        .unwrap();
}

#[tokio::test]
async fn quorum_controls_user_management_over_the_network_api() {
    let emu = Emulator::start().await;
    let (cluster, admin) = activated(&emu).await;
    let keys = [
        TwoFactorKey::generate().unwrap(),
        TwoFactorKey::generate().unwrap(),
    ];

    // Registrations: admin registers its key; co2 is a 2FA officer, so a
    // quorum approver with its 2FA key.
    admin.register_quorum_key(&keys[0]).await.unwrap();
    assert_error(
        admin.set_security(turn_on(None, Some(true))).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    admin.set_security(turn_on(Some(true), None)).await.unwrap();
    admin
        .create_user_two_factor("CO", "co2", "officer2-pass", &keys[1])
        .await
        .unwrap();
    admin.create_user("CU", "cu1", "user1234").await.unwrap();
    let cu = emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    assert_error(
        cu.set_security(turn_on(None, Some(true))).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    let view = admin.set_security(turn_on(None, Some(true))).await.unwrap();
    assert!(view.quorum);
    assert_eq!(view.m_user, 2);

    // Without approvals user management is refused.
    assert_error(
        admin.create_user("CU", "cu2", "user1234").await,
        403,
        "RET_QUORUM_APPROVAL_REQUIRED",
    );
    assert_error(admin.get_token("keys").await, 400, "CKR_DATA_INVALID");
    let token = admin.get_token("user").await.unwrap();
    assert_error(admin.get_token("user").await, 409, "RET_TOKEN_EXISTS");
    assert_eq!(admin.list_tokens().await.unwrap(), vec![token.clone()]);

    // A bad signature, the wrong key, an unregistered approver.
    let bad = cloudhsm_data_plane::engine::quorum::Approval {
        user: "admin".into(),
        signature: "AAAA".into(),
    };
    assert_error(
        admin.approve_token(&token.id, vec![bad]).await,
        401,
        "RET_2FA_VERIFICATION_FAILED",
    );
    assert_error(
        admin
            .approve_token(&token.id, vec![keys[0].approve("co2", &token).unwrap()])
            .await,
        401,
        "RET_2FA_VERIFICATION_FAILED",
    );
    assert_error(
        admin
            .approve_token(&token.id, vec![keys[0].approve("cu1", &token).unwrap()])
            .await,
        403,
        "RET_QUORUM_APPROVAL_REQUIRED",
    );

    // One approval of two: refused, and the token stays for more.
    assert_eq!(
        admin
            .approve_token(&token.id, vec![keys[0].approve("admin", &token).unwrap()])
            .await
            .unwrap(),
        1
    );
    assert_error(
        admin.create_user("CU", "cu2", "user1234").await,
        403,
        "RET_QUORUM_APPROVAL_REQUIRED",
    );
    // Approvals survive kill -9.
    let emu = emu.restart().await;
    let admin = emu.hsm_client(&cluster);
    admin
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    assert_eq!(admin.list_tokens().await.unwrap()[0].approvals.len(), 1);
    assert_eq!(
        admin
            .approve_token(&token.id, vec![keys[1].approve("co2", &token).unwrap()])
            .await
            .unwrap(),
        2
    );
    admin.create_user("CU", "cu2", "user1234").await.unwrap();

    // Consumed: the next operation needs a new token; the old one is gone.
    assert_error(
        admin.delete_user("cu2").await,
        403,
        "RET_QUORUM_APPROVAL_REQUIRED",
    );
    assert_error(
        admin
            .approve_token(&token.id, vec![keys[1].approve("co2", &token).unwrap()])
            .await,
        404,
        "RET_TOKEN_NOT_FOUND",
    );

    // Quorum settings are themselves quorum-controlled (setMValue needs a
    // `quorum` token, M is 2 to 8 and at most the registered officers).
    assert_error(
        admin.set_m_value("user", 2).await,
        403,
        "RET_QUORUM_APPROVAL_REQUIRED",
    );
    assert_error(admin.set_m_value("user", 9).await, 400, "CKR_DATA_INVALID");
    assert_error(
        admin.set_m_value("user", 3).await,
        403,
        "RET_OPERATION_NOT_PERMITTED",
    );
    let quorum_token = admin.get_token("quorum").await.unwrap();
    admin
        .approve_token(
            &quorum_token.id,
            keys.iter()
                .zip(["admin", "co2"])
                .map(|(k, u)| k.approve(u, &quorum_token).unwrap())
                .collect(),
        )
        .await
        .unwrap();
    admin.set_m_value("quorum", 2).await.unwrap();
    assert!(admin.list_tokens().await.unwrap().is_empty());
    // Shorten the token lifetime (another `quorum` token), then watch a
    // token expire.
    let quorum_token = admin.get_token("quorum").await.unwrap();
    admin
        .approve_token(
            &quorum_token.id,
            keys.iter()
                .zip(["admin", "co2"])
                .map(|(k, u)| k.approve(u, &quorum_token).unwrap())
                .collect(),
        )
        .await
        .unwrap();
    let view = admin
        .set_security(SecurityChange {
            token_ttl_seconds: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(view.token_ttl_seconds, 1);
    let short = admin.get_token("user").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_error(
        admin
            .approve_token(&short.id, vec![keys[0].approve("admin", &short).unwrap()])
            .await,
        410,
        "RET_TOKEN_EXPIRED",
    );
    // delToken.
    let token = admin.get_token("user").await.unwrap();
    admin.delete_token(&token.id).await.unwrap();
    assert_error(
        admin.delete_token(&token.id).await,
        404,
        "RET_TOKEN_NOT_FOUND",
    );
}

/// Signs every digest of an authdata document with the `openssl` command
/// line, as an officer following the seed's steps would.
fn openssl_sign(dir: &std::path::Path, key: &std::path::Path, authdata: &mut Value) {
    use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
    for entry in authdata["Data"].as_array_mut().unwrap() {
        let digest = dir.join("digest.bin");
        let signature = dir.join("digest.sig");
        std::fs::write(
            &digest,
            B64.decode(entry["Digest"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        let status = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(key)
            .arg("-out")
            .arg(&signature)
            .arg(&digest)
            .status()
            .expect("running openssl");
        assert!(status.success());
        entry["Signature"] = json!(B64.encode(std::fs::read(&signature).unwrap()));
    }
}

#[tokio::test]
async fn an_officer_signs_authdata_with_the_openssl_command_line() {
    let emu = Emulator::start().await;
    let (cluster, _) = activated(&emu).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("co2.key");
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .status()
            .expect("running openssl");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "co2.key",
    ]);
    run(&["pkey", "-in", "co2.key", "-pubout", "-out", "co2.pub"]);
    let public_pem = std::fs::read_to_string(dir.path().join("co2.pub")).unwrap();

    // The officer's session, raw.
    let (status, login) = post(
        &emu,
        &emu.hsm_url(&cluster, "/login"),
        json!({"user_type": "CO", "user": "admin", "password": "officer-password"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = login["token"].as_str().unwrap().to_string();
    let send = |method: reqwest::Method, path: &str, session: Option<u64>, body: Value| {
        let mut request = emu
            .http
            .request(method, emu.hsm_url(&cluster, path))
            .bearer_auth(&token)
            .json(&body);
        if let Some(session) = session {
            request = request.header("x-hsm-session", session.to_string());
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (_, session) = send(reqwest::Method::POST, "/sessions", None, Value::Null).await;
    let session = session["session"].as_u64();
    let (status, _) = send(
        reqwest::Method::PUT,
        "/security",
        session,
        json!({"two_factor": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // createUser CO co2 -2fa: sign the digests, add the public key.
    let (status, mut authdata) = send(
        reqwest::Method::POST,
        "/2fa/users",
        session,
        json!({"user_type": "CO", "name": "co2", "password": "officer2-pass"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{authdata}");
    openssl_sign(dir.path(), &key, &mut authdata);
    authdata["PublicKey"] = json!(public_pem);
    let (status, body) = send(reqwest::Method::POST, "/2fa/complete", session, authdata).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // loginHSM CO co2 -2fa.
    let (status, mut authdata) = post(
        &emu,
        &emu.hsm_url(&cluster, "/2fa/login"),
        json!({"user_type": "CO", "user": "co2", "password": "officer2-pass"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    openssl_sign(dir.path(), &key, &mut authdata);
    let (status, body) = post(
        &emu,
        &emu.hsm_url(&cluster, "/2fa/login/complete"),
        authdata,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["token"].is_string());
}
