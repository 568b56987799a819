//! The token service under the `adfs` authority, as MSAL uses it when a
//! credential is configured from the environment with `AZURE_TENANT_ID=adfs`:
//! discovery at `{host}/adfs/.well-known/openid-configuration`, then client
//! credentials at the advertised token endpoint.

use cloudhsm_e2e_tests::{Emulator, Reply};
use reqwest::StatusCode;
use serde_json::Value;

const SUBSCRIPTIONS: &str = "/subscriptions?api-version=2022-12-01";

async fn discovery(emu: &Emulator) -> Value {
    let url = format!(
        "{}adfs/.well-known/openid-configuration",
        emu.endpoints.authority
    );
    let reply = Reply::from(emu.http.get(url).send().await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body
}

async fn token_request(emu: &Emulator, url: &str, form: &[(&str, &str)]) -> Reply {
    Reply::from(emu.http.post(url).form(form).send().await.unwrap()).await
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

#[tokio::test]
async fn discovery_token_and_an_arm_call_under_the_adfs_authority() {
    let emu = Emulator::start().await;
    let ep = emu.endpoints.clone();
    let config = discovery(&emu).await;
    let base = format!("{}adfs", ep.authority);
    assert_eq!(config["issuer"], base.as_str());
    // MSAL reads these two, and takes the tenant from the token endpoint's path.
    assert_eq!(config["token_endpoint"], format!("{base}/oauth2/token"));
    assert_eq!(
        config["authorization_endpoint"],
        format!("{base}/oauth2/authorize")
    );
    assert_eq!(
        config["access_token_issuer"],
        format!("https://sts.windows.net/{}/", ep.tenant_id)
    );

    let jwks = Reply::from(
        emu.http
            .get(config["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert_eq!(jwks.body["keys"][0]["kty"], "RSA");

    let token_endpoint = config["token_endpoint"].as_str().unwrap();
    // The form MSAL sends for an AD FS authority: `scope`, secret in the body.
    let by_scope = token_request(
        &emu,
        token_endpoint,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &ep.client_id),
            ("client_secret", &ep.client_secret),
            ("scope", "https://management.azure.com//.default"),
        ],
    )
    .await;
    assert_eq!(by_scope.status, StatusCode::OK, "{by_scope:?}");
    assert_eq!(by_scope.body["token_type"], "bearer");
    assert!(by_scope.body["expires_in"].as_i64().unwrap() > 3000);
    let token = by_scope.body["access_token"].as_str().unwrap();

    // Issued as the emulator's own tenant: nothing downstream knows it was AD FS.
    let claims = claims(token);
    assert_eq!(claims["tid"], ep.tenant_id.as_str());
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", ep.tenant_id)
    );
    assert_eq!(claims["appid"], ep.client_id.as_str());
    assert_eq!(claims["aud"], "https://management.azure.com/");

    let listed = emu
        .http
        .get(emu.url(SUBSCRIPTIONS))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);

    // The v1 form (`resource=`), at the endpoint with AD FS's trailing slash.
    let by_resource = token_request(
        &emu,
        &format!("{token_endpoint}/"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &ep.client_id),
            ("client_secret", &ep.client_secret),
            ("resource", &ep.resource_manager),
        ],
    )
    .await;
    assert_eq!(by_resource.status, StatusCode::OK, "{by_resource:?}");
    assert_eq!(by_resource.body["resource"], ep.resource_manager.as_str());
    let token = by_resource.body["access_token"].as_str().unwrap();
    let listed = emu.http.get(emu.url(SUBSCRIPTIONS)).bearer_auth(token);
    assert_eq!(listed.send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn adfs_token_endpoint_refuses_like_the_tenant_one() {
    let emu = Emulator::start().await;
    let ep = emu.endpoints.clone();
    let url = format!("{}adfs/oauth2/token", ep.authority);
    let wrong_secret = token_request(
        &emu,
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &ep.client_id),
            ("client_secret", "nope"),
            ("scope", "https://management.azure.com/.default"),
        ],
    )
    .await;
    assert_eq!(wrong_secret.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_secret.body["error"], "invalid_client");

    let no_resource = token_request(
        &emu,
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &ep.client_id),
            ("client_secret", &ep.client_secret),
        ],
    )
    .await;
    assert_eq!(no_resource.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_resource.body["error"], "invalid_scope");

    let unknown_resource = token_request(
        &emu,
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &ep.client_id),
            ("client_secret", &ep.client_secret),
            ("resource", "https://vault.azure.net"),
        ],
    )
    .await;
    assert_eq!(unknown_resource.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown_resource.body["error"], "invalid_resource");
}
