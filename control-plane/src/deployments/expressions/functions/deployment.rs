//! Deployment and scope functions, answered by the [`Context`]:
//! `parameters`, `variables`, `deployment`, `environment`, `resourceGroup`,
//! `subscription`, `tenant`, `managementGroup`.
//!
//! [`Context`]: crate::deployments::expressions::Context

use serde_json::Value;

use super::Invocation;
use crate::deployments::expressions::values::str_arg;
use crate::deployments::expressions::ExprError;

pub fn parameters(args: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    inv.ctx.parameter(str_arg(args, 0)?)
}

pub fn variables(args: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    inv.ctx.variable(str_arg(args, 0)?)
}

pub fn deployment(_: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    inv.ctx.deployment()
}

pub fn environment(_: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    inv.ctx.environment()
}

pub fn resource_group(_: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    inv.ctx.resource_group()
}

pub fn subscription(_: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    inv.ctx.subscription()
}

pub fn tenant(_: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    inv.ctx.tenant()
}

/// The emulator deploys at resource group and subscription scope only.
pub fn management_group(_: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Err(ExprError::new(
        "the function is only valid in deployments at management group scope, which are not supported here",
    ))
}
