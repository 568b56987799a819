//! No secret in any log line, at the most verbose level: one emulator with
//! `CLOUDHSM_LOG=trace` (every crate, hyper, rustls and h2 included) goes
//! through the flows that carry secrets — client-credential and managed-
//! identity tokens, principals made at start-up and through the admin
//! surface, activation and HSM users' passwords (right and wrong), a
//! password change, keys and signatures, Event Hubs keys and SAS tokens over
//! AMQP and REST, the storage key diagnostics writes with — and its whole log
//! is searched for each secret, in the forms it travelled in. The same
//! secrets must not come back in error messages either.

use cloudhsm_data_plane::{
    engine::attributes::{ids, Attribute},
    KeySpec,
};
use cloudhsm_e2e_tests::{
    event_hubs::{namespace_with_hub, sas_token, AmqpClient},
    Emulator, Reply,
};
use fe2o3_amqp::types::messaging::Message;
use reqwest::{Method, StatusCode};

const CLIENT_SECRET: &str = "trace-client-secret-8fQ2";
const IDENTITY_HEADER: &str = "trace-identity-header-5Zk1";
const STARTUP_PRINCIPAL: &str = "3c1b0a52-6f1e-4bb5-9c2e-51d4a0f0a7e1";
const STARTUP_SECRET: &str = "trace-startup-principal-secret-Lw7";
// base64 of 64 bytes, the shape of a storage account key.
const STORAGE_KEY: &str =
    "dHJhY2Utc3RvcmFnZS1rZXktbm90LWF6dXJpdGVzLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OQ==";
const OFFICER_PASSWORD: &str = "trace-officer-pass-Qm3";
const USER_PASSWORD: &str = "trace-user-pass-Vb9";
const NEW_USER_PASSWORD: &str = "trace-user-newpass-Hc4";
const WRONG_PASSWORD: &str = "trace-wrong-pass-Tn6";

#[tokio::test]
async fn a_trace_level_log_holds_no_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("emulator.log");
    let principal = format!("{STARTUP_PRINCIPAL}:{STARTUP_SECRET}");
    let emu = Emulator::start_logging(
        &[
            "--provisioning-delay",
            "100ms",
            "--client-secret",
            CLIENT_SECRET,
            "--identity-header",
            IDENTITY_HEADER,
            "--service-principal",
            &principal,
            "--storage-account-key",
            STORAGE_KEY,
        ],
        "trace",
        &log,
    )
    .await;
    let mut secrets: Vec<String> = [
        CLIENT_SECRET,
        IDENTITY_HEADER,
        STARTUP_SECRET,
        STORAGE_KEY,
        OFFICER_PASSWORD,
        USER_PASSWORD,
        NEW_USER_PASSWORD,
        WRONG_PASSWORD,
    ]
    .map(String::from)
    .to_vec();
    secrets.push(emu.token().to_string());

    // Principals: one from the flag, one through the admin surface.
    secrets.push(emu.token_of(STARTUP_PRINCIPAL, STARTUP_SECRET).await);
    let made = emu.create_service_principal("trace-app").await;
    secrets.extend([made.secret.clone(), made.token.clone()]);
    let refused = emu.token_request(&made.app_id, WRONG_PASSWORD).await;
    assert!(refused.status.is_client_error(), "{refused:?}");
    assert_no_secret_in("a refused token request", &refused, &secrets);

    // A managed identity's token, and a bad bearer token echoed nowhere.
    let msi = emu
        .http
        .get(emu.url("/msi/token"))
        .query(&[("resource", "https://management.azure.com/")])
        .header("X-IDENTITY-HEADER", IDENTITY_HEADER)
        .send()
        .await
        .expect("msi request");
    let msi_text = msi.text().await.expect("msi body");
    if let Ok(body) = serde_json::from_str::<serde_json::Value>(&msi_text) {
        if let Some(token) = body["access_token"].as_str() {
            secrets.push(token.to_string());
        }
    }
    let forged = format!("{}x", emu.token());
    let unauthorised = emu
        .call_as(
            &forged,
            Method::GET,
            "/subscriptions?api-version=2022-12-01",
            None,
        )
        .await;
    assert_eq!(unauthorised.status, StatusCode::UNAUTHORIZED);
    assert_no_secret_in("a refused bearer token", &unauthorised, &secrets);

    // The HSM: activation, users, a wrong password, a change, keys, a signature.
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm-trace").await;
    emu.activate(&cluster, OFFICER_PASSWORD).await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", OFFICER_PASSWORD)
        .await
        .expect("officer login");
    officer
        .create_user("CU", "cu1", USER_PASSWORD)
        .await
        .expect("create user");
    let user = emu.hsm_client(&cluster);
    let wrong = user
        .login("CU", "cu1", WRONG_PASSWORD)
        .await
        .expect_err("a wrong password");
    assert!(
        !wrong.to_string().contains(WRONG_PASSWORD),
        "error names the password: {wrong}"
    );
    user.login("CU", "cu1", USER_PASSWORD)
        .await
        .expect("user login");
    user.change_password("cu1", NEW_USER_PASSWORD)
        .await
        .expect("change password");
    let (_, private) = user
        .generate_key_pair(
            KeySpec::Rsa { bits: 2048 },
            vec![
                (ids::SIGN, Attribute::Bool(true)),
                (ids::LABEL, Attribute::Text("trace-key".into())),
            ],
        )
        .await
        .expect("key pair");
    user.sign(private, "SHA256_RSA_PKCS", b"trace payload")
        .await
        .expect("sign");
    user.generate_key(
        KeySpec::Aes { bits: 256 },
        vec![(ids::EXTRACTABLE, Attribute::Bool(false))],
    )
    .await
    .expect("AES key");

    // Event Hubs: the rule's keys and SAS tokens over AMQP and REST.
    let key = namespace_with_hub(&emu, "rg-eh", "trace-ns", "orders", 1).await;
    let amqp = emu.endpoints.event_hubs_amqp.clone().expect("amqp");
    let audience = format!("{amqp}orders");
    let amqp_token = sas_token(&audience, "RootManageSharedAccessKey", &key);
    let (mut client, status) = AmqpClient::connect(&amqp, &audience, &amqp_token).await;
    assert_eq!(status, 202);
    let mut sender = client.sender("orders/Partitions/0").await.expect("sender");
    sender
        .send(Message::builder().data(b"trace event".to_vec()).build())
        .await
        .expect("sent");
    let _ = sender.close().await;
    client.close().await;
    let rest = emu.endpoints.event_hubs_rest.clone().expect("rest");
    let rest_token = sas_token(&format!("{rest}/orders"), "RootManageSharedAccessKey", &key);
    let posted = emu
        .http
        .post(format!("{rest}/orders/messages"))
        .header("Authorization", &rest_token)
        .body("trace over rest")
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status().as_u16(), 201);
    let (bad_client, bad_status) = AmqpClient::connect(
        &amqp,
        &audience,
        &sas_token(&audience, "RootManageSharedAccessKey", "bm90LXRoZS1rZXk="),
    )
    .await;
    assert_eq!(bad_status, 401);
    bad_client.close().await;
    secrets.extend([key, amqp_token, rest_token]);

    drop(emu);
    let text = std::fs::read_to_string(&log).expect("log");
    let lines = text.lines().count();
    // The filter really was trace: hyper's and the emulator's own chatter is there.
    assert!(
        text.contains("TRACE") && lines > 200,
        "the log is not at trace level ({lines} lines)"
    );
    for secret in &secrets {
        for form in forms(secret) {
            if let Some(line) = text.lines().find(|l| l.contains(&form)) {
                panic!("a secret ({form:.12}...) is in the log: {line:.300}");
            }
        }
    }
    println!(
        "scanned {lines} log lines for {} secrets: none found",
        secrets.len()
    );
}

/// A secret as it may travel: itself, URL-encoded, and (for JWTs and SAS
/// tokens) its signature alone, since a log that cut the rest off would
/// still leak what matters.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    let encoded: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    forms.push(encoded);
    if let Some(signature) = secret
        .rsplit('.')
        .next()
        .filter(|_| secret.matches('.').count() == 2)
    {
        forms.push(signature.to_string());
    }
    if let Some(sig) = secret.split("sig=").nth(1) {
        forms.push(sig.split('&').next().unwrap_or_default().to_string());
    }
    forms.retain(|f| f.len() >= 8);
    forms
}

fn assert_no_secret_in(what: &str, reply: &Reply, secrets: &[String]) {
    let text = reply.body.to_string();
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} names a secret: {text}"
        );
    }
}
