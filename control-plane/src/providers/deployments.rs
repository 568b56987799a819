//! `Microsoft.Resources/deployments` at resource-group and subscription
//! scope: PUT (long-running), GET, HEAD, list, DELETE, `cancel`, `validate`,
//! `whatIf`, `exportTemplate`, and the deployment's operations. The engine
//! (`crate::deployments`) plans the template; every resource it deploys is a
//! request sent through this emulator's own ARM pipeline as the caller.

pub mod history;

use std::{collections::HashMap, sync::Mutex};

use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::resource_groups;
use crate::{
    arm::{
        api_version::{ApiVersion, VersionedType},
        error::{error_response, ArmError, ErrorDetail},
        lro::{insert_poll_hint_since, AZURE_ASYNC_OPERATION},
        request_context::query_param,
        resource_id::storage_key,
        system_data::arm_time,
    },
    deployments::{
        self,
        executor::{self, ArmClient, Execution, OperationEntry},
        template::{display_type, is_secure, member},
        DeploymentError, DeploymentInput, DeploymentScope,
    },
    identity::tokens::{Principal, TokenIssuer},
    state::AppState,
    store::{Record, Store, WriteSet},
};

pub struct Deployments;
impl VersionedType for Deployments {
    const NAMESPACE: &'static str = "Microsoft.Resources";
    const RESOURCE_TYPE: &'static str = "deployments";
    /// The resources spec's versions and the deployments spec's newer ones
    /// (2026-06-01 is what azure-mgmt-resource-deployments 2.0.0 sends).
    const SUPPORTED: &'static [&'static str] =
        resource_groups::resources_api_versions!("2026-09-01", "2026-06-01");
}

const SEGMENT: &str = "/providers/Microsoft.Resources/deployments";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    pub id: String,
    pub name: String,
    pub scope: DeploymentScope,
    pub location: Option<String>,
    pub tags: Option<Value>,
    pub template: Value,
    /// As supplied (secure values included: a resumed deployment needs them;
    /// they are never rendered).
    pub parameters: Value,
    pub mode: String,
    pub provisioning_state: String,
    pub correlation_id: String,
    pub template_hash: String,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub outputs: Option<Value>,
    pub output_resources: Vec<String>,
    pub dependencies: Vec<Value>,
    pub providers: Vec<Value>,
    pub error: Option<ErrorDetail>,
    /// The principal the deployment's requests run as.
    pub caller_app_id: String,
    pub caller_object_id: String,
    pub operation_id: String,
}

impl Record for DeploymentRecord {
    const KIND: &'static str = "deployment";
    const VERSION: u32 = 1;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentOperationRecord {
    pub entry: OperationEntry,
}

impl Record for DeploymentOperationRecord {
    const KIND: &'static str = "deployment-operation";
    const VERSION: u32 = 1;
}

/// Running deployments, so `cancel` can stop one.
#[derive(Default)]
pub struct DeploymentRuns {
    running: Mutex<HashMap<String, tokio::task::AbortHandle>>,
}

impl DeploymentRuns {
    fn insert(&self, key: String, handle: tokio::task::AbortHandle) {
        if let Ok(mut running) = self.running.lock() {
            running.insert(key, handle);
        }
    }
    fn remove(&self, key: &str) -> Option<tokio::task::AbortHandle> {
        self.running.lock().ok()?.remove(key)
    }
}

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for scope in [
        "/subscriptions/{subscriptionId}",
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
    ] {
        let base = format!("{scope}{SEGMENT}");
        router = router
            .route(&base, get(list))
            .route(
                &format!("{base}/{{deploymentName}}"),
                get(show).head(exists).put(create).delete(delete),
            )
            .route(&format!("{base}/{{deploymentName}}/cancel"), post(cancel))
            .route(
                &format!("{base}/{{deploymentName}}/validate"),
                post(validate),
            )
            .route(&format!("{base}/{{deploymentName}}/whatIf"), post(what_if))
            .route(
                &format!("{base}/{{deploymentName}}/exportTemplate"),
                post(export_template),
            )
            .route(
                &format!("{base}/{{deploymentName}}/operations"),
                get(list_operations),
            )
            .route(
                &format!("{base}/{{deploymentName}}/operations/{{operationId}}"),
                get(show_operation),
            )
            .route(
                &format!("{base}/{{deploymentName}}/operationStatuses/{{operationId}}"),
                get(operation_status),
            );
    }
    // The deployment-operations paths of a group as the SDKs and az send
    // them: without `/providers/Microsoft.Resources`, as ARM also serves them.
    let legacy = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/deployments/{deploymentName}";
    router
        .route(&format!("{legacy}/operations"), get(list_operations))
        .route(
            &format!("{legacy}/operations/{{operationId}}"),
            get(show_operation),
        )
}

/// `(scope, deployment name)` from a request path.
fn scope_of(state: &AppState, path: &str) -> Result<(DeploymentScope, Option<String>), ArmError> {
    let lower = path.to_ascii_lowercase();
    // `.../providers/Microsoft.Resources/deployments/{name}`, or a group's
    // `.../deployments/{name}` as the operations paths also come.
    let (at, skip) = match lower.find("/providers/microsoft.resources/deployments") {
        Some(at) => (at, 4),
        None => match lower.find("/deployments/") {
            Some(at) => (at, 2),
            None => (path.len(), 4),
        },
    };
    let scope_part = &path[..at];
    let rest = path[at..]
        .splitn(skip + 1, '/')
        .nth(skip)
        .map(|s| s.split('/').next().unwrap_or("").to_string());
    let segments: Vec<&str> = scope_part.split('/').filter(|s| !s.is_empty()).collect();
    let scope = match segments.as_slice() {
        [_, sub] => DeploymentScope::Subscription {
            subscription: sub.to_string(),
        },
        [_, sub, _, group] => {
            let found = resource_groups::find(state, sub, group)?;
            DeploymentScope::ResourceGroup {
                subscription: sub.to_string(),
                group: found.name,
            }
        }
        _ => {
            return Err(ArmError::bad_request(
                "InvalidScope",
                format!("The scope '{scope_part}' is not a deployment scope."),
            ))
        }
    };
    Ok((scope, rest.filter(|n| !n.is_empty())))
}

/// The deployment a request addresses: its scope, name and id.
fn addressed(state: &AppState, path: &str) -> Result<(DeploymentScope, String, String), ArmError> {
    let (scope, name) = scope_of(state, path)?;
    let name = name.unwrap_or_default();
    let id = deployment_id(&scope, &name);
    Ok((scope, name, id))
}

fn deployment_id(scope: &DeploymentScope, name: &str) -> String {
    format!("{}{SEGMENT}/{name}", scope.id())
}

fn not_found(name: &str) -> ArmError {
    ArmError::NotFound {
        code: "DeploymentNotFound",
        message: format!("Deployment '{name}' could not be found."),
    }
}

fn load(state: &AppState, id: &str, name: &str) -> Result<DeploymentRecord, ArmError> {
    state
        .store
        .get::<DeploymentRecord>(&storage_key(id))?
        .ok_or_else(|| not_found(name))
}

fn iso_duration(started: DateTime<Utc>, ended: Option<DateTime<Utc>>) -> String {
    let end = ended.unwrap_or_else(Utc::now);
    let millis = (end - started).num_milliseconds().max(0);
    format!("PT{}.{:03}S", millis / 1000, millis % 1000)
}

fn is_active(state: &str) -> bool {
    matches!(state, "Accepted" | "Running" | "Canceling")
}

/// Parameters as a deployment shows them: with their declared types, and
/// without the values of secure ones.
fn rendered_parameters(template: &Value, parameters: &Value) -> Value {
    let declarations = member(template, "parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    if let Some(given) = parameters.as_object() {
        for (name, entry) in given {
            let declaration = declarations
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or(json!({}));
            let kind = member(&declaration, "type")
                .and_then(Value::as_str)
                .unwrap_or("Object");
            let pretty = display_type(kind);
            if is_secure(&declaration) {
                out.insert(name.clone(), json!({ "type": pretty }));
            } else {
                out.insert(
                    name.clone(),
                    json!({ "type": pretty, "value": member(entry, "value").cloned().unwrap_or(Value::Null) }),
                );
            }
        }
    }
    Value::Object(out)
}

fn render(d: &DeploymentRecord) -> Value {
    let mut properties = json!({
        "templateHash": d.template_hash,
        "parameters": rendered_parameters(&d.template, &d.parameters),
        "mode": d.mode,
        "provisioningState": d.provisioning_state,
        "timestamp": arm_time(d.ended.unwrap_or(d.started)),
        "duration": iso_duration(d.started, d.ended),
        "correlationId": d.correlation_id,
        "providers": d.providers,
        "dependencies": d.dependencies,
        "outputResources": d.output_resources.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
    });
    if let Some(outputs) = &d.outputs {
        properties["outputs"] = outputs.clone();
    }
    if let Some(error) = &d.error {
        properties["error"] = json!(error);
    }
    let mut body = json!({
        "id": d.id,
        "name": d.name,
        "type": "Microsoft.Resources/deployments",
        "properties": properties,
    });
    if let Some(location) = &d.location {
        body["location"] = json!(location);
    }
    if let Some(tags) = &d.tags {
        body["tags"] = tags.clone();
    }
    body
}

fn parse_body(bytes: &Bytes) -> Result<Value, ArmError> {
    if bytes.is_empty() {
        return Err(ArmError::invalid_content(
            "The request content was invalid and could not be deserialized: the body is empty.",
            None,
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        ArmError::invalid_content(
            "The request content was invalid and could not be deserialized: it is not UTF-8.",
            None,
        )
    })?;
    // Strict JSON first (the common case), then ARM's lenient reading:
    // comments, unquoted property names, trailing commas.
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(value);
    }
    jsonc_parser::parse_to_serde_value::<Value>(text, &jsonc_parser::ParseOptions::default())
        .map_err(|e| {
            ArmError::invalid_content(
                format!("The request content was invalid and could not be deserialized: '{e}'."),
                None,
            )
        })
}

fn deployment_error(e: DeploymentError) -> Response {
    error_response(e.status, &e.detail)
}

struct Request {
    template: Value,
    parameters: Value,
    mode: String,
    location: Option<String>,
    tags: Option<Value>,
}

fn read_request(body: &Value, scope: &DeploymentScope) -> Result<Request, ArmError> {
    let properties = member(body, "properties").ok_or_else(|| {
        ArmError::invalid_content(
            "The request content must have 'properties'.",
            Some("properties".into()),
        )
    })?;
    if member(properties, "templateLink").is_some() {
        return Err(ArmError::BadRequest {
            code: "InvalidTemplateLink",
            message: "The emulator cannot download linked templates: pass the template inline ('properties.template'; az does so for --template-file).".into(),
            target: Some("properties.templateLink".into()),
        });
    }
    if member(properties, "parametersLink").is_some() {
        return Err(ArmError::BadRequest {
            code: "InvalidParametersLink",
            message: "The emulator cannot download parameter files: pass the parameters inline ('properties.parameters').".into(),
            target: Some("properties.parametersLink".into()),
        });
    }
    let template = member(properties, "template").cloned().ok_or_else(|| {
        ArmError::invalid_content(
            "The request content must have 'properties.template' or 'properties.templateLink'.",
            Some("properties.template".into()),
        )
    })?;
    let mode = member(properties, "mode")
        .and_then(Value::as_str)
        .unwrap_or("Incremental");
    let mode = if mode.eq_ignore_ascii_case("complete") {
        "Complete"
    } else if mode.eq_ignore_ascii_case("incremental") {
        "Incremental"
    } else {
        return Err(ArmError::BadRequest {
            code: "InvalidDeploymentMode",
            message: format!("The deployment mode '{mode}' is not valid. Allowed values are 'Incremental' and 'Complete'."),
            target: Some("properties.mode".into()),
        });
    };
    if mode == "Complete" && matches!(scope, DeploymentScope::Subscription { .. }) {
        return Err(ArmError::BadRequest {
            code: "InvalidDeploymentMode",
            message: "Complete mode is only supported for deployments at resource group scope."
                .into(),
            target: Some("properties.mode".into()),
        });
    }
    let location = member(body, "location")
        .and_then(Value::as_str)
        .map(str::to_string);
    if matches!(scope, DeploymentScope::Subscription { .. }) && location.is_none() {
        return Err(ArmError::BadRequest {
            code: "LocationRequired",
            message: "The location property is required for this definition: a subscription-scope deployment needs a location for its metadata.".into(),
            target: Some("location".into()),
        });
    }
    Ok(Request {
        template,
        parameters: member(properties, "parameters")
            .cloned()
            .unwrap_or(json!({})),
        mode: mode.to_string(),
        location,
        tags: member(body, "tags").cloned(),
    })
}

fn prepare(
    state: &AppState,
    scope: &DeploymentScope,
    name: &str,
    request: &Request,
) -> Result<deployments::Prepared, DeploymentError> {
    let resource_group = match scope {
        DeploymentScope::ResourceGroup {
            subscription,
            group,
        } => resource_groups::find(state, subscription, group)
            .ok()
            .map(|g| g.wire()),
        DeploymentScope::Subscription { .. } => None,
    };
    deployments::prepare(DeploymentInput {
        template: request.template.clone(),
        parameters: &request.parameters,
        scope: scope.clone(),
        name: name.to_string(),
        tenant_id: state.config.tenant_id.clone(),
        resource_group,
        base_url: state.config.base_url.clone(),
        mode: request.mode.clone(),
    })
}

/// What ARM lists as a deployment's `providers` and `dependencies`.
fn summarise(plan: &deployments::plan::Plan) -> (Vec<Value>, Vec<Value>) {
    let mut providers: Vec<(String, Vec<String>)> = Vec::new();
    for instance in plan.instances.iter().filter(|i| !i.skipped) {
        let (namespace, resource_type) = instance
            .resource_type
            .split_once('/')
            .unwrap_or((&instance.resource_type, ""));
        match providers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(namespace))
        {
            Some((_, types)) => {
                if !types.iter().any(|t| t.eq_ignore_ascii_case(resource_type)) {
                    types.push(resource_type.to_string());
                }
            }
            None => providers.push((namespace.to_string(), vec![resource_type.to_string()])),
        }
    }
    let providers = providers
        .into_iter()
        .map(|(namespace, types)| {
            json!({
                "namespace": namespace,
                "resourceTypes": types.iter().map(|t| json!({ "resourceType": t, "locations": [] })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let dependencies = plan
        .instances
        .iter()
        .filter(|i| !i.depends_on.is_empty())
        .map(|i| {
            json!({
                "id": i.id,
                "resourceType": i.resource_type,
                "resourceName": i.name,
                "dependsOn": i.depends_on.iter().map(|&d| {
                    let dep = &plan.instances[d];
                    json!({ "id": dep.id, "resourceType": dep.resource_type, "resourceName": dep.name })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    (providers, dependencies)
}

fn status_url(state: &AppState, record: &DeploymentRecord, api_version: &str) -> String {
    format!(
        "{}{}/operationStatuses/{}?api-version={api_version}",
        state.config.base_url, record.id, record.operation_id
    )
}

/// A deployment's body read and planned, as PUT, `validate` and `whatIf`
/// take it; a template that does not validate is answered at once.
struct Planned {
    scope: DeploymentScope,
    name: String,
    request: Request,
    prepared: deployments::Prepared,
}

fn plan_request(
    state: &AppState,
    path: &str,
    bytes: &Bytes,
) -> Result<Result<Planned, Response>, ArmError> {
    let (scope, name) = scope_of(state, path)?;
    let name = name.unwrap_or_default();
    check_name(&name)?;
    let body = parse_body(bytes)?;
    let request = read_request(&body, &scope)?;
    Ok(match prepare(state, &scope, &name, &request) {
        Ok(prepared) => Ok(Planned {
            scope,
            name,
            request,
            prepared,
        }),
        Err(e) => Err(deployment_error(e)),
    })
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    api: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ArmError> {
    let Planned {
        scope,
        name,
        request,
        prepared,
    } = match plan_request(&state, uri.path(), &bytes)? {
        Ok(planned) => planned,
        Err(refused) => return Ok(refused),
    };
    let id = deployment_id(&scope, &name);
    let key = storage_key(&id);
    let _guard = state.store.lock_writes().await;
    let existing = state.store.get::<DeploymentRecord>(&key)?;
    if let Some(existing) = &existing {
        if is_active(&existing.provisioning_state) {
            return Err(ArmError::Conflict {
                code: "DeploymentActive",
                message: format!(
                    "Unable to edit or replace deployment '{name}': previous deployment from '{}' is still active (current provisioning state is '{}'). Please see https://aka.ms/arm-deploy for usage details.",
                    arm_time(existing.started),
                    existing.provisioning_state
                ),
            });
        }
    }
    let (providers, dependencies) = summarise(&prepared.plan);
    let record = DeploymentRecord {
        id: id.clone(),
        name: name.clone(),
        scope: scope.clone(),
        location: request.location.clone(),
        tags: request.tags.clone(),
        template: request.template.clone(),
        parameters: request.parameters.clone(),
        mode: request.mode.clone(),
        provisioning_state: "Accepted".into(),
        correlation_id: headers
            .get("x-ms-correlation-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        template_hash: prepared.frame.template_hash.clone(),
        started: Utc::now(),
        ended: None,
        outputs: None,
        output_resources: Vec::new(),
        dependencies,
        providers,
        error: None,
        caller_app_id: principal.name.clone(),
        caller_object_id: principal.object_id.clone(),
        operation_id: uuid::Uuid::new_v4().to_string(),
    };
    let mut writes = WriteSet::new();
    history::make_room(&state, &principal, &record, existing.as_ref(), &mut writes)?;
    // A redeployment starts with no operations of the last run.
    state
        .store
        .delete_under::<DeploymentOperationRecord>(&format!("{key}/"), &mut writes)?;
    writes.put(&key, &record)?;
    state.store.commit(writes).await?;
    drop(_guard);
    start(&state, record.clone(), prepared);
    let mut response = (StatusCode::CREATED, Json(render(&record))).into_response();
    let url = status_url(&state, &record, api.as_str());
    if let Ok(v) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(AZURE_ASYNC_OPERATION, v);
    }
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    insert_poll_hint_since(record.started, response.headers_mut());
    Ok(response)
}

fn check_name(name: &str) -> Result<(), ArmError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if valid {
        Ok(())
    } else {
        Err(ArmError::BadRequest {
            code: "InvalidDeploymentName",
            message: format!("The deployment name '{name}' is invalid. It must be 1-64 characters of letters, digits, '-', '_', '.', '(' and ')'."),
            target: Some("deploymentName".into()),
        })
    }
}

/// Runs a deployment in the background as its caller; the record follows it.
fn start(state: &AppState, record: DeploymentRecord, prepared: deployments::Prepared) {
    let key = storage_key(&record.id);
    let runner_state = state.clone();
    let handle = tokio::spawn(async move {
        run(runner_state, record, prepared).await;
    });
    state.deployment_runs.insert(key, handle.abort_handle());
}

/// A client of the pipeline that acts as the deployment's caller.
fn caller_client(state: &AppState, app_id: &str, object_id: &str) -> Result<ArmClient, ArmError> {
    let token = TokenIssuer {
        key: &state.signing_key,
        tenant: &state.config.tenant_id,
    }
    .issue_app_token(
        &format!("{}/", state.config.base_url),
        app_id,
        object_id,
        None,
        Utc::now().timestamp(),
    )?;
    Ok(ArmClient::new(
        crate::app(state.clone()),
        state.config.base_url.clone(),
        token,
    ))
}

async fn save_state(state: &AppState, record: &DeploymentRecord) {
    let key = storage_key(&record.id);
    let _guard = state.store.lock_writes().await;
    let mut writes = WriteSet::new();
    let written = writes
        .put(&key, record)
        .map(|_| ())
        .map_err(|e| e.to_string());
    match written {
        Ok(()) => {
            if let Err(e) = state.store.commit(writes).await {
                tracing::error!(error = %e, "saving a deployment");
            }
        }
        Err(e) => tracing::error!(error = %e, "encoding a deployment"),
    }
}

async fn run(state: AppState, mut record: DeploymentRecord, prepared: deployments::Prepared) {
    let key = storage_key(&record.id);
    record.provisioning_state = "Running".into();
    save_state(&state, &record).await;
    let client = match caller_client(&state, &record.caller_app_id, &record.caller_object_id) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => {
            record.provisioning_state = "Failed".into();
            record.error = Some(e.detail());
            record.ended = Some(Utc::now());
            save_state(&state, &record).await;
            return;
        }
    };
    let (progress, mut updates) = tokio::sync::mpsc::unbounded_channel::<OperationEntry>();
    // Operations are persisted as they happen, so a running deployment's
    // operations list shows its progress.
    let recorder_state = state.clone();
    let recorder_key = key.clone();
    let recorder = tokio::spawn(async move {
        while let Some(first) = updates.recv().await {
            // Whatever else arrived meanwhile lands in the same flushed batch:
            // fifty resources finishing together cost one commit, not fifty.
            let mut writes = WriteSet::new();
            let mut next = Some(first);
            while let Some(entry) = next {
                let op_key = format!("{recorder_key}/{}", entry.operation_id);
                if let Err(e) = writes.put(&op_key, &DeploymentOperationRecord { entry }) {
                    tracing::error!(error = %e, "encoding a deployment operation");
                }
                next = updates.try_recv().ok();
            }
            let _guard = recorder_state.store.lock_writes().await;
            if let Err(e) = recorder_state.store.commit(writes).await {
                tracing::error!(error = %e, "saving deployment operations");
            }
        }
    });
    let keep: Vec<String> = prepared
        .plan
        .instances
        .iter()
        .map(|i| i.id.clone())
        .collect();
    let execution = Execution {
        client: client.clone(),
        frame: std::sync::Arc::new(prepared.frame),
        plan: prepared.plan,
        progress: progress.clone(),
    };
    let mut outcome = execution.run().await;
    if outcome.error.is_none() && record.mode == "Complete" {
        if let DeploymentScope::ResourceGroup { .. } = &record.scope {
            if let Err(e) =
                executor::delete_unlisted(&client, &record.scope.id(), &keep, &progress).await
            {
                outcome.error = Some(e);
            }
        }
    }
    drop(progress);
    let _ = recorder.await;
    record.ended = Some(Utc::now());
    record.output_resources = outcome.output_resources;
    match outcome.error {
        None => {
            record.provisioning_state = "Succeeded".into();
            record.outputs = Some(Value::Object(outcome.outputs));
        }
        Some(error) => {
            record.provisioning_state = "Failed".into();
            record.error = Some(error);
        }
    }
    save_state(&state, &record).await;
    state.deployment_runs.remove(&key);
}

/// A group's deployment history goes with the group, as on ARM.
pub fn delete_in_group(
    state: &AppState,
    group_id: &str,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    let prefix = format!("{}/", storage_key(&format!("{group_id}{SEGMENT}")));
    state
        .store
        .delete_under::<DeploymentRecord>(&prefix, writes)?;
    state
        .store
        .delete_under::<history::HistoryEntry>(&prefix, writes)?;
    Ok(state
        .store
        .delete_under::<DeploymentOperationRecord>(&prefix, writes)?)
}

/// At start-up: deployments a `kill -9` interrupted run again from the
/// start (every resource request is idempotent), so none stays `Running`.
pub async fn resume_interrupted(state: &AppState) -> Result<(), String> {
    let interrupted: Vec<DeploymentRecord> = state
        .store
        .list::<DeploymentRecord>("", None, usize::MAX)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| is_active(&d.provisioning_state))
        .collect();
    for mut record in interrupted {
        let request = Request {
            template: record.template.clone(),
            parameters: record.parameters.clone(),
            mode: record.mode.clone(),
            location: record.location.clone(),
            tags: record.tags.clone(),
        };
        match prepare(state, &record.scope, &record.name, &request) {
            Ok(prepared) => {
                tracing::info!(deployment = %record.id, "resuming an interrupted deployment");
                start(state, record, prepared);
            }
            Err(e) => {
                record.provisioning_state = "Failed".into();
                record.error = Some(e.detail);
                record.ended = Some(Utc::now());
                save_state(state, &record).await;
            }
        }
    }
    Ok(())
}

async fn show(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let (_, name, id) = addressed(&state, uri.path())?;
    Ok(Json(render(&load(&state, &id, &name)?)))
}

async fn exists(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
) -> Result<StatusCode, ArmError> {
    let (_, _, id) = addressed(&state, uri.path())?;
    Ok(
        match state.store.get::<DeploymentRecord>(&storage_key(&id))? {
            Some(_) => StatusCode::NO_CONTENT,
            None => StatusCode::NOT_FOUND,
        },
    )
}

/// `$filter=provisioningState eq '<state>'` and `$top`.
async fn list(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let (scope, _) = scope_of(&state, uri.path())?;
    let filter = query_param(uri.query(), "$filter");
    let wanted_state = match filter.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(f) => {
            let value = f
                .strip_prefix("provisioningState")
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix("eq"))
                .map(str::trim)
                .and_then(|r| r.strip_prefix('\''))
                .and_then(|r| r.strip_suffix('\''));
            match value {
                Some(v) => Some(v.to_string()),
                None => {
                    return Err(ArmError::BadRequest {
                        code: "InvalidFilterInQueryString",
                        message: format!("Invalid $filter '{f}' specified in the query string. Deployments can be filtered by provisioningState eq '<state>'."),
                        target: Some("$filter".into()),
                    })
                }
            }
        }
    };
    let top = match query_param(uri.query(), "$top") {
        None => usize::MAX,
        Some(raw) => raw.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| ArmError::BadRequest {
            code: "InvalidTopInQueryString",
            message: format!("Invalid $top '{raw}' specified in the query string: it must be a positive integer."),
            target: Some("$top".into()),
        })?,
    };
    let prefix = storage_key(&format!("{}{SEGMENT}/", scope.id()));
    let mut records: Vec<DeploymentRecord> = state
        .store
        .list::<DeploymentRecord>(&prefix, None, usize::MAX)?
        .into_iter()
        .map(|(_, d)| d)
        // Only this scope's deployments, not those of groups below it.
        .filter(|d| d.scope == scope)
        .filter(|d| {
            wanted_state
                .as_ref()
                .is_none_or(|s| d.provisioning_state.eq_ignore_ascii_case(s))
        })
        .collect();
    records.sort_by_key(|d| std::cmp::Reverse(d.started));
    let value: Vec<Value> = records.iter().take(top).map(render).collect();
    Ok(Json(json!({ "value": value })))
}

async fn delete(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
) -> Result<StatusCode, ArmError> {
    let (_, name, id) = addressed(&state, uri.path())?;
    let key = storage_key(&id);
    let _guard = state.store.lock_writes().await;
    let Some(existing) = state.store.get::<DeploymentRecord>(&key)? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    if is_active(&existing.provisioning_state) {
        return Err(ArmError::Conflict {
            code: "DeploymentActive",
            message: format!("The deployment '{name}' cannot be deleted while it is '{}': cancel it or wait until it completes.", existing.provisioning_state),
        });
    }
    let mut writes = WriteSet::new();
    history::forget(&existing, &mut writes);
    stage_removal(&state.store, &key, &mut writes)?;
    state.store.commit(writes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds the removal of the deployment stored under `key` and of its
/// operations to `writes` (a DELETE, or the history making room).
fn stage_removal(store: &Store, key: &str, writes: &mut WriteSet) -> Result<(), ArmError> {
    writes.delete::<DeploymentRecord>(key);
    store.delete_under::<DeploymentOperationRecord>(&format!("{key}/"), writes)?;
    Ok(())
}

async fn cancel(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
) -> Result<StatusCode, ArmError> {
    let (_, name, id) = addressed(&state, uri.path())?;
    let key = storage_key(&id);
    let mut record = load(&state, &id, &name)?;
    if !is_active(&record.provisioning_state) {
        return Err(ArmError::Conflict {
            code: "DeploymentCannotBeCancelled",
            message: format!("The deployment '{name}' cannot be cancelled: its provisioning state is '{}'. Only an Accepted or Running deployment can be cancelled.", record.provisioning_state),
        });
    }
    if let Some(handle) = state.deployment_runs.remove(&key) {
        handle.abort();
    }
    record.provisioning_state = "Canceled".into();
    record.ended = Some(Utc::now());
    save_state(&state, &record).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn validate(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
    bytes: Bytes,
) -> Result<Response, ArmError> {
    let Planned {
        scope,
        name,
        request,
        prepared,
    } = match plan_request(&state, uri.path(), &bytes)? {
        Ok(planned) => planned,
        Err(refused) => return Ok(refused),
    };
    let (providers, dependencies) = summarise(&prepared.plan);
    let validated: Vec<Value> = prepared
        .plan
        .instances
        .iter()
        .filter(|i| !i.skipped && !i.existing)
        .map(|i| json!({ "id": i.id }))
        .collect();
    let mut answer = json!({
        "id": deployment_id(&scope, &name),
        "name": name,
        "type": "Microsoft.Resources/deployments",
        "properties": {
            "templateHash": prepared.frame.template_hash,
            "parameters": rendered_parameters(&request.template, &request.parameters),
            "mode": request.mode,
            "provisioningState": "Succeeded",
            "timestamp": arm_time(Utc::now()),
            "duration": "PT0S",
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "providers": providers,
            "dependencies": dependencies,
            "validatedResources": validated,
        },
    });
    if let Some(location) = &request.location {
        answer["location"] = json!(location);
    }
    Ok((StatusCode::OK, Json(answer)).into_response())
}

async fn export_template(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let (_, name, id) = addressed(&state, uri.path())?;
    let record = load(&state, &id, &name)?;
    Ok(Json(json!({ "template": record.template })))
}

fn render_operation(deployment_id: &str, e: &OperationEntry) -> Value {
    let mut properties = json!({
        "provisioningOperation": e.provisioning_operation,
        "provisioningState": e.provisioning_state,
        "timestamp": arm_time(e.ended.unwrap_or(e.started)),
        "duration": iso_duration(e.started, e.ended),
        "trackingId": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, e.operation_id.as_bytes()).to_string(),
        "serviceRequestId": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, e.operation_id.as_bytes()).to_string(),
        "targetResource": {
            "id": e.target_id,
            "resourceType": e.resource_type,
            "resourceName": e.resource_name,
        },
    });
    if !e.status_code.is_empty() {
        properties["statusCode"] = json!(e.status_code);
    }
    if let Some(message) = &e.status_message {
        properties["statusMessage"] = message.clone();
    }
    json!({
        "id": format!("{deployment_id}/operations/{}", e.operation_id),
        "operationId": e.operation_id,
        "properties": properties,
    })
}

async fn list_operations(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ArmError> {
    let (_, name, id) = addressed(&state, uri.path())?;
    load(&state, &id, &name)?;
    let mut entries: Vec<OperationEntry> = state
        .store
        .list::<DeploymentOperationRecord>(&format!("{}/", storage_key(&id)), None, usize::MAX)?
        .into_iter()
        .map(|(_, r)| r.entry)
        .collect();
    entries.sort_by_key(|e| e.started);
    Ok(Json(
        json!({ "value": entries.iter().map(|e| render_operation(&id, e)).collect::<Vec<_>>() }),
    ))
}

async fn show_operation(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ArmError> {
    let (_, name, id) = addressed(&state, uri.path())?;
    let operation = params.get("operationId").cloned().unwrap_or_default();
    let found = state
        .store
        .get::<DeploymentOperationRecord>(&format!("{}/{operation}", storage_key(&id)))?
        .ok_or_else(|| ArmError::NotFound {
            code: "DeploymentOperationNotFound",
            message: format!(
                "The deployment operation '{operation}' of deployment '{name}' could not be found."
            ),
        })?;
    Ok(Json(render_operation(&id, &found.entry)))
}

async fn operation_status(
    State(state): State<AppState>,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ArmError> {
    let (_, name, id) = addressed(&state, uri.path())?;
    let record = load(&state, &id, &name)?;
    let mut body = json!({ "status": record.provisioning_state });
    if let Some(error) = &record.error {
        body["error"] = json!(error);
    }
    let mut response = Json(body).into_response();
    if is_active(&record.provisioning_state) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        insert_poll_hint_since(record.started, response.headers_mut());
    }
    Ok(response)
}

/// `whatIf`: what the deployment would change, resource by resource, read
/// through the pipeline as the caller without writing anything.
async fn what_if(
    State(state): State<AppState>,
    principal: Principal,
    _: ApiVersion<Deployments>,
    OriginalUri(uri): OriginalUri,
    bytes: Bytes,
) -> Result<Response, ArmError> {
    let Planned {
        request, prepared, ..
    } = match plan_request(&state, uri.path(), &bytes)? {
        Ok(planned) => planned,
        Err(refused) => return Ok(refused),
    };
    let client = std::sync::Arc::new(caller_client(
        &state,
        &principal.name,
        &principal.object_id,
    )?);
    let changes = executor::what_if(client, prepared, request.mode == "Complete").await;
    match changes {
        Ok(changes) => Ok(Json(
            json!({ "status": "Succeeded", "properties": { "changes": changes } }),
        )
        .into_response()),
        Err(e) => Ok(deployment_error(e)),
    }
}
