//! Array-only functions: `array`, `createArray`, `flatten`, `range`,
//! `indexFromEnd`, `tryIndexFromEnd`, and `min`/`max` (arrays or integers).

use serde_json::Value;

use super::Invocation;
use crate::deployments::expressions::values::{arg, array_arg, as_int, int, int_arg, type_name};
use crate::deployments::expressions::ExprError;

/// ARM caps `range()`'s count at 10000.
const MAX_RANGE: i64 = 10_000;

pub fn array(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(match arg(args, 0)? {
        Value::Array(items) => Value::Array(items.clone()),
        other => Value::Array(vec![other.clone()]),
    })
}

pub fn create_array(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(Value::Array(args.to_vec()))
}

pub fn flatten(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let mut flat = Vec::new();
    for item in array_arg(args, 0)? {
        match item {
            Value::Array(inner) => flat.extend(inner.iter().cloned()),
            other => {
                return Err(ExprError::new(format!(
                    "every element must be an array, but one is of type '{}'",
                    type_name(other)
                )))
            }
        }
    }
    Ok(Value::Array(flat))
}

pub fn range(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let (start, count) = (int_arg(args, 0)?, int_arg(args, 1)?);
    if !(0..=MAX_RANGE).contains(&count) {
        return Err(ExprError::new(format!(
            "the count '{count}' must be a non-negative integer no greater than {MAX_RANGE}"
        )));
    }
    if start
        .checked_add(count)
        .is_none_or(|end| end > i64::from(i32::MAX))
    {
        return Err(ExprError::new(
            "the sum of the start index and the count must not exceed 2147483647",
        ));
    }
    Ok(Value::Array((start..start + count).map(int).collect()))
}

fn from_end(args: &[Value]) -> Result<Option<Value>, ExprError> {
    let items = array_arg(args, 0)?;
    let reverse = int_arg(args, 1)?;
    let found = usize::try_from(reverse)
        .ok()
        .filter(|&n| n >= 1)
        .and_then(|n| items.len().checked_sub(n))
        .and_then(|i| items.get(i))
        .cloned();
    Ok(found)
}

/// `indexFromEnd(array, n)`: the n-th element from the end (1 = last).
pub fn index_from_end(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    from_end(args)?.ok_or_else(|| {
        ExprError::new(
            "the index from the end is out of bounds; it must be between 1 and the array's length",
        )
    })
}

/// As `indexFromEnd`, but null instead of an error when out of range.
pub fn try_index_from_end(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(from_end(args)?.unwrap_or(Value::Null))
}

pub fn max(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    extreme(args, true)
}

pub fn min(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    extreme(args, false)
}

/// `max`/`min` take either one array of integers or integers as arguments.
fn extreme(args: &[Value], largest: bool) -> Result<Value, ExprError> {
    let values: &[Value] = match args {
        [Value::Array(items)] => items,
        _ => args,
    };
    let mut best: Option<i64> = None;
    for value in values {
        let n = as_int(value).ok_or_else(|| {
            ExprError::new(format!(
                "the values must be integers, but one is of type '{}'",
                type_name(value)
            ))
        })?;
        best = Some(match best {
            Some(b) if largest => b.max(n),
            Some(b) => b.min(n),
            None => n,
        });
    }
    best.map(int)
        .ok_or_else(|| ExprError::new("the array must not be empty"))
}
