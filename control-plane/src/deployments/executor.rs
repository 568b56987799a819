//! Runs a [`Plan`]: each instance's properties are evaluated once its
//! dependencies are done, its request goes through the emulator's own ARM
//! pipeline ([`ArmClient`], in-process, as the caller), its long-running
//! operation is followed to the end, and independent instances run in
//! parallel. A failed instance fails its dependents (they are not sent) and
//! the deployment, with one error detail per failed resource.

use std::{collections::HashSet, sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::{sync::mpsc::UnboundedSender, task::JoinSet};
use tower::ServiceExt;

use super::{
    context::{Frame, ResourceReader, TemplateContext},
    plan::{Instance, Plan, TEMPLATE_ONLY_KEYS},
    template::member,
    DeploymentError,
};
use crate::{arm::error::ErrorDetail, providers::catalogue};

/// How often a running operation is polled: in-process calls are cheap, and
/// a deployment should finish as soon as its resources do.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How often a write that conflicts with a running operation is sent again.
const CONFLICT_RETRIES: u32 = 10;

/// Sends ARM requests into the app's router as one principal.
pub struct ArmClient {
    router: Router,
    base_url: String,
    bearer: String,
}

pub struct ArmReply {
    pub status: StatusCode,
    pub async_operation: Option<String>,
    pub location: Option<String>,
    pub body: Value,
}

impl ArmClient {
    pub fn new(router: Router, base_url: String, token: String) -> Self {
        Self {
            router,
            base_url,
            bearer: format!("Bearer {token}"),
        }
    }

    /// A path relative to the emulator, from an absolute URL it issued.
    fn local_path(&self, url: &str) -> String {
        url.strip_prefix(&self.base_url).unwrap_or(url).to_string()
    }

    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<ArmReply, String> {
        let path = super::plan::canonical_id(&self.local_path(path_and_query));
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        let request = Request::builder()
            .method(method)
            .uri(&path)
            .header(header::AUTHORIZATION, &self.bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes))
            .map_err(|e| format!("building the request for '{path}': {e}"))?;
        let request = crate::arm::request_context::canonicalise_path(request);
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| format!("sending '{path}': {e}"))?;
        let status = response.status();
        let (async_operation, location) = {
            let headers = response.headers();
            let text = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            (text("azure-asyncoperation"), text("location"))
        };
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .map_err(|e| format!("reading the answer to '{path}': {e}"))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok(ArmReply {
            status,
            async_operation,
            location,
            body,
        })
    }

    /// Waits until a resource's provisioning state is terminal (or it is gone).
    pub async fn wait_until_settled(&self, resource_path: &str) {
        for _ in 0..30_000 {
            match self.send(Method::GET, resource_path, None).await {
                Ok(reply) if reply.status.is_success() => {
                    if is_terminal(&provisioning_state(&reply.body)) {
                        return;
                    }
                }
                _ => return,
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Follows a long-running operation to its end; the final reply is the
    /// resource (or, for a failure, the error).
    pub async fn complete(
        &self,
        method: &Method,
        resource_path: &str,
        reply: ArmReply,
    ) -> ArmReply {
        if let Some(status_url) = reply.async_operation.clone() {
            loop {
                tokio::time::sleep(POLL_INTERVAL).await;
                let Ok(poll) = self.send(Method::GET, &status_url, None).await else {
                    break;
                };
                let status = member(&poll.body, "status")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match status {
                    "Succeeded" => break,
                    "Failed" | "Canceled" => {
                        let error = member(&poll.body, "error").cloned().unwrap_or(json!({
                            "code": status, "message": format!("The operation ended {status}.")
                        }));
                        return ArmReply {
                            status: StatusCode::BAD_REQUEST,
                            async_operation: None,
                            location: None,
                            body: json!({ "error": error }),
                        };
                    }
                    _ if poll.status.is_client_error() || poll.status.is_server_error() => {
                        return poll;
                    }
                    _ => {}
                }
            }
        } else if let (StatusCode::ACCEPTED, Some(location)) =
            (reply.status, reply.location.clone())
        {
            loop {
                tokio::time::sleep(POLL_INTERVAL).await;
                let Ok(poll) = self.send(Method::GET, &location, None).await else {
                    break;
                };
                if poll.status != StatusCode::ACCEPTED {
                    return poll;
                }
            }
        } else if reply.status.is_success() && *method == Method::PUT {
            // A synchronous answer whose resource is still provisioning.
            let mut state = provisioning_state(&reply.body);
            let mut latest = reply;
            while !is_terminal(&state) {
                tokio::time::sleep(POLL_INTERVAL).await;
                match self.send(Method::GET, resource_path, None).await {
                    Ok(poll) if poll.status.is_success() => {
                        state = provisioning_state(&poll.body);
                        latest = poll;
                    }
                    Ok(poll) => return poll,
                    Err(_) => break,
                }
            }
            return latest;
        } else {
            return reply;
        }
        if *method == Method::DELETE {
            return ArmReply {
                status: StatusCode::OK,
                async_operation: None,
                location: None,
                body: Value::Null,
            };
        }
        match self.send(Method::GET, resource_path, None).await {
            Ok(final_reply) => final_reply,
            Err(e) => ArmReply {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                async_operation: None,
                location: None,
                body: json!({"error": {"code": "InternalServerError", "message": e}}),
            },
        }
    }
}

fn provisioning_state(body: &Value) -> String {
    member(body, "properties")
        .and_then(|p| member(p, "provisioningState"))
        .and_then(Value::as_str)
        .unwrap_or("Succeeded")
        .to_string()
}

fn is_terminal(state: &str) -> bool {
    ["Succeeded", "Failed", "Canceled"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(state))
}

/// The api-version to use for a resource id when the template gives none
/// (`reference(id)`): the type's newest stable one.
fn default_api_version(resource_id: &str) -> Option<&'static str> {
    let lower = resource_id.to_ascii_lowercase();
    let after = lower
        .rfind("/providers/")
        .map(|p| p + "/providers/".len())?;
    let rest = &resource_id[after..];
    let mut parts = rest.split('/');
    let namespace = parts.next()?;
    let segments: Vec<&str> = parts.collect();
    let types: Vec<&str> = segments.iter().step_by(2).copied().collect();
    let resource_type = types.join("/");
    let versions = catalogue::api_versions(namespace, &resource_type)?;
    versions
        .iter()
        .find(|v| !v.contains("preview"))
        .or_else(|| versions.first())
        .copied()
}

fn with_api_version(id: &str, api_version: &str) -> String {
    format!("{id}?api-version={api_version}")
}

/// `reference()` / `list*()` over the ARM pipeline, from the blocking thread
/// an evaluation runs on.
struct PipelineReader {
    client: Arc<ArmClient>,
    runtime: tokio::runtime::Handle,
}

impl ResourceReader for PipelineReader {
    fn get(&self, resource_id: &str, api_version: Option<&str>) -> Result<Value, String> {
        let version = api_version
            .map(str::to_string)
            .or_else(|| {
                if resource_id
                    .to_ascii_lowercase()
                    .contains("/resourcegroups/")
                    && !resource_id.to_ascii_lowercase().contains("/providers/")
                {
                    Some("2025-04-01".to_string())
                } else {
                    default_api_version(resource_id).map(str::to_string)
                }
            })
            .ok_or_else(|| {
                format!("The resource '{resource_id}' is of a type the emulator does not serve.")
            })?;
        let reply = self.runtime.block_on(self.client.send(
            Method::GET,
            &with_api_version(resource_id, &version),
            None,
        ))?;
        if reply.status.is_success() {
            Ok(reply.body)
        } else {
            Err(format!(
                "The resource '{resource_id}' could not be read: {}",
                member(&reply.body, "error")
                    .and_then(|e| member(e, "message"))
                    .and_then(Value::as_str)
                    .unwrap_or("not found")
            ))
        }
    }

    fn post(
        &self,
        resource_id: &str,
        action: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let path = with_api_version(&format!("{resource_id}/{action}"), api_version);
        let reply = self
            .runtime
            .block_on(self.client.send(Method::POST, &path, body))?;
        if reply.status.is_success() {
            Ok(reply.body)
        } else {
            Err(format!(
                "The action '{action}' on '{resource_id}' failed: {}",
                member(&reply.body, "error")
                    .and_then(|e| member(e, "message"))
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
            ))
        }
    }
}

/// One resource's deployment, as `deployments/{name}/operations` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationEntry {
    pub operation_id: String,
    pub provisioning_operation: String,
    pub provisioning_state: String,
    pub target_id: String,
    pub resource_type: String,
    pub resource_name: String,
    pub status_code: String,
    pub status_message: Option<Value>,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
}

pub struct Outcome {
    pub outputs: Map<String, Value>,
    pub output_resources: Vec<String>,
    pub error: Option<ErrorDetail>,
}

struct Finished {
    index: usize,
    ok: bool,
    error: Option<ErrorDetail>,
}

/// The request body of an instance: the evaluated declaration without the
/// keys that only steer the deployment.
fn request_body(ctx: &TemplateContext<'_>, instance: &Instance) -> Result<Value, DeploymentError> {
    let label = &instance.label;
    let Some(fields) = instance.declaration.as_object() else {
        return Ok(json!({}));
    };
    let mut body = Map::new();
    for (key, value) in fields {
        if TEMPLATE_ONLY_KEYS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
        {
            continue;
        }
        let evaluated = if instance.is_nested_deployment() && key.eq_ignore_ascii_case("properties")
        {
            nested_deployment_properties(ctx, value).map_err(|e| {
                DeploymentError::expression(
                    &format!("resource '{label}' property 'properties'"),
                    &e,
                )
            })?
        } else if key.eq_ignore_ascii_case("properties") {
            with_property_copies(ctx, value).map_err(|e| {
                DeploymentError::expression(
                    &format!("resource '{label}' property 'properties'"),
                    &e,
                )
            })?
        } else {
            ctx.eval(value).map_err(|e| {
                DeploymentError::expression(&format!("resource '{label}' property '{key}'"), &e)
            })?
        };
        body.insert(key.clone(), evaluated);
    }
    Ok(Value::Object(body))
}

/// Resource properties, with property `copy` loops (`"copy": [{name,
/// count, input}]` in any object) turned into the arrays they build.
fn with_property_copies(
    ctx: &TemplateContext<'_>,
    value: &Value,
) -> Result<Value, super::expressions::ExprError> {
    match value {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, field) in fields {
                if key.eq_ignore_ascii_case("copy") {
                    if let Value::Array(loops) = field {
                        for entry in loops {
                            let name = member(entry, "name")
                                .and_then(Value::as_str)
                                .unwrap_or("copy");
                            out.insert(name.to_string(), ctx.copy_array(entry)?);
                        }
                        continue;
                    }
                }
                let evaluated_key = match ctx.eval(&Value::String(key.clone()))? {
                    Value::String(k) => k,
                    other => other.to_string(),
                };
                out.insert(evaluated_key, with_property_copies(ctx, field)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| with_property_copies(ctx, item))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => ctx.eval(other),
    }
}

/// A nested deployment's properties: with `expressionEvaluationOptions.scope`
/// `inner` its template keeps its own expressions for the nested deployment
/// to evaluate; with `outer` (the default) they are evaluated here, in the
/// parent's scope, as ARM does.
fn nested_deployment_properties(
    ctx: &TemplateContext<'_>,
    properties: &Value,
) -> Result<Value, super::expressions::ExprError> {
    let inner = member(properties, "expressionEvaluationOptions")
        .and_then(|o| member(o, "scope"))
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("inner"));
    let Some(fields) = properties.as_object() else {
        return ctx.eval(properties);
    };
    let mut out = Map::new();
    for (key, value) in fields {
        let evaluated = if key.eq_ignore_ascii_case("template") && inner {
            value.clone()
        } else {
            ctx.eval(value)?
        };
        out.insert(key.clone(), evaluated);
    }
    Ok(Value::Object(out))
}

fn error_of(reply: &ArmReply) -> ErrorDetail {
    let error = member(&reply.body, "error").cloned().unwrap_or(Value::Null);
    serde_json::from_value::<ErrorDetail>(error).unwrap_or_else(|_| ErrorDetail {
        code: "ResourceDeploymentFailure".into(),
        message: format!(
            "The resource operation completed with status '{}'.",
            reply.status
        ),
        target: None,
        details: Vec::new(),
    })
}

pub struct Execution {
    pub client: Arc<ArmClient>,
    pub frame: Arc<Frame>,
    pub plan: Plan,
    pub progress: UnboundedSender<OperationEntry>,
}

/// Deploys one instance: evaluate, PUT, follow the operation.
async fn deploy_instance(
    client: Arc<ArmClient>,
    frame: Arc<Frame>,
    instance: Instance,
    progress: UnboundedSender<OperationEntry>,
) -> Result<(), ErrorDetail> {
    let started = Utc::now();
    let operation_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..16].to_string();
    let mut entry = OperationEntry {
        operation_id,
        provisioning_operation: if instance.existing { "Read" } else { "Create" }.into(),
        provisioning_state: "Running".into(),
        target_id: instance.id.clone(),
        resource_type: instance.resource_type.clone(),
        resource_name: instance.name.clone(),
        status_code: String::new(),
        status_message: None,
        started,
        ended: None,
    };
    let _ = progress.send(entry.clone());
    let fail = |mut entry: OperationEntry, status: StatusCode, error: ErrorDetail| {
        entry.provisioning_state = "Failed".into();
        entry.status_code = reason(status);
        entry.status_message = Some(json!({ "status": "Failed", "error": error }));
        entry.ended = Some(Utc::now());
        let _ = progress.send(entry);
        Err(error)
    };
    let evaluated = {
        let frame = frame.clone();
        let instance = instance.clone();
        tokio::task::spawn_blocking(move || {
            let mut ctx = TemplateContext::new(&frame);
            for (name, index) in &instance.copies {
                ctx = ctx.in_copy(name, *index);
            }
            request_body(&ctx, &instance)
        })
        .await
    };
    let body = match evaluated {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => return fail(entry, e.status, e.detail),
        Err(e) => {
            return fail(
                entry,
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorDetail {
                    code: "InternalServerError".into(),
                    message: format!("evaluating the resource failed: {e}"),
                    target: None,
                    details: Vec::new(),
                },
            )
        }
    };
    if let Some(error) = unserved_type(&instance, &body) {
        return fail(entry, StatusCode::BAD_REQUEST, error);
    }
    let path = with_api_version(&instance.id, &instance.api_version);
    let (method, payload) = if instance.existing {
        (Method::GET, None)
    } else {
        (Method::PUT, Some(&body))
    };
    let mut attempts = 0;
    let reply = loop {
        let reply = match client.send(method.clone(), &path, payload).await {
            Ok(reply) => reply,
            Err(message) => {
                return fail(
                    entry,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorDetail {
                        code: "InternalServerError".into(),
                        message,
                        target: None,
                        details: Vec::new(),
                    },
                )
            }
        };
        // Another operation on the resource is still running (a deployment
        // resumed after a restart meets its own earlier PUT): wait for it to
        // end and send again, as ARM retries a conflicting write.
        if reply.status == StatusCode::CONFLICT && attempts < CONFLICT_RETRIES {
            attempts += 1;
            client.wait_until_settled(&path).await;
            continue;
        }
        break reply;
    };
    if !reply.status.is_success() {
        let error = error_of(&reply);
        return fail(entry, reply.status, error);
    }
    let done = client.complete(&method, &path, reply).await;
    if !done.status.is_success() || provisioning_state(&done.body).eq_ignore_ascii_case("Failed") {
        let error = if done.status.is_success() {
            ErrorDetail {
                code: "ResourceDeploymentFailure".into(),
                message: "The resource write operation failed to complete successfully, because it reached terminal provisioning state 'Failed'.".into(),
                target: None,
                details: Vec::new(),
            }
        } else {
            error_of(&done)
        };
        return fail(entry, done.status, error);
    }
    entry.provisioning_state = "Succeeded".into();
    entry.status_code = reason(done.status);
    entry.status_message = Some(done.body);
    entry.ended = Some(Utc::now());
    let _ = progress.send(entry);
    Ok(())
}

/// A type no emulated provider serves fails with ARM's answer for a type no
/// registered provider has.
fn unserved_type(instance: &Instance, body: &Value) -> Option<ErrorDetail> {
    let (namespace, resource_type) = instance.resource_type.split_once('/')?;
    if catalogue::api_versions(namespace, resource_type).is_some() {
        return None;
    }
    let location = member(body, "location")
        .and_then(Value::as_str)
        .unwrap_or("global");
    Some(ErrorDetail {
        code: "NoRegisteredProviderFound".into(),
        message: format!(
            "No registered resource provider found for location '{location}' and API version '{}' for type '{resource_type}'. The emulator serves {}.",
            instance.api_version,
            catalogue::PROVIDERS
                .iter()
                .map(|p| p.namespace)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        target: None,
        details: Vec::new(),
    })
}

/// ARM spells operation status codes as the reason phrase (`OK`, `Created`).
fn reason(status: StatusCode) -> String {
    status
        .canonical_reason()
        .map(|r| r.replace(' ', ""))
        .unwrap_or_else(|| status.as_u16().to_string())
}

impl Execution {
    pub async fn run(self) -> Outcome {
        let runtime = tokio::runtime::Handle::current();
        let reader: Arc<dyn ResourceReader> = Arc::new(PipelineReader {
            client: self.client.clone(),
            runtime,
        });
        // The frame gains its reader now that resources can be read.
        let frame = self.frame;
        let _ = frame.reader.set(reader);
        let instances = self.plan.instances;
        let mut done: HashSet<usize> = HashSet::new();
        let mut failed: Vec<(usize, ErrorDetail)> = Vec::new();
        let mut blocked: HashSet<usize> = HashSet::new();
        let mut started: HashSet<usize> = HashSet::new();
        let mut running: JoinSet<Finished> = JoinSet::new();
        loop {
            for (index, instance) in instances.iter().enumerate() {
                if started.contains(&index) || blocked.contains(&index) {
                    continue;
                }
                if instance
                    .depends_on
                    .iter()
                    .any(|d| blocked.contains(d) || failed.iter().any(|(f, _)| f == d))
                {
                    blocked.insert(index);
                    continue;
                }
                if !instance.depends_on.iter().all(|d| done.contains(d)) {
                    continue;
                }
                started.insert(index);
                if instance.skipped {
                    done.insert(index);
                    continue;
                }
                let client = self.client.clone();
                let frame = frame.clone();
                let instance = instance.clone();
                let progress = self.progress.clone();
                running.spawn(async move {
                    let result = deploy_instance(client, frame, instance, progress).await;
                    Finished {
                        index,
                        ok: result.is_ok(),
                        error: result.err(),
                    }
                });
            }
            // Skipped instances may have unblocked others: loop again before waiting.
            let progressed = instances.iter().enumerate().any(|(i, inst)| {
                !started.contains(&i)
                    && !blocked.contains(&i)
                    && inst.depends_on.iter().all(|d| done.contains(d))
            });
            if progressed {
                continue;
            }
            match running.join_next().await {
                Some(Ok(finished)) => {
                    if finished.ok {
                        done.insert(finished.index);
                    } else if let Some(error) = finished.error {
                        failed.push((finished.index, error));
                    }
                }
                Some(Err(e)) => {
                    tracing::error!(error = %e, "a deployment task failed");
                }
                None => break,
            }
        }
        let output_resources: Vec<String> = instances
            .iter()
            .enumerate()
            .filter(|(i, inst)| done.contains(i) && !inst.skipped && !inst.existing)
            .map(|(_, inst)| inst.id.clone())
            .collect();
        if !failed.is_empty() {
            failed.sort_by_key(|(i, _)| *i);
            return Outcome {
                outputs: Map::new(),
                output_resources,
                error: Some(ErrorDetail {
                    code: "DeploymentFailed".into(),
                    message: "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.".into(),
                    target: None,
                    details: failed
                        .into_iter()
                        .map(|(i, e)| ErrorDetail {
                            target: Some(instances[i].id.clone()),
                            ..e
                        })
                        .collect(),
                }),
            };
        }
        let outputs_frame = frame.clone();
        let outputs = tokio::task::spawn_blocking(move || evaluate_outputs(&outputs_frame)).await;
        match outputs {
            Ok(Ok(outputs)) => Outcome {
                outputs,
                output_resources,
                error: None,
            },
            Ok(Err(e)) => Outcome {
                outputs: Map::new(),
                output_resources,
                error: Some(e.detail),
            },
            Err(e) => Outcome {
                outputs: Map::new(),
                output_resources,
                error: Some(ErrorDetail {
                    code: "InternalServerError".into(),
                    message: format!("evaluating the outputs failed: {e}"),
                    target: None,
                    details: Vec::new(),
                }),
            },
        }
    }
}

/// `outputs`: each `{type, value}` (or `copy`), evaluated after every
/// resource is deployed; `condition` false leaves an output out.
pub fn evaluate_outputs(frame: &Frame) -> Result<Map<String, Value>, DeploymentError> {
    let ctx = TemplateContext::new(frame);
    let mut out = Map::new();
    for (name, declaration) in &frame.template.outputs {
        if let Some(condition) = member(declaration, "condition") {
            let keep = ctx.eval(condition).map_err(|e| {
                DeploymentError::expression(&format!("output '{name}' condition"), &e)
            })?;
            if keep == Value::Bool(false) {
                continue;
            }
        }
        let value = if let Some(copy) = member(declaration, "copy") {
            ctx.copy_array(copy)
                .map_err(|e| DeploymentError::expression(&format!("output '{name}'"), &e))?
        } else {
            ctx.eval(member(declaration, "value").unwrap_or(&Value::Null))
                .map_err(|e| DeploymentError::expression(&format!("output '{name}'"), &e))?
        };
        let declared = frame.template.resolve_type(declaration);
        let kind = member(declared, "type")
            .and_then(Value::as_str)
            .unwrap_or("object");
        let pretty = super::template::display_type(kind);
        // ARM never returns a secure output's value.
        if matches!(pretty, "SecureString" | "SecureObject") {
            out.insert(name.clone(), json!({ "type": pretty }));
        } else {
            out.insert(name.clone(), json!({ "type": pretty, "value": value }));
        }
    }
    Ok(out)
}

/// Complete mode: deletes what the group holds that the template does not
/// name (resources whose condition was false are kept, as ARM keeps them).
pub async fn delete_unlisted(
    client: &ArmClient,
    group_id: &str,
    keep: &[String],
    progress: &UnboundedSender<OperationEntry>,
) -> Result<(), ErrorDetail> {
    let mut next = Some(format!("{group_id}/resources?api-version=2025-04-01"));
    let mut present = Vec::new();
    while let Some(url) = next.take() {
        let page = client
            .send(Method::GET, &url, None)
            .await
            .map_err(|message| ErrorDetail {
                code: "InternalServerError".into(),
                message,
                target: None,
                details: Vec::new(),
            })?;
        for item in member(&page.body, "value")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            if let Some(id) = member(&item, "id").and_then(Value::as_str) {
                present.push((
                    id.to_string(),
                    member(&item, "type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                ));
            }
        }
        next = member(&page.body, "nextLink")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    for (id, resource_type) in present {
        if keep.iter().any(|k| k.eq_ignore_ascii_case(&id)) {
            continue;
        }
        let Some(version) = default_api_version(&id) else {
            continue;
        };
        let started = Utc::now();
        let path = with_api_version(&id, version);
        let reply = client.send(Method::DELETE, &path, None).await;
        let (state, status, message) = match reply {
            Ok(reply) if reply.status.is_success() => {
                let done = client.complete(&Method::DELETE, &path, reply).await;
                if done.status.is_success() {
                    ("Succeeded", done.status, None)
                } else {
                    (
                        "Failed",
                        done.status,
                        Some(json!({ "error": error_of(&done) })),
                    )
                }
            }
            Ok(reply) => (
                "Failed",
                reply.status,
                Some(json!({ "error": error_of(&reply) })),
            ),
            Err(e) => (
                "Failed",
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(json!({ "error": { "code": "InternalServerError", "message": e } })),
            ),
        };
        let _ = progress.send(OperationEntry {
            operation_id: uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..16]
                .to_string(),
            provisioning_operation: "Delete".into(),
            provisioning_state: state.into(),
            target_id: id.clone(),
            resource_name: id.rsplit('/').next().unwrap_or_default().to_string(),
            resource_type,
            status_code: reason(status),
            status_message: message,
            started,
            ended: Some(Utc::now()),
        });
    }
    Ok(())
}

/// `whatIf`: each instance compared with what the group holds now, read
/// through the pipeline; nothing is written.
pub async fn what_if(
    client: Arc<ArmClient>,
    prepared: super::Prepared,
    complete: bool,
) -> Result<Vec<Value>, DeploymentError> {
    let frame = Arc::new(prepared.frame);
    let reader: Arc<dyn ResourceReader> = Arc::new(PipelineReader {
        client: client.clone(),
        runtime: tokio::runtime::Handle::current(),
    });
    let _ = frame.reader.set(reader);
    let mut changes = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for instance in &prepared.plan.instances {
        named.push(instance.id.clone());
        if instance.skipped || instance.existing || instance.is_nested_deployment() {
            continue;
        }
        let eval_frame = frame.clone();
        let eval_instance = instance.clone();
        let body = tokio::task::spawn_blocking(move || {
            let mut ctx = TemplateContext::new(&eval_frame);
            for (name, index) in &eval_instance.copies {
                ctx = ctx.in_copy(name, *index);
            }
            request_body(&ctx, &eval_instance)
        })
        .await;
        let body = match body {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => {
                changes.push(json!({
                    "resourceId": instance.id,
                    "changeType": "Unsupported",
                    "unsupportedReason": e.detail.message,
                }));
                continue;
            }
            Err(e) => {
                return Err(DeploymentError::bad_request(
                    "InternalServerError",
                    e.to_string(),
                ));
            }
        };
        let mut after = json!({
            "id": instance.id,
            "name": instance.name.rsplit('/').next().unwrap_or(&instance.name),
            "type": instance.resource_type,
            "apiVersion": instance.api_version,
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut after, &body) {
            for (k, v) in b {
                a.insert(k.clone(), v.clone());
            }
        }
        let current = client
            .send(
                Method::GET,
                &with_api_version(&instance.id, &instance.api_version),
                None,
            )
            .await
            .map_err(|e| DeploymentError::bad_request("InternalServerError", e))?;
        if current.status == StatusCode::NOT_FOUND {
            changes
                .push(json!({ "resourceId": instance.id, "changeType": "Create", "after": after }));
            continue;
        }
        let before = current.body;
        let mut merged = before.clone();
        merge_into(&mut merged, &body);
        let mut delta = Vec::new();
        diff("", &before, &merged, &mut delta);
        let change_type = if delta.is_empty() {
            "NoChange"
        } else {
            "Modify"
        };
        let mut change = json!({
            "resourceId": instance.id,
            "changeType": change_type,
            "before": before,
            "after": merged,
        });
        if !delta.is_empty() {
            change["delta"] = Value::Array(delta);
        }
        changes.push(change);
    }
    if let Some(group) = frame.scope.group() {
        let group_id = format!(
            "/subscriptions/{}/resourceGroups/{group}",
            frame.scope.subscription()
        );
        let listing = client
            .send(
                Method::GET,
                &format!("{group_id}/resources?api-version=2025-04-01"),
                None,
            )
            .await
            .map_err(|e| DeploymentError::bad_request("InternalServerError", e))?;
        for item in member(&listing.body, "value")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let Some(id) = member(&item, "id").and_then(Value::as_str) else {
                continue;
            };
            if named.iter().any(|n| n.eq_ignore_ascii_case(id)) {
                continue;
            }
            changes.push(json!({
                "resourceId": id,
                "changeType": if complete { "Delete" } else { "Ignore" },
                "before": item,
            }));
        }
    }
    Ok(changes)
}

/// Overlays a request body on a resource as a PUT would leave it.
fn merge_into(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.iter_mut().find(|(tk, _)| tk.eq_ignore_ascii_case(k)) {
                    Some((_, existing)) if existing.is_object() && v.is_object() => {
                        merge_into(existing, v)
                    }
                    Some((_, existing)) => *existing = v.clone(),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// What-if property changes, by dotted path.
fn diff(path: &str, before: &Value, after: &Value, out: &mut Vec<Value>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, av) in a {
                match b.iter().find(|(bk, _)| bk.eq_ignore_ascii_case(k)) {
                    Some((_, bv)) => diff(&join(k), bv, av, out),
                    None => out.push(
                        json!({ "path": join(k), "propertyChangeType": "Create", "after": av }),
                    ),
                }
            }
        }
        (b, a) if b != a => {
            let kind = if b.is_array() && a.is_array() {
                "Array"
            } else {
                "Modify"
            };
            out.push(json!({ "path": path, "propertyChangeType": kind, "before": b, "after": a }));
        }
        _ => {}
    }
}
