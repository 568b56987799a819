//! From a bound template to the resource instances to deploy: copy loops
//! expanded, conditions evaluated, each instance's id computed the way ARM
//! computes it, and the dependency graph (explicit `dependsOn`, parents of
//! child resources, `reference()`/`list*()` of a resource of the template)
//! checked for cycles.

use std::collections::HashSet;

use serde_json::Value;

use super::{
    context::{Frame, TemplateContext},
    template::{member, MAX_RESOURCES},
    DeploymentError, DeploymentScope,
};

/// Keys of a resource declaration that steer the deployment and are not
/// part of the request body.
pub const TEMPLATE_ONLY_KEYS: &[&str] = &[
    "type",
    "name",
    "apiVersion",
    "dependsOn",
    "copy",
    "condition",
    "scope",
    "comments",
    "existing",
    "resources",
    "resourceGroup",
    "subscriptionId",
    "metadata",
    "import",
];

#[derive(Debug, Clone)]
pub struct Instance {
    /// The symbolic name (languageVersion 2.0), else the declared name.
    pub label: String,
    pub symbolic: Option<String>,
    pub declaration: Value,
    /// The copy loops around this instance, outermost first.
    pub copies: Vec<(String, i64)>,
    pub copy_name: Option<String>,
    pub resource_type: String,
    pub name: String,
    pub api_version: String,
    pub id: String,
    /// `existing: true` (languageVersion 2.0): read, never deployed.
    pub existing: bool,
    /// `condition` evaluated false: kept for dependency resolution, not deployed.
    pub skipped: bool,
    pub depends_on: Vec<usize>,
}

impl Instance {
    pub fn is_nested_deployment(&self) -> bool {
        self.resource_type
            .eq_ignore_ascii_case("Microsoft.Resources/deployments")
    }
}

pub struct Plan {
    pub instances: Vec<Instance>,
}

struct Declared {
    symbolic: Option<String>,
    declaration: Value,
    /// Parent instance label chain for nested child resources (1.0).
    parent: Option<usize>,
}

fn string_field(
    ctx: &TemplateContext<'_>,
    declaration: &Value,
    field: &str,
    label: &str,
) -> Result<Option<String>, DeploymentError> {
    let Some(raw) = member(declaration, field) else {
        return Ok(None);
    };
    let value = ctx.eval(raw).map_err(|e| {
        DeploymentError::expression(&format!("resource '{label}' property '{field}'"), &e)
    })?;
    match value {
        Value::String(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        other => Err(DeploymentError::invalid_template(format!(
            "The template resource '{label}' property '{field}' must be a string, not '{other}'."
        ))),
    }
}

/// The id of `type`/`name` deployed at `prefix` (a scope id).
pub fn resource_id_at(
    prefix: &str,
    resource_type: &str,
    name: &str,
    label: &str,
) -> Result<String, DeploymentError> {
    let mut type_segments = resource_type.split('/');
    let namespace = type_segments.next().unwrap_or_default();
    let types: Vec<&str> = type_segments.collect();
    let names: Vec<&str> = name.split('/').collect();
    if types.is_empty() || types.len() != names.len() || names.iter().any(|n| n.is_empty()) {
        return Err(DeploymentError::invalid_template(format!(
            "The template resource '{label}' for type '{resource_type}' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name. Please see https://aka.ms/arm-syntax-resources for usage details."
        )));
    }
    if resource_type.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
        let subscription = prefix.trim_end_matches('/');
        return Ok(format!("{subscription}/resourceGroups/{name}"));
    }
    let mut id = format!("{prefix}/providers/{namespace}");
    for (t, n) in types.iter().zip(&names) {
        id.push('/');
        id.push_str(t);
        id.push('/');
        id.push_str(n);
    }
    Ok(id)
}

fn flatten(frame: &Frame) -> Vec<Declared> {
    let mut out = Vec::new();
    fn push(
        out: &mut Vec<Declared>,
        symbolic: Option<String>,
        declaration: &Value,
        parent: Option<usize>,
    ) {
        let index = out.len();
        out.push(Declared {
            symbolic,
            declaration: declaration.clone(),
            parent,
        });
        if let Some(Value::Array(children)) = member(declaration, "resources") {
            for child in children {
                push(out, None, child, Some(index));
            }
        }
    }
    for (symbolic, declaration) in &frame.template.resources {
        push(&mut out, symbolic.clone(), declaration, None);
    }
    out
}

pub fn build(frame: &Frame) -> Result<Plan, DeploymentError> {
    let root = TemplateContext::new(frame);
    let declared = flatten(frame);
    let mut instances: Vec<Instance> = Vec::new();
    // Declared index → the instances it expanded to.
    let mut expanded: Vec<Vec<usize>> = Vec::with_capacity(declared.len());
    let scope_id = frame.scope.id();

    for d in &declared {
        let label_hint = d
            .symbolic
            .clone()
            .or_else(|| {
                member(&d.declaration, "name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "resource".into());
        let (copy_name, count, batch) = match member(&d.declaration, "copy") {
            None => (None, 1, None),
            Some(copy) => {
                let name = member(copy, "name")
                    .and_then(Value::as_str)
                    .unwrap_or(&label_hint)
                    .to_string();
                let count = root
                    .eval(member(copy, "count").unwrap_or(&Value::Null))
                    .map_err(|e| {
                        DeploymentError::expression(&format!("the copy count of '{name}'"), &e)
                    })?
                    .as_i64()
                    .ok_or_else(|| {
                        DeploymentError::invalid_template(format!(
                            "The copy count of '{name}' must be an integer."
                        ))
                    })?;
                if !(0..=800).contains(&count) {
                    return Err(DeploymentError::invalid_template(format!(
                        "The copy count '{count}' of '{name}' is not valid: it must be between 0 and 800."
                    )));
                }
                let serial = member(copy, "mode")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.eq_ignore_ascii_case("serial"));
                let batch = if serial {
                    let size = member(copy, "batchSize")
                        .map(|b| root.eval(b))
                        .transpose()
                        .map_err(|e| {
                            DeploymentError::expression(&format!("the batch size of '{name}'"), &e)
                        })?
                        .and_then(|b| b.as_i64())
                        .unwrap_or(1);
                    Some(size.max(1))
                } else {
                    None
                };
                (Some(name), count, batch)
            }
        };
        let parent_copies = d
            .parent
            .and_then(|p| expanded.get(p))
            .and_then(|list| list.first())
            .map(|first| instances[*first].copies.clone())
            .unwrap_or_default();
        let mut made = Vec::new();
        for i in 0..count {
            let mut ctx = root.clone();
            for (name, index) in &parent_copies {
                ctx = ctx.in_copy(name, *index);
            }
            let mut copies = parent_copies.clone();
            if let Some(name) = &copy_name {
                ctx = ctx.in_copy(name, i);
                copies.push((name.clone(), i));
            }
            let declaration = &d.declaration;
            let mut resource_type = string_field(&ctx, declaration, "type", &label_hint)?
                .ok_or_else(|| {
                    DeploymentError::invalid_template(format!(
                        "The template resource '{label_hint}' has no 'type'."
                    ))
                })?;
            let mut name =
                string_field(&ctx, declaration, "name", &label_hint)?.ok_or_else(|| {
                    DeploymentError::invalid_template(format!(
                        "The template resource '{label_hint}' has no 'name'."
                    ))
                })?;
            if let Some(parent) = d
                .parent
                .and_then(|p| expanded.get(p))
                .and_then(|l| l.first())
            {
                // A child declared inside its parent (1.0): its type and name
                // are relative unless written in full.
                let parent = &instances[*parent];
                if !resource_type.contains('/') {
                    resource_type = format!("{}/{}", parent.resource_type, resource_type);
                    name = format!("{}/{}", parent.name, name);
                }
            }
            let api_version =
                string_field(&ctx, declaration, "apiVersion", &label_hint)?.unwrap_or_default();
            let label = d.symbolic.clone().unwrap_or_else(|| name.clone());
            let condition = match member(declaration, "condition") {
                None => true,
                Some(raw) => match ctx
                    .eval(raw)
                    .map_err(|e| DeploymentError::expression(&format!("resource '{label}' condition"), &e))?
                {
                    Value::Bool(b) => b,
                    other => {
                        return Err(DeploymentError::invalid_template(format!(
                            "The template resource '{label}' condition must be a boolean, not '{other}'."
                        )))
                    }
                },
            };
            let subscription = string_field(&ctx, declaration, "subscriptionId", &label)?
                .unwrap_or_else(|| frame.scope.subscription().to_string());
            let group = string_field(&ctx, declaration, "resourceGroup", &label)?
                .or_else(|| frame.scope.group().map(str::to_string));
            let prefix = match string_field(&ctx, declaration, "scope", &label)? {
                Some(scope) if scope.starts_with('/') => scope.trim_end_matches('/').to_string(),
                Some(relative) => format!("{scope_id}/providers/{relative}"),
                None => match &group {
                    Some(g)
                        if !resource_type
                            .eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") =>
                    {
                        format!("/subscriptions/{subscription}/resourceGroups/{g}")
                    }
                    _ => format!("/subscriptions/{subscription}"),
                },
            };
            if matches!(frame.scope, DeploymentScope::ResourceGroup { .. })
                && resource_type.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups")
            {
                return Err(DeploymentError::invalid_template(format!(
                    "The template resource '{label}' of type 'Microsoft.Resources/resourceGroups' can only be deployed at subscription scope."
                )));
            }
            let id = resource_id_at(&prefix, &resource_type, &name, &label)?;
            let existing = member(declaration, "existing")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            made.push(instances.len());
            instances.push(Instance {
                label,
                symbolic: d.symbolic.clone(),
                declaration: declaration.clone(),
                copies,
                copy_name: copy_name.clone(),
                resource_type,
                name,
                api_version,
                id,
                existing,
                skipped: !condition,
                depends_on: Vec::new(),
            });
        }
        // Serial copies: each batch waits for the one before it.
        if let Some(size) = batch {
            for (position, &index) in made.iter().enumerate() {
                let batch_start = (position as i64 / size) * size;
                if batch_start > 0 {
                    let previous = (batch_start - size) as usize..batch_start as usize;
                    let deps: Vec<usize> = made[previous].to_vec();
                    instances[index].depends_on.extend(deps);
                }
            }
        }
        expanded.push(made);
        if instances.len() > MAX_RESOURCES {
            return Err(DeploymentError::invalid_template(format!(
                "The number of resources in the template exceeds the limit of '{MAX_RESOURCES}'."
            )));
        }
    }

    if let Ok(mut names) = frame.names.lock() {
        for instance in &instances {
            if let Some(symbolic) = &instance.symbolic {
                if instance.copies.is_empty() {
                    names.insert(symbolic.clone(), instance.id.clone());
                }
            }
            names
                .entry(instance.name.clone())
                .or_insert_with(|| instance.id.clone());
            names
                .entry(instance.id.clone())
                .or_insert_with(|| instance.id.clone());
        }
    }

    // Dependencies: explicit, parent, and references by name.
    for (d_index, d) in declared.iter().enumerate() {
        for &index in &expanded[d_index] {
            let mut deps: Vec<usize> = Vec::new();
            if let Some(parent) = d.parent {
                deps.extend(expanded[parent].iter().copied());
            }
            let mut ctx = root.clone();
            for (name, i) in &instances[index].copies {
                ctx = ctx.in_copy(name, *i);
            }
            if let Some(raw) = member(&d.declaration, "dependsOn") {
                let evaluated = ctx.eval(raw).map_err(|e| {
                    DeploymentError::expression(
                        &format!("resource '{}' dependsOn", instances[index].label),
                        &e,
                    )
                })?;
                for entry in evaluated.as_array().cloned().unwrap_or_default() {
                    let Some(entry) = entry.as_str() else {
                        continue;
                    };
                    let found = resolve_dependency(&instances, entry);
                    if found.is_empty() {
                        return Err(DeploymentError::invalid_template(format!(
                            "The resource '{entry}' is not defined in the template. Please see https://aka.ms/arm-syntax for usage details."
                        )));
                    }
                    deps.extend(found);
                }
            }
            for referenced in referenced_names(&d.declaration) {
                deps.extend(
                    resolve_dependency(&instances, &referenced)
                        .into_iter()
                        .filter(|&i| i != index),
                );
            }
            deps.retain(|&i| i != index);
            instances[index].depends_on.extend(deps);
            let mut seen = HashSet::new();
            instances[index].depends_on.retain(|i| seen.insert(*i));
        }
    }
    check_cycles(&instances)?;
    Ok(Plan { instances })
}

/// `subscriptionResourceId('Microsoft.Resources/resourceGroups', g)` gives
/// `/subscriptions/{s}/providers/Microsoft.Resources/resourceGroups/{g}`;
/// ARM takes it for the group's own id, `/subscriptions/{s}/resourceGroups/{g}`.
pub fn canonical_id(id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    let marker = "/providers/microsoft.resources/resourcegroups/";
    match lower.find(marker) {
        Some(at)
            if lower[..at].matches('/').count() == 2 && lower.starts_with("/subscriptions/") =>
        {
            format!("{}/resourceGroups/{}", &id[..at], &id[at + marker.len()..])
        }
        _ => id.to_string(),
    }
}

/// The instances a `dependsOn` entry names: an id (full or from
/// `Namespace/type/name`), a copy loop, a symbolic name, or a resource name.
pub fn resolve_dependency(instances: &[Instance], entry: &str) -> Vec<usize> {
    let entry = canonical_id(entry);
    let entry = entry.as_str();
    let entry_lower = entry.trim_end_matches('/').to_ascii_lowercase();
    let by = |pred: &dyn Fn(&Instance) -> bool| -> Vec<usize> {
        instances
            .iter()
            .enumerate()
            .filter(|(_, i)| pred(i))
            .map(|(n, _)| n)
            .collect()
    };
    let found = by(&|i| i.id.eq_ignore_ascii_case(&entry_lower));
    if !found.is_empty() {
        return found;
    }
    if entry_lower.contains('/') {
        let suffix = format!("/providers/{entry_lower}");
        let found = by(&|i| i.id.to_ascii_lowercase().ends_with(&suffix));
        if !found.is_empty() {
            return found;
        }
        let group_suffix = format!("/{entry_lower}");
        let found = by(&|i| {
            i.resource_type
                .eq_ignore_ascii_case("Microsoft.Resources/resourceGroups")
                && i.id.to_ascii_lowercase().ends_with(&group_suffix)
        });
        if !found.is_empty() {
            return found;
        }
    }
    let found = by(&|i| {
        i.copy_name
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(entry))
    });
    if !found.is_empty() {
        return found;
    }
    let found = by(&|i| {
        i.symbolic
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(entry))
    });
    if !found.is_empty() {
        return found;
    }
    by(&|i| i.name.eq_ignore_ascii_case(entry))
}

/// The first literal argument of every `reference('x'...)` and `list*('x'...)`
/// call in a declaration's strings: ARM makes such a resource of the
/// template an implicit dependency.
pub fn referenced_names(declaration: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_strings(declaration, &mut |s| {
        if !s.starts_with('[') || s.starts_with("[[") {
            return;
        }
        let lower = s.to_ascii_lowercase();
        let mut at = 0;
        while let Some(found) = lower[at..].find('(') {
            let open = at + found;
            let name_start = lower[..open]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .map_or(0, |p| p + 1);
            let function = &lower[name_start..open];
            if function == "reference" || function.starts_with("list") {
                let rest = s[open + 1..].trim_start();
                if let Some(literal) = rest.strip_prefix('\'') {
                    if let Some(end) = literal.find('\'') {
                        out.push(literal[..end].to_string());
                    }
                }
            }
            at = open + 1;
        }
    });
    out
}

fn collect_strings(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, f)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            if !k.eq_ignore_ascii_case("template") {
                f(k);
                collect_strings(v, f);
            }
        }),
        _ => {}
    }
}

/// ARM refuses a template whose dependencies loop, naming the cycle.
fn check_cycles(instances: &[Instance]) -> Result<(), DeploymentError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; instances.len()];
    let mut stack: Vec<usize> = Vec::new();
    fn visit(
        n: usize,
        instances: &[Instance],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[n] = Mark::Active;
        stack.push(n);
        for &d in &instances[n].depends_on {
            match marks[d] {
                Mark::Active => {
                    let start = stack.iter().position(|&s| s == d).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(d);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(d, instances, marks, stack) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[n] = Mark::Done;
        None
    }
    for n in 0..instances.len() {
        if marks[n] == Mark::New {
            if let Some(cycle) = visit(n, instances, &mut marks, &mut stack) {
                let names: Vec<String> =
                    cycle.iter().map(|&i| instances[i].label.clone()).collect();
                return Err(DeploymentError::invalid_template(format!(
                    "Circular dependency detected on resource: '{}'. Please see https://aka.ms/arm-syntax-resources for usage details.",
                    names.join("' -> '")
                )));
            }
        }
    }
    Ok(())
}
