//! Resource functions: the `resourceId` family (pure string building, with
//! ARM's checks), `reference` and `list*` (through the [`Context`]),
//! `pickZones`, and the retired `providers`.
//!
//! [`Context`]: crate::deployments::expressions::Context

use serde_json::Value;

use super::Invocation;
use crate::deployments::expressions::values::{arg, get_property, int_arg, str_arg, to_arm_string};
use crate::deployments::expressions::ExprError;

/// Every argument of the resourceId family must be a string.
fn strings(args: &[Value]) -> Result<Vec<&str>, ExprError> {
    (0..args.len()).map(|i| str_arg(args, i)).collect()
}

/// Splits `args` into (scope arguments, type, names) at the first argument
/// that looks like a resource type (`Namespace/type[/child...]`).
fn split_at_type<'a>(
    args: &[&'a str],
    max_scope_args: usize,
) -> Result<(Vec<&'a str>, &'a str, Vec<&'a str>), ExprError> {
    let position = args
        .iter()
        .take(max_scope_args + 1)
        .position(|a| a.contains('/'))
        .ok_or_else(|| {
            ExprError::new(format!(
                "function requires exactly one multi-segmented argument which must be resource type including resource provider namespace. Current function arguments '{}'",
                args.join(",")
            ))
        })?;
    let scope = args[..position].to_vec();
    let names = args[position + 1..].to_vec();
    Ok((scope, args[position], names))
}

/// `providers/Namespace/type1/name1/type2/name2`, checking the names match the
/// type's segments. Names may themselves hold `/`-separated segments.
fn provider_path(resource_type: &str, names: &[&str]) -> Result<String, ExprError> {
    let mut type_segments = resource_type.trim_matches('/').split('/');
    let namespace = type_segments.next().unwrap_or_default();
    let types: Vec<&str> = type_segments.collect();
    let name_segments: Vec<&str> = names.iter().flat_map(|n| n.split('/')).collect();
    if namespace.is_empty() || types.is_empty() || types.iter().any(|t| t.is_empty()) {
        return Err(ExprError::new(format!(
            "the resource type '{resource_type}' is not valid"
        )));
    }
    if types.len() != name_segments.len() {
        return Err(ExprError::new(format!(
            "the type '{resource_type}' requires '{}' resource name argument(s)",
            types.len()
        )));
    }
    let mut path = format!("providers/{namespace}");
    for (t, n) in types.iter().zip(&name_segments) {
        path.push_str(&format!("/{t}/{n}"));
    }
    Ok(path)
}

fn context_string(value: Value, property: &str, of: &str) -> Result<String, ExprError> {
    match &value {
        Value::Object(map) => get_property(map, property).map(to_arm_string),
        _ => None,
    }
    .ok_or_else(|| ExprError::new(format!("the {of} has no '{property}'")))
}

fn current_subscription_id(inv: &Invocation) -> Result<String, ExprError> {
    context_string(inv.ctx.subscription()?, "subscriptionId", "subscription")
}

/// `resourceId([subscriptionId], [resourceGroupName], resourceType, name...)`.
pub fn resource_id(args: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    let all = strings(args)?;
    let (scope, resource_type, names) = split_at_type(&all, 2)?;
    let (subscription, group) = match scope.as_slice() {
        [] => (
            current_subscription_id(inv)?,
            context_string(inv.ctx.resource_group()?, "name", "resource group")?,
        ),
        [group] => (current_subscription_id(inv)?, group.to_string()),
        [subscription, group] => (subscription.to_string(), group.to_string()),
        _ => {
            return Err(ExprError::new(
                "too many arguments precede the resource type",
            ))
        }
    };
    let path = provider_path(resource_type, &names)?;
    Ok(Value::String(format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/{path}"
    )))
}

/// `subscriptionResourceId([subscriptionId], resourceType, name...)`.
pub fn subscription_resource_id(args: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    let all = strings(args)?;
    let (scope, resource_type, names) = split_at_type(&all, 1)?;
    let subscription = match scope.as_slice() {
        [] => current_subscription_id(inv)?,
        [subscription] => subscription.to_string(),
        _ => {
            return Err(ExprError::new(
                "too many arguments precede the resource type",
            ))
        }
    };
    let path = provider_path(resource_type, &names)?;
    Ok(Value::String(format!(
        "/subscriptions/{subscription}/{path}"
    )))
}

/// `tenantResourceId(resourceType, name...)`.
pub fn tenant_resource_id(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let all = strings(args)?;
    let (scope, resource_type, names) = split_at_type(&all, 0)?;
    if !scope.is_empty() {
        return Err(ExprError::new(
            "the first argument must be the resource type",
        ));
    }
    Ok(Value::String(format!(
        "/{}",
        provider_path(resource_type, &names)?
    )))
}

/// `extensionResourceId(baseResourceId, resourceType, name...)`.
pub fn extension_resource_id(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let all = strings(args)?;
    let (base, rest) = all
        .split_first()
        .ok_or_else(|| ExprError::new("the base resource id is missing"))?;
    let (scope, resource_type, names) = split_at_type(rest, 0)?;
    if !scope.is_empty() {
        return Err(ExprError::new(
            "the second argument must be the resource type",
        ));
    }
    let path = provider_path(resource_type, &names)?;
    Ok(Value::String(format!(
        "{}/{path}",
        base.trim_end_matches('/')
    )))
}

/// `managementGroupResourceId([managementGroupId], resourceType, name...)`:
/// computable when the group is named; the current group isn't known here.
pub fn management_group_resource_id(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let all = strings(args)?;
    let (scope, resource_type, names) = split_at_type(&all, 1)?;
    let [group] = scope.as_slice() else {
        return Err(ExprError::new(
            "without a management group id this function needs a management group deployment, which is not supported here",
        ));
    };
    let path = provider_path(resource_type, &names)?;
    Ok(Value::String(format!(
        "/providers/Microsoft.Management/managementGroups/{group}/{path}"
    )))
}

/// `reference(resourceIdOrName, [apiVersion], ['Full'])`.
pub fn reference(args: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    let resource = str_arg(args, 0)?;
    let api_version = match args.get(1) {
        Some(Value::Null) | None => None,
        Some(_) => Some(str_arg(args, 1)?),
    };
    let full = match args.get(2) {
        None => false,
        Some(_) => str_arg(args, 2)?.eq_ignore_ascii_case("full"),
    };
    inv.ctx.reference(resource, api_version, full)
}

/// `listKeys(resourceId, apiVersion, [body])` and every other `list*` action.
pub fn list_action(args: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    let resource_id = str_arg(args, 0)?;
    let api_version = str_arg(args, 1)?;
    inv.ctx
        .list(inv.name, resource_id, api_version, args.get(2))
}

/// Regions where Azure offers availability zones (as of the docs' writing).
const ZONE_REGIONS: &[&str] = &[
    "australiaeast",
    "brazilsouth",
    "canadacentral",
    "centralindia",
    "centralus",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "germanywestcentral",
    "japaneast",
    "koreacentral",
    "northeurope",
    "norwayeast",
    "southafricanorth",
    "southcentralus",
    "southeastasia",
    "swedencentral",
    "switzerlandnorth",
    "uaenorth",
    "uksouth",
    "westeurope",
    "westus2",
    "westus3",
];

/// `pickZones(namespace, type, location, [numberOfZones], [offset])`: zones
/// '1'..'3' in zone regions, `[]` elsewhere, as ARM answers for types
/// without zone support.
pub fn pick_zones(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    str_arg(args, 0)?;
    str_arg(args, 1)?;
    let location: String = str_arg(args, 2)?
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let count = match args.get(3) {
        Some(_) => int_arg(args, 3)?,
        None => 1,
    };
    let offset = match args.get(4) {
        Some(_) => int_arg(args, 4)?,
        None => 0,
    };
    if !ZONE_REGIONS.contains(&location.as_str()) {
        return Ok(Value::Array(Vec::new()));
    }
    let zones = (0..count.clamp(0, 3))
        .map(|i| Value::String(((offset + i).rem_euclid(3) + 1).to_string()))
        .collect();
    Ok(Value::Array(zones))
}

/// ARM retired `providers()`; templates that still call it fail there too.
pub fn providers(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    arg(args, 0)?;
    Err(ExprError::new(
        "the providers function is deprecated and no longer supported; use the resource provider's API versions directly",
    ))
}
