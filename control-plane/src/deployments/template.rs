//! A template as ARM reads it (schema 2019-04-01, languageVersion 1.0 and
//! 2.0), and the binding of the parameters a deployment supplies to the
//! template's parameter declarations.

use serde_json::{Map, Value};

use super::DeploymentError;

/// ARM's documented template limits.
pub const MAX_PARAMETERS: usize = 256;
pub const MAX_OUTPUTS: usize = 64;
pub const MAX_RESOURCES: usize = 800;
pub const MAX_TEMPLATE_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_EXPRESSION_CHARS: usize = 24_576;

pub struct Template {
    pub raw: Value,
    /// languageVersion 2.0: resources keyed by symbolic name.
    pub symbolic: bool,
    pub parameters: Map<String, Value>,
    pub variables: Map<String, Value>,
    pub functions: Vec<Value>,
    /// `(symbolic name, declaration)`; the symbolic name is `None` in 1.0.
    pub resources: Vec<(Option<String>, Value)>,
    pub outputs: Map<String, Value>,
    pub definitions: Map<String, Value>,
}

fn object_member(raw: &Value, name: &str) -> Result<Map<String, Value>, DeploymentError> {
    match member(raw, name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(DeploymentError::invalid_template(format!(
            "The template property '{name}' must be an object."
        ))),
    }
}

/// ARM reads template properties case-insensitively.
pub fn member<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

impl Template {
    pub fn parse(raw: Value) -> Result<Self, DeploymentError> {
        if !raw.is_object() {
            return Err(DeploymentError::invalid_template(
                "The template must be a JSON object.",
            ));
        }
        let size = serde_json::to_vec(&raw).map(|b| b.len()).unwrap_or(0);
        if size > MAX_TEMPLATE_BYTES {
            return Err(DeploymentError::bad_request(
                "RequestContentTooLarge",
                format!("The template is {size} bytes; the maximum is {MAX_TEMPLATE_BYTES} bytes."),
            ));
        }
        if let Some(long) = longest_expression(&raw).filter(|n| *n > MAX_EXPRESSION_CHARS) {
            return Err(DeploymentError::invalid_template(format!(
                "The template contains an expression of {long} characters; the maximum is {MAX_EXPRESSION_CHARS}."
            )));
        }
        let symbolic = member(&raw, "languageVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with('2'));
        let resources = match member(&raw, "resources") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(|r| (None, r.clone())).collect(),
            Some(Value::Object(map)) if symbolic => map
                .iter()
                .map(|(k, r)| (Some(k.clone()), r.clone()))
                .collect(),
            Some(_) => {
                return Err(DeploymentError::invalid_template(
                    "The template property 'resources' must be an array (or, with languageVersion 2.0, an object keyed by symbolic name).",
                ))
            }
        };
        let functions = match member(&raw, "functions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => {
                return Err(DeploymentError::invalid_template(
                    "The template property 'functions' must be an array.",
                ))
            }
        };
        let template = Self {
            symbolic,
            parameters: object_member(&raw, "parameters")?,
            variables: object_member(&raw, "variables")?,
            outputs: object_member(&raw, "outputs")?,
            definitions: object_member(&raw, "definitions")?,
            functions,
            resources,
            raw,
        };
        if template.parameters.len() > MAX_PARAMETERS {
            return Err(DeploymentError::invalid_template(format!(
                "The number of template parameters '{}' exceeds the maximum of '{MAX_PARAMETERS}'.",
                template.parameters.len()
            )));
        }
        if template.outputs.len() > MAX_OUTPUTS {
            return Err(DeploymentError::invalid_template(format!(
                "The number of template outputs '{}' exceeds the maximum of '{MAX_OUTPUTS}'.",
                template.outputs.len()
            )));
        }
        Ok(template)
    }

    /// The declaration's type, following `$ref` into `definitions`.
    pub fn resolve_type<'a>(&'a self, declaration: &'a Value) -> &'a Value {
        let mut current = declaration;
        for _ in 0..32 {
            let Some(reference) = member(current, "$ref").and_then(Value::as_str) else {
                break;
            };
            let name = reference.trim_start_matches("#/definitions/");
            match self.definitions.get(name) {
                Some(next) => current = next,
                None => break,
            }
        }
        current
    }
}

fn longest_expression(value: &Value) -> Option<usize> {
    match value {
        Value::String(s) if s.starts_with('[') => Some(s.chars().count()),
        Value::Array(items) => items.iter().filter_map(longest_expression).max(),
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| {
                let key = (k.starts_with('[')).then(|| k.chars().count());
                key.max(longest_expression(v))
            })
            .max(),
        _ => None,
    }
}

/// A parameter's declared type, lower-cased.
pub fn declared_type(declaration: &Value) -> String {
    member(declaration, "type")
        .and_then(Value::as_str)
        .unwrap_or("object")
        .to_ascii_lowercase()
}

pub fn is_secure(declaration: &Value) -> bool {
    matches!(
        declared_type(declaration).as_str(),
        "securestring" | "secureobject"
    ) || member(declaration, "metadata")
        .and_then(|m| member(m, "__bicep_secure"))
        .is_some()
}

/// Checks a value against a declared type and its constraints, naming the
/// parameter as ARM does.
pub fn check_value(
    template: &Template,
    name: &str,
    declaration: &Value,
    value: &Value,
) -> Result<(), DeploymentError> {
    let declaration = template.resolve_type(declaration);
    let kind = declared_type(declaration);
    let type_ok = match kind.as_str() {
        "string" | "securestring" => value.is_string(),
        "int" => value.is_i64() || value.is_u64(),
        "bool" => value.is_boolean(),
        "object" | "secureobject" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    };
    if !type_ok {
        return Err(DeploymentError::invalid_template(format!(
            "Template parameter '{name}' was provided an invalid value. Expected a value of type '{}', but received a value of type '{}'.",
            pretty_type(&kind),
            json_type(value)
        )));
    }
    if let Some(Value::Array(allowed)) = member(declaration, "allowedValues") {
        let allowed_ok = match value {
            // An array parameter's items must each be allowed.
            Value::Array(items) if kind == "array" => items.iter().all(|i| allowed.contains(i)),
            other => allowed.contains(other),
        };
        if !allowed_ok {
            let list = allowed
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",");
            return Err(DeploymentError::invalid_template(format!(
                "The provided value for the template parameter '{name}' is not valid. The value '{}' is not part of the allowed value(s): '{list}'.",
                display(value)
            )));
        }
    }
    let length = match value {
        Value::String(s) => Some(s.chars().count() as i64),
        Value::Array(a) => Some(a.len() as i64),
        _ => None,
    };
    if let Some(length) = length {
        if let Some(min) = member(declaration, "minLength").and_then(Value::as_i64) {
            if length < min {
                return Err(DeploymentError::invalid_template(format!(
                    "The provided value for the template parameter '{name}' is not valid. The length of the value is '{length}', which is less than the minimum length '{min}'."
                )));
            }
        }
        if let Some(max) = member(declaration, "maxLength").and_then(Value::as_i64) {
            if length > max {
                return Err(DeploymentError::invalid_template(format!(
                    "The provided value for the template parameter '{name}' is not valid. The length of the value is '{length}', which is greater than the maximum length '{max}'."
                )));
            }
        }
    }
    // User-defined types (languageVersion 2.0): an object's declared
    // properties and an array's items are checked as parameters of their own.
    if let (Some(Value::Object(properties)), Value::Object(given)) =
        (member(declaration, "properties"), value)
    {
        for (property, property_type) in properties {
            let path = format!("{name}.{property}");
            match given.iter().find(|(k, _)| k.eq_ignore_ascii_case(property)) {
                Some((_, v)) if !v.is_null() => check_value(template, &path, property_type, v)?,
                _ => {
                    let nullable = member(template.resolve_type(property_type), "nullable")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    if !nullable {
                        return Err(DeploymentError::invalid_template(format!(
                            "The provided value for the template parameter '{name}' is not valid. The property '{property}' is required."
                        )));
                    }
                }
            }
        }
        let sealed = member(declaration, "additionalProperties") == Some(&Value::Bool(false))
            || member(declaration, "metadata")
                .and_then(|m| member(m, "__bicep_sealed"))
                .is_some();
        if sealed {
            if let Some((extra, _)) = given
                .iter()
                .find(|(k, _)| !properties.keys().any(|p| p.eq_ignore_ascii_case(k)))
            {
                return Err(DeploymentError::invalid_template(format!(
                    "The provided value for the template parameter '{name}' is not valid. The property '{extra}' is not allowed."
                )));
            }
        }
    }
    if let (Some(items_type), Value::Array(items)) = (member(declaration, "items"), value) {
        if items_type.is_object() {
            for (i, item) in items.iter().enumerate() {
                check_value(template, &format!("{name}[{i}]"), items_type, item)?;
            }
        }
    }
    if let Some(number) = value.as_i64() {
        if let Some(min) = member(declaration, "minValue").and_then(Value::as_i64) {
            if number < min {
                return Err(DeploymentError::invalid_template(format!(
                    "The provided value for the template parameter '{name}' is not valid. The value '{number}' is less than the minimum value '{min}'."
                )));
            }
        }
        if let Some(max) = member(declaration, "maxValue").and_then(Value::as_i64) {
            if number > max {
                return Err(DeploymentError::invalid_template(format!(
                    "The provided value for the template parameter '{name}' is not valid. The value '{number}' is greater than the maximum value '{max}'."
                )));
            }
        }
    }
    Ok(())
}

fn pretty_type(kind: &str) -> &'static str {
    match kind {
        "string" => "String",
        "securestring" => "SecureString",
        "int" => "Integer",
        "bool" => "Boolean",
        "array" => "Array",
        "secureobject" => "SecureObject",
        _ => "Object",
    }
}

/// How a deployment shows a declared type in its parameters and outputs.
pub fn display_type(kind: &str) -> &'static str {
    match kind.to_ascii_lowercase().as_str() {
        "string" => "String",
        "securestring" => "SecureString",
        "int" => "Int",
        "bool" => "Bool",
        "array" => "Array",
        "secureobject" => "SecureObject",
        _ => "Object",
    }
}

pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "String",
        Value::Number(n) if n.is_f64() => "Float",
        Value::Number(_) => "Integer",
        Value::Bool(_) => "Boolean",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
        Value::Null => "Null",
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The supplied parameters (`{name: {value}}`, as the deployments API takes
/// them), checked against the declarations: unknown names and Key Vault
/// references are refused, missing ones come back for defaults.
pub fn supplied_values(
    template: &Template,
    supplied: &Value,
) -> Result<Map<String, Value>, DeploymentError> {
    let mut values = Map::new();
    let Some(supplied) = supplied.as_object() else {
        return if supplied.is_null() {
            Ok(values)
        } else {
            Err(DeploymentError::bad_request(
                "InvalidRequestContent",
                "The deployment parameters must be an object of the form {\"name\": {\"value\": ...}}.",
            ))
        };
    };
    let mut unknown = Vec::new();
    for (name, entry) in supplied {
        let Some((declared, _)) = template
            .parameters
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        else {
            unknown.push(name.clone());
            continue;
        };
        if member(entry, "reference").is_some() {
            return Err(DeploymentError::bad_request(
                "KeyVaultParameterReferenceNotSupported",
                format!("The parameter '{name}' references a Key Vault secret: the emulator serves no Key Vault, so pass the value itself."),
            ));
        }
        let value = member(entry, "value").cloned().ok_or_else(|| {
            DeploymentError::bad_request(
                "InvalidDeploymentParameterValue",
                format!("The value of deployment parameter '{name}' is null. Please specify the value or use the parameter reference. See https://aka.ms/resource-manager-parameter-files for details."),
            )
        })?;
        values.insert(declared.clone(), value);
    }
    if !unknown.is_empty() {
        return Err(DeploymentError::invalid_template(format!(
            "The following parameters were supplied, but do not correspond to any parameters defined in the template: '{}'.",
            unknown.join(", ")
        )));
    }
    Ok(values)
}
