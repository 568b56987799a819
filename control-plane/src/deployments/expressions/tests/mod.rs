//! Tests per function family, against a fixed [`TestContext`]; most
//! vectors are the examples of ARM's template function reference.

mod arrays;
mod dates;
mod hashing;
mod lambdas;
mod logic;
mod numbers;
mod objects;
mod parsing;
mod resources;
mod strings;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use super::{evaluate_string, Context, ExprError};

pub struct TestContext;

pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

impl Context for TestContext {
    fn parameter(&self, name: &str) -> Result<Value, ExprError> {
        let parameters = json!({
            "name": "hsm1",
            "count": 3,
            "tags": {"Env": "test", "nested": {"a": [1, 2, 3]}},
            "list": ["a", "b", "c"],
            "flag": true
        });
        super::values::get_property(
            parameters.as_object().ok_or_else(|| ExprError::new("no"))?,
            name,
        )
        .cloned()
        .ok_or_else(|| ExprError::new(format!("The template parameter '{name}' is not found")))
    }
    fn variable(&self, name: &str) -> Result<Value, ExprError> {
        match name {
            "prefix" => Ok(json!("pre")),
            _ => Err(ExprError::new(format!(
                "The template variable '{name}' is not found"
            ))),
        }
    }
    fn copy_index(&self, loop_name: Option<&str>) -> Result<i64, ExprError> {
        match loop_name {
            None => Ok(2),
            Some("disks") => Ok(5),
            Some(other) => Err(ExprError::new(format!(
                "The copy loop '{other}' is not found"
            ))),
        }
    }
    fn resource_group(&self) -> Result<Value, ExprError> {
        Ok(json!({
            "id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/myRg"),
            "name": "myRg", "type": "Microsoft.Resources/resourceGroups",
            "location": "westus2", "tags": {}, "properties": {"provisioningState": "Succeeded"}
        }))
    }
    fn subscription(&self) -> Result<Value, ExprError> {
        Ok(
            json!({"id": format!("/subscriptions/{SUBSCRIPTION}"), "subscriptionId": SUBSCRIPTION,
                  "tenantId": "11111111-1111-1111-1111-111111111111", "displayName": "Emulated"}),
        )
    }
    fn tenant(&self) -> Result<Value, ExprError> {
        Ok(json!({"tenantId": "11111111-1111-1111-1111-111111111111"}))
    }
    fn deployment(&self) -> Result<Value, ExprError> {
        Ok(json!({"name": "deploy1", "properties": {"mode": "Incremental"}}))
    }
    fn environment(&self) -> Result<Value, ExprError> {
        Ok(json!({"name": "AzureCloud", "suffixes": {"storage": "core.windows.net"}}))
    }
    fn reference(
        &self,
        resource: &str,
        api_version: Option<&str>,
        full: bool,
    ) -> Result<Value, ExprError> {
        Ok(json!({"resource": resource, "apiVersion": api_version, "full": full}))
    }
    fn list(
        &self,
        action: &str,
        resource_id: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, ExprError> {
        Ok(json!({"action": action, "id": resource_id, "apiVersion": api_version, "body": body}))
    }
    fn user_function(
        &self,
        namespace: &str,
        name: &str,
        args: &[Value],
    ) -> Result<Value, ExprError> {
        Ok(json!({"called": format!("{namespace}.{name}"), "args": args}))
    }
    fn utc_now(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2020, 4, 7, 14, 53, 14)
            .single()
            .unwrap_or_default()
    }
}

/// Evaluates `text`, failing the test on error.
pub fn eval(text: &str) -> Value {
    match evaluate_string(text, &TestContext) {
        Ok(value) => value,
        Err(e) => panic!("{text}: {e}"),
    }
}

/// Evaluates `text`, expecting an error.
pub fn eval_err(text: &str) -> ExprError {
    match evaluate_string(text, &TestContext) {
        Ok(value) => panic!("{text}: expected an error, got {value}"),
        Err(e) => e,
    }
}
