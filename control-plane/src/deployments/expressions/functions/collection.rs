//! Functions ARM defines alike for strings, arrays and objects: `concat`,
//! `contains`, `empty`, `first`, `last`, `length`, `indexOf`,
//! `lastIndexOf`, `skip`, `take`, `intersection`, `union`, `tryGet`.

use serde_json::{Map, Value};

use super::Invocation;
use crate::deployments::expressions::values::{
    arg, as_int, get_property, int, int_arg, is_empty, rest, to_arm_string, type_name, values_equal,
};
use crate::deployments::expressions::ExprError;

fn unsupported(value: &Value, wanted: &str) -> ExprError {
    ExprError::new(format!(
        "the value of type '{}' is not supported; expected {wanted}",
        type_name(value)
    ))
}

pub fn concat(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let arrays = args.iter().filter(|a| a.is_array()).count();
    if arrays == args.len() {
        let joined = args
            .iter()
            .filter_map(Value::as_array)
            .flatten()
            .cloned()
            .collect();
        return Ok(Value::Array(joined));
    }
    if arrays > 0 {
        return Err(ExprError::new(
            "the provided parameters are invalid: either all or none of the parameters must be an array",
        ));
    }
    Ok(Value::String(args.iter().map(to_arm_string).collect()))
}

pub fn contains(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let item = arg(args, 1)?;
    let found = match arg(args, 0)? {
        // String containment is case-sensitive; object keys are not.
        Value::String(s) => s.contains(&to_arm_string(item)),
        Value::Array(items) => items.iter().any(|x| values_equal(x, item)),
        Value::Object(map) => get_property(map, &to_arm_string(item)).is_some(),
        other => return Err(unsupported(other, "a string, array or object")),
    };
    Ok(Value::Bool(found))
}

pub fn empty(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let value = arg(args, 0)?;
    is_empty(value)
        .map(Value::Bool)
        .ok_or_else(|| unsupported(value, "a string, array, object or null"))
}

pub fn first(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    match arg(args, 0)? {
        Value::String(s) => Ok(Value::String(s.chars().take(1).collect())),
        Value::Array(items) => Ok(items.first().cloned().unwrap_or(Value::Null)),
        other => Err(unsupported(other, "a string or array")),
    }
}

pub fn last(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    match arg(args, 0)? {
        Value::String(s) => Ok(Value::String(
            s.chars().last().map(String::from).unwrap_or_default(),
        )),
        Value::Array(items) => Ok(items.last().cloned().unwrap_or(Value::Null)),
        other => Err(unsupported(other, "a string or array")),
    }
}

pub fn length(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let n = match arg(args, 0)? {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        other => return Err(unsupported(other, "a string, array or object")),
    };
    Ok(int(n as i64))
}

pub fn index_of(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    find_index(args, false)
}

pub fn last_index_of(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    find_index(args, true)
}

/// String search ignores case (as ARM documents); array search is by value.
fn find_index(args: &[Value], from_end: bool) -> Result<Value, ExprError> {
    let item = arg(args, 1)?;
    let index = match arg(args, 0)? {
        Value::String(s) => {
            let haystack: Vec<char> = s.to_lowercase().chars().collect();
            let needle: Vec<char> = to_arm_string(item).to_lowercase().chars().collect();
            char_search(&haystack, &needle, from_end)
        }
        Value::Array(items) => {
            let mut positions = items
                .iter()
                .enumerate()
                .filter(|(_, x)| values_equal(x, item));
            let found = if from_end {
                positions.next_back()
            } else {
                positions.next()
            };
            found.map(|(i, _)| i as i64).unwrap_or(-1)
        }
        other => return Err(unsupported(other, "a string or array")),
    };
    Ok(int(index))
}

fn char_search(haystack: &[char], needle: &[char], from_end: bool) -> i64 {
    if needle.is_empty() {
        return if from_end {
            haystack.len().saturating_sub(1) as i64
        } else {
            0
        };
    }
    if needle.len() > haystack.len() {
        return -1;
    }
    let mut starts = 0..=haystack.len() - needle.len();
    let matches = |&i: &usize| haystack[i..i + needle.len()] == *needle;
    let found = if from_end {
        starts.rev().find(matches)
    } else {
        starts.find(matches)
    };
    found.map(|i| i as i64).unwrap_or(-1)
}

pub fn skip(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let count = int_arg(args, 1)?.max(0) as usize;
    match arg(args, 0)? {
        Value::String(s) => Ok(Value::String(s.chars().skip(count).collect())),
        Value::Array(items) => Ok(Value::Array(items.iter().skip(count).cloned().collect())),
        other => Err(unsupported(other, "a string or array")),
    }
}

pub fn take(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let count = int_arg(args, 1)?.max(0) as usize;
    match arg(args, 0)? {
        Value::String(s) => Ok(Value::String(s.chars().take(count).collect())),
        Value::Array(items) => Ok(Value::Array(items.iter().take(count).cloned().collect())),
        other => Err(unsupported(other, "a string or array")),
    }
}

/// Arrays: the first array's distinct elements found in every other one.
/// Objects: the first object's properties with equal values in every other.
pub fn intersection(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    match arg(args, 0)? {
        Value::Array(first) => {
            let others = all_arrays(rest(args, 1))?;
            let mut common: Vec<Value> = Vec::new();
            for item in first {
                let everywhere = others
                    .iter()
                    .all(|o| o.iter().any(|x| values_equal(x, item)));
                if everywhere && !common.iter().any(|x| values_equal(x, item)) {
                    common.push(item.clone());
                }
            }
            Ok(Value::Array(common))
        }
        Value::Object(first) => {
            let others = all_objects(rest(args, 1))?;
            let common = first
                .iter()
                .filter(|(key, value)| {
                    others
                        .iter()
                        .all(|o| get_property(o, key).is_some_and(|v| values_equal(v, value)))
                })
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            Ok(Value::Object(common))
        }
        other => Err(unsupported(other, "arrays or objects")),
    }
}

/// Arrays: all distinct elements in order. Objects: merged, later values
/// winning, nested objects and arrays merged recursively (as ARM documents).
pub fn union(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    match arg(args, 0)? {
        Value::Array(_) => {
            let arrays = all_arrays(args)?;
            let mut merged = Vec::new();
            for item in arrays.into_iter().flatten() {
                push_distinct(&mut merged, item);
            }
            Ok(Value::Array(merged))
        }
        Value::Object(_) => {
            let objects = all_objects(args)?;
            let mut merged = Map::new();
            for object in objects {
                merge_into(&mut merged, object);
            }
            Ok(Value::Object(merged))
        }
        other => Err(unsupported(other, "arrays or objects")),
    }
}

fn push_distinct(items: &mut Vec<Value>, item: &Value) {
    if !items.iter().any(|x| values_equal(x, item)) {
        items.push(item.clone());
    }
}

fn merge_into(target: &mut Map<String, Value>, source: &Map<String, Value>) {
    for (key, value) in source {
        let existing_key = target.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned();
        let existing = existing_key.as_ref().and_then(|k| target.get_mut(k));
        match (existing, value) {
            (Some(Value::Object(old)), Value::Object(new)) => merge_into(old, new),
            (Some(Value::Array(old)), Value::Array(new)) => {
                for item in new {
                    push_distinct(old, item);
                }
            }
            (Some(old), new) => *old = new.clone(),
            (None, new) => {
                target.insert(key.clone(), new.clone());
            }
        }
    }
}

fn all_arrays(args: &[Value]) -> Result<Vec<&Vec<Value>>, ExprError> {
    args.iter()
        .map(|a| {
            a.as_array()
                .ok_or_else(|| unsupported(a, "only arrays, as the first argument is"))
        })
        .collect()
}

fn all_objects(args: &[Value]) -> Result<Vec<&Map<String, Value>>, ExprError> {
    args.iter()
        .map(|a| {
            a.as_object()
                .ok_or_else(|| unsupported(a, "only objects, as the first argument is"))
        })
        .collect()
}

/// `tryGet(value, key...)`: follows property names and array indexes,
/// giving null as soon as one is missing instead of failing.
pub fn try_get(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let mut current = arg(args, 0)?;
    for key in rest(args, 1) {
        let next = match (current, key) {
            (Value::Object(map), Value::String(name)) => get_property(map, name),
            (Value::Array(items), index) => as_int(index)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| items.get(i)),
            (Value::Object(_) | Value::Null, _) => None,
            (other, _) => return Err(unsupported(other, "an object or array")),
        };
        match next {
            Some(value) => current = value,
            None => return Ok(Value::Null),
        }
    }
    Ok(current.clone())
}
