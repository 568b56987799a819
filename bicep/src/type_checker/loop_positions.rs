//! Where a `for` may stand, as the official ForSyntaxValidator decides: as the whole value
//! of a resource, module, variable, output or parameter assignment; in a resource or module
//! body also as a property's value reached through object and array literals only (not
//! through calls, operators or ternaries), one property loop deep (BCP142 for a second).
//! Anywhere else BCP138 at the `for` keyword — `var x = { a: [for ...] }` included.

use crate::diagnostics::{catalogue, PendingDiagnostic};
use crate::syntax::*;

#[derive(Clone, Copy, PartialEq)]
enum Owner {
    /// A parameter default, a decorator, a function body: no loops at all.
    None,
    /// A variable, output or parameter assignment: only its whole value.
    Value,
    /// A resource or module: its value and its properties' values.
    ResourceOrModule,
}

#[derive(Clone, Copy)]
struct Place {
    owner: Owner,
    /// This expression is the declaration's whole value.
    top: bool,
    /// Reached only through object and array literals (and loop bodies).
    literal_path: bool,
    /// This expression is an object property's value.
    property_value: bool,
    property_loops: usize,
}

impl Place {
    fn root(owner: Owner) -> Self {
        Place {
            owner,
            top: true,
            literal_path: true,
            property_value: false,
            property_loops: 0,
        }
    }

    fn inside(self, literal: bool) -> Self {
        Place {
            top: false,
            literal_path: self.literal_path && literal,
            property_value: false,
            ..self
        }
    }
}

pub fn check(tree: &SyntaxTree, diagnostics: &mut Vec<PendingDiagnostic>) {
    for declaration in &tree.declarations {
        match declaration {
            Declaration::Parameter(parameter) => {
                decorators(&parameter.decorators, diagnostics);
                if let Some(default) = &parameter.default_value {
                    walk(default, Place::root(Owner::None), diagnostics);
                }
            }
            Declaration::Variable(variable) => {
                decorators(&variable.decorators, diagnostics);
                walk(&variable.value, Place::root(Owner::Value), diagnostics);
            }
            Declaration::Output(output) => {
                decorators(&output.decorators, diagnostics);
                walk(&output.value, Place::root(Owner::Value), diagnostics);
            }
            Declaration::ParameterAssignment { value, .. } => {
                walk(value, Place::root(Owner::Value), diagnostics)
            }
            Declaration::Resource(resource) => resource_declaration(resource, diagnostics),
            Declaration::Module(module) => {
                decorators(&module.decorators, diagnostics);
                walk(
                    &module.value,
                    Place::root(Owner::ResourceOrModule),
                    diagnostics,
                );
            }
            Declaration::Function(function) => {
                decorators(&function.decorators, diagnostics);
                walk(&function.body, Place::root(Owner::None), diagnostics);
            }
            _ => {}
        }
    }
}

fn resource_declaration(resource: &ResourceDeclaration, diagnostics: &mut Vec<PendingDiagnostic>) {
    decorators(&resource.decorators, diagnostics);
    walk(
        &resource.value,
        Place::root(Owner::ResourceOrModule),
        diagnostics,
    );
}

fn decorators(decorators: &[Decorator], diagnostics: &mut Vec<PendingDiagnostic>) {
    for decorator in decorators {
        for argument in &decorator.arguments {
            walk(argument, Place::root(Owner::None), diagnostics);
        }
    }
}

fn walk(expression: &Expression, place: Place, diagnostics: &mut Vec<PendingDiagnostic>) {
    match &expression.kind {
        ExpressionKind::For(for_expression) => {
            let mut inner = place;
            if !place.top {
                let property_loop = place.owner == Owner::ResourceOrModule
                    && place.literal_path
                    && place.property_value;
                if !property_loop {
                    diagnostics.push(catalogue::for_expression_not_supported_here(
                        for_expression.keyword,
                    ));
                } else if place.property_loops >= 1 {
                    diagnostics.push(catalogue::nested_property_loop(for_expression.keyword));
                }
                if property_loop {
                    inner.property_loops += 1;
                }
            } else if place.owner == Owner::None {
                diagnostics.push(catalogue::for_expression_not_supported_here(
                    for_expression.keyword,
                ));
            }
            // A loop is no expression of its own: its parts keep the path it stands on.
            let inner = Place {
                top: false,
                property_value: false,
                ..inner
            };
            walk(&for_expression.collection, inner.inside(false), diagnostics);
            if let Some(filter) = &for_expression.filter {
                walk(filter, inner.inside(false), diagnostics);
            }
            walk(&for_expression.body, inner, diagnostics);
        }
        ExpressionKind::Condition { condition, body } => {
            walk(condition, place.inside(false), diagnostics);
            walk(
                body,
                Place {
                    top: false,
                    ..place
                },
                diagnostics,
            );
        }
        ExpressionKind::Object(items) => {
            for item in items {
                match item {
                    ObjectItem::Property(property) => {
                        if let PropertyKey::String(key) = &property.key {
                            walk(key, place.inside(false), diagnostics);
                        }
                        let value_place = Place {
                            property_value: true,
                            ..place.inside(true)
                        };
                        walk(&property.value, value_place, diagnostics);
                    }
                    ObjectItem::Spread(spread) => walk(spread, place.inside(false), diagnostics),
                    ObjectItem::NestedResource(resource) => {
                        resource_declaration(resource, diagnostics)
                    }
                }
            }
        }
        ExpressionKind::Array(items) => {
            for item in items {
                match item {
                    ArrayItem::Value(value) => walk(value, place.inside(true), diagnostics),
                    ArrayItem::Spread(value) => walk(value, place.inside(false), diagnostics),
                }
            }
        }
        _ => {
            let inner = place.inside(false);
            for child in children(expression) {
                walk(child, inner, diagnostics);
            }
        }
    }
}

/// The direct sub-expressions of every other kind of expression.
fn children(expression: &Expression) -> Vec<&Expression> {
    match &expression.kind {
        ExpressionKind::String(segments) => segments
            .iter()
            .filter_map(|s| match s {
                StringSegment::Hole(hole) => Some(hole),
                _ => None,
            })
            .collect(),
        ExpressionKind::Call { arguments, .. } => arguments.iter().collect(),
        ExpressionKind::ResourceIndexCall {
            index, arguments, ..
        } => std::iter::once(&**index).chain(arguments).collect(),
        ExpressionKind::InstanceCall {
            base, arguments, ..
        } => std::iter::once(&**base).chain(arguments).collect(),
        ExpressionKind::Property { base, .. }
        | ExpressionKind::NestedResourceAccess { base, .. } => {
            vec![base]
        }
        ExpressionKind::Index { base, index, .. } => vec![base, index],
        ExpressionKind::Unary { operand, .. } => vec![operand],
        ExpressionKind::Binary { left, right, .. } => vec![left, right],
        ExpressionKind::Ternary {
            condition,
            when_true,
            when_false,
        } => vec![condition, when_true, when_false],
        ExpressionKind::Parenthesized(inner) => vec![inner],
        ExpressionKind::Lambda { body, .. } => vec![body],
        _ => Vec::new(),
    }
}
