//! Helpers for the JSON values expressions compute with: ARM's type names,
//! typed argument access, conversions and comparisons.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::ExprError;

/// ARM's (JSON.NET's) name for a value's type, as its errors print it.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

fn wrong_type(index: usize, wanted: &str, value: &Value) -> ExprError {
    ExprError::new(format!(
        "the argument at position {} must be of type '{wanted}', but the provided value is of type '{}'",
        index + 1,
        type_name(value)
    ))
}

/// The argument at `index` (the arity table guarantees it exists; a missing
/// one is still an error, never a panic).
pub fn arg(args: &[Value], index: usize) -> Result<&Value, ExprError> {
    args.get(index)
        .ok_or_else(|| ExprError::new(format!("the argument at position {} is missing", index + 1)))
}

pub fn str_arg(args: &[Value], index: usize) -> Result<&str, ExprError> {
    match arg(args, index)? {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(index, "String", other)),
    }
}

pub fn int_arg(args: &[Value], index: usize) -> Result<i64, ExprError> {
    let value = arg(args, index)?;
    as_int(value).ok_or_else(|| wrong_type(index, "Integer", value))
}

pub fn bool_arg(args: &[Value], index: usize) -> Result<bool, ExprError> {
    match arg(args, index)? {
        Value::Bool(b) => Ok(*b),
        other => Err(wrong_type(index, "Boolean", other)),
    }
}

pub fn array_arg(args: &[Value], index: usize) -> Result<&Vec<Value>, ExprError> {
    match arg(args, index)? {
        Value::Array(items) => Ok(items),
        other => Err(wrong_type(index, "Array", other)),
    }
}

pub fn object_arg(args: &[Value], index: usize) -> Result<&Map<String, Value>, ExprError> {
    match arg(args, index)? {
        Value::Object(map) => Ok(map),
        other => Err(wrong_type(index, "Object", other)),
    }
}

/// An integer value (JSON numbers without a fraction count).
pub fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

pub fn int(value: i64) -> Value {
    Value::Number(Number::from(value))
}

/// How ARM writes a value into a string (`string()`, `concat`, `format`):
/// strings as they are, booleans as .NET prints them, null as nothing,
/// arrays and objects as compact JSON.
pub fn to_arm_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Looks a property up the way ARM does: exact match first, then ignoring case.
pub fn get_property<'v>(map: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// Deep equality as `equals`, `contains`, `union` and friends use it:
/// numbers by value, object keys ignoring case.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(key, value)| {
                    get_property(y, key).is_some_and(|other| values_equal(value, other))
                })
        }
        _ => a == b,
    }
}

/// Ordering for `less`/`greater`/`sort`-style comparisons: numbers with
/// numbers, strings with strings (ordinal). Anything else is a type error.
pub fn compare(a: &Value, b: &Value) -> Result<Ordering, ExprError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let ordering = match (x.as_i64(), y.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => x.as_f64().zip(y.as_f64()).and_then(|(x, y)| x.partial_cmp(&y)),
            };
            ordering.ok_or_else(|| ExprError::new("the numbers cannot be compared"))
        }
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(ExprError::new(format!(
            "the values of type '{}' and '{}' cannot be compared; both must be integers or both strings",
            type_name(a),
            type_name(b)
        ))),
    }
}

/// `empty`-style emptiness: null, "", [] and {} are empty.
pub fn is_empty(value: &Value) -> Option<bool> {
    match value {
        Value::Null => Some(true),
        Value::String(s) => Some(s.is_empty()),
        Value::Array(items) => Some(items.is_empty()),
        Value::Object(map) => Some(map.is_empty()),
        _ => None,
    }
}

/// The arguments from `from` on (empty if there are fewer).
pub fn rest(args: &[Value], from: usize) -> &[Value] {
    args.get(from..).unwrap_or(&[])
}
