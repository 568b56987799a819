//! Integer arithmetic (64-bit, overflow is an error, not a wrap), the
//! `int`/`float` conversions and `copyIndex`.

use serde_json::{Number, Value};

use super::Invocation;
use crate::deployments::expressions::values::{arg, int, int_arg, type_name};
use crate::deployments::expressions::ExprError;

fn arithmetic(
    args: &[Value],
    op: fn(i64, i64) -> Option<i64>,
    what: &str,
) -> Result<Value, ExprError> {
    let (a, b) = (int_arg(args, 0)?, int_arg(args, 1)?);
    op(a, b).map(int).ok_or_else(|| {
        ExprError::new(format!(
            "the {what} of '{a}' and '{b}' is out of range or undefined"
        ))
    })
}

pub fn add(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    arithmetic(args, i64::checked_add, "sum")
}

pub fn sub(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    arithmetic(args, i64::checked_sub, "difference")
}

pub fn mul(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    arithmetic(args, i64::checked_mul, "product")
}

pub fn div(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    if int_arg(args, 1)? == 0 {
        return Err(ExprError::new("the divisor must not be zero"));
    }
    arithmetic(args, i64::checked_div, "quotient")
}

pub fn modulo(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    if int_arg(args, 1)? == 0 {
        return Err(ExprError::new("the divisor must not be zero"));
    }
    arithmetic(args, i64::checked_rem, "remainder")
}

pub fn int_(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let value = arg(args, 0)?;
    let parsed = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed.map(int).ok_or_else(|| {
        ExprError::new(format!(
            "the value '{value}' of type '{}' cannot be converted to an integer",
            type_name(value)
        ))
    })
}

pub fn float(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let value = arg(args, 0)?;
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    parsed
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| {
            ExprError::new(format!(
                "the value '{value}' of type '{}' cannot be converted to a float",
                type_name(value)
            ))
        })
}

/// `copyIndex()`, `copyIndex(offset)`, `copyIndex('loop')`, `copyIndex('loop', offset)`.
pub fn copy_index(args: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    let (loop_name, offset) = match args {
        [] => (None, 0),
        [Value::String(name)] => (Some(name.as_str()), 0),
        [_] => (None, int_arg(args, 0)?),
        [Value::String(name), _] => (Some(name.as_str()), int_arg(args, 1)?),
        _ => return Err(ExprError::new(
            "the arguments must be an optional loop name followed by an optional integer offset",
        )),
    };
    let index = inv.ctx.copy_index(loop_name)?;
    index
        .checked_add(offset)
        .map(int)
        .ok_or_else(|| ExprError::new("the copy index plus the offset is out of range"))
}
