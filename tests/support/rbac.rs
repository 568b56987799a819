//! Principals other than the well-known one, their tokens and their roles.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{Emulator, Reply, SUB};

/// Built-in role ids (Azure's).
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub const USER_ACCESS_ADMINISTRATOR: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";

/// A service principal made through the admin surface.
pub struct TestPrincipal {
    pub app_id: String,
    pub object_id: String,
    pub secret: String,
    pub token: String,
}

impl Emulator {
    /// `POST /emulator/servicePrincipals` as the well-known principal, then
    /// a management token for the new principal.
    pub async fn create_service_principal(&self, display_name: &str) -> TestPrincipal {
        let reply = self
            .call(
                Method::POST,
                "/emulator/servicePrincipals",
                Some(json!({ "displayName": display_name })),
            )
            .await;
        assert_eq!(reply.status, reqwest::StatusCode::CREATED, "{reply:?}");
        let field = |k: &str| reply.body[k].as_str().expect(k).to_string();
        let (app_id, secret) = (field("appId"), field("clientSecret"));
        let token = self.token_of(&app_id, &secret).await;
        TestPrincipal {
            app_id,
            object_id: field("objectId"),
            secret,
            token,
        }
    }

    /// A client-credentials management token for any principal.
    pub async fn token_of(&self, client_id: &str, secret: &str) -> String {
        let reply = self.token_request(client_id, secret).await;
        assert_eq!(
            reply.status,
            reqwest::StatusCode::OK,
            "token endpoint refused"
        );
        reply.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// The token endpoint's answer to a client-credentials request.
    pub async fn token_request(&self, client_id: &str, secret: &str) -> Reply {
        let response = self
            .http
            .post(format!(
                "{}{}/oauth2/v2.0/token",
                self.endpoints.authority, self.endpoints.tenant_id
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", "https://management.azure.com/.default"),
            ])
            .send()
            .await
            .expect("token request");
        Reply::from(response).await
    }

    /// A request with someone else's token.
    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.expect("request sent")).await
    }

    /// Assigns `role` to `principal_id` at `scope` (an ARM id path), as the
    /// well-known principal.
    pub async fn assign(&self, scope: &str, principal_id: &str, role: &str) -> Reply {
        self.assign_as(self.token(), scope, principal_id, role)
            .await
    }

    pub async fn assign_as(
        &self,
        token: &str,
        scope: &str,
        principal_id: &str,
        role: &str,
    ) -> Reply {
        let name = uuid::Uuid::new_v4();
        self.call_as(
            token,
            Method::PUT,
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"),
            Some(json!({
                "properties": {
                    "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                    "principalId": principal_id,
                    "principalType": "ServicePrincipal",
                }
            })),
        )
        .await
    }
}
