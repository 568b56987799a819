//! Lambda functions: `filter`, `map`, `reduce`, `sort`, `toObject`,
//! `groupBy`, `mapValues`, with `lambda('x', ..., body)` arguments and
//! `lambdaVariables('x')` inside bodies. All are lazy in the table: the
//! lambda's body is evaluated per element, with its variables bound.

use serde_json::{Map, Value};

use crate::deployments::expressions::ast::{Call, Expr};
use crate::deployments::expressions::eval::Evaluator;
use crate::deployments::expressions::values::{int, type_name};
use crate::deployments::expressions::ExprError;

/// A `lambda(...)` argument: its variable names and its body.
struct Lambda<'e> {
    params: Vec<&'e str>,
    body: &'e Expr,
}

impl Lambda<'_> {
    /// Evaluates the body with the first `values.len()` parameters bound
    /// (a lambda may declare fewer parameters than the caller offers).
    fn apply(&self, ev: &Evaluator, values: &[Value]) -> Result<Value, ExprError> {
        let bindings = self
            .params
            .iter()
            .zip(values)
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect();
        ev.with_locals(bindings)?.eval(self.body)
    }
}

fn lambda_arg<'e>(
    call: &'e Call,
    index: usize,
    max_params: usize,
) -> Result<Lambda<'e>, ExprError> {
    let not_lambda = || {
        ExprError::new(format!(
            "the argument at position {} must be a lambda function",
            index + 1
        ))
    };
    let Some(Expr::Call(lambda)) = call.args.get(index) else {
        return Err(not_lambda());
    };
    if lambda.key != "lambda" {
        return Err(not_lambda());
    }
    let Some((body, names)) = lambda.args.split_last() else {
        return Err(ExprError::new("a lambda function needs a body"));
    };
    if names.is_empty() || names.len() > max_params {
        return Err(ExprError::new(format!(
            "the lambda function must declare between 1 and {max_params} variable name(s), but declares {}",
            names.len()
        )));
    }
    let params = names
        .iter()
        .map(|name| match name {
            Expr::String(text) => Ok(text.as_str()),
            _ => Err(ExprError::new(
                "lambda variable names must be string literals",
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(Lambda { params, body })
}

fn array_at(ev: &Evaluator, call: &Call, index: usize) -> Result<Vec<Value>, ExprError> {
    match call.args.get(index).map(|expr| ev.eval(expr)).transpose()? {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(ExprError::new(format!(
            "the argument at position {} must be an array, but is of type '{}'",
            index + 1,
            type_name(&other)
        ))),
        None => Err(ExprError::new(format!(
            "the argument at position {} is missing",
            index + 1
        ))),
    }
}

fn expect_bool(value: Value, what: &str) -> Result<bool, ExprError> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(ExprError::new(format!(
            "the {what} lambda must return a boolean, but returned a value of type '{}'",
            type_name(&other)
        ))),
    }
}

fn expect_key(value: Value) -> Result<String, ExprError> {
    match value {
        Value::String(key) => Ok(key),
        other => Err(ExprError::new(format!(
            "the key lambda must return a string, but returned a value of type '{}'",
            type_name(&other)
        ))),
    }
}

/// `lambda(...)` outside a function that takes one.
pub fn lambda(_: &Evaluator, _: &Call) -> Result<Value, ExprError> {
    Err(ExprError::new(
        "a lambda function can only be an argument of filter, map, reduce, sort, toObject, groupBy or mapValues",
    ))
}

pub fn lambda_variables(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let name = match call.args.first().map(|expr| ev.eval(expr)).transpose()? {
        Some(Value::String(name)) => name,
        _ => {
            return Err(ExprError::new(
                "the argument must be a lambda variable's name",
            ))
        }
    };
    ev.local(&name)
        .cloned()
        .ok_or_else(|| ExprError::new(format!("the lambda variable '{name}' is not defined here")))
}

pub fn filter(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let items = array_at(ev, call, 0)?;
    let predicate = lambda_arg(call, 1, 2)?;
    let mut kept = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if expect_bool(
            predicate.apply(ev, &[item.clone(), int(i as i64)])?,
            "filter",
        )? {
            kept.push(item);
        }
    }
    Ok(Value::Array(kept))
}

pub fn map(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let items = array_at(ev, call, 0)?;
    let mapper = lambda_arg(call, 1, 2)?;
    let mapped = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| mapper.apply(ev, &[item, int(i as i64)]))
        .collect::<Result<_, _>>()?;
    Ok(Value::Array(mapped))
}

pub fn reduce(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let items = array_at(ev, call, 0)?;
    let mut accumulated = match call.args.get(1) {
        Some(expr) => ev.eval(expr)?,
        None => return Err(ExprError::new("the initial value is missing")),
    };
    let reducer = lambda_arg(call, 2, 3)?;
    for (i, item) in items.into_iter().enumerate() {
        accumulated = reducer.apply(ev, &[accumulated, item, int(i as i64)])?;
    }
    Ok(accumulated)
}

/// `sort(array, lambda('a', 'b', <a before b>))`: a stable merge sort,
/// since the comparison may fail and must not panic.
pub fn sort(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let items = array_at(ev, call, 0)?;
    let before = lambda_arg(call, 1, 2)?;
    let comes_first = |a: &Value, b: &Value| -> Result<bool, ExprError> {
        expect_bool(before.apply(ev, &[a.clone(), b.clone()])?, "sort")
    };
    Ok(Value::Array(merge_sort(items, &comes_first)?))
}

fn merge_sort(
    mut items: Vec<Value>,
    comes_first: &dyn Fn(&Value, &Value) -> Result<bool, ExprError>,
) -> Result<Vec<Value>, ExprError> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let right = items.split_off(items.len() / 2);
    let left = merge_sort(items, comes_first)?;
    let right = merge_sort(right, comes_first)?;
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut left, mut right) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(l), Some(r)) = (left.peek(), right.peek()) {
        // Take from the right only when it strictly comes first: stability.
        let next = if comes_first(r, l)? {
            right.next()
        } else {
            left.next()
        };
        merged.extend(next);
    }
    merged.extend(left);
    merged.extend(right);
    Ok(merged)
}

pub fn to_object(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let items = array_at(ev, call, 0)?;
    let key_of = lambda_arg(call, 1, 1)?;
    let value_of = match call.args.get(2) {
        Some(_) => Some(lambda_arg(call, 2, 1)?),
        None => None,
    };
    let mut object = Map::new();
    for item in items {
        let key = expect_key(key_of.apply(ev, std::slice::from_ref(&item))?)?;
        let value = match &value_of {
            Some(lambda) => lambda.apply(ev, std::slice::from_ref(&item))?,
            None => item,
        };
        object.insert(key, value);
    }
    Ok(Value::Object(object))
}

pub fn group_by(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let items = array_at(ev, call, 0)?;
    let key_of = lambda_arg(call, 1, 1)?;
    let mut groups = Map::new();
    for item in items {
        let key = expect_key(key_of.apply(ev, std::slice::from_ref(&item))?)?;
        if let Value::Array(group) = groups
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            group.push(item);
        }
    }
    Ok(Value::Object(groups))
}

pub fn map_values(ev: &Evaluator, call: &Call) -> Result<Value, ExprError> {
    let object = match call.args.first().map(|expr| ev.eval(expr)).transpose()? {
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ExprError::new(format!(
                "the argument at position 1 must be an object, but is of type '{}'",
                type_name(&other)
            )))
        }
        None => return Err(ExprError::new("the argument at position 1 is missing")),
    };
    let mapper = lambda_arg(call, 1, 1)?;
    let mut mapped = Map::new();
    for (key, value) in object {
        mapped.insert(key, mapper.apply(ev, &[value])?);
    }
    Ok(Value::Object(mapped))
}
