//! Resource body checks for the emulator's own resource types, from the JSON Schemas
//! the emulator validates request bodies with (schemas/ at the repository root).
//! Like the official compiler with its type definitions, problems are warnings
//! (BCP035 missing required property, BCP036 wrong type, BCP037 property not allowed),
//! and only what is known statically is checked: literals and object shapes.
//! An expression whose type needs evaluating passes.

use crate::diagnostics::{catalogue, PendingDiagnostic};
use crate::emitter::json_writer::{parse_json, Json};
use crate::syntax::*;
use crate::text::Span;

const COMMON: &str = include_str!("../../../schemas/common.json");

/// Resource type (matched case-insensitively, any API version) → its PUT body schema.
const SCHEMAS: &[(&str, &str)] = &[
    (
        "Microsoft.HardwareSecurityModules/cloudHsmClusters",
        include_str!("../../../schemas/cloudHsmClusters.put.json"),
    ),
    (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        include_str!("../../../schemas/userAssignedIdentities.put.json"),
    ),
    (
        "Microsoft.Network/privateEndpoints",
        include_str!("../../../schemas/privateEndpoints.put.json"),
    ),
    (
        "Microsoft.Authorization/roleAssignments",
        include_str!("../../../schemas/roleAssignments.put.json"),
    ),
    (
        "Microsoft.Resources/resourceGroups",
        include_str!("../../../schemas/resourceGroups.put.json"),
    ),
];

/// Keys of a resource body that Bicep itself reads; they are not part of the PUT body.
const DECLARATION_KEYS: &[&str] = &["name", "parent", "scope", "dependsOn"];

/// The schema documents one check works with: the resource's own and common.json.
struct Documents {
    own: Json,
    common: Json,
}

#[derive(Clone, Copy)]
enum Document {
    Own,
    Common,
}

impl Documents {
    fn get(&self, document: Document) -> &Json {
        match document {
            Document::Own => &self.own,
            Document::Common => &self.common,
        }
    }

    /// Follows `$ref`s (`#/$defs/x` in the same document, `common.json#/$defs/x`).
    fn resolve<'s>(&'s self, mut schema: &'s Json, mut document: Document) -> (&'s Json, Document) {
        for _ in 0..16 {
            let Some(Json::String(reference)) = schema.get("$ref") else {
                break;
            };
            let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
            if file == "common.json" {
                document = Document::Common;
            }
            let mut target = self.get(document);
            for segment in pointer.split('/').filter(|s| !s.is_empty()) {
                match target.get(segment) {
                    Some(next) => target = next,
                    None => return (schema, document),
                }
            }
            schema = target;
        }
        (schema, document)
    }
}

pub fn check_resource_body(
    full_type: &str,
    declaration: &ResourceDeclaration,
    body: &Expression,
    diagnostics: &mut Vec<PendingDiagnostic>,
) {
    let Some((_, text)) = SCHEMAS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(full_type))
    else {
        return;
    };
    let (Some(own), Some(common)) = (parse_json(text), parse_json(COMMON)) else {
        return;
    };
    let documents = Documents { own, common };
    let mut checker = Checker {
        documents: &documents,
        diagnostics,
    };
    checker.object(
        body,
        &documents.own,
        Document::Own,
        "resource",
        full_type,
        declaration.name.span,
        true,
    );
}

/// The ARM type name of a part of one of the emulator's resource types (for
/// `resourceInput<>` types): `pointer` as the official compiler writes it below the body
/// (`properties/properties/properties/x`, `items`, `additionalProperties`). None when the
/// type is not one of ours, the part is not in its schema, or the part is read-only (or
/// otherwise unconstrained), so the caller knows nothing about it.
pub fn derived_type_name(full_type: &str, pointer: &[String]) -> Option<&'static str> {
    let (_, text) = SCHEMAS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(full_type))?;
    let documents = Documents {
        own: parse_json(text)?,
        common: parse_json(COMMON)?,
    };
    let (mut schema, mut document) = documents.resolve(&documents.own, Document::Own);
    let mut segments = pointer.iter();
    while let Some(segment) = segments.next() {
        let next = match segment.as_str() {
            "properties" => {
                let name = segments.next()?;
                match schema.get("properties")? {
                    Json::Object(entries) => entries
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(name))
                        .map(|(_, value)| value)?,
                    _ => return None,
                }
            }
            "items" => schema.get("items")?,
            "additionalProperties" => match schema.get("additionalProperties")? {
                object @ Json::Object(_) => object,
                _ => return None,
            },
            _ => return None,
        };
        (schema, document) = documents.resolve(next, document);
    }
    if is_unconstrained(schema) && schema.get("additionalProperties").is_none() {
        return None;
    }
    match schema.get("type") {
        Some(Json::String(kind)) => match kind.as_str() {
            "string" => Some("string"),
            "integer" => Some("int"),
            "boolean" => Some("bool"),
            "object" => Some("object"),
            "array" => Some("array"),
            _ => None,
        },
        _ => match schema.get("enum") {
            Some(Json::Array(values)) if !values.is_empty() => {
                let kind = |v: &Json| match v {
                    Json::String(_) => Some("string"),
                    Json::Integer(_) => Some("int"),
                    Json::Bool(_) => Some("bool"),
                    _ => None,
                };
                let first = kind(&values[0])?;
                values
                    .iter()
                    .all(|v| kind(v) == Some(first))
                    .then_some(first)
            }
            _ if schema.get("properties").is_some() => Some("object"),
            _ => None,
        },
    }
}

struct Checker<'d> {
    documents: &'d Documents,
    diagnostics: &'d mut Vec<PendingDiagnostic>,
}

/// A schema with no constraints (the common readOnly marker): anything goes.
fn is_unconstrained(schema: &Json) -> bool {
    ["type", "enum", "properties", "items", "required"]
        .iter()
        .all(|key| schema.get(key).is_none())
}

fn strings(value: Option<&Json>) -> Vec<String> {
    match value {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Json::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Some(Json::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

impl Checker<'_> {
    #[allow(clippy::too_many_arguments)]
    fn object(
        &mut self,
        object: &Expression,
        schema: &Json,
        document: Document,
        block: &str,
        type_name: &str,
        span: Span,
        is_body: bool,
    ) {
        let ExpressionKind::Object(items) = &object.kind else {
            return;
        };
        let (schema, document) = self.documents.resolve(schema, document);
        let schema = schema.clone();
        let declared = match schema.get("properties") {
            Some(Json::Object(entries)) => entries.clone(),
            _ => Vec::new(),
        };
        let mut present: Vec<String> = Vec::new();
        let mut has_spread = false;
        for item in items {
            let property = match item {
                ObjectItem::Property(property) => property,
                ObjectItem::Spread(_) => {
                    has_spread = true;
                    continue;
                }
                ObjectItem::NestedResource(_) => continue,
            };
            // A computed key cannot be checked.
            let Some(key) = property.key_text() else {
                has_spread = true;
                continue;
            };
            present.push(key.clone());
            if is_body && DECLARATION_KEYS.contains(&key.as_str()) {
                continue;
            }
            let key_span = match &property.key {
                PropertyKey::Identifier(identifier) => identifier.span,
                PropertyKey::String(expression) => expression.span,
            };
            match declared.iter().find(|(name, _)| *name == key) {
                Some((_, property_schema)) => {
                    self.value(&key, key_span, &property.value, property_schema, document)
                }
                None if schema.get("properties").is_some() => {
                    let mut permissible: Vec<String> = declared
                        .iter()
                        .filter(|(name, value)| {
                            let (resolved, _) = self.documents.resolve(value, document);
                            !is_unconstrained(resolved)
                                && !items.iter().any(|i| {
                                    matches!(i, ObjectItem::Property(p) if p.key_text().as_deref() == Some(name.as_str()))
                                })
                        })
                        .map(|(name, _)| name.clone())
                        .collect();
                    permissible.sort();
                    self.diagnostics.push(catalogue::property_not_allowed(
                        key_span,
                        &key,
                        type_name,
                        &permissible,
                    ));
                }
                None => {}
            }
        }
        if has_spread {
            return;
        }
        let mut missing: Vec<String> = strings(schema.get("required"))
            .into_iter()
            .filter(|name| !present.contains(name))
            .collect();
        missing.sort();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(String::as_str).collect();
            self.diagnostics
                .push(catalogue::missing_required_properties_warning(
                    span, block, &names,
                ));
        }
    }

    fn value(
        &mut self,
        key: &str,
        key_span: Span,
        value: &Expression,
        schema: &Json,
        document: Document,
    ) {
        let (schema, document) = self.documents.resolve(schema, document);
        if is_unconstrained(schema) {
            return;
        }
        let value = unparenthesized(value);
        let Some(actual) = literal_type(value) else {
            // An expression's type is not known here: it passes.
            return;
        };
        let enumerated = match schema.get("enum") {
            Some(Json::Array(members)) => Some(members.clone()),
            _ => None,
        };
        let accepts = match &enumerated {
            Some(members) => members.iter().any(|m| literal_matches(value, m)),
            None => {
                let types = strings(schema.get("type"));
                types.is_empty() || types.iter().any(|t| type_accepts(t, &actual))
            }
        };
        if !accepts {
            let expected = expected_type(schema, enumerated.as_deref());
            self.diagnostics.push(catalogue::property_type_mismatch(
                value.span,
                key,
                &expected,
                &actual.display,
            ));
            return;
        }
        match &value.kind {
            ExpressionKind::Object(_) => {
                let schema = schema.clone();
                self.object(value, &schema, document, "object", key, key_span, false)
            }
            ExpressionKind::Array(items) => {
                if let Some(item_schema) = schema.get("items").cloned() {
                    for item in items {
                        if let ArrayItem::Value(item) = item {
                            self.value(key, key_span, item, &item_schema, document);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fn unparenthesized(expression: &Expression) -> &Expression {
    match &expression.kind {
        ExpressionKind::Parenthesized(inner) => unparenthesized(inner),
        _ => expression,
    }
}

/// The type of a value known without evaluating it, named as the official compiler names it.
struct LiteralType {
    kind: &'static str,
    display: String,
}

fn literal_type(value: &Expression) -> Option<LiteralType> {
    let (kind, display) = match &value.kind {
        ExpressionKind::String(_) => match value.as_plain_string() {
            Some(text) => ("string", format!("'{}'", text.replace('\'', "\\'"))),
            None => ("string", "string".to_string()),
        },
        ExpressionKind::Integer(number) => ("integer", number.to_string()),
        ExpressionKind::Boolean(flag) => ("boolean", flag.to_string()),
        ExpressionKind::Null => ("null", "null".to_string()),
        ExpressionKind::Object(_) => ("object", "object".to_string()),
        ExpressionKind::Array(_) => ("array", "array".to_string()),
        _ => return None,
    };
    Some(LiteralType { kind, display })
}

fn type_accepts(schema_type: &str, actual: &LiteralType) -> bool {
    schema_type == actual.kind || (schema_type == "number" && actual.kind == "integer")
}

fn literal_matches(value: &Expression, member: &Json) -> bool {
    match (&value.kind, member) {
        (ExpressionKind::String(_), Json::String(allowed)) => {
            // An interpolated string may well be one of the values: it passes.
            value.as_plain_string().is_none_or(|text| &text == allowed)
        }
        (ExpressionKind::Integer(number), Json::Integer(allowed)) => number == allowed,
        (ExpressionKind::Boolean(flag), Json::Bool(allowed)) => flag == allowed,
        (ExpressionKind::Null, Json::Null) => true,
        _ => false,
    }
}

/// The schema's type as Bicep writes it: `'A' | 'B'`, `int`, `null | string` (members sorted).
fn expected_type(schema: &Json, enumerated: Option<&[Json]>) -> String {
    let mut members: Vec<String> = match enumerated {
        Some(values) => values
            .iter()
            .map(|v| match v {
                Json::String(s) => format!("'{s}'"),
                Json::Integer(i) => i.to_string(),
                Json::Bool(b) => b.to_string(),
                Json::Null => "null".to_string(),
                _ => "object".to_string(),
            })
            .collect(),
        None => strings(schema.get("type"))
            .iter()
            .map(|t| {
                match t.as_str() {
                    "integer" | "number" => "int",
                    "boolean" => "bool",
                    other => other,
                }
                .to_string()
            })
            .collect(),
    };
    members.sort();
    members.dedup();
    members.join(" | ")
}
