//! ARM template expressions: the `[...]` language of template strings.
//!
//! Pipeline: `lexer` (tokens with positions) → `parser` (a small syntax tree)
//! → `eval` (values), with the function library in `functions/`, one file per
//! family, looked up in one table that declares each function's arity once.
//! Everything a template's surroundings provide (parameters, variables, the
//! deployment, other resources) comes through [`Context`], so this module
//! knows nothing of HTTP or the store.

mod ast;
mod errors;
mod eval;
mod functions;
mod lexer;
mod parser;
mod values;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use ast::{function_calls, Call, Expr};
pub use functions::{names as function_names, unique_string_of};
pub use parser::parse;

/// An expression that cannot be evaluated, with ARM's wording: which
/// function or token, and where (0-based character offset in the expression
/// string as written, brackets included).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
    pub position: Option<usize>,
}

impl ExprError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            position: None,
        }
    }
}

/// What an expression sees beyond its own text. The deployment engine
/// implements it; tests implement it with fixed values.
pub trait Context {
    /// `parameters('name')`: the parameter's value (defaults applied).
    fn parameter(&self, name: &str) -> Result<Value, ExprError>;
    /// `variables('name')`.
    fn variable(&self, name: &str) -> Result<Value, ExprError>;
    /// `copyIndex()` / `copyIndex('loop')` (offset is added by the caller).
    fn copy_index(&self, loop_name: Option<&str>) -> Result<i64, ExprError>;
    /// `resourceGroup()`: `{id, name, type, location, managedBy?, tags, properties}`.
    fn resource_group(&self) -> Result<Value, ExprError>;
    /// `subscription()`: `{id, subscriptionId, tenantId, displayName}`.
    fn subscription(&self) -> Result<Value, ExprError>;
    /// `tenant()`: `{countryCode, displayName, id, tenantId}`.
    fn tenant(&self) -> Result<Value, ExprError>;
    /// `deployment()`: `{name, properties: {templateLink?, template, templateHash, parameters, mode, provisioningState}}`.
    fn deployment(&self) -> Result<Value, ExprError>;
    /// `environment()`: the cloud's endpoints as ARM describes them.
    fn environment(&self) -> Result<Value, ExprError>;
    /// `reference(resourceIdOrName, apiVersion?, 'Full'?)`.
    fn reference(
        &self,
        resource: &str,
        api_version: Option<&str>,
        full: bool,
    ) -> Result<Value, ExprError>;
    /// `listKeys(...)` and the other `list*` actions: POST `{resource_id}/{action}`.
    fn list(
        &self,
        action: &str,
        resource_id: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, ExprError>;
    /// A user-defined function `namespace.name(args...)` from the template's `functions`.
    fn user_function(
        &self,
        namespace: &str,
        name: &str,
        args: &[Value],
    ) -> Result<Value, ExprError>;
    /// The deployment's clock for `utcNow()` (fixed per deployment, as ARM's is).
    fn utc_now(&self) -> chrono::DateTime<chrono::Utc>;
}

/// Evaluates one template string: `[expr]` is an expression, `[[...]` is
/// the literal with its first `[` removed, anything else is itself.
pub fn evaluate_string(text: &str, ctx: &dyn Context) -> Result<Value, ExprError> {
    if let Some(literal) = text
        .strip_prefix('[')
        .filter(|t| t.starts_with('[') && t.ends_with(']'))
    {
        return Ok(Value::String(literal.to_string()));
    }
    if !is_expression(text) {
        return Ok(Value::String(text.to_string()));
    }
    let expr = parse(text)?;
    eval::Evaluator::new(ctx).eval(&expr)
}

/// Whether ARM treats `text` as an expression (`[` ... `]`, not `[[`).
pub fn is_expression(text: &str) -> bool {
    text.starts_with('[') && text.ends_with(']') && !text.starts_with("[[")
}

/// Evaluates every string in `value`, object keys included (as ARM does),
/// leaving other values alone. A key must evaluate to a string.
pub fn evaluate_json(value: &Value, ctx: &dyn Context) -> Result<Value, ExprError> {
    match value {
        Value::String(text) => evaluate_string(text, ctx),
        Value::Array(items) => items
            .iter()
            .map(|item| evaluate_json(item, ctx))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => {
            let mut evaluated = Map::new();
            for (key, item) in map {
                let key = match evaluate_string(key, ctx)? {
                    Value::String(key) => key,
                    other => values::to_arm_string(&other),
                };
                evaluated.insert(key, evaluate_json(item, ctx)?);
            }
            Ok(Value::Object(evaluated))
        }
        other => Ok(other.clone()),
    }
}
