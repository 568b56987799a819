//! Logical and comparison functions. `if` is lazy: only the branch it
//! picks is evaluated, so the other may refer to things that don't exist.

use std::cmp::Ordering;

use serde_json::Value;

use super::Invocation;
use crate::deployments::expressions::ast::Call;
use crate::deployments::expressions::eval::Evaluator;
use crate::deployments::expressions::values::{arg, bool_arg, compare, type_name, values_equal};
use crate::deployments::expressions::ExprError;

pub fn and(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let all = (0..args.len())
        .map(|i| bool_arg(args, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Bool(all.into_iter().all(|b| b)))
}

pub fn or(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let all = (0..args.len())
        .map(|i| bool_arg(args, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Bool(all.into_iter().any(|b| b)))
}

pub fn not(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(Value::Bool(!bool_arg(args, 0)?))
}

pub fn true_(_: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(Value::Bool(true))
}

pub fn false_(_: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(Value::Bool(false))
}

/// `bool('true')`, `bool(1)`: strings ignoring case, integers 0 or not.
pub fn bool(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    match arg(args, 0)? {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        Value::Number(n) => Ok(Value::Bool(n.as_f64().is_some_and(|f| f != 0.0))),
        other => Err(ExprError::new(format!(
            "the value '{}' of type '{}' cannot be converted to a boolean",
            other,
            type_name(other)
        ))),
    }
}

/// `if(condition, whenTrue, whenFalse)`, evaluating only the chosen branch.
pub fn if_(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let condition = match call.args.first() {
        Some(expr) => ev.eval(expr)?,
        None => return Err(ExprError::new("the condition is missing")),
    };
    let Value::Bool(condition) = condition else {
        return Err(ExprError::new(format!(
            "the condition must be a boolean, but is of type '{}'",
            type_name(&condition)
        )));
    };
    let branch = if condition {
        call.args.get(1)
    } else {
        call.args.get(2)
    };
    match branch {
        Some(expr) => ev.eval(expr),
        None => Err(ExprError::new("the branch to evaluate is missing")),
    }
}

pub fn coalesce(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(args
        .iter()
        .find(|a| !a.is_null())
        .cloned()
        .unwrap_or(Value::Null))
}

pub fn equals(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(Value::Bool(values_equal(arg(args, 0)?, arg(args, 1)?)))
}

fn ordered(args: &[Value], accept: fn(Ordering) -> bool) -> Result<Value, ExprError> {
    Ok(Value::Bool(accept(compare(arg(args, 0)?, arg(args, 1)?)?)))
}

pub fn greater(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    ordered(args, Ordering::is_gt)
}

pub fn greater_or_equals(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    ordered(args, Ordering::is_ge)
}

pub fn less(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    ordered(args, Ordering::is_lt)
}

pub fn less_or_equals(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    ordered(args, Ordering::is_le)
}
