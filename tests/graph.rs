//! The Microsoft Graph calls the Azure CLI makes to resolve principals, on
//! the emulator's base URL with a token for the Graph audience.

use cloudhsm_e2e_tests::{identity_path, Emulator};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A token for the Graph resource the emulator's cloud metadata advertises
/// (its own base URL), the scope the CLI asks for.
async fn graph_token(emu: &Emulator) -> String {
    emu.token_for_scope(&format!("{}/.default", emu.endpoints.resource_manager))
        .await
}

fn well_known_object_id(emu: &Emulator) -> String {
    // The `oid` of the well-known client's tokens.
    use base64::Engine;
    let payload = emu.token().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["oid"].as_str().unwrap().to_string()
}

fn by_app_id(app_id: &str) -> String {
    format!("/v1.0/servicePrincipals?$filter=servicePrincipalNames%2Fany%28c%3Ac%20eq%20%27{app_id}%27%29")
}

#[tokio::test]
async fn the_well_known_client_is_a_service_principal() {
    let emu = Emulator::start().await;
    let token = graph_token(&emu).await;
    let t = Some(token.as_str());
    let ep = emu.endpoints.clone();
    let object_id = well_known_object_id(&emu);

    let listed = emu
        .graph_call(Method::GET, &by_app_id(&ep.client_id), t, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    assert_eq!(
        listed.body["@odata.context"],
        format!(
            "{}/v1.0/$metadata#servicePrincipals",
            ep.resource_manager.trim_end_matches('/')
        )
    );
    let value = listed.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "{listed:?}");
    let sp = &value[0];
    assert_eq!(sp["id"], object_id.as_str());
    assert_eq!(sp["appId"], ep.client_id.as_str());
    assert_eq!(sp["servicePrincipalType"], "Application");
    assert_eq!(sp["servicePrincipalNames"], json!([ep.client_id]));
    assert!(sp["displayName"].as_str().is_some_and(|n| !n.is_empty()));

    let by_id = emu
        .graph_call(
            Method::GET,
            &format!("/v1.0/servicePrincipals/{object_id}"),
            t,
            None,
        )
        .await;
    assert_eq!(by_id.status, StatusCode::OK, "{by_id:?}");
    assert_eq!(by_id.body["appId"], ep.client_id.as_str());
    assert!(by_id.body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("#servicePrincipals/$entity"));

    let by_key = emu
        .graph_call(
            Method::GET,
            &format!("/v1.0/servicePrincipals(appId='{}')", ep.client_id),
            t,
            None,
        )
        .await;
    assert_eq!(by_key.status, StatusCode::OK, "{by_key:?}");
    assert_eq!(by_key.body["id"], object_id.as_str());

    // Other filters az sends; segments match case-insensitively.
    let by_app = emu
        .graph_call(
            Method::GET,
            &format!(
                "/v1.0/serviceprincipals?$filter=appId%20eq%20%27{}%27",
                ep.client_id
            ),
            t,
            None,
        )
        .await;
    assert_eq!(
        by_app.body["value"][0]["id"],
        object_id.as_str(),
        "{by_app:?}"
    );
    let nobody = emu
        .graph_call(Method::GET, &by_app_id("not-an-app"), t, None)
        .await;
    assert_eq!(nobody.status, StatusCode::OK);
    assert_eq!(nobody.body["value"], json!([]));

    // getByIds returns what it knows and drops the rest, as Graph does.
    let unknown = "11111111-2222-3333-4444-555555555555";
    let stubs = emu
        .graph_call(
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            t,
            Some(json!({
                "ids": [object_id, unknown],
                "types": ["user", "group", "servicePrincipal", "directoryObjectPartnerReference"],
            })),
        )
        .await;
    assert_eq!(stubs.status, StatusCode::OK, "{stubs:?}");
    let value = stubs.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "{stubs:?}");
    assert_eq!(value[0]["@odata.type"], "#microsoft.graph.servicePrincipal");
    assert_eq!(value[0]["id"], object_id.as_str());
    let only_users = emu
        .graph_call(
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            t,
            Some(json!({ "ids": [object_id], "types": ["user"] })),
        )
        .await;
    assert_eq!(only_users.body["value"], json!([]));

    // The emulator has no users.
    let users = emu
        .graph_call(
            Method::GET,
            "/v1.0/users?$filter=userPrincipalName%20eq%20%27a%40b.c%27",
            t,
            None,
        )
        .await;
    assert_eq!(users.status, StatusCode::OK);
    assert_eq!(users.body["value"], json!([]));
}

#[tokio::test]
async fn unknown_ids_unserved_calls_and_missing_tokens_answer_like_graph() {
    let emu = Emulator::start().await;
    let token = graph_token(&emu).await;
    let t = Some(token.as_str());
    let unknown = "11111111-2222-3333-4444-555555555555";

    let missing = emu
        .graph_call(
            Method::GET,
            &format!("/v1.0/servicePrincipals/{unknown}"),
            t,
            None,
        )
        .await;
    let error = missing.expect_graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound");
    assert_eq!(
        error["message"],
        format!("Resource '{unknown}' does not exist or one of its queried reference-property objects are not present.")
    );
    emu.graph_call(Method::GET, "/v1.0/servicePrincipals/not-a-guid", t, None)
        .await
        .expect_graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest");
    emu.graph_call(
        Method::GET,
        &format!("/v1.0/directoryObjects/{unknown}"),
        t,
        None,
    )
    .await
    .expect_graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound");

    for path in [
        "/v1.0/applications",
        "/v1.0/groups/x/members",
        "/beta/servicePrincipals",
    ] {
        let reply = emu.graph_call(Method::GET, path, t, None).await;
        let error =
            reply.expect_graph_error(StatusCode::NOT_IMPLEMENTED, "Request_UnsupportedQuery");
        assert!(
            error["message"].as_str().unwrap().contains("serves only"),
            "{reply:?}"
        );
    }
    emu.graph_call(
        Method::DELETE,
        &format!("/v1.0/servicePrincipals/{unknown}"),
        t,
        None,
    )
    .await
    .expect_graph_error(StatusCode::NOT_IMPLEMENTED, "Request_UnsupportedQuery");
    let odd_filter = emu
        .graph_call(
            Method::GET,
            "/v1.0/servicePrincipals?$filter=accountEnabled%20eq%20true",
            t,
            None,
        )
        .await;
    let error = odd_filter.expect_graph_error(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("accountEnabled eq true"));
    emu.graph_call(Method::GET, "/v1.0/me", t, None)
        .await
        .expect_graph_error(StatusCode::BAD_REQUEST, "BadRequest");
    emu.graph_call(
        Method::POST,
        "/v1.0/directoryObjects/getByIds",
        t,
        Some(json!({"id": 1})),
    )
    .await
    .expect_graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest");

    // No token, a malformed one, and one for ARM's public audience: 401, Graph's shape.
    let no_token = emu
        .graph_call(Method::GET, "/v1.0/servicePrincipals", None, None)
        .await;
    let error = no_token.expect_graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    assert_eq!(error["message"], "Access token is empty.");
    emu.graph_call(Method::GET, "/v1.0/applications", Some("nope"), None)
        .await
        .expect_graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    let arm_token = emu.token().to_string();
    let wrong_audience = emu
        .graph_call(
            Method::GET,
            "/v1.0/servicePrincipals",
            Some(&arm_token),
            None,
        )
        .await;
    let error =
        wrong_audience.expect_graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    assert!(
        error["message"].as_str().unwrap().contains("audience"),
        "{wrong_audience:?}"
    );

    // Graph's public audience works as well as the emulator's own URL.
    let public = emu
        .token_for_scope("https://graph.microsoft.com/.default")
        .await;
    let reply = emu
        .graph_call(Method::GET, "/v1.0/servicePrincipals", Some(&public), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    // Graph routes take no api-version and do not go through ARM.
    assert!(reply.body["value"].is_array());
}

#[tokio::test]
async fn a_managed_identity_appears_in_graph_once_created() {
    let emu = Emulator::start().await;
    let token = graph_token(&emu).await;
    let t = Some(token.as_str());
    emu.put_group("rg1").await;
    let identity = emu.put_identity("rg1", "id-graph").await;
    let principal_id = identity["properties"]["principalId"].as_str().unwrap();
    let client_id = identity["properties"]["clientId"].as_str().unwrap();

    let listed = emu
        .graph_call(Method::GET, &by_app_id(client_id), t, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let sp = &listed.body["value"][0];
    assert_eq!(sp["id"], principal_id);
    assert_eq!(sp["appId"], client_id);
    assert_eq!(sp["displayName"], "id-graph");
    assert_eq!(sp["servicePrincipalType"], "ManagedIdentity");
    assert_eq!(sp["alternativeNames"][1], identity["id"]);

    let by_id = emu
        .graph_call(
            Method::GET,
            &format!("/v1.0/servicePrincipals/{principal_id}"),
            t,
            None,
        )
        .await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.body["appId"], client_id);

    let stubs = emu
        .graph_call(
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            t,
            Some(json!({ "ids": [principal_id], "types": ["servicePrincipal"] })),
        )
        .await;
    assert_eq!(
        stubs.body["value"][0]["servicePrincipalType"],
        "ManagedIdentity"
    );

    let named = emu
        .graph_call(
            Method::GET,
            "/v1.0/servicePrincipals?$filter=startswith(displayName,%27id-%27)",
            t,
            None,
        )
        .await;
    assert_eq!(
        named.body["value"].as_array().map(Vec::len),
        Some(1),
        "{named:?}"
    );

    // Deleting the identity removes it from the directory.
    let deleted = emu
        .call(Method::DELETE, &identity_path("rg1", "id-graph"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    emu.graph_call(
        Method::GET,
        &format!("/v1.0/servicePrincipals/{principal_id}"),
        t,
        None,
    )
    .await
    .expect_graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound");
}
