//! The directory the emulator's Graph answers from: the service principals
//! it issues tokens to. Nothing is stored here; the principals come from
//! where they are defined, so they always agree with the token service:
//! the well-known client (object id `config.client_object_id()`, the `oid`
//! of its tokens) and every user-assigned identity (`principalId` as object
//! id, `clientId` as app id, as on Azure).

use serde_json::{json, Value};

use crate::{
    arm::error::ArmError, config::EmulatorConfig, providers::managed_identity, state::AppState,
};

/// Graph's `servicePrincipalType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Application,
    ManagedIdentity,
}

#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub kind: PrincipalKind,
    /// A managed identity's resource id.
    pub resource_id: Option<String>,
}

/// The display name of the well-known client's service principal.
const WELL_KNOWN_CLIENT_NAME: &str = "Cloud HSM Emulator well-known client";

impl ServicePrincipal {
    fn well_known_client(config: &EmulatorConfig) -> Self {
        Self {
            id: config.client_object_id(),
            app_id: config.client_id.clone(),
            display_name: WELL_KNOWN_CLIENT_NAME.into(),
            kind: PrincipalKind::Application,
            resource_id: None,
        }
    }

    /// What `servicePrincipalNames/any(...)` searches: the app id, as for
    /// every service principal.
    pub fn service_principal_names(&self) -> Vec<String> {
        vec![self.app_id.clone()]
    }

    /// The resource as Graph v1.0 returns it (the properties tools read,
    /// and the empty collections a client may iterate over).
    pub fn render(&self, tenant: &str) -> Value {
        let (kind, app_display_name, owner_tenant, audience, alternative_names) = match self.kind {
            PrincipalKind::Application => (
                "Application",
                json!(self.display_name),
                json!(tenant),
                json!("AzureADMyOrg"),
                json!([]),
            ),
            PrincipalKind::ManagedIdentity => (
                "ManagedIdentity",
                Value::Null,
                Value::Null,
                Value::Null,
                json!(["isExplicit=True", self.resource_id]),
            ),
        };
        json!({
            "id": self.id,
            "deletedDateTime": null,
            "accountEnabled": true,
            "alternativeNames": alternative_names,
            "appDisplayName": app_display_name,
            "appDescription": null,
            "appId": self.app_id,
            "appOwnerOrganizationId": owner_tenant,
            "appRoleAssignmentRequired": false,
            "description": null,
            "displayName": self.display_name,
            "homepage": null,
            "notes": null,
            "notificationEmailAddresses": [],
            "replyUrls": [],
            "servicePrincipalNames": self.service_principal_names(),
            "servicePrincipalType": kind,
            "signInAudience": audience,
            "tags": [],
            "addIns": [],
            "appRoles": [],
            "keyCredentials": [],
            "oauth2PermissionScopes": [],
            "passwordCredentials": [],
        })
    }
}

/// Every service principal the emulator knows, the well-known client first.
pub fn service_principals(state: &AppState) -> Result<Vec<ServicePrincipal>, ArmError> {
    let identities = managed_identity::all(state)?
        .into_iter()
        .map(|identity| ServicePrincipal {
            id: identity.properties.principal_id,
            app_id: identity.properties.client_id,
            display_name: identity.name,
            kind: PrincipalKind::ManagedIdentity,
            resource_id: Some(identity.id),
        });
    let registered = crate::identity::service_principals::all(state)?
        .into_iter()
        .map(|sp| ServicePrincipal {
            id: sp.object_id,
            app_id: sp.app_id,
            display_name: sp.display_name,
            kind: PrincipalKind::Application,
            resource_id: None,
        });
    Ok(
        std::iter::once(ServicePrincipal::well_known_client(&state.config))
            .chain(registered)
            .chain(identities)
            .collect(),
    )
}

/// One service principal by object id.
pub fn by_id(state: &AppState, id: &str) -> Result<Option<ServicePrincipal>, ArmError> {
    Ok(service_principals(state)?
        .into_iter()
        .find(|sp| sp.id.eq_ignore_ascii_case(id)))
}
