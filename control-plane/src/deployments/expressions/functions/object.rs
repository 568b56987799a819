//! Object functions: `createObject`, `items`, `objectKeys`, `shallowMerge`, `null`.

use serde_json::{json, Map, Value};

use super::Invocation;
use crate::deployments::expressions::values::{array_arg, object_arg, type_name};
use crate::deployments::expressions::ExprError;

pub fn create_object(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    if args.len() % 2 != 0 {
        return Err(ExprError::new(
            "the arguments must come in key and value pairs, but an odd number was given",
        ));
    }
    let mut object = Map::new();
    for pair in args.chunks_exact(2) {
        let Value::String(key) = &pair[0] else {
            return Err(ExprError::new(format!(
                "property names must be strings, but one is of type '{}'",
                type_name(&pair[0])
            )));
        };
        object.insert(key.clone(), pair[1].clone());
    }
    Ok(Value::Object(object))
}

/// `items(object)`: `[{key, value}]`, ordered by key as ARM sorts them.
pub fn items(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let mut entries: Vec<(&String, &Value)> = object_arg(args, 0)?.iter().collect();
    entries.sort_by(|a, b| {
        a.0.to_lowercase()
            .cmp(&b.0.to_lowercase())
            .then(a.0.cmp(b.0))
    });
    Ok(Value::Array(
        entries
            .into_iter()
            .map(|(key, value)| json!({ "key": key, "value": value }))
            .collect(),
    ))
}

pub fn object_keys(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(Value::Array(
        object_arg(args, 0)?
            .keys()
            .cloned()
            .map(Value::String)
            .collect(),
    ))
}

/// `shallowMerge([objects])`: top-level properties only, later ones winning.
pub fn shallow_merge(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let mut merged = Map::new();
    for item in array_arg(args, 0)? {
        let Value::Object(object) = item else {
            return Err(ExprError::new(format!(
                "every element must be an object, but one is of type '{}'",
                type_name(item)
            )));
        };
        for (key, value) in object {
            if let Some(existing) = merged.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned() {
                merged.remove(&existing);
            }
            merged.insert(key.clone(), value.clone());
        }
    }
    Ok(Value::Object(merged))
}

pub fn null(_: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(Value::Null)
}
