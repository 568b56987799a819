//! TypeChecker: the checks between binding and emission — declared types,
//! decorators on the right declarations, resource type strings, and refusing
//! language this compiler does not implement (so it never emits wrong JSON).

mod loop_positions;
pub(crate) mod resource_schemas;

use crate::diagnostics::{catalogue, PendingDiagnostic};
use crate::semantic::SemanticModel;
use crate::syntax::*;

const PARAMETER_DECORATORS: &[&str] = &[
    "description",
    "metadata",
    "secure",
    "allowed",
    "minLength",
    "maxLength",
    "minValue",
    "maxValue",
    "discriminator",
    "sealed",
];
const OUTPUT_DECORATORS: &[&str] = &[
    "description",
    "metadata",
    "secure",
    "discriminator",
    "sealed",
];
const RESOURCE_DECORATORS: &[&str] = &["description", "batchSize"];
const VARIABLE_DECORATORS: &[&str] = &["description", "export"];
const FUNCTION_DECORATORS: &[&str] = &["description", "export", "metadata"];
const TYPE_DECORATORS: &[&str] = &[
    "description",
    "metadata",
    "sealed",
    "secure",
    "minLength",
    "maxLength",
    "minValue",
    "maxValue",
];
const BASIC_TYPES: &[&str] = &["string", "int", "bool", "object", "array"];

pub fn check(model: &SemanticModel<'_>) -> Vec<PendingDiagnostic> {
    let mut diagnostics = Vec::new();
    for declaration in &model.tree.declarations {
        match declaration {
            Declaration::Parameter(parameter) => {
                check_decorators(
                    &parameter.decorators,
                    PARAMETER_DECORATORS,
                    "parameter",
                    &mut diagnostics,
                );
                check_type(&parameter.type_expression, false, model, &mut diagnostics);
            }
            Declaration::Output(output) => {
                check_decorators(
                    &output.decorators,
                    OUTPUT_DECORATORS,
                    "output",
                    &mut diagnostics,
                );
                check_type(&output.type_expression, true, model, &mut diagnostics);
            }
            Declaration::Type(declared) => {
                check_type_decorators(&declared.decorators, &mut diagnostics);
                check_type(&declared.value, false, model, &mut diagnostics);
            }
            Declaration::Function(function) => {
                check_decorators(
                    &function.decorators,
                    FUNCTION_DECORATORS,
                    "function",
                    &mut diagnostics,
                );
                for parameter in &function.parameters {
                    check_type(&parameter.type_expression, false, model, &mut diagnostics);
                }
                check_type(&function.return_type, true, model, &mut diagnostics);
            }
            Declaration::Variable(variable) => {
                check_decorators(
                    &variable.decorators,
                    VARIABLE_DECORATORS,
                    "variable",
                    &mut diagnostics,
                );
                if let Some(declared) = &variable.type_expression {
                    check_type(declared, false, model, &mut diagnostics);
                    check_literal_value(declared, &variable.value, &mut diagnostics);
                }
            }
            Declaration::Module(module) => check_decorators(
                &module.decorators,
                RESOURCE_DECORATORS,
                "module",
                &mut diagnostics,
            ),
            Declaration::TargetScope(value, _) => {
                let valid = value.as_plain_string().is_some_and(|scope| {
                    matches!(
                        scope.as_str(),
                        "resourceGroup" | "subscription" | "managementGroup" | "tenant"
                    )
                });
                if !valid {
                    diagnostics.push(catalogue::target_scope_invalid(value.span));
                }
            }
            Declaration::Unsupported { keyword, span } => {
                let construct = match keyword.as_str() {
                    "type" => "A user-defined type declaration (type)",
                    "func" => "A user-defined function declaration (func)",
                    "import" => "An import declaration",
                    "extension" | "provider" => "An extension declaration",
                    "assert" => "An assert declaration",
                    _ => "This declaration",
                };
                diagnostics.push(catalogue::unsupported_construct(*span, construct));
            }
            _ => {}
        }
    }
    for (index, resource) in model.resources.iter().enumerate() {
        let declaration = resource.declaration;
        check_decorators(
            &declaration.decorators,
            RESOURCE_DECORATORS,
            "resource",
            &mut diagnostics,
        );
        // A nested resource may leave out '@version' and inherit its parent's.
        let valid_type = match declaration.type_reference.split_once('@') {
            Some((type_name, version)) => !type_name.is_empty() && !version.is_empty(),
            None => resource.lexical_parent.is_some() && !declaration.type_reference.is_empty(),
        };
        if !valid_type {
            diagnostics.push(catalogue::invalid_resource_type(declaration.type_span));
        }
        if resource.body.is_none() {
            diagnostics.push(catalogue::unsupported_construct(
                declaration.value.span,
                "A resource body that is not an object literal",
            ));
        } else if resource
            .body
            .and_then(|b| b.object_property("name"))
            .is_none()
            // A Kubernetes resource is named in its metadata.
            && !matches!(model.resource_extension(index), Some((_, false)))
        {
            diagnostics.push(catalogue::missing_required_properties(
                declaration.name.span,
                "resource",
                &["name"],
            ));
        }
        if let Some(body) = resource.body {
            check_duplicate_properties(body, &mut diagnostics);
            // An existing resource's body only names it.
            if !declaration.existing {
                resource_schemas::check_resource_body(
                    &resource.full_type,
                    declaration,
                    body,
                    &mut diagnostics,
                );
            }
        }
    }
    check_lambda_positions(model, &mut diagnostics);
    check_function_calls(model, &mut diagnostics);
    loop_positions::check(model.tree, &mut diagnostics);
    for module in &model.modules {
        if module.body.is_none() {
            diagnostics.push(catalogue::unsupported_construct(
                module.declaration.value.span,
                "A module body that is not an object literal",
            ));
        }
    }
    diagnostics
}

/// A typed variable's value where it is a literal: BCP033 when a string, integer,
/// boolean, object or array literal cannot have the declared type (array items one by
/// one). Values that are not literals are not checked here.
fn check_literal_value(
    declared: &TypeExpression,
    value: &Expression,
    diagnostics: &mut Vec<PendingDiagnostic>,
) {
    let actual = match &value.kind {
        ExpressionKind::String(_) => match value.as_plain_string() {
            Some(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
            None => "string".to_string(),
        },
        ExpressionKind::Integer(number) => number.to_string(),
        ExpressionKind::Boolean(flag) => flag.to_string(),
        ExpressionKind::Object(_) => "object".to_string(),
        ExpressionKind::Array(_) => "array".to_string(),
        ExpressionKind::Null => "null".to_string(),
        _ => return,
    };
    let kind_name = match &value.kind {
        ExpressionKind::String(_) => "string",
        ExpressionKind::Integer(_) => "int",
        ExpressionKind::Boolean(_) => "bool",
        ExpressionKind::Object(_) => "object",
        ExpressionKind::Array(_) => "array",
        _ => "null",
    };
    let expected = match declared {
        TypeExpression::Named(identifier) if BASIC_TYPES.contains(&identifier.name.as_str()) => {
            identifier.name.clone()
        }
        TypeExpression::Nullable(inner, _) => {
            if !matches!(value.kind, ExpressionKind::Null) {
                check_literal_value(inner, value, diagnostics);
            }
            return;
        }
        TypeExpression::ArrayOf(inner, _) => {
            if let ExpressionKind::Array(items) = &value.kind {
                for item in items {
                    if let ArrayItem::Value(item) = item {
                        check_literal_value(inner, item, diagnostics);
                    }
                }
                return;
            }
            match inner.as_ref() {
                TypeExpression::Named(identifier) => format!("{}[]", identifier.name),
                _ => return,
            }
        }
        // User-defined, union, object and tuple types: not checked against literals yet.
        _ => return,
    };
    if expected != kind_name {
        diagnostics.push(catalogue::type_mismatch(value.span, &expected, &actual));
    }
}

/// Every expression a declaration holds, function bodies and resource bodies included.
fn expression_roots<'a>(model: &SemanticModel<'a>) -> Vec<&'a Expression> {
    let mut roots: Vec<&Expression> = Vec::new();
    for declaration in &model.tree.declarations {
        match declaration {
            Declaration::Parameter(p) => roots.extend(p.default_value.as_ref()),
            Declaration::Variable(v) => roots.push(&v.value),
            Declaration::Output(o) => roots.push(&o.value),
            Declaration::Module(m) => roots.push(&m.value),
            Declaration::Metadata(m) => roots.push(&m.value),
            Declaration::Function(f) => roots.push(&f.body),
            _ => {}
        }
    }
    roots.extend(model.resources.iter().map(|r| &r.declaration.value));
    roots
}

/// A user-defined function takes exactly its declared parameters (BCP071).
fn check_function_calls(model: &SemanticModel<'_>, diagnostics: &mut Vec<PendingDiagnostic>) {
    for root in expression_roots(model) {
        crate::semantic::visit(root, &mut |e| {
            if let ExpressionKind::Call {
                namespace: None,
                name,
                arguments,
            } = &e.kind
            {
                if let Some(crate::binder::Symbol::Function(index)) = model.symbol_of(name) {
                    let expected = model.bindings.functions[index].parameters.len();
                    if expected != arguments.len() {
                        diagnostics.push(catalogue::argument_count_mismatch(
                            e.span,
                            expected,
                            arguments.len(),
                        ));
                    }
                }
            }
        });
    }
}

/// ARM has no function values: a lambda may only be a function's argument
/// (possibly parenthesized), never a variable's value or an output.
fn check_lambda_positions(model: &SemanticModel<'_>, diagnostics: &mut Vec<PendingDiagnostic>) {
    fn unwrap(expression: &Expression) -> &Expression {
        match &expression.kind {
            ExpressionKind::Parenthesized(inner) => unwrap(inner),
            _ => expression,
        }
    }
    for root in expression_roots(model) {
        let mut allowed = Vec::new();
        let mut lambdas = Vec::new();
        crate::semantic::visit(root, &mut |e| match &e.kind {
            ExpressionKind::Call { arguments, .. } => {
                allowed.extend(arguments.iter().map(|a| unwrap(a).span))
            }
            ExpressionKind::Lambda { .. } => lambdas.push(e.span),
            _ => {}
        });
        for span in lambdas {
            if !allowed.contains(&span) {
                diagnostics.push(catalogue::lambda_not_a_function_argument(span));
            }
        }
    }
}

fn check_duplicate_properties(object: &Expression, diagnostics: &mut Vec<PendingDiagnostic>) {
    if let ExpressionKind::Object(items) = &object.kind {
        let mut seen: Vec<String> = Vec::new();
        for item in items {
            if let ObjectItem::Property(property) = item {
                if let Some(key) = property.key_text() {
                    if seen.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
                        diagnostics.push(catalogue::property_declared_multiple_times(
                            property.span,
                            &key,
                        ));
                    }
                    seen.push(key);
                }
            }
        }
    }
}

fn check_decorators(
    decorators: &[Decorator],
    allowed: &[&str],
    target: &str,
    diagnostics: &mut Vec<PendingDiagnostic>,
) {
    for decorator in decorators {
        let name = decorator.name.name.as_str();
        if allowed.contains(&name) {
            continue;
        }
        let is_decorator_anywhere = PARAMETER_DECORATORS.contains(&name)
            || RESOURCE_DECORATORS.contains(&name)
            || matches!(
                name,
                "export" | "sealed" | "discriminator" | "onlyIfNotExists"
            );
        if is_decorator_anywhere {
            diagnostics.push(catalogue::decorator_not_permitted_here(
                decorator.name.span,
                name,
                target,
            ));
        } else if crate::binder::is_known_function(name) {
            diagnostics.push(catalogue::cannot_use_function_as_decorator(
                decorator.name.span,
                name,
            ));
        } else {
            diagnostics.push(catalogue::name_does_not_exist(decorator.name.span, name));
        }
    }
}

/// Decorators of a type declaration, an object type property or a tuple item
/// (@discriminator's union is checked where the schema is written).
fn check_type_decorators(decorators: &[Decorator], diagnostics: &mut Vec<PendingDiagnostic>) {
    let others: Vec<Decorator> = decorators
        .iter()
        .filter(|d| !matches!(d.name.name.as_str(), "discriminator" | "export"))
        .cloned()
        .collect();
    check_decorators(&others, TYPE_DECORATORS, "type", diagnostics);
}

fn check_type(
    type_expression: &TypeExpression,
    is_output: bool,
    model: &SemanticModel<'_>,
    diagnostics: &mut Vec<PendingDiagnostic>,
) {
    match type_expression {
        TypeExpression::Named(identifier) => {
            let declared = model
                .bindings
                .types
                .iter()
                .any(|t| t.name.name == identifier.name);
            // `param x any` takes any value (written without a type); an output cannot be `any`.
            let any_parameter = !is_output && identifier.name == "any";
            if !declared && !any_parameter && !BASIC_TYPES.contains(&identifier.name.as_str()) {
                diagnostics.push(if is_output {
                    catalogue::invalid_output_type(identifier.span)
                } else {
                    catalogue::invalid_parameter_type(identifier.span)
                });
            }
        }
        TypeExpression::SysNamed(identifier) => {
            if !BASIC_TYPES.contains(&identifier.name.as_str()) && identifier.name != "any" {
                diagnostics.push(if is_output {
                    catalogue::invalid_output_type(identifier.span)
                } else {
                    catalogue::invalid_parameter_type(identifier.span)
                });
            }
        }
        TypeExpression::ArrayOf(inner, _)
        | TypeExpression::Nullable(inner, _)
        | TypeExpression::NonNullable(inner, _) => check_type(inner, is_output, model, diagnostics),
        // Members are checked where they are written (the emitter resolves the access).
        TypeExpression::Access(base, _, _) => match base.as_ref() {
            TypeExpression::Named(_)
            | TypeExpression::Access(..)
            | TypeExpression::ResourceDerived { .. } => {
                check_type(base, is_output, model, diagnostics)
            }
            other => diagnostics.push(catalogue::type_access_needs_named_base(other.span())),
        },
        TypeExpression::ResourceDerived { .. } | TypeExpression::Schema(..) => {}
        TypeExpression::Union(members, _) => {
            for member in members {
                check_type(member, is_output, model, diagnostics);
            }
        }
        TypeExpression::Tuple(items, _) => {
            for item in items {
                check_type_decorators(&item.decorators, diagnostics);
                check_type(&item.value, is_output, model, diagnostics);
            }
        }
        TypeExpression::Object(properties, _) => {
            for property in properties {
                check_type_decorators(&property.decorators, diagnostics);
                check_type(&property.value, is_output, model, diagnostics);
            }
        }
        TypeExpression::LiteralUnion(literals, span) => {
            let all_literal = literals.iter().all(|l| {
                matches!(
                    l.kind,
                    ExpressionKind::Integer(_) | ExpressionKind::Boolean(_) | ExpressionKind::Null
                ) || l.as_plain_string().is_some()
            });
            if !all_literal {
                diagnostics.push(catalogue::unsupported_construct(
                    *span,
                    "A union type with non-literal members",
                ));
            }
        }
        TypeExpression::Unsupported(span) => diagnostics.push(catalogue::unsupported_construct(
            *span,
            "An object, tuple or resource-typed type expression (user-defined types)",
        )),
    }
}
