//! The template deployment engine, with no HTTP in it: a template
//! ([`template`]) is bound to its parameters, its expressions
//! ([`expressions`]) are evaluated against a [`context::TemplateContext`],
//! [`plan`] expands copy loops and conditions into resource instances with
//! their dependencies, and [`executor`] runs the plan by sending each
//! resource's request into the emulator's own ARM pipeline through an
//! [`executor::ArmClient`] (the deployments API in `providers::deployments`
//! supplies it), never around it.

pub mod context;
pub mod executor;
pub mod expressions;
pub mod plan;
pub mod template;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::arm::error::ErrorDetail;

/// Where a deployment runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum DeploymentScope {
    ResourceGroup { subscription: String, group: String },
    Subscription { subscription: String },
}

impl DeploymentScope {
    pub fn subscription(&self) -> &str {
        match self {
            Self::ResourceGroup { subscription, .. } | Self::Subscription { subscription } => {
                subscription
            }
        }
    }

    pub fn group(&self) -> Option<&str> {
        match self {
            Self::ResourceGroup { group, .. } => Some(group),
            Self::Subscription { .. } => None,
        }
    }

    /// The id deployments at this scope live under.
    pub fn id(&self) -> String {
        match self {
            Self::ResourceGroup {
                subscription,
                group,
            } => format!("/subscriptions/{subscription}/resourceGroups/{group}"),
            Self::Subscription { subscription } => format!("/subscriptions/{subscription}"),
        }
    }
}

/// A deployment that cannot be validated or a resource that failed, as ARM
/// reports it (the status is the one a synchronous answer carries).
#[derive(Debug, Clone)]
pub struct DeploymentError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
}

impl DeploymentError {
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            detail: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
                target: None,
                details: Vec::new(),
            },
        }
    }

    /// `InvalidTemplate`, with ARM's "Deployment template validation failed" framing.
    pub fn invalid_template(message: impl Into<String>) -> Self {
        Self::bad_request(
            "InvalidTemplate",
            format!(
                "Deployment template validation failed: '{}'.",
                message.into()
            ),
        )
    }

    /// A template expression that failed, naming where it was written.
    pub fn expression(location: &str, error: &expressions::ExprError) -> Self {
        let at = error
            .position
            .map(|p| format!(" at position '{p}'"))
            .unwrap_or_default();
        Self::bad_request(
            "InvalidTemplate",
            format!(
                "Deployment template language expression evaluation failed: 'Unable to evaluate the template language expression of {location}{at}: {}'. Please see https://aka.ms/arm-functions for usage details.",
                error.message
            ),
        )
    }
}

/// A deployment ready to run: its frame (template, bound parameters, scope)
/// and plan. Building it is what `validate` does.
pub struct Prepared {
    pub frame: context::Frame,
    pub plan: plan::Plan,
}

/// What a deployment is about, from the request and its scope.
pub struct DeploymentInput<'a> {
    pub template: serde_json::Value,
    pub parameters: &'a serde_json::Value,
    pub scope: DeploymentScope,
    pub name: String,
    pub tenant_id: String,
    /// `resourceGroup()` for a group-scope deployment.
    pub resource_group: Option<serde_json::Value>,
    pub base_url: String,
    pub mode: String,
}

/// ARM's template hash: a stable number over the template's canonical JSON.
pub fn template_hash(template: &serde_json::Value) -> String {
    // FNV-1a over the serialised template: stable across runs and builds.
    let bytes = serde_json::to_vec(template).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash.to_string()
}

/// Parses the template, binds the parameters (supplied values checked,
/// defaults evaluated in declaration order) and plans the resources.
pub fn prepare(input: DeploymentInput<'_>) -> Result<Prepared, DeploymentError> {
    let hash = template_hash(&input.template);
    let parsed = template::Template::parse(input.template)?;
    let supplied = template::supplied_values(&parsed, input.parameters)?;
    let declarations = parsed.parameters.clone();
    let mut frame = context::Frame::new(
        parsed,
        supplied,
        input.scope,
        input.name,
        input.tenant_id,
        input.resource_group,
        input.base_url,
        hash,
        input.mode,
    );
    for (name, declaration) in &declarations {
        if frame.parameters.contains_key(name) {
            continue;
        }
        let Some(default) = template::member(declaration, "defaultValue") else {
            // A nullable user-defined type may be left out.
            if template::member(frame.template.resolve_type(declaration), "nullable")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
            {
                frame
                    .parameters
                    .insert(name.clone(), serde_json::Value::Null);
                continue;
            }
            return Err(DeploymentError::invalid_template(format!(
                "The value for the template parameter '{name}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."
            )));
        };
        let value = context::TemplateContext::new(&frame)
            .eval(default)
            .map_err(|e| {
                DeploymentError::expression(&format!("the default value of parameter '{name}'"), &e)
            })?;
        frame.parameters.insert(name.clone(), value);
    }
    for (name, declaration) in &declarations {
        if let Some(value) = frame.parameters.get(name) {
            if !value.is_null() {
                template::check_value(&frame.template, name, declaration, value)?;
            }
        }
    }
    let plan = plan::build(&frame)?;
    Ok(Prepared { frame, plan })
}
