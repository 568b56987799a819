//! ExpressionConverter: Bicep expressions → ARM template expressions
//! (`[format('{0}-x', parameters('a'))]`) or plain JSON where the value is literal.

use super::json_writer::{parse_json, Json};
use crate::binder::Symbol;
use crate::diagnostics::{catalogue, PendingDiagnostic, Reported};
use crate::semantic::{SemanticModel, TargetScope};
use crate::syntax::*;
use crate::text::Span;
use base64::Engine;
use std::cell::RefCell;
use std::collections::HashMap;

/// The api-version of the nested deployments modules compile to (Bicep 0.38.3 on: `EmitConstants.NestedDeploymentResourceApiVersion`).
pub const DEPLOYMENTS_API_VERSION: &str = "2025-04-01";

/// An ARM expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Arm {
    String(String),
    Integer(i64),
    Call(String, Vec<Arm>),
    Property(Box<Arm>, String),
    Index(Box<Arm>, Box<Arm>),
}

pub fn call(name: &str, arguments: Vec<Arm>) -> Arm {
    Arm::Call(name.to_string(), arguments)
}

pub fn string(text: &str) -> Arm {
    Arm::String(text.to_string())
}

impl Arm {
    pub fn render(&self) -> String {
        match self {
            Arm::String(text) => format!("'{}'", text.replace('\'', "''")),
            // ARM expression integers are 32-bit; larger ones go through json().
            Arm::Integer(value) if i32::try_from(*value).is_err() => format!("json('{value}')"),
            Arm::Integer(value) => value.to_string(),
            Arm::Call(name, arguments) => {
                let rendered: Vec<String> = arguments.iter().map(Arm::render).collect();
                format!("{name}({})", rendered.join(", "))
            }
            Arm::Property(base, name) => {
                let is_identifier = name
                    .chars()
                    .next()
                    .map(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                    .unwrap_or(false)
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
                if is_identifier {
                    format!("{}.{name}", base.render())
                } else {
                    format!("{}[{}]", base.render(), Arm::String(name.clone()).render())
                }
            }
            Arm::Index(base, index) => format!("{}[{}]", base.render(), index.render()),
        }
    }

    /// As a JSON string value: `[expr]`.
    pub fn to_json(&self) -> Json {
        Json::String(format!("[{}]", self.render()))
    }
}

/// What a loop's item and index variables stand for while converting its body.
#[derive(Debug, Clone)]
pub struct LoopBinding {
    pub item: Arm,
    pub index: Arm,
}

pub struct ExpressionConverter<'m, 'a> {
    pub model: &'m SemanticModel<'a>,
    pub loops: RefCell<HashMap<usize, LoopBinding>>,
    pub diagnostics: RefCell<Vec<PendingDiagnostic>>,
    /// Load-function calls written as variables `$fxv#N` (call span start → name), as the
    /// official compiler hoists them (FunctionVariableGeneratorVisitor).
    pub function_variables: HashMap<usize, String>,
}

type Converted<T> = Result<T, Reported>;

/// Whether ARM would read a literal string as an expression: it starts with '[' and ends with ']'.
pub fn reads_as_expression(text: &str) -> bool {
    text.starts_with('[') && text.ends_with(']')
}

pub const MANAGEMENT_GROUP_TYPE: &str = "Microsoft.Management/managementGroups";

/// The scope a module's deployment goes to, with the arguments its `scope:` gave.
pub enum ModuleScope {
    Tenant,
    /// `managementGroup('name')`, or the current one.
    ManagementGroup(Option<Arm>),
    /// `subscription('id')`, or the current one.
    Subscription(Option<Arm>),
    /// `resourceGroup([subscription,] group)`, or the current one when both are None.
    ResourceGroup {
        subscription: Option<Arm>,
        group: Option<Arm>,
    },
}

/// `subscription().subscriptionId`
pub fn current_subscription_id() -> Arm {
    Arm::Property(
        Box::new(call("subscription", vec![])),
        "subscriptionId".into(),
    )
}

/// `tenant()`, the scope of a tenant resource deployed from another scope.
pub fn is_tenant_call(expression: &Expression) -> bool {
    matches!(&expression.kind, ExpressionKind::Call { name, arguments, .. }
        if name.name == "tenant" && arguments.is_empty())
}

fn escape_literal_string(text: &str) -> String {
    // ARM's escape for a literal it would read as an expression is '[['; '[test' stays as is.
    if reads_as_expression(text) {
        format!("[{text}")
    } else {
        text.to_string()
    }
}

impl<'m, 'a> ExpressionConverter<'m, 'a> {
    pub fn new(model: &'m SemanticModel<'a>) -> Self {
        ExpressionConverter {
            model,
            loops: RefCell::new(HashMap::new()),
            diagnostics: RefCell::new(Vec::new()),
            function_variables: function_variables(model.tree),
        }
    }

    /// A module parameter's entry: `{"value": ...}`, or for `vault.getSecret('name'[, 'version'])`
    /// the Key Vault reference ARM resolves at deployment (`{"reference": {"keyVault": {"id"},
    /// "secretName", "secretVersion"}}`); under a ternary the whole entry is an `if()` of
    /// createObject()s, as the official compiler writes it.
    pub fn module_parameter(&self, value: &Expression) -> Converted<Json> {
        if let ExpressionKind::For(for_expression) = &value.kind {
            // A loop as the value: the entry's `value` is a property loop.
            let mut entry = Json::object();
            let copy = self.property_copy("value", for_expression, value.span.start)?;
            entry.insert("copy", Json::Array(vec![copy]));
            return Ok(entry);
        }
        if !contains_get_secret(value) {
            let mut entry = Json::object();
            entry.insert("value", self.to_json(value)?);
            return Ok(entry);
        }
        match self.key_vault_reference(value)? {
            Some((vault_id, name, version)) => {
                let mut key_vault = Json::object();
                key_vault.insert("id", vault_id.to_json());
                let mut reference = Json::object();
                reference.insert("keyVault", key_vault);
                reference.insert("secretName", literal_or_expression(name));
                if let Some(version) = version {
                    reference.insert("secretVersion", literal_or_expression(version));
                }
                let mut entry = Json::object();
                entry.insert("reference", reference);
                Ok(entry)
            }
            None => Ok(self.parameter_entry_expression(value)?.to_json()),
        }
    }

    /// The entry as one ARM expression (for getSecret under a ternary).
    fn parameter_entry_expression(&self, value: &Expression) -> Converted<Arm> {
        match &value.kind {
            ExpressionKind::Parenthesized(inner) => self.parameter_entry_expression(inner),
            ExpressionKind::Ternary {
                condition,
                when_true,
                when_false,
            } => Ok(call(
                "if",
                vec![
                    self.convert(condition)?,
                    self.parameter_entry_expression(when_true)?,
                    self.parameter_entry_expression(when_false)?,
                ],
            )),
            _ => match self.key_vault_reference(value)? {
                Some((vault_id, name, version)) => {
                    let mut reference = vec![
                        string("keyVault"),
                        call("createObject", vec![string("id"), vault_id]),
                        string("secretName"),
                        name,
                    ];
                    if let Some(version) = version {
                        reference.push(string("secretVersion"));
                        reference.push(version);
                    }
                    Ok(call(
                        "createObject",
                        vec![string("reference"), call("createObject", reference)],
                    ))
                }
                None if contains_get_secret(value) => {
                    self.report(catalogue::get_secret_misplaced(value.span));
                    Err(Reported)
                }
                None => Ok(call(
                    "createObject",
                    vec![string("value"), self.convert(value)?],
                )),
            },
        }
    }

    /// `vault.getSecret(name[, version])` on a Key Vault resource: (its id, name, version).
    fn key_vault_reference(
        &self,
        value: &Expression,
    ) -> Converted<Option<(Arm, Arm, Option<Arm>)>> {
        let (resource, index, name, arguments) = match &value.kind {
            ExpressionKind::Call {
                namespace: Some(namespace),
                name,
                arguments,
            } => (namespace, None, name, arguments),
            ExpressionKind::ResourceIndexCall {
                resource,
                index,
                name,
                arguments,
            } => (resource, Some(&**index), name, arguments),
            _ => return Ok(None),
        };
        if name.name != "getSecret" {
            return Ok(None);
        }
        let Some(Symbol::Resource(resource)) = self.model.symbol_of(resource) else {
            return Ok(None);
        };
        let info = &self.model.resources[resource];
        if !info
            .full_type
            .eq_ignore_ascii_case("Microsoft.KeyVault/vaults")
        {
            self.report(catalogue::get_secret_needs_key_vault(
                value.span,
                &format!("{}@{}", info.full_type, info.api_version),
            ));
            return Err(Reported);
        }
        if arguments.is_empty() || arguments.len() > 2 {
            self.report(catalogue::argument_count(
                value.span,
                "1 to 2",
                arguments.len(),
            ));
            return Err(Reported);
        }
        let id = self.resource_id(resource, index)?;
        let secret = self.convert(&arguments[0])?;
        let version = match arguments.get(1) {
            Some(version) => Some(self.convert(version)?),
            None => None,
        };
        Ok(Some((id, secret, version)))
    }

    /// A hoisted load function's value, for its `$fxv#N` variable.
    pub fn load_value(&self, call: &Expression) -> Converted<Json> {
        match &call.kind {
            ExpressionKind::Call {
                name, arguments, ..
            } => match self.load_file(&name.name, arguments, call.span)? {
                Loaded::Json(json) => Ok(escape_json_strings(json)),
                Loaded::Text(text) => Ok(Json::String(escape_literal_string(&text))),
            },
            _ => Err(Reported),
        }
    }

    pub fn report(&self, diagnostic: PendingDiagnostic) {
        self.diagnostics.borrow_mut().push(diagnostic);
    }

    fn unsupported<T>(&self, span: Span, construct: &str) -> Converted<T> {
        self.report(catalogue::unsupported_construct(span, construct));
        Err(Reported)
    }

    pub fn with_loop<T>(&self, loop_id: usize, binding: LoopBinding, f: impl FnOnce() -> T) -> T {
        let previous = self.loops.borrow_mut().insert(loop_id, binding);
        let result = f();
        let mut loops = self.loops.borrow_mut();
        match previous {
            Some(previous) => loops.insert(loop_id, previous),
            None => loops.remove(&loop_id),
        };
        result
    }

    /// A value as JSON: literals stay JSON, everything else becomes `[expression]`.
    pub fn to_json(&self, expression: &Expression) -> Converted<Json> {
        match &expression.kind {
            ExpressionKind::ArmTemplateValue(text) => match parse_json(text) {
                Some(json) => Ok(json),
                None => Err(Reported),
            },
            ExpressionKind::String(_) => match expression.as_plain_string() {
                Some(text) => Ok(Json::String(escape_literal_string(&text))),
                None => Ok(self.convert(expression)?.to_json()),
            },
            ExpressionKind::Integer(value) => Ok(Json::Integer(*value)),
            ExpressionKind::Boolean(value) => Ok(Json::Bool(*value)),
            ExpressionKind::Null => Ok(Json::Null),
            ExpressionKind::Object(items)
                if !items.iter().any(|i| matches!(i, ObjectItem::Spread(_))) =>
            {
                let mut object = Json::object();
                let mut copies = Vec::new();
                for item in items {
                    let ObjectItem::Property(property) = item else {
                        continue;
                    };
                    let key = self.property_key(&property.key)?;
                    if let ExpressionKind::For(for_expression) = &property.value.kind {
                        // A property loop becomes a `copy` entry named after the property.
                        copies.push(self.property_copy(&key, for_expression, property.value.span.start)?);
                        continue;
                    }
                    object.insert(&key, self.to_json(&property.value)?);
                }
                if !copies.is_empty() {
                    if let Json::Object(entries) = &mut object {
                        entries.insert(0, ("copy".to_string(), Json::Array(copies)));
                    }
                }
                Ok(object)
            }
            ExpressionKind::Array(items)
                if !items.iter().any(|i| matches!(i, ArrayItem::Spread(_))) =>
            {
                let mut values = Vec::new();
                for item in items {
                    if let ArrayItem::Value(value) = item {
                        values.push(self.to_json(value)?);
                    }
                }
                Ok(Json::Array(values))
            }
            ExpressionKind::Call { name, .. }
                if is_load_function(&name.name)
                    && self.function_variables.contains_key(&expression.span.start) =>
            {
                Ok(self.convert(expression)?.to_json())
            }
            ExpressionKind::Call { name, arguments, .. }
                if is_load_function(&name.name) =>
            {
                match self.load_file(&name.name, arguments, expression.span)? {
                    Loaded::Json(json) => Ok(escape_json_strings(json)),
                    Loaded::Text(text) => Ok(Json::String(escape_literal_string(&text))),
                }
            }
            ExpressionKind::Parenthesized(inner) => self.to_json(inner),
            // any() only changes the type: the value keeps its JSON shape.
            ExpressionKind::Call { name, arguments, .. }
                if name.name == "any" && arguments.len() == 1 =>
            {
                self.to_json(&arguments[0])
            }
            ExpressionKind::Call { name, arguments, .. }
                if matches!(name.name.as_str(), "subscription" | "resourceGroup" | "managementGroup")
                    && !arguments.is_empty() =>
            {
                Ok(Json::object())
            }
            ExpressionKind::Variable(identifier) => match self.model.symbol_of(identifier) {
                // An inlined variable keeps its JSON shape where it is used.
                Some(Symbol::Variable(index)) if self.model.inlined_variables.get(index).copied().unwrap_or(false) => {
                    self.to_json(&self.model.bindings.variables[index].value)
                }
                _ => Ok(literal_or_expression(self.convert(expression)?)),
            },
            ExpressionKind::For(_) => self.unsupported(
                expression.span,
                "A for-expression in this position (only declaration values and object properties can loop)",
            ),
            _ => Ok(literal_or_expression(self.convert(expression)?)),
        }
    }

    fn property_copy(
        &self,
        key: &str,
        for_expression: &ForExpression,
        loop_id: usize,
    ) -> Converted<Json> {
        // The parser gives only resource and module loops a filter (BCP100 elsewhere).
        debug_assert!(for_expression.filter.is_none());
        let collection = self.convert(&for_expression.collection)?;
        let index = call("copyIndex", vec![string(key)]);
        let binding = LoopBinding {
            item: Arm::Index(Box::new(collection.clone()), Box::new(index.clone())),
            index,
        };
        let input = self.with_loop(loop_id, binding, || self.copy_input(&for_expression.body))?;
        let mut copy = Json::object();
        copy.insert("name", Json::String(key.to_string()));
        copy.insert("count", call("length", vec![collection]).to_json());
        copy.insert("input", input);
        Ok(copy)
    }

    /// A copy loop's `input`: a bare int or bool literal is written as an expression
    /// (`[int(3)]`, `[false()]`), as the official compiler writes it.
    pub fn copy_input(&self, body: &Expression) -> Converted<Json> {
        match body.kind {
            ExpressionKind::Integer(value) => Ok(call("int", vec![Arm::Integer(value)]).to_json()),
            ExpressionKind::Boolean(_) | ExpressionKind::Array(_) => {
                Ok(self.convert(body)?.to_json())
            }
            _ => self.to_json(body),
        }
    }

    pub fn property_key(&self, key: &PropertyKey) -> Converted<String> {
        match key {
            // ARM reads a `copy` key as a loop: a literal one is written as an expression.
            PropertyKey::Identifier(identifier) if identifier.name.eq_ignore_ascii_case("copy") => {
                Ok(format!("[string('{}')]", identifier.name))
            }
            PropertyKey::Identifier(identifier) => Ok(identifier.name.clone()),
            PropertyKey::String(expression) => match expression.as_plain_string() {
                Some(text) => Ok(escape_literal_string(&text)),
                None => Ok(format!("[{}]", self.convert(expression)?.render())),
            },
        }
    }

    fn key_expression(&self, key: &PropertyKey) -> Converted<Arm> {
        match key {
            PropertyKey::Identifier(identifier) => Ok(string(&identifier.name)),
            PropertyKey::String(expression) => self.convert(expression),
        }
    }

    pub fn convert(&self, expression: &Expression) -> Converted<Arm> {
        match &expression.kind {
            ExpressionKind::String(segments) => {
                if let Some(text) = expression.as_plain_string() {
                    return Ok(Arm::String(text));
                }
                let mut format_text = String::new();
                let mut arguments = Vec::new();
                for segment in segments {
                    match segment {
                        StringSegment::Text(text) => {
                            format_text.push_str(&text.replace('{', "{{").replace('}', "}}"))
                        }
                        StringSegment::Hole(hole) => {
                            format_text.push_str(&format!("{{{}}}", arguments.len()));
                            arguments.push(self.convert(hole)?);
                        }
                    }
                }
                arguments.insert(0, Arm::String(format_text));
                Ok(call("format", arguments))
            }
            ExpressionKind::Integer(value) => Ok(Arm::Integer(*value)),
            ExpressionKind::Boolean(value) => {
                Ok(call(if *value { "true" } else { "false" }, vec![]))
            }
            ExpressionKind::Null => Ok(call("null", vec![])),
            ExpressionKind::Object(items) => {
                let mut groups: Vec<Arm> = Vec::new();
                let mut pending: Vec<Arm> = Vec::new();
                let has_spread = items.iter().any(|i| matches!(i, ObjectItem::Spread(_)));
                for item in items {
                    match item {
                        ObjectItem::Property(property) => {
                            if matches!(property.value.kind, ExpressionKind::For(_)) {
                                return self.unsupported(
                                    property.value.span,
                                    "A for-expression inside a function argument or expression",
                                );
                            }
                            pending.push(self.key_expression(&property.key)?);
                            pending.push(self.convert(&property.value)?);
                        }
                        ObjectItem::Spread(spread) => {
                            if !pending.is_empty() {
                                groups.push(call("createObject", std::mem::take(&mut pending)));
                            }
                            groups.push(self.convert(spread)?);
                        }
                        ObjectItem::NestedResource(child) => {
                            return self.unsupported(
                                child.span,
                                "A nested resource outside a resource body",
                            )
                        }
                    }
                }
                if !has_spread {
                    return Ok(call("createObject", pending));
                }
                if !pending.is_empty() {
                    groups.push(call("createObject", pending));
                }
                Ok(call("shallowMerge", vec![call("createArray", groups)]))
            }
            ExpressionKind::Array(items) => {
                let has_spread = items.iter().any(|i| matches!(i, ArrayItem::Spread(_)));
                let mut groups: Vec<Arm> = Vec::new();
                let mut pending: Vec<Arm> = Vec::new();
                for item in items {
                    match item {
                        ArrayItem::Value(value) => pending.push(self.convert(value)?),
                        ArrayItem::Spread(spread) => {
                            if !pending.is_empty() {
                                groups.push(call("createArray", std::mem::take(&mut pending)));
                            }
                            groups.push(self.convert(spread)?);
                        }
                    }
                }
                if !has_spread {
                    return Ok(call("createArray", pending));
                }
                if !pending.is_empty() {
                    groups.push(call("createArray", pending));
                }
                Ok(call("flatten", vec![call("createArray", groups)]))
            }
            ExpressionKind::Variable(identifier) => {
                self.convert_symbol(identifier, expression.span)
            }
            ExpressionKind::Call {
                namespace: Some(namespace),
                name,
                arguments,
            } if matches!(self.model.symbol_of(namespace), Some(Symbol::Resource(_))) => {
                // res.listKeys() → listKeys(resourceId(...), '<apiVersion>')
                let Some(Symbol::Resource(resource)) = self.model.symbol_of(namespace) else {
                    return Err(Reported);
                };
                if name.name == "getSecret" {
                    // Only a module's parameter takes it, as a Key Vault reference (see key_vault_reference).
                    self.report(catalogue::get_secret_misplaced(expression.span));
                    return Err(Reported);
                }
                // An explicit api-version argument replaces the resource's own.
                let mut converted = vec![self.resource_id(resource, None)?];
                if arguments.is_empty() {
                    converted.push(string(&self.model.resources[resource].api_version));
                }
                for argument in arguments {
                    converted.push(self.convert(argument)?);
                }
                Ok(Arm::Call(name.name.clone(), converted))
            }
            ExpressionKind::Call {
                namespace: Some(namespace),
                name,
                ..
            } if self.model.symbol_of(namespace).is_some() => {
                // Bound to a parameter or variable by the binder: a value's function.
                let base =
                    Expression::new(ExpressionKind::Variable(namespace.clone()), namespace.span);
                self.no_functions_on(&base, name)
            }
            ExpressionKind::Call {
                name, arguments, ..
            } => self.convert_call(name, arguments, expression.span),
            ExpressionKind::ResourceIndexCall {
                resource,
                index,
                name,
                arguments,
            } => {
                let Some(Symbol::Resource(resource)) = self.model.symbol_of(resource) else {
                    return self.unsupported(
                        expression.span,
                        "Calling a function on a value (instance functions)",
                    );
                };
                if name.name == "getSecret" {
                    self.report(catalogue::get_secret_misplaced(expression.span));
                    return Err(Reported);
                }
                let mut converted = vec![self.resource_id(resource, Some(index))?];
                if arguments.is_empty() {
                    converted.push(string(&self.model.resources[resource].api_version));
                }
                for argument in arguments {
                    converted.push(self.convert(argument)?);
                }
                Ok(Arm::Call(name.name.clone(), converted))
            }
            ExpressionKind::InstanceCall {
                base,
                name,
                arguments,
            } => {
                // `parent::child.listKeys()`, `(res).listKeys()`: the resource's function.
                let Some(resource) = self.model.resource_of(base) else {
                    return self.no_functions_on(base, name);
                };
                if name.name == "getSecret" {
                    self.report(catalogue::get_secret_misplaced(expression.span));
                    return Err(Reported);
                }
                let mut converted = vec![self.resource_id(resource, None)?];
                if arguments.is_empty() {
                    converted.push(string(&self.model.resources[resource].api_version));
                }
                for argument in arguments {
                    converted.push(self.convert(argument)?);
                }
                Ok(Arm::Call(name.name.clone(), converted))
            }
            ExpressionKind::Property { base, name, safe } => {
                if let Some(converted) = self.convert_declaration_property(base, name, *safe)? {
                    return Ok(converted);
                }
                let chained = follows_safe_access(base);
                let base = self.convert(base)?;
                if *safe {
                    return Ok(call("tryGet", vec![base, string(&name.name)]));
                }
                // After a `.?` the rest of the chain joins the same tryGet(), as the official
                // compiler writes it (null propagates through the whole chain).
                if let (true, Arm::Call(function, mut arguments)) = (chained, base.clone()) {
                    if function == "tryGet" || function == "tryIndexFromEnd" {
                        arguments.push(string(&name.name));
                        return Ok(Arm::Call(function, arguments));
                    }
                }
                Ok(Arm::Property(Box::new(base), name.name.clone()))
            }
            ExpressionKind::Index {
                base,
                index,
                safe,
                from_end,
            } => {
                let chained = follows_safe_access(base);
                let base = self.convert(base)?;
                if *safe && *from_end {
                    let index = self.convert(index)?;
                    return Ok(call("tryIndexFromEnd", vec![base, index]));
                }
                if let (true, false, Arm::Call(function, mut arguments)) =
                    (chained, *safe, base.clone())
                {
                    if function == "tryGet" || function == "tryIndexFromEnd" {
                        let index = self.convert(index)?;
                        arguments.push(if *from_end {
                            call(
                                "createObject",
                                vec![
                                    string("value"),
                                    index,
                                    string("fromEnd"),
                                    call("true", vec![]),
                                ],
                            )
                        } else {
                            index
                        });
                        return Ok(Arm::Call(function, arguments));
                    }
                }
                if *from_end {
                    if let ExpressionKind::Integer(1) = index.kind {
                        return Ok(call("last", vec![base]));
                    }
                    let index = self.convert(index)?;
                    return Ok(call("indexFromEnd", vec![base, index]));
                }
                let index = self.convert(index)?;
                if *safe {
                    return Ok(call("tryGet", vec![base, index]));
                }
                // x['name'] is written as property access, as the official compiler does.
                if let Arm::String(name) = index {
                    return Ok(Arm::Property(Box::new(base), name));
                }
                Ok(Arm::Index(Box::new(base), Box::new(index)))
            }
            ExpressionKind::NestedResourceAccess { name, .. } => {
                self.convert_symbol(name, expression.span)
            }
            ExpressionKind::Unary { operator, operand } => {
                let operand = self.convert(operand)?;
                Ok(match operator {
                    UnaryOperator::Not => call("not", vec![operand]),
                    UnaryOperator::Minus => call("sub", vec![Arm::Integer(0), operand]),
                })
            }
            ExpressionKind::Binary {
                operator,
                left,
                right,
            } => {
                let left = self.convert(left)?;
                let right = self.convert(right)?;
                let name = match operator {
                    BinaryOperator::Add => "add",
                    BinaryOperator::Subtract => "sub",
                    BinaryOperator::Multiply => "mul",
                    BinaryOperator::Divide => "div",
                    BinaryOperator::Modulo => "mod",
                    BinaryOperator::Equals => "equals",
                    BinaryOperator::NotEquals => {
                        return Ok(call("not", vec![call("equals", vec![left, right])]))
                    }
                    BinaryOperator::EqualsInsensitive => {
                        return Ok(call(
                            "equals",
                            vec![call("toLower", vec![left]), call("toLower", vec![right])],
                        ))
                    }
                    BinaryOperator::NotEqualsInsensitive => {
                        return Ok(call(
                            "not",
                            vec![call(
                                "equals",
                                vec![call("toLower", vec![left]), call("toLower", vec![right])],
                            )],
                        ))
                    }
                    BinaryOperator::Less => "less",
                    BinaryOperator::LessOrEquals => "lessOrEquals",
                    BinaryOperator::Greater => "greater",
                    BinaryOperator::GreaterOrEquals => "greaterOrEquals",
                    BinaryOperator::And => "and",
                    BinaryOperator::Or => "or",
                    BinaryOperator::Coalesce => "coalesce",
                };
                Ok(call(name, vec![left, right]))
            }
            ExpressionKind::Ternary {
                condition,
                when_true,
                when_false,
            } => Ok(call(
                "if",
                vec![
                    self.convert(condition)?,
                    self.convert(when_true)?,
                    self.convert(when_false)?,
                ],
            )),
            ExpressionKind::Parenthesized(inner) => self.convert(inner),
            ExpressionKind::For(_) => self.unsupported(
                expression.span,
                "A for-expression inside a function argument or expression",
            ),
            ExpressionKind::Condition { .. } => self.unsupported(
                expression.span,
                "An if-expression outside a resource or module body",
            ),
            ExpressionKind::Lambda { parameters, body } => {
                let mut arguments: Vec<Arm> = parameters.iter().map(|p| string(&p.name)).collect();
                arguments.push(self.convert(body)?);
                Ok(call("lambda", arguments))
            }
            // Only ever the whole value of a variable, which is written with to_json.
            ExpressionKind::ArmTemplateValue(_) | ExpressionKind::ArmCopyLoop { .. } => self
                .unsupported(
                    expression.span,
                    "Using an ARM template's imported value inside an expression here",
                ),
            ExpressionKind::Error => Err(Reported),
        }
    }

    fn convert_symbol(&self, identifier: &Identifier, span: Span) -> Converted<Arm> {
        match self.model.symbol_of(identifier) {
            Some(Symbol::Parameter(_)) => Ok(call("parameters", vec![string(&identifier.name)])),
            Some(Symbol::Variable(index)) => {
                if self
                    .model
                    .inlined_variables
                    .get(index)
                    .copied()
                    .unwrap_or(false)
                {
                    self.convert(&self.model.bindings.variables[index].value)
                } else {
                    Ok(call("variables", vec![string(&identifier.name)]))
                }
            }
            Some(Symbol::LoopItem(loop_id)) => match self.loops.borrow().get(&loop_id) {
                Some(binding) => Ok(binding.item.clone()),
                None => self.unsupported(span, "This use of a loop variable"),
            },
            Some(Symbol::LambdaVariable(_)) => {
                Ok(call("lambdaVariables", vec![string(&identifier.name)]))
            }
            // Inside a function body its parameters are read like template parameters.
            Some(Symbol::FunctionParameter(_)) => {
                Ok(call("parameters", vec![string(&identifier.name)]))
            }
            // The binder never resolves a plain name to a function.
            Some(Symbol::Function(_)) => Err(Reported),
            Some(Symbol::LoopIndex(loop_id)) => match self.loops.borrow().get(&loop_id) {
                Some(binding) => Ok(binding.index.clone()),
                None => self.unsupported(span, "This use of a loop index"),
            },
            Some(Symbol::Resource(resource)) if self.model.symbolic_names => {
                let api = string(&self.model.resources[resource].api_version);
                Ok(call(
                    "reference",
                    vec![
                        string(&self.model.qualified_name(resource)),
                        api,
                        string("full"),
                    ],
                ))
            }
            Some(Symbol::Module(module)) if self.model.symbolic_names => {
                self.module_reference(module, None, false)
            }
            Some(Symbol::Resource(resource)) => {
                let id = self.resource_id(resource, None)?;
                let api = string(&self.model.resources[resource].api_version);
                Ok(call("reference", vec![id, api, string("full")]))
            }
            Some(Symbol::Module(module)) => {
                let id = self.module_id(module, None)?;
                Ok(call("reference", vec![id, string(DEPLOYMENTS_API_VERSION)]))
            }
            // Already reported by the binder.
            None => Err(Reported),
        }
    }

    /// `res.id`, `res.properties.x`, `mod.outputs.y`…: reads of a resource or module.
    fn convert_declaration_property(
        &self,
        base: &Expression,
        name: &Identifier,
        safe: bool,
    ) -> Converted<Option<Arm>> {
        // mod.outputs.x → reference(deploymentId, api).outputs.x.value
        if let ExpressionKind::Property {
            base: module_expression,
            name: outputs,
            ..
        } = &base.kind
        {
            if outputs.name == "outputs" {
                if let Some((module, index)) = self.module_target(module_expression) {
                    let reference = self.module_reference(module, index, false)?;
                    let outputs = Arm::Property(Box::new(reference), "outputs".into());
                    if safe {
                        // A conditional output may be absent, a null one lacks `value`.
                        let output = call("tryGet", vec![outputs, string(&name.name)]);
                        return Ok(Some(call("tryGet", vec![output, string("value")])));
                    }
                    let output = Arm::Property(Box::new(outputs), name.name.clone());
                    return Ok(Some(Arm::Property(Box::new(output), "value".into())));
                }
            }
        }
        if let Some((module, index)) = self.module_target(base) {
            return match name.name.as_str() {
                "name" => Ok(Some(self.module_name(module, index)?)),
                "outputs" => {
                    let reference = self.module_reference(module, index, false)?;
                    Ok(Some(Arm::Property(Box::new(reference), "outputs".into())))
                }
                _ => Ok(Some(Arm::Property(
                    Box::new(self.module_reference(module, index, true)?),
                    name.name.clone(),
                ))),
            };
        }
        let Some((resource, index)) = self.resource_target(base) else {
            return Ok(None);
        };
        let info = &self.model.resources[resource];
        if self.model.symbolic_names
            && !matches!(name.name.as_str(), "id" | "name" | "type" | "apiVersion")
        {
            // languageVersion 2.0 reads a resource by its symbolic name.
            let symbol = self.symbolic_reference(&self.model.qualified_name(resource), index)?;
            return Ok(Some(match name.name.as_str() {
                "properties" => call("reference", vec![symbol]),
                other => Arm::Property(
                    Box::new(call(
                        "reference",
                        vec![symbol, string(&info.api_version), string("full")],
                    )),
                    other.to_string(),
                ),
            }));
        }
        let converted = match name.name.as_str() {
            "id" => self.resource_id(resource, index)?,
            "name" => self.resource_name_segment(resource, index)?,
            "type" => string(&info.full_type),
            "apiVersion" => string(&info.api_version),
            "properties" => {
                let id = self.resource_id(resource, index)?;
                call("reference", vec![id, string(&info.api_version)])
            }
            other => {
                let id = self.resource_id(resource, index)?;
                Arm::Property(
                    Box::new(call(
                        "reference",
                        vec![id, string(&info.api_version), string("full")],
                    )),
                    other.to_string(),
                )
            }
        };
        Ok(Some(converted))
    }

    /// `'symbol'`, or `format('symbol[{0}]', i)` for one element of a loop.
    fn symbolic_reference(&self, symbol: &str, index: Option<&Expression>) -> Converted<Arm> {
        Ok(match index {
            Some(index) => call(
                "format",
                vec![
                    Arm::String(format!("{symbol}[{{0}}]")),
                    self.convert(index)?,
                ],
            ),
            None => string(symbol),
        })
    }

    /// reference() of a module's deployment: by symbolic name in languageVersion 2.0.
    fn module_reference(
        &self,
        module: usize,
        index: Option<&Expression>,
        full: bool,
    ) -> Converted<Arm> {
        let mut arguments = if self.model.symbolic_names {
            let symbol = &self.model.modules[module].declaration.name.name;
            vec![self.symbolic_reference(symbol, index)?]
        } else {
            vec![
                self.module_id(module, index)?,
                string(DEPLOYMENTS_API_VERSION),
            ]
        };
        if full {
            if self.model.symbolic_names {
                arguments.push(string(DEPLOYMENTS_API_VERSION));
            }
            arguments.push(string("full"));
        }
        Ok(call("reference", arguments))
    }

    fn resource_target<'e>(
        &self,
        expression: &'e Expression,
    ) -> Option<(usize, Option<&'e Expression>)> {
        match &expression.kind {
            ExpressionKind::Index { base, index, .. } => self
                .model
                .resource_of(base)
                .map(|r| (r, Some(index.as_ref()))),
            _ => self.model.resource_of(expression).map(|r| (r, None)),
        }
    }

    fn module_target<'e>(
        &self,
        expression: &'e Expression,
    ) -> Option<(usize, Option<&'e Expression>)> {
        let (target, index) = match &expression.kind {
            ExpressionKind::Index { base, index, .. } => (base.as_ref(), Some(index.as_ref())),
            _ => (expression, None),
        };
        match &target.kind {
            ExpressionKind::Variable(identifier) => match self.model.symbol_of(identifier) {
                Some(Symbol::Module(module)) => Some((module, index)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Converts `f` with a looped declaration's variables bound to element `index`
    /// (or to copyIndex() when converting the declaration itself).
    fn in_declaration_loop<T>(
        &self,
        for_loop: Option<(&ForExpression, usize)>,
        index: Option<&Expression>,
        f: impl FnOnce() -> Converted<T>,
    ) -> Converted<T> {
        let Some((for_expression, loop_id)) = for_loop else {
            return f();
        };
        if index.is_none() && self.loops.borrow().contains_key(&loop_id) {
            return f();
        }
        let index = match index {
            Some(index) => self.convert(index)?,
            None => call("copyIndex", vec![]),
        };
        let collection = self.convert(&for_expression.collection)?;
        let binding = LoopBinding {
            item: Arm::Index(Box::new(collection), Box::new(index.clone())),
            index,
        };
        self.with_loop(loop_id, binding, f)
    }

    /// The resource's own `name` value.
    pub fn resource_name_segment(
        &self,
        resource: usize,
        index: Option<&Expression>,
    ) -> Converted<Arm> {
        let info = &self.model.resources[resource];
        let Some(name) = info.body.and_then(|b| b.object_property("name")) else {
            self.report(catalogue::missing_required_properties(
                info.declaration.name.span,
                "resource",
                &["name"],
            ));
            return Err(Reported);
        };
        self.in_declaration_loop(info.for_loop, index, || self.convert(&name.value))
    }

    /// Name segments from the root ancestor down to this resource.
    fn name_segments(&self, resource: usize, index: Option<&Expression>) -> Converted<Vec<Arm>> {
        let mut chain = vec![resource];
        let mut current = resource;
        while let Some(parent) = self.model.resources[current].parent {
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            current = parent;
        }
        let mut segments = Vec::new();
        for ancestor in chain.iter().rev() {
            let segment_index = if *ancestor == resource { index } else { None };
            segments.push(self.resource_name_segment(*ancestor, segment_index)?);
        }
        // A child declared without a parent carries its whole path in one name
        // ('a/b'): resourceId needs one argument per type segment.
        let type_segments = self.model.resources[resource]
            .full_type
            .split('/')
            .count()
            .saturating_sub(1);
        if chain.len() == 1 && type_segments > 1 {
            let name = segments.remove(0);
            return Ok(match name {
                Arm::String(text) => text.split('/').map(string).collect(),
                other => (0..type_segments)
                    .map(|i| {
                        Arm::Index(
                            Box::new(call("split", vec![other.clone(), string("/")])),
                            Box::new(Arm::Integer(i as i64)),
                        )
                    })
                    .collect(),
            });
        }
        Ok(segments)
    }

    /// The `name` ARM wants: child names joined with '/'.
    pub fn resource_full_name(&self, resource: usize) -> Converted<Arm> {
        if self.model.resources[resource].parent.is_none() {
            return self.resource_name_segment(resource, None);
        }
        let mut segments = self.name_segments(resource, None)?;
        if segments.len() == 1 {
            return Ok(segments.remove(0));
        }
        let pattern: Vec<String> = (0..segments.len()).map(|i| format!("{{{i}}}")).collect();
        segments.insert(0, Arm::String(pattern.join("/")));
        Ok(call("format", segments))
    }

    /// Only namespaces and resources have functions: on a primitive or an array the
    /// official checker reports BCP067, on any other object BCP109.
    fn no_functions_on<T>(&self, base: &Expression, name: &Identifier) -> Converted<T> {
        let display = self.value_type_display(base);
        self.report(match display.as_str() {
            "object" | "any" => catalogue::function_not_on_object(name.span, "object", &name.name),
            _ => catalogue::functions_need_an_object(name.span, &display),
        });
        Err(Reported)
    }

    /// How the official compiler names a value's type in BCP067: a literal's own type
    /// (`1`, `'a'`, `true`), through variables; otherwise the broad kind.
    fn value_type_display(&self, expression: &Expression) -> String {
        match &expression.kind {
            ExpressionKind::Integer(value) => value.to_string(),
            ExpressionKind::Boolean(value) => value.to_string(),
            ExpressionKind::Null => "null".into(),
            ExpressionKind::String(_) => match expression.as_plain_string() {
                Some(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
                None => "string".into(),
            },
            ExpressionKind::Array(_) | ExpressionKind::For(_) => "array".into(),
            ExpressionKind::Object(_) => "object".into(),
            ExpressionKind::Parenthesized(inner) => self.value_type_display(inner),
            ExpressionKind::Variable(identifier) => match self.model.symbol_of(identifier) {
                Some(Symbol::Variable(index)) => {
                    self.value_type_display(&self.model.bindings.variables[index].value)
                }
                _ => "any".into(),
            },
            _ => "any".into(),
        }
    }

    pub fn resource_id(&self, resource: usize, index: Option<&Expression>) -> Converted<Arm> {
        let info = &self.model.resources[resource];
        let mut arguments = vec![string(&info.full_type)];
        arguments.extend(self.name_segments(resource, index)?);
        if let Some(scope) = self.extension_scope(resource)? {
            let mut extension = vec![scope];
            extension.extend(arguments);
            return Ok(call("extensionResourceId", extension));
        }
        // An `existing` resource in another group or subscription (a child, its root's).
        let owner = self.scope_owner(resource);
        let info = &self.model.resources[owner];
        let index = if owner == resource { index } else { None };
        if let Some(scope) = info.body.and_then(|b| b.object_property("scope")) {
            if let ExpressionKind::Call {
                name,
                arguments: scope_arguments,
                ..
            } = &scope.value.kind
            {
                if name.name == "resourceGroup" && !scope_arguments.is_empty() {
                    // The official ScopeHelper avoids resourceId() (it reads differently from
                    // other scopes): the group's full id, then extensionResourceId().
                    let mut converted = Vec::new();
                    for argument in scope_arguments {
                        // The loop variable of a looped `existing` resource reads its item.
                        converted.push(self.in_declaration_loop(info.for_loop, index, || {
                            self.convert(argument)
                        })?);
                    }
                    let (subscription, group) = match converted.len() {
                        1 => (current_subscription_id(), converted.remove(0)),
                        _ => {
                            let subscription = converted.remove(0);
                            (subscription, converted.remove(0))
                        }
                    };
                    let scope = call(
                        "format",
                        vec![
                            string("/subscriptions/{0}/resourceGroups/{1}"),
                            subscription,
                            group,
                        ],
                    );
                    let mut extension = vec![scope];
                    extension.extend(arguments);
                    return Ok(call("extensionResourceId", extension));
                }
                if name.name == "subscription" {
                    let mut prefix = Vec::new();
                    for argument in scope_arguments {
                        prefix.push(self.in_declaration_loop(info.for_loop, index, || {
                            self.convert(argument)
                        })?);
                    }
                    prefix.extend(arguments);
                    return Ok(call("subscriptionResourceId", prefix));
                }
                if name.name == "tenant" {
                    return Ok(call("tenantResourceId", arguments));
                }
            }
        }
        Ok(match self.model.target_scope {
            TargetScope::ResourceGroup => call("resourceId", arguments),
            TargetScope::Subscription => call("subscriptionResourceId", arguments),
            TargetScope::Tenant => call("tenantResourceId", arguments),
            // The official ScopeHelper qualifies a management group's resources by its id.
            TargetScope::ManagementGroup => {
                let mut extension = vec![Arm::Property(
                    Box::new(call("managementGroup", vec![])),
                    "id".into(),
                )];
                extension.extend(arguments);
                call("extensionResourceId", extension)
            }
        })
    }

    /// `subscriptionId` / `resourceGroup` of an `existing` resource scoped by
    /// `resourceGroup([sub,] name)` or `subscription(id)`, as languageVersion 2.0 writes them.
    pub fn existing_scope_properties(
        &self,
        resource: usize,
    ) -> Converted<Vec<(&'static str, Arm)>> {
        let info = &self.model.resources[resource];
        let Some(scope) = info.body.and_then(|b| b.object_property("scope")) else {
            return Ok(Vec::new());
        };
        let ExpressionKind::Call {
            name, arguments, ..
        } = &scope.value.kind
        else {
            return Ok(Vec::new());
        };
        let mut converted = Vec::new();
        for argument in arguments {
            converted
                .push(self.in_declaration_loop(info.for_loop, None, || self.convert(argument))?);
        }
        Ok(match (name.name.as_str(), converted.len()) {
            ("resourceGroup", 1) => vec![("resourceGroup", converted.remove(0))],
            ("resourceGroup", 2) => {
                let subscription = converted.remove(0);
                vec![
                    ("subscriptionId", subscription),
                    ("resourceGroup", converted.remove(0)),
                ]
            }
            ("subscription", 1) => vec![("subscriptionId", converted.remove(0))],
            _ => Vec::new(),
        })
    }

    /// For `scope: someResource`, the id of that resource (the scope of an extension resource).
    /// The resource whose `scope:` applies: its own, else its root ancestor's (a child
    /// lives where its parent does).
    pub fn scope_owner(&self, resource: usize) -> usize {
        let mut current = resource;
        for _ in 0..self.model.resources.len() {
            let info = &self.model.resources[current];
            if info.body.and_then(|b| b.object_property("scope")).is_some() {
                return current;
            }
            match info.parent {
                Some(parent) if parent != current => current = parent,
                _ => return resource,
            }
        }
        resource
    }

    pub fn extension_scope(&self, resource: usize) -> Converted<Option<Arm>> {
        let resource = self.scope_owner(resource);
        let info = &self.model.resources[resource];
        let Some(scope) = info.body.and_then(|b| b.object_property("scope")) else {
            return Ok(None);
        };
        match self.resource_target(&scope.value) {
            Some((scope_resource, index)) => Ok(Some(self.resource_id(scope_resource, index)?)),
            None => Ok(None),
        }
    }

    /// The `scope` property ARM wants on an extension resource: the scope's fully qualified
    /// id, as the official compiler writes it since 0.40 (before, `format('Microsoft.X/y/{0}', name)`).
    pub fn extension_scope_property(&self, resource: usize) -> Converted<Option<Arm>> {
        let info = &self.model.resources[self.scope_owner(resource)];
        let Some(scope) = info.body.and_then(|b| b.object_property("scope")) else {
            return Ok(None);
        };
        if is_tenant_call(&scope.value) {
            // "/" lets a deployment at another scope deploy a tenant resource.
            return Ok((self.model.target_scope != TargetScope::Tenant).then(|| string("/")));
        }
        self.extension_scope(resource)
    }

    pub fn module_name(&self, module: usize, index: Option<&Expression>) -> Converted<Arm> {
        let info = &self.model.modules[module];
        match info.body.and_then(|b| b.object_property("name")) {
            Some(name) => {
                self.in_declaration_loop(info.for_loop, index, || self.convert(&name.value))
            }
            None => {
                // Bicep names an unnamed module deployment after its symbol and the parent deployment.
                let symbol = &info.declaration.name.name;
                Ok(call(
                    "format",
                    vec![
                        Arm::String(format!("{symbol}-{{0}}")),
                        call(
                            "uniqueString",
                            vec![
                                string(symbol),
                                Arm::Property(Box::new(call("deployment", vec![])), "name".into()),
                            ],
                        ),
                    ],
                ))
            }
        }
    }

    /// The resource group a module deploys into, from `scope: resourceGroup(...)` or
    /// `scope: someGroup` (a resourceGroups resource): (subscription id, group name).
    pub fn module_group_scope(&self, module: usize) -> Converted<Option<(Option<Arm>, Arm)>> {
        let info = &self.model.modules[module];
        let Some(scope) = info.body.and_then(|b| b.object_property("scope")) else {
            return Ok(None);
        };
        if let Some((resource, index)) = self.resource_target(&scope.value) {
            if self.model.resources[resource]
                .full_type
                .eq_ignore_ascii_case("Microsoft.Resources/resourceGroups")
            {
                return Ok(Some((None, self.resource_name_segment(resource, index)?)));
            }
            return Ok(None);
        }
        if let ExpressionKind::Call {
            name: function,
            arguments,
            ..
        } = &scope.value.kind
        {
            if function.name == "resourceGroup" {
                match arguments.as_slice() {
                    [group] => return Ok(Some((None, self.convert(group)?))),
                    [subscription, group] => {
                        return Ok(Some((
                            Some(self.convert(subscription)?),
                            self.convert(group)?,
                        )))
                    }
                    _ => {}
                }
            }
        }
        Ok(None)
    }

    /// Where a module deploys, from its `scope:` (a `tenant()`, `managementGroup(...)`,
    /// `subscription(...)` or `resourceGroup(...)` call, or a resourceGroups resource), or the
    /// file's own target scope without one.
    pub fn module_scope(&self, module: usize) -> Converted<ModuleScope> {
        if let Some((subscription, group)) = self.module_group_scope(module)? {
            return Ok(ModuleScope::ResourceGroup {
                subscription,
                group: Some(group),
            });
        }
        let info = &self.model.modules[module];
        if let Some(scope) = info.body.and_then(|b| b.object_property("scope")) {
            if let ExpressionKind::Call {
                name, arguments, ..
            } = &scope.value.kind
            {
                let first = match arguments.first() {
                    Some(argument) => Some(self.convert(argument)?),
                    None => None,
                };
                match (name.name.as_str(), arguments.len()) {
                    ("tenant", 0) => return Ok(ModuleScope::Tenant),
                    ("managementGroup", 0 | 1) => return Ok(ModuleScope::ManagementGroup(first)),
                    ("subscription", 0 | 1) => return Ok(ModuleScope::Subscription(first)),
                    ("resourceGroup", 0) => {
                        return Ok(ModuleScope::ResourceGroup {
                            subscription: None,
                            group: None,
                        })
                    }
                    _ => {}
                }
            }
        }
        Ok(match self.model.target_scope {
            TargetScope::ResourceGroup => ModuleScope::ResourceGroup {
                subscription: None,
                group: None,
            },
            TargetScope::Subscription => ModuleScope::Subscription(None),
            TargetScope::ManagementGroup => ModuleScope::ManagementGroup(None),
            TargetScope::Tenant => ModuleScope::Tenant,
        })
    }

    /// A module's deployment id, fully qualified by the scope it deploys to (the official
    /// compiler avoids resourceId() across scopes, whose meaning depends on the caller's scope).
    pub fn module_id(&self, module: usize, index: Option<&Expression>) -> Converted<Arm> {
        let name = self.module_name(module, index)?;
        let deployments = string("Microsoft.Resources/deployments");
        Ok(match self.module_scope(module)? {
            ModuleScope::Tenant => call("tenantResourceId", vec![deployments, name]),
            ModuleScope::Subscription(subscription) => {
                let mut arguments: Vec<Arm> = subscription.into_iter().collect();
                arguments.extend([deployments, name]);
                call("subscriptionResourceId", arguments)
            }
            ModuleScope::ResourceGroup {
                subscription: None,
                group: None,
            } => call("resourceId", vec![deployments, name]),
            ModuleScope::ResourceGroup {
                subscription,
                group,
            } => {
                let subscription = subscription.unwrap_or_else(current_subscription_id);
                let group = group.unwrap_or_else(|| {
                    Arm::Property(Box::new(call("resourceGroup", vec![])), "name".into())
                });
                let scope_id = call(
                    "format",
                    vec![
                        string("/subscriptions/{0}/resourceGroups/{1}"),
                        subscription,
                        group,
                    ],
                );
                call("extensionResourceId", vec![scope_id, deployments, name])
            }
            ModuleScope::ManagementGroup(group) => {
                let scope_id = match group {
                    Some(group) => call(
                        "tenantResourceId",
                        vec![string(MANAGEMENT_GROUP_TYPE), group],
                    ),
                    None => Arm::Property(Box::new(call("managementGroup", vec![])), "id".into()),
                };
                call("extensionResourceId", vec![scope_id, deployments, name])
            }
        })
    }

    fn convert_call(
        &self,
        name: &Identifier,
        arguments: &[Expression],
        span: Span,
    ) -> Converted<Arm> {
        if let Some(Symbol::Function(index)) = self.model.symbol_of(name) {
            // A user-defined function lives in the `__bicep` namespace of `functions`.
            let mut converted = Vec::new();
            for argument in arguments {
                converted.push(self.convert(argument)?);
            }
            let declared = &self.model.bindings.functions[index].name.name;
            // A closure's `_1.f` is its own namespace's `f` (see the functions writer).
            let qualified = if declared.contains('.') {
                declared.clone()
            } else {
                format!("__bicep.{declared}")
            };
            return Ok(Arm::Call(qualified, converted));
        }
        let function = name.name.as_str();
        match function {
            "any" if arguments.len() == 1 => return self.convert(&arguments[0]),
            "nameof" if arguments.len() == 1 => {
                return match &arguments[0].kind {
                    ExpressionKind::Variable(identifier) => Ok(string(&identifier.name)),
                    ExpressionKind::Property { name, .. }
                    | ExpressionKind::NestedResourceAccess { name, .. } => Ok(string(&name.name)),
                    ExpressionKind::Index { index, .. } => match index.as_plain_string() {
                        Some(key) => Ok(string(&key)),
                        None => self.unsupported(span, "This nameof() argument"),
                    },
                    _ => self.unsupported(span, "This nameof() argument"),
                }
            }
            _ if is_load_function(function) => {
                if let Some(variable) = self.function_variables.get(&span.start) {
                    return Ok(call("variables", vec![string(variable)]));
                }
                return match self.load_file(function, arguments, span)? {
                    Loaded::Text(text) => Ok(Arm::String(text)),
                    Loaded::Json(json) => Ok(json_to_arm(&json)),
                };
            }
            // Scopes named by arguments have no ARM value of their own: the official compiler writes {}.
            "subscription" | "resourceGroup" | "managementGroup" if !arguments.is_empty() => {
                return Ok(call("createObject", vec![]))
            }
            "readEnvironmentVariable" => {
                return self
                    .unsupported(span, "readEnvironmentVariable() outside a .bicepparam file")
            }
            _ => {}
        }
        let mut converted = Vec::new();
        for argument in arguments {
            converted.push(self.convert(argument)?);
        }
        Ok(Arm::Call(function.to_string(), converted))
    }

    fn load_file(&self, function: &str, arguments: &[Expression], span: Span) -> Converted<Loaded> {
        let Some(relative) = arguments.first().and_then(Expression::as_plain_string) else {
            self.report(catalogue::compile_time_constant_required(span));
            return Err(Reported);
        };
        let path = self.model.directory.join(&relative);
        if function == "loadDirectoryFileInfo" {
            return self.directory_file_info(&relative, arguments, span);
        }
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.report(catalogue::file_load_failed(
                    arguments[0].span,
                    &format!("Could not read file \"{}\": {error}.", path.display()),
                ));
                return Err(Reported);
            }
        };
        match function {
            "loadFileAsBase64" => Ok(Loaded::Text(
                base64::engine::general_purpose::STANDARD.encode(bytes),
            )),
            "loadTextContent" => {
                let encoding = match arguments.get(1) {
                    None => "utf-8".to_string(),
                    Some(argument) => match argument.as_plain_string() {
                        Some(encoding) => encoding,
                        None => {
                            self.report(catalogue::compile_time_constant_required(argument.span));
                            return Err(Reported);
                        }
                    },
                };
                match decode_text(&bytes, &encoding) {
                    Some(text) => Ok(Loaded::Text(text)),
                    None => {
                        self.report(catalogue::unknown_text_encoding(
                            arguments[1].span,
                            &encoding,
                        ));
                        Err(Reported)
                    }
                }
            }
            "loadYamlContent" => {
                let text = String::from_utf8_lossy(&bytes);
                match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text) {
                    Ok(value) => self.select_path(yaml_to_json(value), arguments, span),
                    Err(error) => {
                        self.report(catalogue::file_load_failed(
                            arguments[0].span,
                            &format!(
                                "The file \"{}\" is not valid YAML: {error}.",
                                path.display()
                            ),
                        ));
                        Err(Reported)
                    }
                }
            }
            _ => {
                let text = String::from_utf8_lossy(&bytes);
                // Comments are allowed, as the official compiler reads these files.
                let Some(json) = super::json_writer::parse_json_with_comments(&text) else {
                    self.report(catalogue::file_load_failed(
                        arguments[0].span,
                        &format!("The file \"{}\" is not valid JSON.", path.display()),
                    ));
                    return Err(Reported);
                };
                self.select_path(json, arguments, span)
            }
        }
    }

    /// The optional second argument of loadJsonContent / loadYamlContent: a JSONPath whose
    /// single match is the value, several matches an array of them (BCP235 for none).
    fn select_path(&self, json: Json, arguments: &[Expression], span: Span) -> Converted<Loaded> {
        let Some(argument) = arguments.get(1) else {
            return Ok(Loaded::Json(json));
        };
        let Some(path) = argument.as_plain_string() else {
            self.report(catalogue::compile_time_constant_required(argument.span));
            return Err(Reported);
        };
        let _ = span;
        match super::json_path::select(&json, &path) {
            Some(mut found) if found.len() == 1 => Ok(Loaded::Json(found.remove(0))),
            Some(found) if !found.is_empty() => Ok(Loaded::Json(Json::Array(found))),
            _ => {
                self.report(catalogue::json_path_not_found(argument.span));
                Err(Reported)
            }
        }
    }

    /// `loadDirectoryFileInfo(dir, [pattern])`: the files (not folders) directly in `dir`
    /// matching the `*`/`?` pattern, ordered by name ignoring case as the official compiler lists
    /// them, each as {relativePath, baseName, extension}.
    fn directory_file_info(
        &self,
        relative: &str,
        arguments: &[Expression],
        span: Span,
    ) -> Converted<Loaded> {
        let pattern = match arguments.get(1) {
            None => "*".to_string(),
            Some(argument) => match argument.as_plain_string() {
                Some(pattern) => pattern,
                None => {
                    self.report(catalogue::compile_time_constant_required(span));
                    return Err(Reported);
                }
            },
        };
        let directory = self.model.directory.join(relative);
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(error) => {
                self.report(catalogue::file_load_failed(
                    arguments[0].span,
                    &format!(
                        "Could not read directory \"{}\": {error}.",
                        directory.display()
                    ),
                ));
                return Err(Reported);
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| glob_matches(&pattern, name))
            .collect();
        names.sort_by_key(|name| name.to_lowercase());
        let prefix = relative
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let files = names
            .into_iter()
            .map(|name| {
                let extension = match name.rfind('.') {
                    Some(dot) if dot > 0 => name[dot..].to_string(),
                    _ => String::new(),
                };
                let mut file = Json::object();
                let relative_path = if prefix.is_empty() || prefix == "." {
                    name.clone()
                } else {
                    format!("{prefix}/{name}")
                };
                file.insert("relativePath", Json::String(relative_path));
                file.insert("baseName", Json::String(name));
                file.insert("extension", Json::String(extension));
                file
            })
            .collect();
        Ok(Loaded::Json(Json::Array(files)))
    }
}

fn is_load_function(name: &str) -> bool {
    matches!(
        name,
        "loadJsonContent"
            | "loadTextContent"
            | "loadFileAsBase64"
            | "loadYamlContent"
            | "loadDirectoryFileInfo"
    )
}

/// A file-name pattern with `*` (any run) and `?` (one character).
fn glob_matches(pattern: &str, name: &str) -> bool {
    fn matches(pattern: &[char], name: &[char]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some(('*', rest)) => (0..=name.len()).any(|skip| matches(rest, &name[skip..])),
            Some(('?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
            Some((c, rest)) => name.first() == Some(c) && matches(rest, &name[1..]),
        }
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches(&pattern, &name)
}

/// YAML as the JSON value it denotes, keys in file order.
fn yaml_to_json(value: serde_yaml_ng::Value) -> Json {
    use serde_yaml_ng::Value;
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Json::Integer(i),
            None => Json::RawNumber(n.to_string()),
        },
        Value::String(s) => Json::String(s),
        Value::Sequence(items) => Json::Array(items.into_iter().map(yaml_to_json).collect()),
        Value::Mapping(entries) => Json::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s,
                        other => serde_yaml_ng::to_string(&other)
                            .unwrap_or_default()
                            .trim_end()
                            .to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Value::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

/// A converted value that folded to a literal (`res.type`) is written as JSON, not as `['...']`.
pub fn literal_or_expression(arm: Arm) -> Json {
    match arm {
        Arm::String(text) => Json::String(escape_literal_string(&text)),
        Arm::Integer(value) => Json::Integer(value),
        other => other.to_json(),
    }
}

enum Loaded {
    Text(String),
    Json(Json),
}

/// Loaded JSON is data: strings that look like expressions must stay literal.
fn escape_json_strings(json: Json) -> Json {
    match json {
        Json::String(text) => Json::String(escape_literal_string(&text)),
        Json::Array(items) => Json::Array(items.into_iter().map(escape_json_strings).collect()),
        Json::Object(entries) => Json::Object(
            entries
                .into_iter()
                .map(|(k, v)| (escape_literal_string(&k), escape_json_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

fn json_to_arm(json: &Json) -> Arm {
    match json {
        Json::Null => call("null", vec![]),
        Json::Bool(b) => call(if *b { "true" } else { "false" }, vec![]),
        Json::Integer(n) => Arm::Integer(*n),
        Json::RawNumber(n) => call("json", vec![Arm::String(n.clone())]),
        Json::String(s) => Arm::String(s.clone()),
        Json::Array(items) => call("createArray", items.iter().map(json_to_arm).collect()),
        Json::Object(entries) => call(
            "createObject",
            entries
                .iter()
                .flat_map(|(k, v)| [Arm::String(k.clone()), json_to_arm(v)])
                .collect(),
        ),
    }
}

/// The load-function calls the official compiler writes as `$fxv#N` variables, numbered in
/// source order: loadJsonContent / loadYamlContent / loadDirectoryFileInfo always,
/// loadTextContent / loadFileAsBase64 unless they are a variable's whole value; never inside
/// user-defined functions (ARM functions cannot read variables) or imported declarations.
pub fn function_variables(tree: &SyntaxTree) -> HashMap<usize, String> {
    fn walk(expression: &Expression, direct: bool, found: &mut Vec<usize>) {
        if let ExpressionKind::Call { name, .. } = &expression.kind {
            let always = matches!(
                name.name.as_str(),
                "loadJsonContent" | "loadYamlContent" | "loadDirectoryFileInfo"
            );
            let indirect = matches!(name.name.as_str(), "loadTextContent" | "loadFileAsBase64");
            if always || (indirect && !direct) {
                found.push(expression.span.start);
            }
        }
        match &expression.kind {
            ExpressionKind::Object(items) => {
                for item in items {
                    match item {
                        ObjectItem::Property(property) => {
                            for decorator in &property.decorators {
                                decorator
                                    .arguments
                                    .iter()
                                    .for_each(|a| walk(a, false, found));
                            }
                            if let PropertyKey::String(key) = &property.key {
                                walk(key, false, found);
                            }
                            walk(&property.value, false, found);
                        }
                        ObjectItem::Spread(spread) => walk(spread, false, found),
                        ObjectItem::NestedResource(resource) => {
                            for decorator in &resource.decorators {
                                decorator
                                    .arguments
                                    .iter()
                                    .for_each(|a| walk(a, false, found));
                            }
                            walk(&resource.value, false, found);
                        }
                    }
                }
            }
            ExpressionKind::String(segments) => {
                for segment in segments {
                    if let StringSegment::Hole(hole) = segment {
                        walk(hole, false, found);
                    }
                }
            }
            ExpressionKind::Array(items) => {
                for item in items {
                    match item {
                        ArrayItem::Value(value) | ArrayItem::Spread(value) => {
                            walk(value, false, found)
                        }
                    }
                }
            }
            ExpressionKind::Call { arguments, .. } => {
                arguments.iter().for_each(|a| walk(a, false, found))
            }
            ExpressionKind::Property { base, .. }
            | ExpressionKind::NestedResourceAccess { base, .. } => walk(base, false, found),
            ExpressionKind::Index { base, index, .. } => {
                walk(base, false, found);
                walk(index, false, found);
            }
            ExpressionKind::Unary { operand, .. } => walk(operand, false, found),
            ExpressionKind::Binary { left, right, .. } => {
                walk(left, false, found);
                walk(right, false, found);
            }
            ExpressionKind::Ternary {
                condition,
                when_true,
                when_false,
            } => {
                walk(condition, false, found);
                walk(when_true, false, found);
                walk(when_false, false, found);
            }
            ExpressionKind::Parenthesized(inner) => walk(inner, false, found),
            ExpressionKind::For(for_expression) => {
                walk(&for_expression.collection, false, found);
                if let Some(filter) = &for_expression.filter {
                    walk(filter, false, found);
                }
                walk(&for_expression.body, false, found);
            }
            ExpressionKind::Condition { condition, body } => {
                walk(condition, false, found);
                walk(body, false, found);
            }
            ExpressionKind::Lambda { body, .. } => walk(body, false, found),
            _ => {}
        }
    }
    let mut found = Vec::new();
    let decorators = |decorators: &[Decorator], found: &mut Vec<usize>| {
        for decorator in decorators {
            decorator
                .arguments
                .iter()
                .for_each(|a| walk(a, false, found));
        }
    };
    for declaration in &tree.declarations {
        let imported = crate::declared_name(declaration)
            .is_some_and(|name| tree.import_source(&name).is_some());
        if imported {
            continue;
        }
        match declaration {
            Declaration::Parameter(p) => {
                decorators(&p.decorators, &mut found);
                if let Some(value) = &p.default_value {
                    walk(value, false, &mut found);
                }
            }
            Declaration::Variable(v) => {
                decorators(&v.decorators, &mut found);
                walk(&v.value, true, &mut found);
            }
            Declaration::Resource(r) => {
                decorators(&r.decorators, &mut found);
                walk(&r.value, false, &mut found);
            }
            Declaration::Module(m) => {
                decorators(&m.decorators, &mut found);
                walk(&m.value, false, &mut found);
            }
            Declaration::Output(o) => {
                decorators(&o.decorators, &mut found);
                walk(&o.value, false, &mut found);
            }
            Declaration::Metadata(m) => walk(&m.value, false, &mut found),
            Declaration::TargetScope(value, _) => walk(value, false, &mut found),
            Declaration::Assert { value, .. } => walk(value, false, &mut found),
            _ => {}
        }
    }
    found
        .into_iter()
        .enumerate()
        .map(|(index, start)| (start, format!("$fxv#{index}")))
        .collect()
}

/// A text file's bytes in the encoding loadTextContent names (a byte order mark is dropped).
fn decode_text(bytes: &[u8], encoding: &str) -> Option<String> {
    let utf16 = |bytes: &[u8], big_endian: bool| -> String {
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|pair| {
                let (a, b) = (pair[0], *pair.get(1).unwrap_or(&0));
                if big_endian {
                    u16::from_be_bytes([a, b])
                } else {
                    u16::from_le_bytes([a, b])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    let text = match encoding.to_ascii_lowercase().as_str() {
        "utf-8" => String::from_utf8_lossy(bytes).into_owned(),
        "utf-16" => utf16(bytes.strip_prefix(&[0xff, 0xfe]).unwrap_or(bytes), false),
        "utf-16be" => utf16(bytes.strip_prefix(&[0xfe, 0xff]).unwrap_or(bytes), true),
        "iso-8859-1" => bytes.iter().map(|b| char::from(*b)).collect(),
        "us-ascii" => bytes
            .iter()
            .map(|b| if b.is_ascii() { char::from(*b) } else { '?' })
            .collect(),
        _ => return None,
    };
    Some(text.trim_start_matches('\u{feff}').to_string())
}

fn contains_get_secret(expression: &Expression) -> bool {
    let mut found = false;
    crate::semantic::visit(expression, &mut |e| match &e.kind {
        ExpressionKind::Call {
            name,
            namespace: Some(_),
            ..
        }
        | ExpressionKind::ResourceIndexCall { name, .. }
        | ExpressionKind::InstanceCall { name, .. }
            if name.name == "getSecret" =>
        {
            found = true
        }
        _ => {}
    });
    found
}

/// Whether an access chain below `expression` holds a safe access (`.?` or `[?...]`).
fn follows_safe_access(expression: &Expression) -> bool {
    match &expression.kind {
        ExpressionKind::Property { base, safe, .. } => *safe || follows_safe_access(base),
        ExpressionKind::Index { base, safe, .. } => *safe || follows_safe_access(base),
        _ => false,
    }
}
