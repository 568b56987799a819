//! The emulator's token service and ARM's bearer-token checks.

use cloudhsm_e2e_tests::{group_path, Emulator, Reply};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SUBSCRIPTION_API: &str = "/subscriptions?api-version=2022-12-01";

async fn token_request(emu: &Emulator, tenant: &str, form: &[(&str, &str)]) -> Reply {
    let url = format!("{}{tenant}/oauth2/v2.0/token", emu.endpoints.authority);
    Reply::from(emu.http.post(url).form(form).send().await.unwrap()).await
}

#[tokio::test]
async fn discovery_jwks_and_client_credentials() {
    let emu = Emulator::start().await;
    let ep = &emu.endpoints;
    let discovery: Value = emu
        .http
        .get(format!(
            "{}{}/v2.0/.well-known/openid-configuration",
            ep.authority, ep.tenant_id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();
    assert_eq!(
        token_endpoint,
        format!("{}{}/oauth2/v2.0/token", ep.authority, ep.tenant_id)
    );
    assert!(discovery["issuer"]
        .as_str()
        .unwrap()
        .starts_with(&ep.authority));

    let jwks: Value = emu
        .http
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");

    // The issued token verifies under the published key and names the app.
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://management.azure.com/"]);
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let claims = jsonwebtoken::decode::<Value>(emu.token(), &decoding, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["tid"], ep.tenant_id.as_str());
    assert_eq!(claims["appid"], ep.client_id.as_str());
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", ep.tenant_id)
    );

    // A token for the emulator's own URL is accepted by ARM too.
    let own_scope = format!("{}.default", ep.resource_manager);
    let reply = token_request(
        &emu,
        &ep.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &ep.client_id),
            ("client_secret", &ep.client_secret),
            ("scope", &own_scope),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let own_token = reply.body["access_token"].as_str().unwrap();
    let listed = emu
        .http
        .get(emu.url(SUBSCRIPTION_API))
        .bearer_auth(own_token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_refuses_bad_requests_like_the_identity_platform() {
    let emu = Emulator::start().await;
    let ep = emu.endpoints.clone();
    let good = |secret: &'static str| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", ep.client_id.clone()),
            ("client_secret", secret.to_string()),
            ("scope", "https://management.azure.com/.default".to_string()),
        ]
    };
    let send = |tenant: String, form: Vec<(&'static str, String)>| {
        let emu = &emu;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token_request(emu, &tenant, &form).await
        }
    };
    let wrong_secret = send(ep.tenant_id.clone(), good("nope")).await;
    assert_eq!(wrong_secret.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_secret.body["error"], "invalid_client");
    assert!(wrong_secret.body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215"));

    let mut unknown_client = good("x");
    unknown_client[1].1 = "11111111-2222-3333-4444-555555555555".into();
    let reply = send(ep.tenant_id.clone(), unknown_client).await;
    assert_eq!(reply.body["error"], "unauthorized_client");

    let mut bad_grant = good("x");
    bad_grant[0].1 = "password".into();
    assert_eq!(
        send(ep.tenant_id.clone(), bad_grant).await.body["error"],
        "unsupported_grant_type"
    );

    let mut bad_scope = good("x");
    bad_scope[2].1 = ep.client_secret.clone();
    bad_scope[3].1 = "https://management.azure.com/".into();
    assert_eq!(
        send(ep.tenant_id.clone(), bad_scope.clone()).await.body["error"],
        "invalid_scope"
    );
    bad_scope[3].1 = "https://vault.azure.net/.default".into();
    assert_eq!(
        send(ep.tenant_id.clone(), bad_scope).await.body["error"],
        "invalid_resource"
    );

    let reply = send("someone-else".into(), good("x")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "invalid_tenant");
}

fn expect_401(reply: &Reply, code: &str) {
    reply.expect_error(StatusCode::UNAUTHORIZED, code);
    let challenge = reply
        .header("www-authenticate")
        .expect("WWW-Authenticate on a 401");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(reply.header("x-ms-request-id").is_some());
}

/// Signs `claims` with the emulator's own key (read from its data dir), so
/// only the claim under test is wrong.
fn sign_with_emulator_key(emu: &Emulator, claims: &Value) -> String {
    let pem = std::fs::read(emu.data_dir().join("token-signing-key.pem")).unwrap();
    let header = jsonwebtoken::decode_header(emu.token()).unwrap();
    let mut new_header = Header::new(Algorithm::RS256);
    new_header.kid = header.kid;
    jsonwebtoken::encode(
        &new_header,
        claims,
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

fn valid_claims(emu: &Emulator) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let tenant = &emu.endpoints.tenant_id;
    json!({
        "aud": "https://management.azure.com/", "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now, "nbf": now, "exp": now + 600, "tid": tenant, "oid": "o", "sub": "o",
        "appid": emu.endpoints.client_id, "idtyp": "app", "ver": "1.0", "uti": "u",
    })
}

#[tokio::test]
async fn arm_rejects_missing_malformed_foreign_expired_and_misaddressed_tokens() {
    let emu = Emulator::start().await;
    let url = emu.url(SUBSCRIPTION_API);
    let with_auth = |value: Option<String>| {
        let mut request = emu.http.get(&url);
        if let Some(v) = value {
            request = request.header("authorization", v);
        }
        async move { Reply::from(request.send().await.unwrap()).await }
    };

    expect_401(&with_auth(None).await, "AuthenticationFailed");
    expect_401(
        &with_auth(Some("Basic abc".into())).await,
        "AuthenticationFailed",
    );
    expect_401(
        &with_auth(Some("Bearer".into())).await,
        "AuthenticationFailed",
    );
    expect_401(
        &with_auth(Some("Bearer not.a.jwt".into())).await,
        "InvalidAuthenticationToken",
    );

    // Signed by someone else's key, with the emulator's key id.
    let foreign_key = foreign_rsa_key();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = jsonwebtoken::decode_header(emu.token()).unwrap().kid;
    let foreign = jsonwebtoken::encode(&header, &valid_claims(&emu), &foreign_key).unwrap();
    expect_401(
        &with_auth(Some(format!("Bearer {foreign}"))).await,
        "InvalidAuthenticationToken",
    );

    // Properly signed, one claim wrong at a time.
    let iat = valid_claims(&emu)["iat"].as_i64().unwrap();
    let cases = [
        ("exp", json!(iat - 3600), "ExpiredAuthenticationToken"),
        (
            "aud",
            json!("https://vault.azure.net"),
            "InvalidAuthenticationTokenAudience",
        ),
        (
            "iss",
            json!("https://sts.windows.net/another-tenant/"),
            "InvalidAuthenticationTokenTenant",
        ),
    ];
    for (claim, value, code) in cases {
        let mut claims = valid_claims(&emu);
        claims[claim] = value;
        let token = sign_with_emulator_key(&emu, &claims);
        expect_401(&with_auth(Some(format!("Bearer {token}"))).await, code);
    }

    // Not valid yet: `nbf` an hour ahead (beyond the clock-skew leeway).
    let mut early = valid_claims(&emu);
    early["nbf"] = json!(iat + 3600);
    let token = sign_with_emulator_key(&emu, &early);
    let reply = with_auth(Some(format!("Bearer {token}"))).await;
    expect_401(&reply, "InvalidAuthenticationToken");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not yet valid")),
        "{reply:?}"
    );

    // Algorithm tricks: an unsigned token (`alg: none`), and HS256 keyed
    // with the emulator's *public* key material (the classic confusion).
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let kid = jsonwebtoken::decode_header(emu.token()).unwrap().kid;
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
        b64(&valid_claims(&emu))
    );
    expect_401(
        &with_auth(Some(format!("Bearer {unsigned}"))).await,
        "InvalidAuthenticationToken",
    );
    let jwks = Reply::from(
        emu.http
            .get(emu.url(&format!("/{}/discovery/v2.0/keys", emu.endpoints.tenant_id)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let public_n = jwks.body["keys"][0]["n"]
        .as_str()
        .expect("JWKS n")
        .to_string();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = kid.clone();
    let confused = jsonwebtoken::encode(
        &hs_header,
        &valid_claims(&emu),
        &EncodingKey::from_secret(public_n.as_bytes()),
    )
    .unwrap();
    expect_401(
        &with_auth(Some(format!("Bearer {confused}"))).await,
        "InvalidAuthenticationToken",
    );

    // The same claims, properly signed, pass: the checks above failed for
    // the reason they name.
    let good = sign_with_emulator_key(&emu, &valid_claims(&emu));
    assert_eq!(
        with_auth(Some(format!("Bearer {good}"))).await.status,
        StatusCode::OK
    );

    // Writes are guarded as well as reads.
    let reply = Reply::from(
        emu.http
            .put(emu.url(&group_path("rg")))
            .json(&json!({"location": "eastus"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    expect_401(&reply, "AuthenticationFailed");
    assert_eq!(
        emu.call(Method::GET, &group_path("rg"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// An RSA key the emulator has never seen (a throwaway test fixture).
fn foreign_rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(include_bytes!("support/foreign-test-key.pem")).unwrap()
}

/// Secrets at rest are the owner's only: key files 0600, and the sled
/// folders (whose files sled creates 0644) 0700.
#[cfg(unix)]
#[tokio::test]
async fn secret_files_in_the_data_dir_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let emu = Emulator::start().await;
    let mode = |relative: &str| {
        std::fs::metadata(emu.data_dir().join(relative))
            .unwrap_or_else(|e| panic!("{relative}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    for file in [
        "token-signing-key.pem",
        "endpoints.json",
        "data-plane/root.key",
        "data-plane/backup.key",
        "tls/ca.key",
        "tls/server.key",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    for dir in ["state", "data-plane/db"] {
        assert_eq!(mode(dir), 0o700, "{dir}");
    }
}
