//! What a client discovers before it touches a resource: cloud metadata,
//! subscriptions, tenants, and the provider registration.

use axum::{
    extract::{RawQuery, State},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use super::resource_groups::RESOURCES_API_VERSIONS;
use crate::{
    arm::{
        api_version::{self, ApiVersion, VersionedType},
        error::ArmError,
    },
    state::AppState,
};

pub struct Subscriptions;
impl VersionedType for Subscriptions {
    const NAMESPACE: &'static str = "Microsoft.Resources";
    const RESOURCE_TYPE: &'static str = "subscriptions";
    const SUPPORTED: &'static [&'static str] = &[
        "2022-12-01",
        "2021-01-01",
        "2020-01-01",
        "2019-11-01",
        "2019-06-01",
        "2018-06-01",
        "2016-06-01",
        "2015-11-01",
    ];
}

pub struct Tenants;
impl VersionedType for Tenants {
    const NAMESPACE: &'static str = "Microsoft.Resources";
    const RESOURCE_TYPE: &'static str = "tenants";
    const SUPPORTED: &'static [&'static str] = Subscriptions::SUPPORTED;
}

pub struct Providers;
impl VersionedType for Providers {
    const NAMESPACE: &'static str = "Microsoft.Resources";
    const RESOURCE_TYPE: &'static str = "providers";
    const SUPPORTED: &'static [&'static str] = RESOURCES_API_VERSIONS;
}

struct CloudMetadata;
impl VersionedType for CloudMetadata {
    const NAMESPACE: &'static str = "Microsoft.Resources";
    const RESOURCE_TYPE: &'static str = "metadata";
    const SUPPORTED: &'static [&'static str] = &[
        "2022-09-01",
        "2020-06-01",
        "2019-05-01",
        "2018-01-01",
        "2017-12-01",
        "2015-01-01",
        "1.0",
    ];
}

/// Reachable without a token, as on Azure.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/metadata/endpoints", get(cloud_metadata))
}

pub fn arm_routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(list_subscriptions))
        .route("/subscriptions/{subscriptionId}", get(show_subscription))
        .route("/tenants", get(list_tenants))
}

/// `az cloud register --endpoint-resource-manager <url>` reads this (with
/// api-version 2022-09-01) and expects one cloud object, as an Azure Stack
/// Hub serves it: a custom cloud describes itself, whatever the version.
/// (Public Azure answers 2019-05-01 and later with the list of all its
/// clouds; the emulator is one cloud, so it never does.)
async fn cloud_metadata(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ArmError> {
    api_version::check::<CloudMetadata>(query.as_deref())?;
    let base = &state.config.base_url;
    let cloud = json!({
        "name": "CloudHsmEmulator",
        "portal": base,
        "resourceManager": format!("{base}/"),
        "authentication": {
            "loginEndpoint": format!("{base}/"),
            "audiences": [format!("{base}/"), "https://management.azure.com/", "https://management.core.windows.net/"],
            "tenant": state.config.tenant_id,
            "identityProvider": "AAD",
        },
        "media": base,
        "graphAudience": format!("{base}/"),
        "graph": format!("{base}/"),
        "batch": format!("{base}/"),
        "microsoftGraphResourceId": format!("{base}/"),
        "sqlManagement": format!("{base}/"),
        "gallery": format!("{base}/"),
        "activeDirectoryDataLake": format!("{base}/"),
        "suffixes": {
            "storage": "core.windows.net",
            "keyVaultDns": "vault.azure.net",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "acrLoginServer": "azurecr.io",
            "mysqlServerEndpoint": "mysql.database.azure.com",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
            "mariadbServerEndpoint": "mariadb.database.azure.com",
        },
    });
    Ok(Json(cloud))
}

fn subscription_body(state: &AppState) -> Value {
    let c = &state.config;
    json!({
        "id": format!("/subscriptions/{}", c.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": c.subscription_id,
        "tenantId": c.tenant_id,
        "displayName": "Cloud HSM Emulator",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "Internal_2014-09-01",
            "spendingLimit": "Off",
        },
    })
}

async fn list_subscriptions(
    State(state): State<AppState>,
    _: ApiVersion<Subscriptions>,
) -> Json<Value> {
    Json(json!({
        "value": [subscription_body(&state)],
        "count": { "type": "Total", "value": 1 },
    }))
}

/// Unknown subscriptions never get here: `subscription_must_exist` answers.
async fn show_subscription(
    State(state): State<AppState>,
    _: ApiVersion<Subscriptions>,
) -> Json<Value> {
    Json(subscription_body(&state))
}

async fn list_tenants(State(state): State<AppState>, _: ApiVersion<Tenants>) -> Json<Value> {
    let tenant = &state.config.tenant_id;
    Json(json!({
        "value": [{
            "id": format!("/tenants/{tenant}"),
            "tenantId": tenant,
            "tenantCategory": "Home",
            "displayName": "Cloud HSM Emulator",
            "defaultDomain": "cloudhsm.emulator",
            "tenantType": "AAD",
        }],
        "count": { "type": "Total", "value": 1 },
    }))
}
