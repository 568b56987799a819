//! TemplateWriter: the semantic model → the ARM template, keys in the order
//! the official compiler writes them.

use super::expression_converter::{
    call, current_subscription_id, reads_as_expression, string, Arm, ExpressionConverter,
    LoopBinding, ModuleScope, DEPLOYMENTS_API_VERSION, MANAGEMENT_GROUP_TYPE,
};
use super::json_writer::Json;
use crate::binder::Symbol;
use crate::diagnostics::Reported;
use crate::semantic::{SemanticModel, TargetScope};
use crate::syntax::*;

type Written<T> = Result<T, Reported>;

/// The extensions built into the official compiler: (provider name, version) as templates
/// name them (the az version is that of the type package the snapshot we follow embeds).
pub fn builtin_extension(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "az" => Some(("AzureResourceManager", "0.2.896")),
        "kubernetes" => Some(("Kubernetes", "1.0.0")),
        _ => None,
    }
}

/// The official compiler's metadata warning for templates using experimental ARM features.
const EXPERIMENTAL_WARNING: &str = "This template uses ARM features that are experimental. Experimental features should be enabled for testing purposes only, as there are no guarantees about the quality or stability of these features. Do not enable these settings for any production usage, or your production environment may be subject to breaking.";

pub fn write_template(
    model: &SemanticModel<'_>,
) -> (Option<Json>, Vec<crate::diagnostics::PendingDiagnostic>) {
    let converter = ExpressionConverter::new(model);
    let writer = TemplateWriter {
        model,
        converter: &converter,
    };
    let template = writer.template().ok();
    let diagnostics = converter.diagnostics.into_inner();
    (template, diagnostics)
}

struct TemplateWriter<'w, 'm, 'a> {
    model: &'m SemanticModel<'a>,
    converter: &'w ExpressionConverter<'m, 'a>,
}

fn schema(scope: TargetScope) -> &'static str {
    match scope {
        TargetScope::ResourceGroup => "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        TargetScope::Subscription => "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        TargetScope::ManagementGroup => "https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#",
        TargetScope::Tenant => "https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#",
    }
}

/// A stable 64-bit FNV-1a hash of the template body, printed in decimal like the official templateHash.
fn template_hash(template: &Json) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in template.to_compact_string().bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash.to_string()
}

fn decorator<'d>(decorators: &'d [Decorator], name: &str) -> Option<&'d Decorator> {
    decorators.iter().find(|d| d.name.name == name)
}

impl<'a> TemplateWriter<'_, '_, 'a> {
    fn template(&self) -> Written<Json> {
        let mut body = Json::object();
        if self.model.symbolic_names {
            let mut definitions = Json::object();
            for declared in &self.model.bindings.types {
                let mut schema = Json::object();
                self.type_body(
                    &declared.value,
                    &mut schema,
                    discriminator_of(&declared.decorators),
                )?;
                self.apply_type_modifiers(&declared.decorators, true, &mut schema)?;
                self.imported_from(&declared.name.name, &mut schema, true);
                definitions.insert(&declared.name.name, schema);
            }
            if !matches!(&definitions, Json::Object(e) if e.is_empty()) {
                body.insert("definitions", definitions);
            }
        }
        let functions = self.functions()?;
        if !functions.is_empty() {
            // The file's own functions, then the imported ones by name. A closure's `_1.f`
            // lives in namespace `_1` as `f`; the rest in `__bicep` (namespaces in order of
            // first appearance, as the official writer groups them).
            let (own, mut imported): (Vec<_>, Vec<_>) = functions
                .into_iter()
                .partition(|(name, _)| self.model.tree.import_source(name).is_none());
            let short = |name: &str| name.rsplit('.').next().unwrap_or(name).to_lowercase();
            imported.sort_by_key(|(name, _)| short(name));
            let mut namespaces: Vec<(String, Vec<(String, Json)>)> = Vec::new();
            for (name, member) in own.into_iter().chain(imported) {
                let (namespace, member_name) = match name.split_once('.') {
                    Some((namespace, member_name)) => {
                        (namespace.to_string(), member_name.to_string())
                    }
                    None => ("__bicep".to_string(), name),
                };
                match namespaces.iter_mut().find(|(n, _)| *n == namespace) {
                    Some((_, members)) => members.push((member_name, member)),
                    None => namespaces.push((namespace, vec![(member_name, member)])),
                }
            }
            let namespaces = namespaces
                .into_iter()
                .map(|(name, members)| {
                    let mut namespace = Json::object();
                    namespace.insert("namespace", Json::String(name));
                    namespace.insert("members", Json::Object(members));
                    namespace
                })
                .collect();
            body.insert("functions", Json::Array(namespaces));
        }
        let parameters = self.parameters()?;
        if !matches!(&parameters, Json::Object(e) if e.is_empty()) {
            body.insert("parameters", parameters);
        }
        let variables = self.variables()?;
        if !matches!(&variables, Json::Object(e) if e.is_empty()) {
            body.insert("variables", variables);
        }
        let imports = self.extension_imports()?;
        if !matches!(&imports, Json::Object(e) if e.is_empty()) {
            body.insert("imports", imports);
        }
        let resources = self.resources()?;
        if self.model.symbolic_names {
            // languageVersion 2.0: an object keyed by each declaration's symbolic name.
            body.insert("resources", Json::Object(resources));
        } else {
            body.insert(
                "resources",
                Json::Array(resources.into_iter().map(|(_, r)| r).collect()),
            );
        }
        let outputs = self.outputs()?;
        if !matches!(&outputs, Json::Object(e) if e.is_empty()) {
            body.insert("outputs", outputs);
        }
        let mut asserts = Json::object();
        for declaration in &self.model.tree.declarations {
            if let Declaration::Assert { name, value, .. } = declaration {
                asserts.insert(&name.name, self.converter.to_json(value)?);
            }
        }
        if !matches!(&asserts, Json::Object(e) if e.is_empty()) {
            body.insert("asserts", asserts);
        }
        let hash = template_hash(&body);

        let mut template = Json::object();
        template.insert(
            "$schema",
            Json::String(schema(self.model.target_scope).into()),
        );
        let experimental = !self.model.experimental_features.is_empty();
        if experimental {
            template.insert("languageVersion", Json::String("2.1-experimental".into()));
        } else if self.model.symbolic_names {
            template.insert("languageVersion", Json::String("2.0".into()));
        }
        template.insert("contentVersion", Json::String("1.0.0.0".into()));
        let mut generator = Json::object();
        generator.insert("name", Json::String("bicep".into()));
        generator.insert("version", Json::String(crate::VERSION.into()));
        generator.insert("templateHash", Json::String(hash));
        let mut metadata = Json::object();
        if experimental {
            metadata.insert(
                "_EXPERIMENTAL_WARNING",
                Json::String(EXPERIMENTAL_WARNING.into()),
            );
            metadata.insert(
                "_EXPERIMENTAL_FEATURES_ENABLED",
                Json::Array(
                    self.model
                        .experimental_features
                        .iter()
                        .map(|f| Json::String((*f).into()))
                        .collect(),
                ),
            );
        }
        metadata.insert("_generator", generator);
        let exported = self.exported_variables()?;
        if !exported.is_empty() {
            metadata.insert("__bicep_exported_variables!", Json::Array(exported));
        }
        for declaration in &self.model.tree.declarations {
            if let Declaration::Metadata(item) = declaration {
                metadata.insert(&item.name.name, self.converter.to_json(&item.value)?);
            }
        }
        template.insert("metadata", metadata);
        if let Json::Object(entries) = body {
            for (key, value) in entries {
                template.insert(&key, value);
            }
        }
        Ok(template)
    }

    /// `@export()`ed variables of this file, sorted by name (ordinally, as the official
    /// compiler's export table is): name, description, then the declared type if any, so an
    /// importer of the compiled JSON can see them.
    fn exported_variables(&self) -> Written<Vec<Json>> {
        let mut exported: Vec<&VariableDeclaration> = self
            .model
            .bindings
            .variables
            .iter()
            .copied()
            .filter(|v| decorator(&v.decorators, "export").is_some())
            .filter(|v| self.model.tree.import_source(&v.name.name).is_none())
            .collect();
        exported.sort_by(|a, b| a.name.name.cmp(&b.name.name));
        let mut entries = Vec::new();
        for variable in exported {
            let mut entry = Json::object();
            entry.insert("name", Json::String(variable.name.name.clone()));
            if let Some(description) =
                decorator(&variable.decorators, "description").and_then(|d| d.arguments.first())
            {
                entry.insert("description", self.converter.to_json(description)?);
            }
            if let Some(declared) = &variable.type_expression {
                entry.insert("type", self.type_schema(declared, &[])?);
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    fn type_name(type_expression: &TypeExpression) -> (&'static str, Option<&[Expression]>) {
        match type_expression {
            TypeExpression::Named(identifier) => (
                match identifier.name.as_str() {
                    "int" => "int",
                    "bool" => "bool",
                    "object" => "object",
                    "array" => "array",
                    _ => "string",
                },
                None,
            ),
            TypeExpression::SysNamed(identifier) => (
                match identifier.name.as_str() {
                    "int" => "int",
                    "bool" => "bool",
                    "object" => "object",
                    "array" => "array",
                    _ => "string",
                },
                None,
            ),
            TypeExpression::ArrayOf(..) | TypeExpression::Tuple(..) => ("array", None),
            TypeExpression::Nullable(inner, _) | TypeExpression::NonNullable(inner, _) => {
                Self::type_name(inner)
            }
            TypeExpression::Union(..)
            | TypeExpression::Schema(..)
            | TypeExpression::Access(..)
            | TypeExpression::ResourceDerived { .. } => ("object", None),
            TypeExpression::LiteralUnion(literals, _) => (
                match literals.first().map(|l| &l.kind) {
                    Some(ExpressionKind::Integer(_)) => "int",
                    Some(ExpressionKind::Boolean(_)) => "bool",
                    _ => "string",
                },
                Some(literals),
            ),
            TypeExpression::Object(..) | TypeExpression::Unsupported(_) => ("object", None),
        }
    }

    /// A languageVersion 2.0 type schema: what the type itself writes (`type`, `$ref`,
    /// `allowedValues`, `items`, `properties`, `discriminator`, `nullable`...), then what its
    /// decorators add, in the official compiler's order (ApplyTypeModifiers).
    fn type_schema(
        &self,
        type_expression: &TypeExpression,
        decorators: &[Decorator],
    ) -> Written<Json> {
        let mut schema = Json::object();
        self.type_body(type_expression, &mut schema, discriminator_of(decorators))?;
        self.apply_type_modifiers(decorators, false, &mut schema)?;
        Ok(schema)
    }

    /// @secure (the type renamed in place), @sealed, @export (types only), @metadata, the
    /// bounds in a fixed order, then @description merged into metadata.
    fn apply_type_modifiers(
        &self,
        decorators: &[Decorator],
        exported_type: bool,
        schema: &mut Json,
    ) -> Written<()> {
        if decorator(decorators, "secure").is_some() {
            let secure = match schema.get("type") {
                Some(Json::String(t)) if t == "object" => Some("secureObject"),
                Some(Json::String(t)) if t == "string" => Some("securestring"),
                _ => None,
            };
            if let Some(secure) = secure {
                schema.insert("type", Json::String(secure.into()));
            }
        }
        if decorator(decorators, "sealed").is_some() {
            schema.insert("additionalProperties", Json::Bool(false));
        }
        if exported_type && decorator(decorators, "export").is_some() {
            merge_metadata(schema, "__bicep_export!", Json::Bool(true));
        }
        if let Some(argument) = decorator(decorators, "metadata").and_then(|d| d.arguments.first())
        {
            match self.converter.to_json(argument)? {
                Json::Object(entries) => {
                    if schema.get("metadata").is_none() {
                        schema.insert("metadata", Json::object());
                    }
                    for (key, value) in entries {
                        merge_metadata(schema, &key, value);
                    }
                }
                other => schema.insert("metadata", other),
            }
        }
        for bound in ["minLength", "maxLength", "minValue", "maxValue"] {
            if let Some(argument) = decorator(decorators, bound).and_then(|d| d.arguments.first()) {
                schema.insert(bound, self.converter.to_json(argument)?);
            }
        }
        if let Some(argument) =
            decorator(decorators, "description").and_then(|d| d.arguments.first())
        {
            let description = self.converter.to_json(argument)?;
            merge_metadata(schema, "description", description);
        }
        Ok(())
    }

    fn declared_type(&self, name: &str) -> Option<&'a TypeDeclaration> {
        self.model
            .bindings
            .types
            .iter()
            .copied()
            .find(|t| t.name.name == name)
    }

    fn type_body(
        &self,
        type_expression: &TypeExpression,
        schema: &mut Json,
        discriminator: Option<&str>,
    ) -> Written<()> {
        if is_any(type_expression) {
            // `any` constrains nothing: the official compiler writes no type at all.
            return Ok(());
        }
        match type_expression {
            TypeExpression::Named(identifier) if self.declared_type(&identifier.name).is_some() => {
                schema.insert(
                    "$ref",
                    Json::String(format!(
                        "#/definitions/{}",
                        pointer_encode(&identifier.name)
                    )),
                );
            }
            TypeExpression::Named(_) | TypeExpression::SysNamed(_) => {
                schema.insert(
                    "type",
                    Json::String(Self::type_name(type_expression).0.into()),
                );
            }
            TypeExpression::ArrayOf(inner, _) => {
                schema.insert("type", Json::String("array".into()));
                match self.direct_allowed_values(inner)? {
                    Some(values) => schema.insert("allowedValues", Json::Array(values)),
                    None => schema.insert("items", self.type_schema(inner, &[])?),
                }
            }
            TypeExpression::Nullable(inner, _) => {
                self.type_body(inner, schema, discriminator)?;
                schema.insert("nullable", Json::Bool(true));
            }
            TypeExpression::NonNullable(inner, _) => {
                self.type_body(inner, schema, discriminator)?;
                schema.insert("nullable", Json::Bool(false));
            }
            TypeExpression::Union(members, span) if discriminator.is_some() => {
                let property = discriminator.unwrap_or_default();
                schema.insert("type", Json::String("object".into()));
                let mut mapping = Json::object();
                let mut seen = Vec::new();
                self.mapping_entries(members, property, *span, &mut mapping, &mut seen)?;
                let mut written = Json::object();
                written.insert("propertyName", Json::String(property.into()));
                written.insert("mapping", mapping);
                schema.insert("discriminator", written);
            }
            TypeExpression::LiteralUnion(_, span) | TypeExpression::Union(_, span) => {
                if discriminator.is_some() {
                    self.converter.report(
                        crate::diagnostics::catalogue::discriminator_needs_object_union(*span),
                    );
                    return Err(Reported);
                }
                let Some(values) = self.literal_values(type_expression, 0)? else {
                    self.converter
                        .report(crate::diagnostics::catalogue::type_union_not_reducible(
                            *span,
                        ));
                    return Err(Reported);
                };
                let mut values = normalized_union(values);
                let nullable = values.len() > 1 && values.iter().any(|v| matches!(v, Json::Null));
                if nullable {
                    values.retain(|v| !matches!(v, Json::Null));
                }
                if let Some(name) = values.first().and_then(json_type_name) {
                    schema.insert("type", Json::String(name.into()));
                }
                schema.insert("allowedValues", Json::Array(values));
                if nullable {
                    schema.insert("nullable", Json::Bool(true));
                }
            }
            TypeExpression::Object(properties, _) => {
                schema.insert("type", Json::String("object".into()));
                let mut written = Json::object();
                let mut additional = None;
                for property in &properties[..] {
                    let mut value = Json::object();
                    self.type_body(
                        &property.value,
                        &mut value,
                        discriminator_of(&property.decorators),
                    )?;
                    if property.optional {
                        value.insert("nullable", Json::Bool(true));
                    }
                    self.apply_type_modifiers(&property.decorators, false, &mut value)?;
                    if property.name.name == "*" {
                        additional = Some(value);
                    } else {
                        written.insert(&property.name.name, value);
                    }
                }
                schema.insert("properties", written);
                if let Some(additional) = additional {
                    schema.insert("additionalProperties", additional);
                }
            }
            TypeExpression::Tuple(items, _) => {
                schema.insert("type", Json::String("array".into()));
                let mut prefix = Vec::new();
                for item in items {
                    prefix.push(self.type_schema(&item.value, &item.decorators)?);
                }
                schema.insert("prefixItems", Json::Array(prefix));
                schema.insert("items", Json::Bool(false));
            }
            TypeExpression::Access(..) | TypeExpression::ResourceDerived { .. } => {
                match self.resolve_type(type_expression, 0)? {
                    ResolvedType::Internal(pointer, _) => {
                        schema.insert("$ref", Json::String(internal_pointer(&pointer)));
                    }
                    ResolvedType::Derived(derived) => self.derived_type_body(&derived, schema)?,
                }
            }
            TypeExpression::Schema(text, _) => {
                if let Some(Json::Object(entries)) = super::json_writer::parse_json(text) {
                    for (key, value) in entries {
                        schema.insert(&key, value);
                    }
                }
            }
            // Refused by the type checker.
            TypeExpression::Unsupported(_) => return Err(Reported),
        }
        Ok(())
    }

    fn derived_type_body(&self, derived: &DerivedType, schema: &mut Json) -> Written<()> {
        let Some(type_name) =
            super::resource_derived::type_name(&derived.resource, &derived.pointer)
        else {
            self.converter
                .report(crate::diagnostics::catalogue::unsupported_construct(
                    derived.span,
                    &format!(
                        "The type of '{}' in resource type '{}' (not in this compiler's resource type catalogue)",
                        derived.pointer.join("/"),
                        derived.resource
                    ),
                ));
            return Err(Reported);
        };
        if let Some(type_name) = type_name {
            schema.insert("type", Json::String(type_name.into()));
        }
        let mut source = derived.resource.clone();
        if !derived.pointer.is_empty() {
            source.push('#');
            source.push_str(
                &derived
                    .pointer
                    .iter()
                    .map(|s| pointer_encode(s))
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
        let mut value = Json::object();
        value.insert("source", Json::String(source));
        if derived.output {
            value.insert("output", Json::Bool(true));
        }
        merge_metadata(schema, "__bicep_resource_derived_type!", value);
        Ok(())
    }

    /// Where a reference to a type leads: a JSON pointer into this template's definitions
    /// (with the declaration found there), or a part of a resource body.
    fn resolve_type(
        &self,
        type_expression: &TypeExpression,
        depth: usize,
    ) -> Written<ResolvedType<'a>> {
        use crate::diagnostics::catalogue;
        let fail = |diagnostic| -> Written<ResolvedType<'a>> {
            self.converter.report(diagnostic);
            Err(Reported)
        };
        if depth > 64 {
            return fail(catalogue::type_access_needs_named_base(
                type_expression.span(),
            ));
        }
        match type_expression {
            TypeExpression::Named(identifier) => match self.declared_type(&identifier.name) {
                Some(declared) => Ok(ResolvedType::Internal(
                    vec!["definitions".into(), identifier.name.clone()],
                    &declared.value,
                )),
                None => fail(catalogue::type_access_needs_named_base(identifier.span)),
            },
            TypeExpression::ResourceDerived {
                output,
                reference,
                span,
            } => {
                let resource = reference.strip_prefix("az:").unwrap_or(reference);
                let valid = resource
                    .split_once('@')
                    .is_some_and(|(t, v)| t.contains('/') && !v.is_empty());
                if !valid {
                    return fail(catalogue::invalid_resource_type(*span));
                }
                Ok(ResolvedType::Derived(DerivedType {
                    resource: resource.to_string(),
                    output: *output,
                    pointer: Vec::new(),
                    span: *span,
                }))
            }
            TypeExpression::Access(base, access, span) => {
                let base_resolved = self.resolve_type(base, depth + 1)?;
                let wanted: fn(&TypeExpression) -> bool = match access {
                    TypeAccess::Property(_) | TypeAccess::AdditionalProperties => {
                        |t| matches!(t, TypeExpression::Object(..))
                    }
                    TypeAccess::Index(_) => |t| matches!(t, TypeExpression::Tuple(..)),
                    TypeAccess::Items => |t| matches!(t, TypeExpression::ArrayOf(..)),
                };
                let traced = self.trace_type(base_resolved, wanted, *span, depth)?;
                let segments: Vec<String> = match access {
                    TypeAccess::Property(name) => vec!["properties".into(), name.clone()],
                    TypeAccess::AdditionalProperties => vec!["additionalProperties".into()],
                    TypeAccess::Index(index) => vec!["prefixItems".into(), index.to_string()],
                    TypeAccess::Items => vec!["items".into()],
                };
                match traced {
                    ResolvedType::Derived(mut derived) => {
                        derived.pointer.extend(segments);
                        derived.span = *span;
                        Ok(ResolvedType::Derived(derived))
                    }
                    ResolvedType::Internal(mut pointer, declaration) => {
                        let described = describe_type(declaration);
                        let found: Option<(&'a TypeExpression, Option<String>)> =
                            match (access, declaration) {
                                (
                                    TypeAccess::Property(name),
                                    TypeExpression::Object(properties, _),
                                ) => properties
                                    .iter()
                                    .find(|p| {
                                        p.name.name != "*" && p.name.name.eq_ignore_ascii_case(name)
                                    })
                                    .map(|p| (&p.value, Some(p.name.name.clone()))),
                                (
                                    TypeAccess::AdditionalProperties,
                                    TypeExpression::Object(properties, _),
                                ) => properties
                                    .iter()
                                    .find(|p| p.name.name == "*")
                                    .map(|p| (&p.value, None)),
                                (TypeAccess::Index(index), TypeExpression::Tuple(items, _)) => {
                                    usize::try_from(*index)
                                        .ok()
                                        .and_then(|i| items.get(i))
                                        .map(|item| (&item.value, None))
                                }
                                (TypeAccess::Items, TypeExpression::ArrayOf(inner, _)) => {
                                    Some((&**inner, None))
                                }
                                _ => None,
                            };
                        let Some((found, declared_name)) = found else {
                            return fail(match access {
                                TypeAccess::Property(name) => {
                                    catalogue::type_property_unknown(*span, &described, name)
                                }
                                TypeAccess::AdditionalProperties => {
                                    catalogue::type_has_no_additional_properties(*span, &described)
                                }
                                TypeAccess::Index(_) => {
                                    catalogue::type_index_needs_tuple(*span, &described)
                                }
                                TypeAccess::Items => catalogue::type_items_need_typed_array(*span),
                            });
                        };
                        let mut segments = segments;
                        if let Some(name) = declared_name {
                            segments[1] = name;
                        }
                        pointer.extend(segments);
                        Ok(ResolvedType::Internal(pointer, found))
                    }
                }
            }
            other => fail(catalogue::type_access_needs_named_base(other.span())),
        }
    }

    /// Follows references until the declaration is of the kind an access needs.
    fn trace_type(
        &self,
        mut resolved: ResolvedType<'a>,
        wanted: fn(&TypeExpression) -> bool,
        span: crate::text::Span,
        depth: usize,
    ) -> Written<ResolvedType<'a>> {
        for _ in 0..64 {
            match resolved {
                ResolvedType::Internal(_, declaration) if wanted(declaration) => {
                    return Ok(resolved)
                }
                ResolvedType::Internal(
                    _,
                    declaration @ (TypeExpression::Named(_) | TypeExpression::Access(..)),
                ) => resolved = self.resolve_type(declaration, depth + 1)?,
                ResolvedType::Internal(..) | ResolvedType::Derived(_) => return Ok(resolved),
            }
        }
        self.converter
            .report(crate::diagnostics::catalogue::type_access_needs_named_base(
                span,
            ));
        Err(Reported)
    }

    /// The values of a literal type or a union of them (resolving named types), or None
    /// when some member is not a literal.
    fn literal_values(
        &self,
        type_expression: &TypeExpression,
        depth: usize,
    ) -> Written<Option<Vec<Json>>> {
        if depth > 64 {
            return Ok(None);
        }
        Ok(match type_expression {
            TypeExpression::LiteralUnion(literals, _) => {
                let mut values = Vec::new();
                for literal in literals {
                    values.push(self.converter.to_json(literal)?);
                }
                Some(values)
            }
            TypeExpression::Union(members, _) => {
                let mut values = Vec::new();
                for member in members {
                    match self.literal_values(member, depth + 1)? {
                        Some(more) => values.extend(more),
                        None => return Ok(None),
                    }
                }
                Some(values)
            }
            TypeExpression::Nullable(inner, _) => {
                self.literal_values(inner, depth + 1)?.map(|mut v| {
                    v.push(Json::Null);
                    v
                })
            }
            TypeExpression::Named(identifier) => match self.declared_type(&identifier.name) {
                Some(declared) => self.literal_values(&declared.value, depth + 1)?,
                None => None,
            },
            TypeExpression::Object(properties, _) => {
                let mut object = Json::object();
                for property in properties {
                    if property.optional || property.name.name == "*" {
                        return Ok(None);
                    }
                    match self.single_literal(&property.value, depth)? {
                        Some(value) => object.insert(&property.name.name, value),
                        None => return Ok(None),
                    }
                }
                Some(vec![object])
            }
            TypeExpression::Tuple(items, _) => {
                let mut array = Vec::new();
                for item in items {
                    match self.single_literal(&item.value, depth)? {
                        Some(value) => array.push(value),
                        None => return Ok(None),
                    }
                }
                Some(vec![Json::Array(array)])
            }
            _ => None,
        })
    }

    fn single_literal(
        &self,
        type_expression: &TypeExpression,
        depth: usize,
    ) -> Written<Option<Json>> {
        Ok(match self.literal_values(type_expression, depth + 1)? {
            Some(values)
                if values.len() == 1 && !matches!(type_expression, TypeExpression::Union(..)) =>
            {
                values.into_iter().next()
            }
            _ => None,
        })
    }

    /// An array of literals lists them as the array's allowedValues instead of an items type
    /// (only for literals written in place, not through a named type).
    fn direct_allowed_values(&self, inner: &TypeExpression) -> Written<Option<Vec<Json>>> {
        Ok(match inner {
            TypeExpression::LiteralUnion(..)
            | TypeExpression::Union(..)
            | TypeExpression::Object(..)
            | TypeExpression::Tuple(..) => self.literal_values(inner, 0)?.map(normalized_union),
            _ => None,
        })
    }

    /// The members of a tagged union, keyed by their discriminator value, in member order
    /// (a member that is itself a union contributes its members).
    fn mapping_entries(
        &self,
        members: &[TypeExpression],
        property: &str,
        span: crate::text::Span,
        mapping: &mut Json,
        seen: &mut Vec<String>,
    ) -> Written<()> {
        use crate::diagnostics::catalogue;
        for member in members {
            let (value, entry) = match member {
                TypeExpression::Object(properties, member_span) => {
                    let value = self.discriminator_value(properties, property, *member_span)?;
                    let mut entry = Json::object();
                    self.type_body(member, &mut entry, None)?;
                    (value, entry)
                }
                TypeExpression::Union(inner, inner_span) => {
                    self.mapping_entries(inner, property, *inner_span, mapping, seen)?;
                    continue;
                }
                TypeExpression::Named(_) | TypeExpression::Access(..) => {
                    match self.resolve_type(member, 0)? {
                        ResolvedType::Internal(pointer, declaration) => {
                            let mut declaration = declaration;
                            for _ in 0..64 {
                                match declaration {
                                    TypeExpression::Named(_) | TypeExpression::Access(..) => {
                                        match self.resolve_type(declaration, 1)? {
                                            ResolvedType::Internal(_, next) => declaration = next,
                                            ResolvedType::Derived(_) => break,
                                        }
                                    }
                                    _ => break,
                                }
                            }
                            match declaration {
                                TypeExpression::Object(properties, _) => {
                                    let value = self.discriminator_value(
                                        properties,
                                        property,
                                        member.span(),
                                    )?;
                                    let mut entry = Json::object();
                                    entry.insert("$ref", Json::String(internal_pointer(&pointer)));
                                    (value, entry)
                                }
                                TypeExpression::Union(inner, _) => {
                                    self.mapping_entries(
                                        inner,
                                        property,
                                        member.span(),
                                        mapping,
                                        seen,
                                    )?;
                                    continue;
                                }
                                _ => {
                                    self.converter.report(
                                        catalogue::discriminator_needs_object_union(member.span()),
                                    );
                                    return Err(Reported);
                                }
                            }
                        }
                        ResolvedType::Derived(derived) => {
                            self.converter.report(catalogue::unsupported_construct(
                                derived.span,
                                "A resource-derived object type as a member of a tagged union",
                            ));
                            return Err(Reported);
                        }
                    }
                }
                _ => {
                    self.converter
                        .report(catalogue::discriminator_needs_object_union(span));
                    return Err(Reported);
                }
            };
            if seen.contains(&value) {
                self.converter
                    .report(catalogue::discriminator_value_duplicated(
                        member.span(),
                        property,
                        &value,
                    ));
                return Err(Reported);
            }
            seen.push(value.clone());
            mapping.insert(&value, entry);
        }
        Ok(())
    }

    /// A tagged union member's value of the discriminator property: a required string literal.
    fn discriminator_value(
        &self,
        properties: &[ObjectTypeProperty],
        property: &str,
        span: crate::text::Span,
    ) -> Written<String> {
        let found = properties
            .iter()
            .find(|p| p.name.name == property && !p.optional);
        if let Some(TypeExpression::LiteralUnion(literals, _)) = found.map(|p| &p.value) {
            if let [literal] = &literals[..] {
                if let Some(text) = literal.as_plain_string() {
                    return Ok(text);
                }
            }
        }
        self.converter.report(
            crate::diagnostics::catalogue::discriminator_property_not_literal(span, property),
        );
        Err(Reported)
    }

    fn secure_type(type_name: &str) -> &'static str {
        if type_name == "object" {
            "secureObject"
        } else {
            "securestring"
        }
    }

    fn description_metadata(&self, decorators: &[Decorator]) -> Written<Option<Json>> {
        let mut metadata = Json::object();
        if let Some(metadata_decorator) = decorator(decorators, "metadata") {
            if let Some(argument) = metadata_decorator.arguments.first() {
                if let Json::Object(entries) = self.converter.to_json(argument)? {
                    for (key, value) in entries {
                        metadata.insert(&key, value);
                    }
                }
            }
        }
        if let Some(description) = decorator(decorators, "description") {
            if let Some(argument) = description.arguments.first() {
                let value = self.converter.to_json(argument)?;
                if let Json::Object(entries) = &mut metadata {
                    entries.retain(|(k, _)| k != "description");
                    entries.insert(0, ("description".into(), value));
                }
            }
        }
        // `@metadata({})` still writes an empty metadata object, as the official compiler does.
        let declared = decorator(decorators, "metadata").is_some();
        Ok(match &metadata {
            Json::Object(entries) if entries.is_empty() && !declared => None,
            _ => Some(metadata),
        })
    }

    /// User-defined functions: typed parameters (type, then name), the output's type
    /// and value, then metadata (description, exported), as the official compiler writes them.
    fn functions(&self) -> Written<Vec<(String, Json)>> {
        let mut members = Vec::new();
        for function in &self.model.bindings.functions {
            let mut member = Json::object();
            let mut parameters = Vec::new();
            for parameter in &function.parameters {
                let mut entry = self.type_schema(&parameter.type_expression, &[])?;
                entry.insert("name", Json::String(parameter.name.name.clone()));
                parameters.push(entry);
            }
            member.insert("parameters", Json::Array(parameters));
            let mut output = self.type_schema(&function.return_type, &[])?;
            output.insert("value", self.converter.to_json(&function.body)?);
            member.insert("output", output);
            let mut metadata = Json::object();
            if let Some(argument) =
                decorator(&function.decorators, "description").and_then(|d| d.arguments.first())
            {
                metadata.insert("description", self.converter.to_json(argument)?);
            }
            if decorator(&function.decorators, "export").is_some() {
                metadata.insert("__bicep_export!", Json::Bool(true));
            }
            self.imported_from(&function.name.name, &mut member, false);
            if let Some(Json::Object(entries)) = member.get("metadata").cloned() {
                for (key, value) in entries {
                    metadata.insert(&key, value);
                }
                if let Json::Object(entries) = &mut member {
                    entries.retain(|(k, _)| k != "metadata");
                }
            }
            if !matches!(&metadata, Json::Object(e) if e.is_empty()) {
                member.insert("metadata", metadata);
            }
            members.push((function.name.name.clone(), member));
        }
        Ok(members)
    }

    /// An imported type or function says where it came from: metadata.__bicep_imported_from!.
    /// (A type's original name is written unless its name here ends with it, as `_1.t` does;
    /// a function's whenever the names differ.)
    fn imported_from(&self, name: &str, schema: &mut Json, is_type: bool) {
        let Some(source) = self.model.tree.import_source(name) else {
            return;
        };
        let mut origin = Json::object();
        origin.insert("sourceTemplate", Json::String(source.to_string()));
        if let Some(original) = self
            .model
            .tree
            .original_name(name)
            .filter(|original| !(is_type && name.ends_with(original)))
        {
            origin.insert("originalIdentifier", Json::String(original.to_string()));
        }
        match schema.get_mut("metadata") {
            Some(metadata) => metadata.insert("__bicep_imported_from!", origin),
            None => {
                let mut metadata = Json::object();
                metadata.insert("__bicep_imported_from!", origin);
                schema.insert("metadata", metadata);
            }
        }
    }

    fn parameters(&self) -> Written<Json> {
        let mut parameters = Json::object();
        for parameter in &self.model.bindings.parameters {
            if self.model.symbolic_names {
                parameters.insert(&parameter.name.name, self.symbolic_parameter(parameter)?);
                continue;
            }
            let mut entry = Json::object();
            let (type_name, literal_union) = Self::type_name(&parameter.type_expression);
            let secure = decorator(&parameter.decorators, "secure").is_some();
            let type_name = if secure {
                Self::secure_type(type_name)
            } else {
                type_name
            };
            if !is_any(&parameter.type_expression) {
                entry.insert("type", Json::String(type_name.into()));
            }
            if let Some(default) = &parameter.default_value {
                entry.insert("defaultValue", self.converter.to_json(default)?);
            }
            if let Some(allowed) = decorator(&parameter.decorators, "allowed") {
                if let Some(argument) = allowed.arguments.first() {
                    entry.insert("allowedValues", self.converter.to_json(argument)?);
                }
            } else if let Some(literals) = literal_union {
                let mut values = Vec::new();
                for literal in literals {
                    values.push(self.converter.to_json(literal)?);
                }
                entry.insert("allowedValues", Json::Array(values));
            }
            if let TypeExpression::Nullable(..) = parameter.type_expression {
                entry.insert("nullable", Json::Bool(true));
            }
            if let Some(metadata) = self.description_metadata(&parameter.decorators)? {
                entry.insert("metadata", metadata);
            }
            // The official compiler writes the length and value bounds in this order (TemplateWriter).
            for bound in ["minLength", "maxLength", "minValue", "maxValue"] {
                if let Some(found) = decorator(&parameter.decorators, bound) {
                    if let Some(argument) = found.arguments.first() {
                        entry.insert(bound, self.converter.to_json(argument)?);
                    }
                }
            }
            parameters.insert(&parameter.name.name, entry);
        }
        Ok(parameters)
    }

    /// A languageVersion 2.0 parameter: its type schema, the default, then @allowed and
    /// what the other decorators add.
    fn symbolic_parameter(&self, parameter: &ParameterDeclaration) -> Written<Json> {
        let mut entry = Json::object();
        self.type_body(
            &parameter.type_expression,
            &mut entry,
            discriminator_of(&parameter.decorators),
        )?;
        if let Some(default) = &parameter.default_value {
            entry.insert("defaultValue", self.converter.to_json(default)?);
        }
        if let Some(allowed) = decorator(&parameter.decorators, "allowed") {
            if let Some(argument) = allowed.arguments.first() {
                entry.insert("allowedValues", self.converter.to_json(argument)?);
            }
        }
        self.apply_type_modifiers(&parameter.decorators, false, &mut entry)?;
        Ok(entry)
    }

    fn variables(&self) -> Written<Json> {
        let mut variables = Json::object();
        let mut copies = Vec::new();
        // Hoisted load-function values first, ordered by name ($fxv#10 before $fxv#2).
        let mut hoisted: Vec<(&String, &usize)> = self
            .converter
            .function_variables
            .iter()
            .map(|(start, name)| (name, start))
            .collect();
        hoisted.sort_by_key(|(name, _)| name.to_lowercase());
        for (name, start) in hoisted {
            if let Some(call) = self.load_call_at(*start) {
                variables.insert(name, self.converter.load_value(call)?);
            }
        }
        for (index, variable) in self.model.bindings.variables.iter().enumerate() {
            if self.model.inlined_variables[index] {
                continue;
            }
            if let ExpressionKind::ArmCopyLoop { count, input } = &variable.value.kind {
                // An imported ARM copy variable reads as a loop over range(0, count).
                let mut copy = Json::object();
                copy.insert("name", Json::String(variable.name.name.clone()));
                copy.insert(
                    "count",
                    Json::String(format!("[length(range(0, {count}))]")),
                );
                copy.insert(
                    "input",
                    super::json_writer::parse_json(input).unwrap_or(Json::Null),
                );
                copies.push(copy);
                continue;
            }
            if let ExpressionKind::For(for_expression) = &variable.value.kind {
                let name = &variable.name.name;
                let collection = self.converter.convert(&for_expression.collection)?;
                let copy_index = call("copyIndex", vec![string(name)]);
                // The parser gives only resource and module loops a filter (BCP100 elsewhere).
                debug_assert!(for_expression.filter.is_none());
                let binding = LoopBinding {
                    item: Arm::Index(Box::new(collection.clone()), Box::new(copy_index.clone())),
                    index: copy_index,
                };
                let input = self
                    .converter
                    .with_loop(variable.value.span.start, binding, || {
                        self.converter.copy_input(&for_expression.body)
                    })?;
                let mut copy = Json::object();
                copy.insert("name", Json::String(name.clone()));
                copy.insert("count", call("length", vec![collection]).to_json());
                copy.insert("input", input);
                copies.push(copy);
                continue;
            }
            variables.insert(
                &variable.name.name,
                self.converter.to_json(&variable.value)?,
            );
        }
        if !copies.is_empty() {
            if let Json::Object(entries) = &mut variables {
                entries.insert(0, ("copy".into(), Json::Array(copies)));
            }
        }
        Ok(variables)
    }

    /// `imports`: each extension the file declares, as the official compiler writes them
    /// without the experimental moduleExtensionConfigs (provider, version, config).
    fn extension_imports(&self) -> Written<Json> {
        let mut imports = Json::object();
        for declaration in &self.model.tree.declarations {
            let Declaration::Extension(extension) = declaration else {
                continue;
            };
            let Some((provider, version)) = builtin_extension(&extension.specifier.name) else {
                continue;
            };
            let mut entry = Json::object();
            entry.insert("provider", Json::String(provider.into()));
            entry.insert("version", Json::String(version.into()));
            if let Some(config) = &extension.config {
                entry.insert("config", self.converter.to_json(config)?);
            }
            imports.insert(extension.name(), entry);
        }
        Ok(imports)
    }

    /// A resource of a non-Azure extension (Kubernetes): `type` is `group/Kind@version` and
    /// the body goes under `properties`.
    fn extension_resource(&self, index: usize, mut entry: Json) -> Written<Json> {
        let info = &self.model.resources[index];
        let type_name = if info.api_version.is_empty() {
            info.full_type.clone()
        } else {
            format!("{}@{}", info.full_type, info.api_version)
        };
        entry.insert("type", Json::String(type_name));
        let mut properties = Json::object();
        if let Some(ExpressionKind::Object(items)) = info.body.map(|b| &b.kind) {
            for item in items {
                let ObjectItem::Property(property) = item else {
                    continue;
                };
                let key = self.converter.property_key(&property.key)?;
                if key == "dependsOn" {
                    continue;
                }
                properties.insert(&key, self.converter.to_json(&property.value)?);
            }
        }
        entry.insert("properties", properties);
        if let Some(body) = info.body {
            let dependencies =
                self.dependencies(body, Some(Symbol::Resource(index)), info.parent)?;
            if !dependencies.is_empty() {
                entry.insert("dependsOn", Json::Array(dependencies));
            }
        }
        if let Some(metadata) = self.description_metadata(&info.declaration.decorators)? {
            if let Some(description) = metadata.get("description") {
                let mut only = Json::object();
                only.insert("description", description.clone());
                entry.insert("metadata", only);
            }
        }
        Ok(entry)
    }

    /// The load-function call starting at `start` in this file's declarations.
    fn load_call_at(&self, start: usize) -> Option<&'a Expression> {
        let mut found = None;
        let mut look = |expression: &'a Expression| {
            crate::semantic::visit_all(expression, &mut |e| {
                if e.span.start == start && matches!(e.kind, ExpressionKind::Call { .. }) {
                    found = Some(e);
                }
            });
        };
        for declaration in &self.model.tree.declarations {
            match declaration {
                Declaration::Parameter(p) => {
                    p.decorators
                        .iter()
                        .flat_map(|d| &d.arguments)
                        .for_each(&mut look);
                    p.default_value.iter().for_each(&mut look);
                }
                Declaration::Variable(v) => {
                    v.decorators
                        .iter()
                        .flat_map(|d| &d.arguments)
                        .for_each(&mut look);
                    look(&v.value);
                }
                Declaration::Resource(r) => {
                    r.decorators
                        .iter()
                        .flat_map(|d| &d.arguments)
                        .for_each(&mut look);
                    look(&r.value);
                }
                Declaration::Module(m) => {
                    m.decorators
                        .iter()
                        .flat_map(|d| &d.arguments)
                        .for_each(&mut look);
                    look(&m.value);
                }
                Declaration::Output(o) => {
                    o.decorators
                        .iter()
                        .flat_map(|d| &d.arguments)
                        .for_each(&mut look);
                    look(&o.value);
                }
                Declaration::Metadata(m) => look(&m.value),
                Declaration::TargetScope(value, _) => look(value),
                Declaration::Assert { value, .. } => look(value),
                _ => {}
            }
        }
        found
    }

    fn copy_block(&self, name: &str, collection: &Arm, decorators: &[Decorator]) -> Written<Json> {
        let mut copy = Json::object();
        copy.insert("name", Json::String(name.into()));
        copy.insert("count", call("length", vec![collection.clone()]).to_json());
        if let Some(batch) = decorator(decorators, "batchSize") {
            copy.insert("mode", Json::String("serial".into()));
            if let Some(argument) = batch.arguments.first() {
                copy.insert("batchSize", self.converter.to_json(argument)?);
            }
        }
        Ok(copy)
    }

    fn dependencies(
        &self,
        body: &Expression,
        own: Option<Symbol>,
        parent: Option<usize>,
    ) -> Written<Vec<Json>> {
        let mut found = Vec::new();
        if let Some(parent) = parent {
            found.push((Symbol::Resource(parent), None));
        }
        self.model
            .referenced_declarations(body, &mut found, &mut Vec::new());
        if !self.model.symbolic_names {
            // languageVersion 1.0 never deploys an `existing` resource: depending on one is
            // depending on what it depends on (its parent, its scope), as the official
            // compiler follows dependency paths through them.
            let mut queue: std::collections::VecDeque<(Symbol, Option<&Expression>)> =
                found.drain(..).collect();
            let mut seen = Vec::new();
            while let Some((symbol, index)) = queue.pop_front() {
                if let Symbol::Resource(resource) = symbol {
                    let info = &self.model.resources[resource];
                    if info.declaration.existing {
                        if !seen.contains(&resource) {
                            seen.push(resource);
                            let mut more = Vec::new();
                            if let Some(parent) = info.parent {
                                more.push((Symbol::Resource(parent), None));
                            }
                            if let Some(body) = info.body {
                                self.model.referenced_declarations(
                                    body,
                                    &mut more,
                                    &mut Vec::new(),
                                );
                            }
                            for item in more.into_iter().rev() {
                                queue.push_front(item);
                            }
                        }
                        continue;
                    }
                }
                found.push((symbol, index));
            }
        }
        for (symbol, index) in found.iter_mut() {
            let collection = match *symbol {
                Symbol::Resource(r) => self.model.resources[r].for_loop.is_some(),
                Symbol::Module(m) => self.model.modules[m].for_loop.is_some(),
                _ => false,
            };
            // `res[i]` with `i` from a property loop: dependsOn sits outside that loop, so the
            // official compiler depends on the whole collection (and on a single resource
            // whatever the index).
            if !collection || index.is_some_and(|i| self.mentions_unbound_loop_variable(i)) {
                *index = None;
            }
        }
        // Per target: a dependency on the whole collection (or a single resource) replaces
        // any on its members; otherwise each indexed reference is kept, repeats included.
        let mut grouped: Vec<(Symbol, Option<&Expression>)> = Vec::new();
        for (symbol, index) in &found {
            let whole = found.iter().any(|(s, i)| s == symbol && i.is_none());
            if whole {
                if !grouped.iter().any(|(s, _)| s == symbol) {
                    grouped.push((*symbol, None));
                }
            } else {
                grouped.push((*symbol, *index));
            }
        }
        // The official compiler lists dependencies ordered by fully qualified symbol name.
        grouped.sort_by_key(|(symbol, _)| self.symbol_name(*symbol));
        let mut dependencies = Vec::new();
        for (symbol, index) in grouped {
            if Some(symbol) == own {
                continue;
            }
            if self.model.symbolic_names {
                // languageVersion 2.0 depends on symbolic names, `existing` resources included.
                let name = self.symbol_name(symbol);
                let entry = match index {
                    Some(index) => call(
                        "format",
                        vec![
                            string(&format!("{name}[{{0}}]")),
                            self.converter.convert(index)?,
                        ],
                    )
                    .to_json(),
                    None => Json::String(name),
                };
                if !name_is_empty(&entry) {
                    dependencies.push(entry);
                }
                continue;
            }
            let entry = match symbol {
                Symbol::Resource(resource) => {
                    let info = &self.model.resources[resource];
                    if info.declaration.existing {
                        continue;
                    }
                    match (info.for_loop, index) {
                        (Some(_), None) => Json::String(self.model.qualified_name(resource)),
                        _ => self.converter.resource_id(resource, index)?.to_json(),
                    }
                }
                Symbol::Module(module) => {
                    let info = &self.model.modules[module];
                    match (info.for_loop, index) {
                        (Some(_), None) => Json::String(info.declaration.name.name.clone()),
                        _ => self.converter.module_id(module, index)?.to_json(),
                    }
                }
                _ => continue,
            };
            dependencies.push(entry);
        }
        Ok(dependencies)
    }

    /// Whether an expression reads a loop's item or index outside the loop's own conversion.
    fn mentions_unbound_loop_variable(&self, expression: &Expression) -> bool {
        let loops = self.converter.loops.borrow();
        let mut unbound = false;
        crate::semantic::visit(expression, &mut |e| {
            if let ExpressionKind::Variable(identifier) = &e.kind {
                if let Some(Symbol::LoopItem(id) | Symbol::LoopIndex(id)) =
                    self.model.symbol_of(identifier)
                {
                    unbound |= !loops.contains_key(&id);
                }
            }
        });
        unbound
    }

    fn symbol_name(&self, symbol: Symbol) -> String {
        match symbol {
            Symbol::Resource(r) => self.model.qualified_name(r),
            Symbol::Module(m) => self.model.modules[m].declaration.name.name.clone(),
            _ => String::new(),
        }
    }

    /// A nested resource deploys only when its ancestors do: and(parent, own).
    fn resource_condition(&self, resource: usize) -> Written<Option<Json>> {
        let mut conditions = Vec::new();
        let mut current = Some(resource);
        while let Some(index) = current {
            let info = &self.model.resources[index];
            if let Some(condition) = info.condition {
                conditions.push(condition);
            }
            current = info.lexical_parent;
        }
        if conditions.len() == 1 {
            return Ok(Some(self.converter.to_json(conditions[0])?));
        }
        let mut combined: Option<Arm> = None;
        for condition in conditions.iter().rev() {
            let converted = self.converter.convert(condition)?;
            combined = Some(match combined {
                None => converted,
                Some(previous) => call("and", vec![previous, converted]),
            });
        }
        Ok(combined.map(|c| c.to_json()))
    }

    fn in_loop<T>(
        &self,
        for_loop: Option<(&ForExpression, usize)>,
        f: impl FnOnce(Option<&Arm>) -> Written<T>,
    ) -> Written<T> {
        match for_loop {
            None => f(None),
            Some((for_expression, loop_id)) => {
                let collection = self.converter.convert(&for_expression.collection)?;
                let index = call("copyIndex", vec![]);
                let binding = LoopBinding {
                    item: Arm::Index(Box::new(collection.clone()), Box::new(index.clone())),
                    index,
                };
                self.converter
                    .with_loop(loop_id, binding, || f(Some(&collection)))
            }
        }
    }

    /// Resources and modules with their symbolic names, in the official order.
    fn resources(&self) -> Written<Vec<(String, Json)>> {
        let mut resources = Vec::new();
        let symbolic = self.model.symbolic_names;
        for index in self.model.emission_order() {
            let info = &self.model.resources[index];
            // languageVersion 2.0 declares `existing` resources too; 1.0 has no way to.
            if info.declaration.existing && !symbolic {
                continue;
            }
            let declaration = info.declaration;
            let resource = self.in_loop(info.for_loop, |collection| {
                let mut entry = Json::object();
                if let Some(collection) = collection {
                    entry.insert(
                        "copy",
                        self.copy_block(
                            &self.model.qualified_name(index),
                            collection,
                            &declaration.decorators,
                        )?,
                    );
                }
                if let Some(condition) = self.resource_condition(index)? {
                    entry.insert("condition", condition);
                }
                if declaration.existing {
                    entry.insert("existing", Json::Bool(true));
                }
                let extension = self.model.resource_extension(index);
                if let Some((alias, _)) = &extension {
                    entry.insert("import", Json::String(alias.clone()));
                }
                if let Some((_, false)) = extension {
                    // A resource of another extension: its type with the version, its whole
                    // body under `properties` (it has no ARM name).
                    return self.extension_resource(index, entry);
                }
                entry.insert("type", Json::String(info.full_type.clone()));
                entry.insert("apiVersion", Json::String(info.api_version.clone()));
                if let Some(scope) = self.converter.extension_scope_property(index)? {
                    entry.insert("scope", self.arm_to_json(scope));
                }
                // An `existing` resource in another group or subscription says where it is.
                if declaration.existing {
                    for (key, value) in self.converter.existing_scope_properties(index)? {
                        entry.insert(key, self.arm_to_json(value));
                    }
                }
                entry.insert(
                    "name",
                    self.arm_to_json(self.converter.resource_full_name(index)?),
                );
                let body_items = match info.body.map(|b| &b.kind) {
                    // An existing resource is only named: its body has nothing to deploy.
                    Some(ExpressionKind::Object(items)) if !declaration.existing => Some(items),
                    _ => None,
                };
                if let Some(items) = body_items {
                    for item in items {
                        let ObjectItem::Property(property) = item else {
                            continue;
                        };
                        let key = self.converter.property_key(&property.key)?;
                        if matches!(key.as_str(), "name" | "parent" | "scope" | "dependsOn") {
                            continue;
                        }
                        entry.insert(&key, self.converter.to_json(&property.value)?);
                    }
                }
                let dependencies = match info.body {
                    Some(body) => {
                        self.dependencies(body, Some(Symbol::Resource(index)), info.parent)?
                    }
                    None => Vec::new(),
                };
                if !dependencies.is_empty() {
                    entry.insert("dependsOn", Json::Array(dependencies));
                }
                if let Some(metadata) = self.description_metadata(&declaration.decorators)? {
                    entry.insert("metadata", metadata);
                }
                Ok(entry)
            })?;
            resources.push((self.model.qualified_name(index), resource));
        }
        for (index, info) in self.model.modules.iter().enumerate() {
            let declaration = info.declaration;
            let module = self.in_loop(info.for_loop, |collection| {
                let mut entry = Json::object();
                if let Some(collection) = collection {
                    entry.insert(
                        "copy",
                        self.copy_block(
                            &declaration.name.name,
                            collection,
                            &declaration.decorators,
                        )?,
                    );
                }
                if let Some(condition) = info.condition {
                    entry.insert("condition", self.converter.to_json(condition)?);
                }
                entry.insert(
                    "type",
                    Json::String("Microsoft.Resources/deployments".into()),
                );
                entry.insert("apiVersion", Json::String(DEPLOYMENTS_API_VERSION.into()));
                entry.insert(
                    "name",
                    self.arm_to_json(self.converter.module_name(index, None)?),
                );
                // The scope's properties, then a location for any deployment that does
                // not go to a resource group (its metadata needs one), as the official
                // compiler writes them.
                let module_scope = self.converter.module_scope(index)?;
                let deploys_to_group = matches!(module_scope, ModuleScope::ResourceGroup { .. });
                match module_scope {
                    ModuleScope::Tenant => {
                        if self.model.target_scope != TargetScope::Tenant {
                            entry.insert("scope", Json::String("/".into()));
                        }
                    }
                    ModuleScope::ManagementGroup(Some(group)) => {
                        // Tenant and management group deployments take the group's id unqualified.
                        let scope = match self.model.target_scope {
                            TargetScope::Tenant | TargetScope::ManagementGroup => call(
                                "format",
                                vec![string(&format!("{MANAGEMENT_GROUP_TYPE}/{{0}}")), group],
                            ),
                            _ => call(
                                "tenantResourceId",
                                vec![string(MANAGEMENT_GROUP_TYPE), group],
                            ),
                        };
                        entry.insert("scope", scope.to_json());
                    }
                    ModuleScope::ManagementGroup(None) => {}
                    ModuleScope::Subscription(Some(subscription)) => {
                        entry.insert("subscriptionId", self.arm_to_json(subscription));
                    }
                    ModuleScope::Subscription(None) => {
                        if self.model.target_scope == TargetScope::ResourceGroup {
                            entry.insert("subscriptionId", current_subscription_id().to_json());
                        }
                    }
                    ModuleScope::ResourceGroup {
                        subscription,
                        group,
                    } => {
                        if let Some(subscription) = subscription {
                            entry.insert("subscriptionId", self.arm_to_json(subscription));
                        }
                        if let Some(group) = group {
                            entry.insert("resourceGroup", self.arm_to_json(group));
                        }
                    }
                }
                if !deploys_to_group {
                    let location = match self.model.target_scope {
                        // deployment() at a resource group has no location.
                        TargetScope::ResourceGroup => call("resourceGroup", vec![]),
                        _ => call("deployment", vec![]),
                    };
                    entry.insert("location", location.to_json_property("location"));
                }
                let mut properties = Json::object();
                let mut evaluation = Json::object();
                evaluation.insert("scope", Json::String("inner".into()));
                properties.insert("expressionEvaluationOptions", evaluation);
                properties.insert("mode", Json::String("Incremental".into()));
                if let Some(params) = info.body.and_then(|b| b.object_property("params")) {
                    let mut parameters = Json::object();
                    if let ExpressionKind::Object(items) = &params.value.kind {
                        for item in items {
                            let ObjectItem::Property(property) = item else {
                                continue;
                            };
                            let key = self.converter.property_key(&property.key)?;
                            let entry = self.converter.module_parameter(&property.value)?;
                            parameters.insert(&key, entry);
                        }
                    }
                    properties.insert("parameters", parameters);
                }
                properties.insert("template", info.template.clone().ok_or(Reported)?);
                entry.insert("properties", properties);
                let dependencies = match info.body {
                    Some(body) => self.dependencies(body, Some(Symbol::Module(index)), None)?,
                    None => Vec::new(),
                };
                if !dependencies.is_empty() {
                    entry.insert("dependsOn", Json::Array(dependencies));
                }
                if let Some(metadata) = self.description_metadata(&declaration.decorators)? {
                    entry.insert("metadata", metadata);
                }
                Ok(entry)
            })?;
            resources.push((declaration.name.name.clone(), module));
        }
        Ok(resources)
    }

    /// A name converted to an ARM expression, written as a literal when it is one.
    fn arm_to_json(&self, arm: Arm) -> Json {
        match arm {
            Arm::String(text) if !reads_as_expression(&text) => Json::String(text),
            Arm::String(text) => Json::String(format!("[{text}")),
            Arm::Integer(value) => Json::Integer(value),
            other => other.to_json(),
        }
    }

    fn outputs(&self) -> Written<Json> {
        let mut outputs = Json::object();
        for output in &self.model.bindings.outputs {
            let mut entry = Json::object();
            let (type_name, _) = Self::type_name(&output.type_expression);
            let type_name = if decorator(&output.decorators, "secure").is_some() {
                Self::secure_type(type_name)
            } else {
                type_name
            };
            if self.model.symbolic_names {
                entry = self.type_schema(&output.type_expression, &output.decorators)?;
            } else {
                entry.insert("type", Json::String(type_name.into()));
                if let Some(metadata) = self.description_metadata(&output.decorators)? {
                    entry.insert("metadata", metadata);
                }
            }
            match &output.value.kind {
                ExpressionKind::For(for_expression) => {
                    let collection = self.converter.convert(&for_expression.collection)?;
                    let index = call("copyIndex", vec![]);
                    let binding = LoopBinding {
                        item: Arm::Index(Box::new(collection.clone()), Box::new(index.clone())),
                        index,
                    };
                    let input =
                        self.converter
                            .with_loop(output.value.span.start, binding, || {
                                self.converter.copy_input(&for_expression.body)
                            })?;
                    let mut copy = Json::object();
                    copy.insert("count", call("length", vec![collection]).to_json());
                    copy.insert("input", input);
                    entry.insert("copy", copy);
                }
                _ => entry.insert("value", self.converter.to_json(&output.value)?),
            }
            outputs.insert(&output.name.name, entry);
        }
        Ok(outputs)
    }
}

fn is_any(type_expression: &TypeExpression) -> bool {
    matches!(type_expression, TypeExpression::Named(identifier) | TypeExpression::SysNamed(identifier) if identifier.name == "any")
}

fn discriminator_of(decorators: &[Decorator]) -> Option<&str> {
    let found = decorator(decorators, "discriminator")?;
    match &found.arguments.first()?.kind {
        ExpressionKind::String(segments) => match &segments[..] {
            [StringSegment::Text(text)] => Some(text.as_str()),
            _ => None,
        },
        _ => None,
    }
}

/// Sets `metadata.key`, creating the metadata object where there is none yet.
fn merge_metadata(schema: &mut Json, key: &str, value: Json) {
    match schema.get_mut("metadata") {
        Some(metadata @ Json::Object(_)) => metadata.insert(key, value),
        _ => {
            let mut metadata = Json::object();
            metadata.insert(key, value);
            schema.insert("metadata", metadata);
        }
    }
}

/// RFC 6901: `~` and `/` escaped in a JSON pointer segment.
fn pointer_encode(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn internal_pointer(segments: &[String]) -> String {
    let mut pointer = String::from("#");
    for segment in segments {
        pointer.push('/');
        pointer.push_str(&pointer_encode(segment));
    }
    pointer
}

/// Where a type reference leads.
enum ResolvedType<'a> {
    /// A pointer into this template (`definitions/t/properties/p`) and the type declared there.
    Internal(Vec<String>, &'a TypeExpression),
    Derived(DerivedType),
}

struct DerivedType {
    /// `Type@version`
    resource: String,
    output: bool,
    /// Segments below the resource body (`properties/name`).
    pointer: Vec<String>,
    span: crate::text::Span,
}

/// How a type reads in a diagnostic.
fn describe_type(type_expression: &TypeExpression) -> String {
    match type_expression {
        TypeExpression::Named(identifier) | TypeExpression::SysNamed(identifier) => {
            identifier.name.clone()
        }
        TypeExpression::ArrayOf(inner, _) => format!("{}[]", describe_type(inner)),
        TypeExpression::Nullable(inner, _) => format!("{} | null", describe_type(inner)),
        TypeExpression::Object(..) => "object".into(),
        TypeExpression::Tuple(..) => "array".into(),
        _ => "type".into(),
    }
}

/// The union's values without repeats, ordered as the official compiler orders union
/// members: ordinally by the name of each literal type (`'a'`, `-1`, `false`, `null`, `{ k: 'v' }`).
fn normalized_union(values: Vec<Json>) -> Vec<Json> {
    let mut named: Vec<(String, Json)> = Vec::new();
    for value in values {
        let name = literal_type_name(&value);
        if !named.iter().any(|(n, _)| *n == name) {
            named.push((name, value));
        }
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named.into_iter().map(|(_, v)| v).collect()
}

fn literal_type_name(value: &Json) -> String {
    match value {
        Json::String(text) => format!(
            "'{}'",
            text.replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('\n', "\\n")
                .replace('\r', "\\r")
                .replace('\t', "\\t")
                .replace("${", "\\${")
        ),
        Json::Integer(number) => number.to_string(),
        Json::Bool(flag) => flag.to_string(),
        Json::Null => "null".into(),
        Json::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(literal_type_name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Json::Object(entries) => {
            let properties: Vec<String> = entries
                .iter()
                .map(|(key, value)| {
                    let identifier = key
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    let key = if identifier {
                        key.clone()
                    } else {
                        literal_type_name(&Json::String(key.clone()))
                    };
                    format!("{key}: {}", literal_type_name(value))
                })
                .collect();
            format!("{{ {} }}", properties.join(", "))
        }
        other => other.to_compact_string(),
    }
}

/// The ARM type of a literal value.
fn json_type_name(value: &Json) -> Option<&'static str> {
    match value {
        Json::String(_) => Some("string"),
        Json::Integer(_) => Some("int"),
        Json::Bool(_) => Some("bool"),
        Json::Object(_) => Some("object"),
        Json::Array(_) => Some("array"),
        _ => None,
    }
}

fn name_is_empty(entry: &Json) -> bool {
    matches!(entry, Json::String(name) if name.is_empty())
}

trait PropertyJson {
    fn to_json_property(self, property: &str) -> Json;
}

impl PropertyJson for Arm {
    fn to_json_property(self, property: &str) -> Json {
        Arm::Property(Box::new(self), property.into()).to_json()
    }
}
