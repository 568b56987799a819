//! User-assigned managed identities and the managed-identity token endpoint
//! (App Service protocol) applications and the control plane use.

use cloudhsm_e2e_tests::{
    group_path, identity_id, identity_path, Emulator, Reply, IDENTITY_HEADER, SUB,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn identities_crud_list_and_group_cascade() {
    let emu = Emulator::start_with(&["--provisioning-delay", "100ms", "--page-size", "2"]).await;
    emu.put_group("rg").await;
    let path = identity_path("rg", "app-identity");

    let created = emu
        .call(
            Method::PUT,
            &path,
            Some(json!({"location": "eastus2", "tags": {"a": "1"}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let body = &created.body;
    assert_eq!(body["id"], identity_id("rg", "app-identity"));
    assert_eq!(
        body["type"],
        "Microsoft.ManagedIdentity/userAssignedIdentities"
    );
    assert_eq!(
        body["properties"]["tenantId"],
        emu.endpoints.tenant_id.as_str()
    );
    let principal = body["properties"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let client = body["properties"]["clientId"].as_str().unwrap().to_string();
    assert_ne!(principal, client);

    // PUT again updates in place: the ids an application relies on stay.
    let again = emu
        .call(
            Method::PUT,
            &path,
            Some(json!({"location": "eastus2", "tags": {"b": "2"}})),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["properties"]["clientId"], client.as_str());
    assert_eq!(again.body["tags"], json!({"b": "2"}));
    let patched = emu
        .call(Method::PATCH, &path, Some(json!({"tags": {"c": "3"}})))
        .await;
    assert_eq!(patched.body["tags"], json!({"c": "3"}));
    assert_eq!(
        emu.call(Method::GET, &path, None).await.body["properties"]["principalId"],
        principal.as_str()
    );

    emu.call(
        Method::PUT,
        &identity_path("rg", "-bad"),
        Some(json!({"location": "eastus2"})),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "InvalidResourceName");
    emu.call(
        Method::PUT,
        &identity_path("rg", "xyz1"),
        Some(json!({"tags": {}})),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    emu.call(
        Method::PUT,
        &identity_path("nogroup", "xyz1"),
        Some(json!({"location": "eastus2"})),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceGroupNotFound");

    for name in ["id-b", "id-c"] {
        emu.put_identity("rg", name).await;
    }
    let names: Vec<String> = emu
        .list_pages(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31"
        ))
        .await
        .iter()
        .flat_map(|page| page["value"].as_array().cloned().unwrap_or_default())
        .map(|i| i["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names, ["app-identity", "id-b", "id-c"]);

    assert_eq!(
        emu.call(Method::DELETE, &identity_path("rg", "id-c"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        emu.call(Method::DELETE, &identity_path("rg", "id-c"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    emu.call(Method::GET, &identity_path("rg", "id-c"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");

    let deleted = emu.call(Method::DELETE, &group_path("rg"), None).await;
    emu.wait_location(&deleted.header("location").unwrap())
        .await;
    emu.call(Method::GET, &path, None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceGroupNotFound");
    let all = emu
        .call(Method::GET, &format!("/subscriptions/{SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31"), None)
        .await;
    assert_eq!(all.body["value"], json!([]));
}

async fn msi(emu: &Emulator, header: Option<&str>, query: &[(&str, &str)]) -> Reply {
    let mut request = emu.http.get(emu.url("/msi/token")).query(query);
    if let Some(h) = header {
        request = request.header("X-IDENTITY-HEADER", h);
    }
    Reply::from(request.send().await.unwrap()).await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn managed_identity_tokens_over_the_app_service_protocol() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let identity = emu.put_identity("rg", "backup-identity").await;
    let client_id = identity["properties"]["clientId"].as_str().unwrap();
    let principal_id = identity["properties"]["principalId"].as_str().unwrap();

    let storage = msi(
        &emu,
        Some(IDENTITY_HEADER),
        &[
            ("api-version", "2019-08-01"),
            ("resource", "https://storage.azure.com/"),
            ("client_id", client_id),
        ],
    )
    .await;
    assert_eq!(storage.status, StatusCode::OK, "{storage:?}");
    assert_eq!(storage.body["token_type"], "Bearer");
    assert_eq!(storage.body["client_id"], client_id);
    let expires_on: i64 = storage.body["expires_on"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(expires_on > chrono_now());
    let c = claims(storage.body["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], "https://storage.azure.com");
    assert_eq!(
        c["iss"],
        format!("https://sts.windows.net/{}/", emu.endpoints.tenant_id)
    );
    assert_eq!(c["oid"], principal_id);
    assert_eq!(c["appid"], client_id);
    assert_eq!(c["xms_mirid"], identity["id"]);

    // The same identity can manage resources: ARM records it as a managed identity.
    let arm = msi(
        &emu,
        Some(IDENTITY_HEADER),
        &[
            ("api-version", "2019-08-01"),
            ("resource", "https://management.azure.com/"),
            ("mi_res_id", identity["id"].as_str().unwrap()),
        ],
    )
    .await;
    let token = arm.body["access_token"].as_str().unwrap();
    let put_group = || async {
        emu.http
            .put(emu.url(&group_path("by-identity")))
            .bearer_auth(token)
            .json(&json!({"location": "eastus2"}))
            .send()
            .await
            .unwrap()
    };
    // Only with a role (RBAC): refused, then Contributor on the subscription.
    assert_eq!(put_group().await.status(), StatusCode::FORBIDDEN);
    let granted = emu
        .assign(
            &format!("/subscriptions/{}", emu.endpoints.subscription_id),
            principal_id,
            cloudhsm_e2e_tests::rbac::CONTRIBUTOR,
        )
        .await;
    assert!(granted.status.is_success(), "{granted:?}");
    assert_eq!(put_group().await.status(), StatusCode::CREATED);
    let identity_ids = msi(
        &emu,
        Some(IDENTITY_HEADER),
        &[
            ("api-version", "2019-08-01"),
            ("resource", "https://storage.azure.com"),
            ("principal_id", principal_id),
        ],
    )
    .await;
    assert_eq!(identity_ids.status, StatusCode::OK);

    // Refusals: no or wrong header, unknown identity, unknown resource, no identity named.
    let ok_query = [
        ("api-version", "2019-08-01"),
        ("resource", "https://storage.azure.com"),
        ("client_id", client_id),
    ];
    assert_eq!(
        msi(&emu, None, &ok_query).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        msi(&emu, Some("guess"), &ok_query).await.status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = msi(
        &emu,
        Some(IDENTITY_HEADER),
        &[
            ("api-version", "2019-08-01"),
            ("resource", "https://storage.azure.com"),
            ("client_id", "11111111-1111-1111-1111-111111111111"),
        ],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body["message"]
        .as_str()
        .unwrap()
        .contains("No User Assigned"));
    let vault = msi(
        &emu,
        Some(IDENTITY_HEADER),
        &[
            ("api-version", "2019-08-01"),
            ("resource", "https://vault.azure.net"),
            ("client_id", client_id),
        ],
    )
    .await;
    assert_eq!(vault.status, StatusCode::BAD_REQUEST);
    let anonymous = msi(
        &emu,
        Some(IDENTITY_HEADER),
        &[
            ("api-version", "2019-08-01"),
            ("resource", "https://storage.azure.com"),
        ],
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::BAD_REQUEST);
    let old_api = msi(
        &emu,
        Some(IDENTITY_HEADER),
        &[
            ("api-version", "2017-09-01"),
            ("resource", "https://storage.azure.com"),
            ("client_id", client_id),
        ],
    )
    .await;
    assert_eq!(old_api.status, StatusCode::BAD_REQUEST);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
