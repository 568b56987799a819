//! Binder: declares every symbol, reports duplicates (BCP028) and unknown
//! names (BCP057), and records what each identifier in an expression refers to.

use crate::diagnostics::{catalogue, PendingDiagnostic};
use crate::syntax::*;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symbol {
    Parameter(usize),
    Variable(usize),
    Resource(usize),
    Module(usize),
    /// The item variable of the `for` expression starting at this byte offset.
    LoopItem(usize),
    LoopIndex(usize),
    /// A lambda's parameter, by the byte offset where it is declared.
    LambdaVariable(usize),
    /// A user-defined function, by its index in `Bindings::functions`.
    Function(usize),
    /// A user-defined function's parameter, by the byte offset where it is declared.
    FunctionParameter(usize),
}

/// Every resource, flattened: nested children included, parents first.
pub struct BoundResource<'a> {
    pub declaration: &'a ResourceDeclaration,
    /// The enclosing resource for one declared in a parent's body.
    pub lexical_parent: Option<usize>,
    /// Resources declared directly in this one's body, by name.
    pub children: HashMap<String, usize>,
}

pub struct Bindings<'a> {
    pub parameters: Vec<&'a ParameterDeclaration>,
    pub variables: Vec<&'a VariableDeclaration>,
    pub resources: Vec<BoundResource<'a>>,
    pub modules: Vec<&'a ModuleDeclaration>,
    /// User-defined types; they live in their own namespace, named only in type positions.
    pub types: Vec<&'a TypeDeclaration>,
    pub outputs: Vec<&'a OutputDeclaration>,
    pub functions: Vec<&'a FunctionDeclaration>,
    /// Identifier span start → the symbol it names.
    pub references: HashMap<usize, Symbol>,
}

const KNOWN_FUNCTIONS: &[&str] = &[
    "any",
    "array",
    "base64",
    "base64ToJson",
    "base64ToString",
    "bool",
    "coalesce",
    "concat",
    "contains",
    "dataUri",
    "dataUriToString",
    "dateTimeAdd",
    "dateTimeFromEpoch",
    "dateTimeToEpoch",
    "deployment",
    "distinct",
    "deployer",
    "empty",
    "endsWith",
    "environment",
    "extensionResourceId",
    "first",
    "flatten",
    "format",
    "getSecret",
    "guid",
    "indexOf",
    "int",
    "intersection",
    "items",
    "join",
    "json",
    "last",
    "lastIndexOf",
    "like",
    "length",
    "list",
    "listKeys",
    "listSecrets",
    "listAccountSas",
    "loadFileAsBase64",
    "loadDirectoryFileInfo",
    "loadJsonContent",
    "loadTextContent",
    "loadYamlContent",
    "managementGroup",
    "managementGroupResourceId",
    "max",
    "min",
    "nameof",
    "newGuid",
    "padLeft",
    "pickZones",
    "providers",
    "range",
    "reference",
    "replace",
    "resourceGroup",
    "resourceId",
    "shallowMerge",
    "skip",
    "split",
    "startsWith",
    "string",
    "subscription",
    "subscriptionResourceId",
    "substring",
    "take",
    "tenant",
    "tenantResourceId",
    "toLower",
    "toObject",
    "toUpper",
    "trim",
    "union",
    "uniqueString",
    "uri",
    "uriComponent",
    "uriComponentToString",
    "utcNow",
    "filter",
    "map",
    "reduce",
    "sort",
    "groupBy",
    "mapValues",
    "objectKeys",
    "tryGet",
    "readEnvironmentVariable",
    "description",
    "metadata",
    "secure",
    "allowed",
    "minLength",
    "maxLength",
    "minValue",
    "maxValue",
    "batchSize",
    "export",
    "sealed",
    "discriminator",
    "onlyIfNotExists",
    "mod",
    "sub",
    "add",
    "mul",
    "div",
    "equals",
    "not",
    "and",
    "or",
    "if",
    "less",
    "lessOrEquals",
    "greater",
    "greaterOrEquals",
    "createArray",
    "createObject",
    "null",
    "true",
    "false",
    "cidrSubnet",
    "cidrHost",
    "parseCidr",
    "lastIndexOf",
    "like",
    "indexFromEnd",
    "tryIndexFromEnd",
];

pub fn is_known_function(name: &str) -> bool {
    KNOWN_FUNCTIONS.contains(&name) || name.starts_with("list")
}

pub fn bind(tree: &SyntaxTree) -> (Bindings<'_>, Vec<PendingDiagnostic>) {
    let mut bindings = Bindings {
        parameters: Vec::new(),
        variables: Vec::new(),
        resources: Vec::new(),
        modules: Vec::new(),
        outputs: Vec::new(),
        types: Vec::new(),
        functions: Vec::new(),
        references: HashMap::new(),
    };
    let mut diagnostics = Vec::new();
    let mut global: HashMap<String, Symbol> = HashMap::new();
    let mut declare =
        |name: &Identifier, symbol: Symbol, diagnostics: &mut Vec<PendingDiagnostic>| {
            if global.contains_key(&name.name) {
                diagnostics.push(catalogue::identifier_declared_multiple_times(
                    name.span, &name.name,
                ));
            } else {
                global.insert(name.name.clone(), symbol);
            }
        };
    for declaration in &tree.declarations {
        match declaration {
            Declaration::Parameter(parameter) => {
                declare(
                    &parameter.name,
                    Symbol::Parameter(bindings.parameters.len()),
                    &mut diagnostics,
                );
                bindings.parameters.push(parameter);
            }
            Declaration::Variable(variable) => {
                declare(
                    &variable.name,
                    Symbol::Variable(bindings.variables.len()),
                    &mut diagnostics,
                );
                bindings.variables.push(variable);
            }
            Declaration::Resource(resource) => {
                let index = add_resource(&mut bindings.resources, resource, None);
                declare(&resource.name, Symbol::Resource(index), &mut diagnostics);
            }
            Declaration::Module(module) => {
                declare(
                    &module.name,
                    Symbol::Module(bindings.modules.len()),
                    &mut diagnostics,
                );
                bindings.modules.push(module);
            }
            Declaration::Output(output) => {
                // Outputs live in their own namespace: they cannot be referenced.
                if bindings
                    .outputs
                    .iter()
                    .any(|o| o.name.name == output.name.name)
                {
                    diagnostics.push(catalogue::identifier_declared_multiple_times(
                        output.name.span,
                        &output.name.name,
                    ));
                }
                bindings.outputs.push(output);
            }
            Declaration::Function(function) => {
                declare(
                    &function.name,
                    Symbol::Function(bindings.functions.len()),
                    &mut diagnostics,
                );
                bindings.functions.push(function);
            }
            Declaration::Type(declared) => {
                if bindings
                    .types
                    .iter()
                    .any(|t| t.name.name == declared.name.name)
                {
                    diagnostics.push(catalogue::identifier_declared_multiple_times(
                        declared.name.span,
                        &declared.name.name,
                    ));
                }
                bindings.types.push(declared);
            }
            _ => {}
        }
    }

    let mut resolver = Resolver {
        global: &global,
        resources: &bindings.resources,
        scopes: Vec::new(),
        references: HashMap::new(),
        diagnostics: Vec::new(),
        in_function: false,
    };
    for declaration in &tree.declarations {
        match declaration {
            Declaration::Parameter(parameter) => {
                resolver.decorators(&parameter.decorators);
                if let Some(value) = &parameter.default_value {
                    resolver.expression(value);
                }
            }
            Declaration::Variable(variable) => resolver.expression(&variable.value),
            Declaration::Output(output) => {
                resolver.decorators(&output.decorators);
                resolver.expression(&output.value);
            }
            Declaration::Module(module) => {
                resolver.decorators(&module.decorators);
                resolver.expression(&module.value);
            }
            Declaration::TargetScope(value, _) | Declaration::Using(value, _) => {
                resolver.expression(value)
            }
            Declaration::Metadata(metadata) => resolver.expression(&metadata.value),
            Declaration::Assert { value, .. } | Declaration::Test { value, .. } => {
                resolver.expression(value)
            }
            Declaration::Extension(extension) => {
                if let Some(config) = &extension.config {
                    resolver.expression(config);
                }
            }
            Declaration::ParameterAssignment { value, .. } => resolver.expression(value),
            Declaration::Function(function) => {
                resolver.decorators(&function.decorators);
                // A function sees only its parameters and other functions, as in Bicep.
                let scope = function
                    .parameters
                    .iter()
                    .map(|p| {
                        (
                            p.name.name.clone(),
                            Symbol::FunctionParameter(p.name.span.start),
                        )
                    })
                    .collect();
                resolver.scopes.push(scope);
                resolver.in_function = true;
                resolver.expression(&function.body);
                resolver.in_function = false;
                resolver.scopes.pop();
            }
            _ => {}
        }
    }
    for (index, resource) in bindings.resources.iter().enumerate() {
        // Inside a body, the resource's own children are in scope by name.
        let mut scope: HashMap<String, Symbol> = resource
            .children
            .iter()
            .map(|(name, child)| (name.clone(), Symbol::Resource(*child)))
            .collect();
        // A child also sees its ancestors' siblings.
        let mut ancestor = resource.lexical_parent;
        while let Some(parent) = ancestor {
            for (name, child) in &bindings.resources[parent].children {
                scope
                    .entry(name.clone())
                    .or_insert(Symbol::Resource(*child));
            }
            ancestor = bindings.resources[parent].lexical_parent;
        }
        let _ = index;
        resolver.scopes.push(scope);
        resolver.decorators(&resource.declaration.decorators);
        resolver.declaration_body(&resource.declaration.value);
        resolver.scopes.pop();
    }
    bindings.references = resolver.references;
    diagnostics.append(&mut resolver.diagnostics);
    (bindings, diagnostics)
}

fn add_resource<'a>(
    resources: &mut Vec<BoundResource<'a>>,
    declaration: &'a ResourceDeclaration,
    lexical_parent: Option<usize>,
) -> usize {
    let index = resources.len();
    resources.push(BoundResource {
        declaration,
        lexical_parent,
        children: HashMap::new(),
    });
    for item in body_items(&declaration.value) {
        if let ObjectItem::NestedResource(child) = item {
            let child_index = add_resource(resources, child, Some(index));
            resources[index]
                .children
                .insert(child.name.name.clone(), child_index);
        }
    }
    index
}

/// The object of a resource or module body, through `if` and `for` wrappers.
pub fn body_object(value: &Expression) -> Option<&Expression> {
    match &value.kind {
        ExpressionKind::Object(_) => Some(value),
        ExpressionKind::Condition { body, .. } => body_object(body),
        ExpressionKind::For(for_expression) => body_object(&for_expression.body),
        _ => None,
    }
}

fn body_items(value: &Expression) -> &[ObjectItem] {
    match body_object(value).map(|object| &object.kind) {
        Some(ExpressionKind::Object(items)) => items,
        _ => &[],
    }
}

struct Resolver<'b, 'a> {
    global: &'b HashMap<String, Symbol>,
    resources: &'b [BoundResource<'a>],
    scopes: Vec<HashMap<String, Symbol>>,
    references: HashMap<usize, Symbol>,
    diagnostics: Vec<PendingDiagnostic>,
    /// Inside a function body, declarations other than functions are out of reach.
    in_function: bool,
}

impl Resolver<'_, '_> {
    /// A name used as a value: functions are only called, never named.
    fn lookup(&self, name: &str) -> Option<Symbol> {
        self.scopes
            .iter()
            .rev()
            .find_map(|scope| scope.get(name).copied())
            .or_else(|| match self.global.get(name).copied() {
                Some(Symbol::Function(_)) => None,
                _ if self.in_function => None,
                other => other,
            })
    }

    fn lookup_function(&self, name: &str) -> Option<Symbol> {
        match self.global.get(name).copied() {
            Some(symbol @ Symbol::Function(_)) => Some(symbol),
            _ => None,
        }
    }

    fn decorators(&mut self, decorators: &[Decorator]) {
        for decorator in decorators {
            for argument in &decorator.arguments {
                self.expression(argument);
            }
        }
    }

    /// Resource bodies: nested resources are resolved separately, with their own scope.
    fn declaration_body(&mut self, value: &Expression) {
        match &value.kind {
            ExpressionKind::Object(items) => {
                for item in items {
                    match item {
                        ObjectItem::Property(property) => {
                            self.decorators(&property.decorators);
                            self.property_key(&property.key);
                            self.expression(&property.value);
                        }
                        ObjectItem::Spread(spread) => self.expression(spread),
                        ObjectItem::NestedResource(_) => {}
                    }
                }
            }
            ExpressionKind::Condition { condition, body } => {
                self.expression(condition);
                self.declaration_body(body);
            }
            ExpressionKind::For(for_expression) => {
                self.expression(&for_expression.collection);
                self.scopes
                    .push(loop_scope(for_expression, value.span.start));
                if let Some(filter) = &for_expression.filter {
                    self.expression(filter);
                }
                self.declaration_body(&for_expression.body);
                self.scopes.pop();
            }
            _ => self.expression(value),
        }
    }

    fn property_key(&mut self, key: &PropertyKey) {
        if let PropertyKey::String(expression) = key {
            self.expression(expression);
        }
    }

    fn expression(&mut self, expression: &Expression) {
        match &expression.kind {
            ExpressionKind::String(segments) => {
                for segment in segments {
                    if let StringSegment::Hole(hole) = segment {
                        self.expression(hole);
                    }
                }
            }
            ExpressionKind::ResourceIndexCall {
                resource,
                index,
                arguments,
                ..
            } => {
                match self.lookup(&resource.name) {
                    Some(symbol) => {
                        self.references.insert(resource.span.start, symbol);
                    }
                    None => self.diagnostics.push(catalogue::name_does_not_exist(
                        resource.span,
                        &resource.name,
                    )),
                }
                self.expression(index);
                for argument in arguments {
                    self.expression(argument);
                }
            }
            ExpressionKind::Variable(identifier) => match self.lookup(&identifier.name) {
                Some(symbol) => {
                    self.references.insert(identifier.span.start, symbol);
                }
                // `if` names a function the language refuses, even without arguments.
                None if identifier.name == "if" => self
                    .diagnostics
                    .push(catalogue::if_function_not_supported(identifier.span)),
                None => self.diagnostics.push(catalogue::name_does_not_exist(
                    identifier.span,
                    &identifier.name,
                )),
            },
            ExpressionKind::Object(items) => {
                for item in items {
                    match item {
                        ObjectItem::Property(property) => {
                            self.property_key(&property.key);
                            self.expression(&property.value);
                        }
                        ObjectItem::Spread(spread) => self.expression(spread),
                        ObjectItem::NestedResource(_) => {}
                    }
                }
            }
            ExpressionKind::Array(items) => {
                for item in items {
                    match item {
                        ArrayItem::Value(value) | ArrayItem::Spread(value) => {
                            self.expression(value)
                        }
                    }
                }
            }
            ExpressionKind::Call {
                namespace,
                name,
                arguments,
            } => {
                let known_namespace = namespace
                    .as_ref()
                    .map(|n| n.name == "az" || n.name == "sys")
                    .unwrap_or(true);
                // `storage.listKeys()`: a resource's list* functions are called on its symbol.
                let resource_function =
                    namespace.as_ref().and_then(|n| match self.lookup(&n.name) {
                        Some(symbol @ Symbol::Resource(_))
                            if name.name.starts_with("list") || name.name == "getSecret" =>
                        {
                            Some((n.span.start, symbol))
                        }
                        _ => None,
                    });
                let user_function = match namespace {
                    None => self.lookup_function(&name.name),
                    Some(_) => None,
                };
                if let Some(symbol) = user_function {
                    self.references.insert(name.span.start, symbol);
                } else if let Some((start, symbol)) = resource_function {
                    self.references.insert(start, symbol);
                } else if let Some((start, symbol)) = namespace.as_ref().and_then(|n| {
                    // `value.f()` on a parameter or variable: a value, not a namespace; the
                    // emitter names its type (BCP067 / BCP109) as the official checker does.
                    self.lookup(&n.name)
                        .filter(|s| !matches!(s, Symbol::Resource(_)))
                        .map(|s| (n.span.start, s))
                }) {
                    self.references.insert(start, symbol);
                } else if !known_namespace {
                    if let Some(namespace) = namespace {
                        self.diagnostics.push(catalogue::name_does_not_exist(
                            namespace.span,
                            &namespace.name,
                        ));
                    }
                } else if namespace.is_none() && name.name == "if" {
                    self.diagnostics
                        .push(catalogue::if_function_not_supported(name.span));
                } else if !is_known_function(&name.name) {
                    self.diagnostics
                        .push(catalogue::unknown_function(name.span, &name.name));
                }
                for argument in arguments {
                    self.expression(argument);
                }
            }
            ExpressionKind::InstanceCall {
                base, arguments, ..
            } => {
                self.expression(base);
                for argument in arguments {
                    self.expression(argument);
                }
            }
            ExpressionKind::Property { base, .. } => self.expression(base),
            ExpressionKind::Index { base, index, .. } => {
                self.expression(base);
                self.expression(index);
            }
            ExpressionKind::NestedResourceAccess { base, name } => {
                self.expression(base);
                if let Some(parent) = resolve_resource(base, &self.references, self.resources) {
                    match self.resources[parent].children.get(&name.name) {
                        Some(child) => {
                            self.references
                                .insert(name.span.start, Symbol::Resource(*child));
                        }
                        None => self
                            .diagnostics
                            .push(catalogue::name_does_not_exist(name.span, &name.name)),
                    }
                }
            }
            ExpressionKind::Unary { operand, .. } => self.expression(operand),
            ExpressionKind::Binary { left, right, .. } => {
                self.expression(left);
                self.expression(right);
            }
            ExpressionKind::Ternary {
                condition,
                when_true,
                when_false,
            } => {
                self.expression(condition);
                self.expression(when_true);
                self.expression(when_false);
            }
            ExpressionKind::Parenthesized(inner) => self.expression(inner),
            ExpressionKind::For(for_expression) => {
                self.expression(&for_expression.collection);
                self.scopes
                    .push(loop_scope(for_expression, expression.span.start));
                if let Some(filter) = &for_expression.filter {
                    self.expression(filter);
                }
                self.expression(&for_expression.body);
                self.scopes.pop();
            }
            ExpressionKind::Condition { condition, body } => {
                self.expression(condition);
                self.expression(body);
            }
            ExpressionKind::Lambda { parameters, body } => {
                let scope = parameters
                    .iter()
                    .map(|p| (p.name.clone(), Symbol::LambdaVariable(p.span.start)))
                    .collect();
                self.scopes.push(scope);
                self.expression(body);
                self.scopes.pop();
            }
            ExpressionKind::Integer(_)
            | ExpressionKind::Boolean(_)
            | ExpressionKind::Null
            | ExpressionKind::ArmTemplateValue(_)
            | ExpressionKind::ArmCopyLoop { .. }
            | ExpressionKind::Error => {}
        }
    }
}

fn loop_scope(for_expression: &ForExpression, loop_id: usize) -> HashMap<String, Symbol> {
    let mut scope = HashMap::new();
    if let Some(item) = &for_expression.item {
        scope.insert(item.name.clone(), Symbol::LoopItem(loop_id));
    }
    if let Some(index) = &for_expression.index {
        scope.insert(index.name.clone(), Symbol::LoopIndex(loop_id));
    }
    scope
}

/// Which resource an expression names: `res`, `res[i]` (the index is the caller's business) or `a::b`.
pub fn resolve_resource(
    expression: &Expression,
    references: &HashMap<usize, Symbol>,
    _resources: &[BoundResource<'_>],
) -> Option<usize> {
    match &expression.kind {
        ExpressionKind::Variable(identifier) => match references.get(&identifier.span.start) {
            Some(Symbol::Resource(index)) => Some(*index),
            _ => None,
        },
        ExpressionKind::NestedResourceAccess { name, .. } => {
            match references.get(&name.span.start) {
                Some(Symbol::Resource(index)) => Some(*index),
                _ => None,
            }
        }
        ExpressionKind::Parenthesized(inner) => resolve_resource(inner, references, _resources),
        _ => None,
    }
}
