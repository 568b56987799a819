//! Shared-access authorization rules of a namespace
//! (`namespaces/authorizationRules`) and of an event hub
//! (`namespaces/eventhubs/authorizationRules`), with `listKeys` and
//! `regenerateKeys`. Both levels share one record kind and one set of
//! operations; a [`RuleScope`] says which parent a request names.

use axum::{
    extract::{OriginalUri, Path, State},
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    access_keys, display_location, hubs, names,
    namespaces::{self, StoredNamespace},
    EventHubAuthorizationRules, NamespaceAuthorizationRules, EVENT_HUB_PATH, NAMESPACE_PATH,
};
use crate::{
    arm::{
        api_version::ApiVersion,
        error::ArmError,
        paging::list_records,
        resource_id::storage_key,
        schema::{ArmJson, ValidatedBody},
    },
    identity::tokens::Principal,
    providers::resource_groups,
    state::AppState,
    store::{Record, WriteSet},
};

pub const ROOT_RULE: &str = "RootManageSharedAccessKey";
const RIGHTS: [&str; 3] = ["Listen", "Send", "Manage"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAuthorizationRule {
    pub id: String,
    pub name: String,
    pub location: String,
    /// `{namespace}.servicebus.windows.net`, for the connection strings.
    pub host: String,
    /// The hub's name for a hub's rule (its connection strings' `EntityPath`).
    pub entity_path: Option<String>,
    pub rights: Vec<String>,
    pub primary_key: String,
    pub secondary_key: String,
}

impl Record for StoredAuthorizationRule {
    const KIND: &'static str = "eventHubAuthorizationRule";
    const VERSION: u32 = 1;
}

#[derive(Deserialize)]
struct RulePutProperties {
    rights: Vec<String>,
}

#[derive(Deserialize)]
pub struct RulePut {
    properties: RulePutProperties,
}
impl ValidatedBody for RulePut {
    const SCHEMA: &'static str = "eventHubAuthorizationRules.put";
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegenerateKeys {
    key_type: String,
    key: Option<String>,
}
impl ValidatedBody for RegenerateKeys {
    const SCHEMA: &'static str = "eventHubAuthorizationRules.regenerateKeys";
}

/// Where a rule lives: a namespace, or one of its hubs.
struct RuleScope {
    /// The parent's resource id.
    parent_id: String,
    group: String,
    namespace: StoredNamespace,
    hub: Option<String>,
}

impl RuleScope {
    fn of_namespace(
        state: &AppState,
        sub: &str,
        group: &str,
        namespace: &str,
    ) -> Result<Self, ArmError> {
        let namespace = namespaces::parent(state, sub, group, namespace)?;
        Ok(Self {
            parent_id: namespace.id.clone(),
            group: group.to_string(),
            namespace,
            hub: None,
        })
    }

    fn of_hub(
        state: &AppState,
        sub: &str,
        group: &str,
        namespace: &str,
        hub: &str,
    ) -> Result<Self, ArmError> {
        let (namespace, hub) = hubs::parent(state, sub, group, namespace, hub)?;
        Ok(Self {
            parent_id: hub.id,
            group: group.to_string(),
            namespace,
            hub: Some(hub.name),
        })
    }

    fn rule_key(&self, name: &str) -> String {
        storage_key(&format!("{}/authorizationRules/{name}", self.parent_id))
    }

    fn wire_type(&self) -> &'static str {
        match self.hub {
            None => "Microsoft.EventHub/Namespaces/AuthorizationRules",
            Some(_) => "Microsoft.EventHub/Namespaces/EventHubs/AuthorizationRules",
        }
    }

    fn not_found(&self, name: &str) -> ArmError {
        let path = match &self.hub {
            None => format!("authorizationRules/{name}"),
            Some(hub) => format!("eventhubs/{hub}/authorizationRules/{name}"),
        };
        namespaces::child_not_found(&self.group, &self.namespace.name, &path)
    }

    fn find(&self, state: &AppState, name: &str) -> Result<StoredAuthorizationRule, ArmError> {
        state
            .store
            .get::<StoredAuthorizationRule>(&self.rule_key(name))?
            .ok_or_else(|| self.not_found(name))
    }

    fn render(&self, rule: StoredAuthorizationRule) -> Value {
        json!({
            "id": rule.id,
            "name": rule.name,
            "type": self.wire_type(),
            "location": display_location(&rule.location),
            "properties": { "rights": rule.rights },
        })
    }
}

fn new_rule(
    parent_id: &str,
    namespace: &StoredNamespace,
    entity_path: Option<String>,
    name: &str,
    rights: Vec<String>,
) -> Result<StoredAuthorizationRule, ArmError> {
    Ok(StoredAuthorizationRule {
        id: format!("{parent_id}/authorizationRules/{name}"),
        name: name.to_string(),
        location: namespace.location.clone(),
        host: namespace.host(),
        entity_path,
        rights,
        primary_key: access_keys::new_key()?,
        secondary_key: access_keys::new_key()?,
    })
}

/// Part of a namespace's creation: its `RootManageSharedAccessKey` rule.
pub fn stage_root_rule(namespace: &StoredNamespace, writes: &mut WriteSet) -> Result<(), ArmError> {
    let rights = RIGHTS.iter().map(|r| r.to_string()).collect();
    let rule = new_rule(&namespace.id, namespace, None, ROOT_RULE, rights)?;
    writes.put(&storage_key(&rule.id), &rule)?;
    Ok(())
}

/// Stages the deletion of every rule whose storage key starts with `prefix`.
pub fn delete_under(state: &AppState, prefix: &str, writes: &mut WriteSet) -> Result<(), ArmError> {
    Ok(state
        .store
        .delete_under::<StoredAuthorizationRule>(prefix, writes)?)
}

/// The rights in their canonical spelling, each once; `Manage` only with
/// `Listen` and `Send`, as the service requires.
fn checked_rights(requested: &[String]) -> Result<Vec<String>, ArmError> {
    let mut rights: Vec<String> = Vec::new();
    for right in requested {
        let canonical = RIGHTS
            .iter()
            .find(|r| r.eq_ignore_ascii_case(right))
            .ok_or_else(|| ArmError::BadRequest {
                code: "BadRequest",
                message: format!("The access right '{right}' is not valid. Valid rights are Listen, Send and Manage."),
                target: Some("properties.rights".into()),
            })?;
        if !rights.iter().any(|r| r == canonical) {
            rights.push(canonical.to_string());
        }
    }
    let has = |right: &str| rights.iter().any(|r| r == right);
    if has("Manage") && !(has("Listen") && has("Send")) {
        return Err(ArmError::BadRequest {
            code: "BadRequest",
            message: "The Manage right requires the Listen and Send rights: a rule with Manage must also have Listen and Send.".into(),
            target: Some("properties.rights".into()),
        });
    }
    if rights.is_empty() {
        return Err(ArmError::BadRequest {
            code: "BadRequest",
            message: "An authorization rule needs at least one right: Listen, Send or Manage."
                .into(),
            target: Some("properties.rights".into()),
        });
    }
    Ok(rights)
}

fn show_in(state: &AppState, scope: RuleScope, name: &str) -> Result<Json<Value>, ArmError> {
    let rule = scope.find(state, name)?;
    Ok(Json(scope.render(rule)))
}

fn list_in(
    state: &AppState,
    scope: RuleScope,
    uri: &axum::http::Uri,
) -> Result<Json<Value>, ArmError> {
    let prefix = storage_key(&format!("{}/authorizationRules/", scope.parent_id));
    list_records(state, &prefix, uri, |rule| scope.render(rule))
}

/// A rule's keys survive an update of its rights.
async fn put_in(
    state: &AppState,
    scope: RuleScope,
    name: &str,
    body: RulePut,
) -> Result<Json<Value>, ArmError> {
    names::check_authorization_rule(name)?;
    let rights = checked_rights(&body.properties.rights)?;
    let key = scope.rule_key(name);
    let rule = match state.store.get::<StoredAuthorizationRule>(&key)? {
        Some(mut existing) => {
            existing.rights = rights;
            existing
        }
        None => new_rule(
            &scope.parent_id,
            &scope.namespace,
            scope.hub.clone(),
            name,
            rights,
        )?,
    };
    let mut writes = WriteSet::new();
    writes.put(&key, &rule)?;
    state.store.commit(writes).await?;
    Ok(Json(scope.render(rule)))
}

async fn delete_in(state: &AppState, scope: RuleScope, name: &str) -> Result<StatusCode, ArmError> {
    let key = scope.rule_key(name);
    if state.store.get::<StoredAuthorizationRule>(&key)?.is_none() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut writes = WriteSet::new();
    writes.delete::<StoredAuthorizationRule>(&key);
    state.store.commit(writes).await?;
    Ok(StatusCode::OK)
}

/// The keys, with connection strings pointing at the emulator's own Event
/// Hubs listener (every namespace is served there; the key says which).
fn keys_of(state: &AppState, rule: &StoredAuthorizationRule) -> Value {
    access_keys::access_keys(
        state.event_hubs.amqp_endpoint().unwrap_or(&rule.host),
        &rule.name,
        &rule.primary_key,
        &rule.secondary_key,
        rule.entity_path.as_deref(),
    )
}

fn list_keys_in(state: &AppState, scope: RuleScope, name: &str) -> Result<Json<Value>, ArmError> {
    Ok(Json(keys_of(state, &scope.find(state, name)?)))
}

/// Replaces one key with a new random one, or with the one supplied.
async fn regenerate_in(
    state: &AppState,
    scope: RuleScope,
    name: &str,
    body: RegenerateKeys,
) -> Result<Json<Value>, ArmError> {
    let mut rule = scope.find(state, name)?;
    let key = match body.key {
        Some(key) => {
            access_keys::check_supplied_key(&key)?;
            key
        }
        None => access_keys::new_key()?,
    };
    // The schema allows only these two values.
    if body.key_type == "PrimaryKey" {
        rule.primary_key = key;
    } else {
        rule.secondary_key = key;
    }
    let mut writes = WriteSet::new();
    writes.put(&scope.rule_key(name), &rule)?;
    state.store.commit(writes).await?;
    Ok(Json(keys_of(state, &rule)))
}

pub fn routes() -> Router<AppState> {
    let namespace_rule = format!("{NAMESPACE_PATH}/authorizationRules/{{authorizationRuleName}}");
    let hub_rule = format!("{EVENT_HUB_PATH}/authorizationRules/{{authorizationRuleName}}");
    Router::new()
        .route(
            &format!("{NAMESPACE_PATH}/authorizationRules"),
            get(namespace_list),
        )
        .route(
            &namespace_rule,
            get(namespace_show)
                .put(namespace_put)
                .delete(namespace_delete),
        )
        .route(
            &format!("{namespace_rule}/listKeys"),
            post(namespace_list_keys),
        )
        .route(
            &format!("{namespace_rule}/regenerateKeys"),
            post(namespace_regenerate),
        )
        .route(
            &format!("{EVENT_HUB_PATH}/authorizationRules"),
            get(hub_list),
        )
        .route(&hub_rule, get(hub_show).put(hub_put).delete(hub_delete))
        .route(&format!("{hub_rule}/listKeys"), post(hub_list_keys))
        .route(&format!("{hub_rule}/regenerateKeys"), post(hub_regenerate))
}

type NamespacePath = (String, String, String);
type NamespaceRulePath = (String, String, String, String);
type HubPath = (String, String, String, String);
type HubRulePath = (String, String, String, String, String);

async fn namespace_list(
    State(state): State<AppState>,
    _: ApiVersion<NamespaceAuthorizationRules>,
    Path((sub, group, ns)): Path<NamespacePath>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    list_in(
        &state,
        RuleScope::of_namespace(&state, &sub, &group, &ns)?,
        &uri,
    )
}

async fn namespace_show(
    State(state): State<AppState>,
    _: ApiVersion<NamespaceAuthorizationRules>,
    Path((sub, group, ns, rule)): Path<NamespaceRulePath>,
) -> Result<Json<Value>, ArmError> {
    show_in(
        &state,
        RuleScope::of_namespace(&state, &sub, &group, &ns)?,
        &rule,
    )
}

async fn namespace_put(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<NamespaceAuthorizationRules>,
    Path((sub, group, ns, rule)): Path<NamespaceRulePath>,
    ArmJson(body): ArmJson<RulePut>,
) -> Result<Json<Value>, ArmError> {
    let _guard = state.store.lock_writes().await;
    resource_groups::writable_group(&state, &sub, &group)?;
    put_in(
        &state,
        RuleScope::of_namespace(&state, &sub, &group, &ns)?,
        &rule,
        body,
    )
    .await
}

async fn namespace_delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<NamespaceAuthorizationRules>,
    Path((sub, group, ns, rule)): Path<NamespaceRulePath>,
) -> Result<StatusCode, ArmError> {
    let _guard = state.store.lock_writes().await;
    delete_in(
        &state,
        RuleScope::of_namespace(&state, &sub, &group, &ns)?,
        &rule,
    )
    .await
}

async fn namespace_list_keys(
    State(state): State<AppState>,
    _: ApiVersion<NamespaceAuthorizationRules>,
    Path((sub, group, ns, rule)): Path<NamespaceRulePath>,
) -> Result<Json<Value>, ArmError> {
    list_keys_in(
        &state,
        RuleScope::of_namespace(&state, &sub, &group, &ns)?,
        &rule,
    )
}

async fn namespace_regenerate(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<NamespaceAuthorizationRules>,
    Path((sub, group, ns, rule)): Path<NamespaceRulePath>,
    ArmJson(body): ArmJson<RegenerateKeys>,
) -> Result<Json<Value>, ArmError> {
    let _guard = state.store.lock_writes().await;
    regenerate_in(
        &state,
        RuleScope::of_namespace(&state, &sub, &group, &ns)?,
        &rule,
        body,
    )
    .await
}

async fn hub_list(
    State(state): State<AppState>,
    _: ApiVersion<EventHubAuthorizationRules>,
    Path((sub, group, ns, hub)): Path<HubPath>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    list_in(
        &state,
        RuleScope::of_hub(&state, &sub, &group, &ns, &hub)?,
        &uri,
    )
}

async fn hub_show(
    State(state): State<AppState>,
    _: ApiVersion<EventHubAuthorizationRules>,
    Path((sub, group, ns, hub, rule)): Path<HubRulePath>,
) -> Result<Json<Value>, ArmError> {
    show_in(
        &state,
        RuleScope::of_hub(&state, &sub, &group, &ns, &hub)?,
        &rule,
    )
}

async fn hub_put(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<EventHubAuthorizationRules>,
    Path((sub, group, ns, hub, rule)): Path<HubRulePath>,
    ArmJson(body): ArmJson<RulePut>,
) -> Result<Json<Value>, ArmError> {
    let _guard = state.store.lock_writes().await;
    resource_groups::writable_group(&state, &sub, &group)?;
    put_in(
        &state,
        RuleScope::of_hub(&state, &sub, &group, &ns, &hub)?,
        &rule,
        body,
    )
    .await
}

async fn hub_delete(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<EventHubAuthorizationRules>,
    Path((sub, group, ns, hub, rule)): Path<HubRulePath>,
) -> Result<StatusCode, ArmError> {
    let _guard = state.store.lock_writes().await;
    delete_in(
        &state,
        RuleScope::of_hub(&state, &sub, &group, &ns, &hub)?,
        &rule,
    )
    .await
}

async fn hub_list_keys(
    State(state): State<AppState>,
    _: ApiVersion<EventHubAuthorizationRules>,
    Path((sub, group, ns, hub, rule)): Path<HubRulePath>,
) -> Result<Json<Value>, ArmError> {
    list_keys_in(
        &state,
        RuleScope::of_hub(&state, &sub, &group, &ns, &hub)?,
        &rule,
    )
}

async fn hub_regenerate(
    State(state): State<AppState>,
    _: Principal,
    _: ApiVersion<EventHubAuthorizationRules>,
    Path((sub, group, ns, hub, rule)): Path<HubRulePath>,
    ArmJson(body): ArmJson<RegenerateKeys>,
) -> Result<Json<Value>, ArmError> {
    let _guard = state.store.lock_writes().await;
    regenerate_in(
        &state,
        RuleScope::of_hub(&state, &sub, &group, &ns, &hub)?,
        &rule,
        body,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights(list: &[&str]) -> Result<Vec<String>, ArmError> {
        checked_rights(&list.iter().map(|r| r.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn manage_needs_listen_and_send() {
        assert_eq!(
            rights(&["send", "Listen", "Send"]).unwrap(),
            ["Send", "Listen"]
        );
        assert!(rights(&["Manage", "Listen"]).is_err());
        assert_eq!(rights(&["Manage", "Listen", "Send"]).unwrap().len(), 3);
        assert!(rights(&[]).is_err());
        assert!(rights(&["Read"]).is_err());
    }
}
