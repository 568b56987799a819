//! ARM template expressions: the `[...]` language of template strings.
//!
//! Pipeline: `lexer` (tokens with positions) → `parser` (a small syntax tree)
//! → `eval` (values), with the function library in `functions/`, one file per
//! family, looked up in one table that declares each function's arity once.
//! Everything a template's surroundings provide (parameters, variables, the
//! deployment, other resources) comes through [`Context`], so this module
//! knows nothing of HTTP or the store.

use serde_json::Value;

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
