//! Semantic model: what the emitter needs to know about each declaration
//! beyond its syntax — resource types and parents, loops, conditions,
//! which variables must be inlined, and modules' compiled templates.

mod resource_type_names;
use crate::binder::{body_object, resolve_resource, Bindings, Symbol};
use crate::emitter::json_writer::Json;
use crate::syntax::*;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetScope {
    ResourceGroup,
    Subscription,
    ManagementGroup,
    Tenant,
}

pub struct ResourceInfo<'a> {
    pub declaration: &'a ResourceDeclaration,
    /// The extension alias written before the type (`k8s:` in `'k8s:apps/Deployment@v1'`).
    pub namespace: Option<String>,
    pub full_type: String,
    pub api_version: String,
    pub parent: Option<usize>,
    pub body: Option<&'a Expression>,
    pub for_loop: Option<(&'a ForExpression, usize)>,
    pub condition: Option<&'a Expression>,
    /// The enclosing resource when declared inside a parent's body.
    pub lexical_parent: Option<usize>,
}

pub struct ModuleInfo<'a> {
    pub declaration: &'a ModuleDeclaration,
    pub body: Option<&'a Expression>,
    pub for_loop: Option<(&'a ForExpression, usize)>,
    pub condition: Option<&'a Expression>,
    /// The module's own compiled template, or None if it failed (already reported).
    pub template: Option<Json>,
    pub file: Option<PathBuf>,
}

pub struct SemanticModel<'a> {
    pub tree: &'a SyntaxTree,
    pub bindings: Bindings<'a>,
    pub target_scope: TargetScope,
    pub resources: Vec<ResourceInfo<'a>>,
    pub modules: Vec<ModuleInfo<'a>>,
    /// Variables whose value needs runtime state (reference(), module outputs):
    /// ARM forbids those in `variables`, so uses are replaced by the value.
    pub inlined_variables: Vec<bool>,
    pub directory: PathBuf,
    /// languageVersion 2.0: resources keyed by symbolic name, as the official
    /// compiler switches to when the template uses newer language (see uses_symbolic_names).
    pub symbolic_names: bool,
    /// Experimental ARM engine features bicepconfig.json turns on (`Asserts`): the template
    /// is then languageVersion 2.1-experimental with the official warning in its metadata.
    pub experimental_features: Vec<&'static str>,
}

/// Splits a declaration body into its loop, condition and object.
pub fn unwrap_body(
    value: &Expression,
) -> (
    Option<(&ForExpression, usize)>,
    Option<&Expression>,
    Option<&Expression>,
) {
    match &value.kind {
        ExpressionKind::For(for_expression) => (
            Some((for_expression, value.span.start)),
            for_expression.filter.as_deref(),
            body_object(&for_expression.body),
        ),
        ExpressionKind::Condition { condition, body } => (None, Some(condition), body_object(body)),
        _ => (None, None, body_object(value)),
    }
}

impl<'a> SemanticModel<'a> {
    /// A resource's fully qualified symbolic name: its lexical ancestors' names and its own,
    /// joined by `::` (`parent::child`), as the official compiler names copy loops, orders
    /// `dependsOn` and keys languageVersion 2.0 resources.
    pub fn qualified_name(&self, resource: usize) -> String {
        let mut names = Vec::new();
        let mut current = Some(resource);
        while let Some(index) = current {
            let Some(info) = self.resources.get(index) else {
                break;
            };
            names.push(info.declaration.name.name.as_str());
            current = info.lexical_parent;
        }
        names.reverse();
        names.join("::")
    }

    pub fn build(
        tree: &'a SyntaxTree,
        bindings: Bindings<'a>,
        directory: PathBuf,
        module_templates: Vec<(Option<Json>, Option<PathBuf>)>,
    ) -> Self {
        let target_scope = tree
            .declarations
            .iter()
            .find_map(|d| match d {
                Declaration::TargetScope(value, _) => value.as_plain_string(),
                _ => None,
            })
            .map(|scope| match scope.as_str() {
                "subscription" => TargetScope::Subscription,
                "managementGroup" => TargetScope::ManagementGroup,
                "tenant" => TargetScope::Tenant,
                _ => TargetScope::ResourceGroup,
            })
            .unwrap_or(TargetScope::ResourceGroup);

        let mut resources: Vec<ResourceInfo<'a>> = Vec::new();
        for bound in &bindings.resources {
            let declaration = bound.declaration;
            let (for_loop, condition, body) = unwrap_body(&declaration.value);
            // A nested 'childType' without '@version' takes its parent's API version.
            let inherited_version = bound
                .lexical_parent
                .and_then(|parent| resources.get(parent))
                .map(|parent: &ResourceInfo<'_>| parent.api_version.clone());
            // `'k8s:apps/Deployment@v1'`, `'az:Microsoft.X/y@v'`: the extension named first.
            let (namespace, type_reference) = match declaration.type_reference.split_once(':') {
                Some((alias, rest)) if !alias.contains('/') && !alias.contains('@') => {
                    (Some(alias.to_string()), rest.to_string())
                }
                _ => (None, declaration.type_reference.clone()),
            };
            let (declared_type, api_version) = match type_reference.split_once('@') {
                Some((type_name, version)) => (type_name.to_string(), version.to_string()),
                None => (
                    type_reference.clone(),
                    inherited_version.clone().unwrap_or_default(),
                ),
            };
            // `parent:` names the parent explicitly; a nested declaration has it lexically.
            let explicit_parent = body
                .and_then(|b| b.object_property("parent"))
                .and_then(|p| {
                    resolve_resource(&p.value, &bindings.references, &bindings.resources)
                });
            let parent = explicit_parent.or(bound.lexical_parent);
            let full_type = match (bound.lexical_parent, declared_type.contains('/')) {
                (Some(parent_index), false) => resources
                    .get(parent_index)
                    .map(|p| format!("{}/{}", p.full_type, declared_type))
                    .unwrap_or(declared_type),
                _ => declared_type,
            };
            // Written as the official type catalogue spells it, where we know that spelling.
            let full_type = match resource_type_names::canonical(&full_type, &api_version) {
                Some(canonical) => canonical.to_string(),
                None => full_type,
            };
            resources.push(ResourceInfo {
                declaration,
                namespace,
                full_type,
                api_version,
                parent,
                body,
                for_loop,
                condition,
                lexical_parent: bound.lexical_parent,
            });
        }

        let modules: Vec<ModuleInfo<'a>> = bindings
            .modules
            .iter()
            .zip(
                module_templates
                    .into_iter()
                    .chain(std::iter::repeat((None, None))),
            )
            .map(|(declaration, (template, file))| {
                let (for_loop, condition, body) = unwrap_body(&declaration.value);
                ModuleInfo {
                    declaration,
                    body,
                    for_loop,
                    condition,
                    template,
                    file,
                }
            })
            .collect();

        let symbolic_names = uses_symbolic_names(tree, &resources, &modules);
        let mut model = SemanticModel {
            symbolic_names,
            experimental_features: Vec::new(),
            tree,
            inlined_variables: vec![false; bindings.variables.len()],
            bindings,
            target_scope,
            resources,
            modules,
            directory,
        };
        // Fixed point: a variable using an inlined variable needs inlining too.
        loop {
            let mut changed = false;
            for index in 0..model.bindings.variables.len() {
                if !model.inlined_variables[index]
                    && !matches!(
                        model.bindings.variables[index].value.kind,
                        ExpressionKind::For(_)
                    )
                    && model.needs_runtime_state(&model.bindings.variables[index].value)
                {
                    model.inlined_variables[index] = true;
                    changed = true;
                }
            }
            if !changed {
                return model;
            }
        }
    }

    /// The order the official compiler writes resources in: every nested resource
    /// (children before their parents), then the top-level ones.
    pub fn emission_order(&self) -> Vec<usize> {
        fn descendants(model: &SemanticModel<'_>, resource: usize, order: &mut Vec<usize>) {
            for (child, info) in model.resources.iter().enumerate() {
                if info.lexical_parent == Some(resource) {
                    descendants(model, child, order);
                    order.push(child);
                }
            }
        }
        let top_level: Vec<usize> = (0..self.resources.len())
            .filter(|r| self.resources[*r].lexical_parent.is_none())
            .collect();
        let mut order = Vec::new();
        for resource in &top_level {
            descendants(self, *resource, &mut order);
        }
        order.extend(top_level);
        order
    }

    pub fn symbol_of(&self, identifier: &Identifier) -> Option<Symbol> {
        self.bindings
            .references
            .get(&identifier.span.start)
            .copied()
    }

    pub fn resource_of(&self, expression: &Expression) -> Option<usize> {
        resolve_resource(
            expression,
            &self.bindings.references,
            &self.bindings.resources,
        )
    }

    /// Whether an expression reads runtime state: a resource's properties or a module's outputs.
    fn needs_runtime_state(&self, expression: &Expression) -> bool {
        // nameof(x) is the name written, known at compile time whatever x reads.
        let mut compile_time = Vec::new();
        visit(expression, &mut |e| {
            if let ExpressionKind::Call {
                name, arguments, ..
            } = &e.kind
            {
                if name.name == "nameof" {
                    compile_time.extend(arguments.iter().map(|a| a.span));
                }
            }
        });
        let mut found = false;
        visit(expression, &mut |e| {
            if compile_time
                .iter()
                .any(|span| span.start <= e.span.start && e.span.end <= span.end)
            {
                return;
            }
            match &e.kind {
                ExpressionKind::Property { base, name, .. } => {
                    let target = match &base.kind {
                        ExpressionKind::Index { base: inner, .. } => inner.as_ref(),
                        _ => base.as_ref(),
                    };
                    if let Some(resource) = self.resource_of(target) {
                        let _ = resource;
                        if !matches!(name.name.as_str(), "id" | "name" | "type" | "apiVersion") {
                            found = true;
                        }
                    }
                    if let ExpressionKind::Variable(identifier) = &target.kind {
                        if let Some(Symbol::Module(_)) = self.symbol_of(identifier) {
                            if name.name != "name" {
                                found = true;
                            }
                        }
                    }
                }
                ExpressionKind::Variable(identifier) => match self.symbol_of(identifier) {
                    Some(Symbol::Variable(index)) if self.inlined_variables[index] => found = true,
                    _ => {}
                },
                ExpressionKind::Call { name, .. } | ExpressionKind::InstanceCall { name, .. }
                    if name.name.starts_with("list") || name.name == "reference" =>
                {
                    found = true
                }
                _ => {}
            }
        });
        found
    }

    /// The extension a resource belongs to, when the file declares extensions: (its name
    /// here, whether it is Azure's own). Kubernetes groups (`apps`, `*.k8s.io`) belong to a
    /// declared `kubernetes`, `Microsoft.*`-style types to a declared `az`.
    pub fn resource_extension(&self, resource: usize) -> Option<(String, bool)> {
        let info = &self.resources[resource];
        let extensions: Vec<&ExtensionDeclaration> = self
            .tree
            .declarations
            .iter()
            .filter_map(|d| match d {
                Declaration::Extension(e) => Some(e),
                _ => None,
            })
            .collect();
        if let Some(namespace) = &info.namespace {
            // `az:` without `extension az` is an Azure resource with no import to name.
            return extensions
                .iter()
                .find(|e| e.name() == namespace)
                .map(|found| (found.name().to_string(), found.specifier.name == "az"));
        }
        let provider = info.full_type.split('/').next().unwrap_or_default();
        let kubernetes_group = !provider.contains('.') || provider.ends_with("k8s.io");
        let wanted = if kubernetes_group { "kubernetes" } else { "az" };
        extensions
            .iter()
            .find(|e| e.specifier.name == wanted)
            .map(|e| (e.name().to_string(), wanted == "az"))
    }

    /// Resources and modules an expression refers to, directly or through variables,
    /// with the index expression when an element of a loop is named.
    pub fn referenced_declarations(
        &self,
        expression: &'a Expression,
        found: &mut Vec<(Symbol, Option<&'a Expression>)>,
        visited_variables: &mut Vec<usize>,
    ) {
        let mut variables = Vec::new();
        let mut weak_existing: Vec<usize> = Vec::new();
        // In `parent::child` only the child is depended on, not the parent named on the way.
        let mut access_bases = Vec::new();
        // In `res[i]` the reference is the indexed one, not `res` on its own.
        let mut indexed_bases = Vec::new();
        visit(expression, &mut |e| match &e.kind {
            ExpressionKind::NestedResourceAccess { base, .. } => access_bases.push(base.span),
            ExpressionKind::Index { base, .. } => indexed_bases.push(base.span),
            _ => {}
        });
        visit(expression, &mut |e| {
            if access_bases.contains(&e.span) {
                return;
            }
            let (target, index) = match &e.kind {
                ExpressionKind::Index { base, index, .. } => (base.as_ref(), Some(index.as_ref())),
                _ => (e, None),
            };
            // A function called on an `existing` resource (getSecret, list*) is a weak
            // reference: it reads nothing of the resource's body, so nothing waits for it.
            let mut weak = |symbol: Option<Symbol>| match symbol {
                Some(Symbol::Resource(resource))
                    if self
                        .resources
                        .get(resource)
                        .is_some_and(|r| r.declaration.existing) =>
                {
                    // Passed through: what the existing resource depends on still counts.
                    weak_existing.push(resource);
                    None
                }
                other => other,
            };
            let (symbol, index) = match &target.kind {
                ExpressionKind::Variable(identifier) => (self.symbol_of(identifier), index),
                ExpressionKind::NestedResourceAccess { name, .. } => (self.symbol_of(name), index),
                ExpressionKind::Call {
                    namespace: Some(namespace),
                    ..
                } => (weak(self.symbol_of(namespace)), index),
                ExpressionKind::ResourceIndexCall {
                    resource, index, ..
                } => (weak(self.symbol_of(resource)), Some(index.as_ref())),
                _ => (None, index),
            };
            match symbol {
                Some(symbol @ (Symbol::Resource(_) | Symbol::Module(_))) => {
                    if index.is_none() && indexed_bases.contains(&e.span) {
                        return;
                    }
                    // Every reference counts (the writer groups them): the official
                    // compiler keeps `res[i]` twice when written twice.
                    found.push((symbol, index));
                }
                Some(Symbol::Variable(variable)) => variables.push(variable),
                _ => {}
            }
        });
        for variable in variables {
            if !visited_variables.contains(&variable) {
                visited_variables.push(variable);
                let value = &self.bindings.variables[variable].value;
                self.referenced_declarations(value, found, visited_variables);
            }
        }
        for resource in weak_existing {
            let info = &self.resources[resource];
            if let Some(parent) = info.parent {
                found.push((Symbol::Resource(parent), None));
            }
            if let Some(body) = info.body {
                self.referenced_declarations(body, found, visited_variables);
            }
        }
    }
}

/// When the official compiler writes languageVersion 2.0 (Azure/bicep's EmitterSettings):
/// user-defined types, functions or imports, typed variables, type syntax beyond a keyword (arrays,
/// nullables, unions, object types), secure outputs, modules without a name,
/// `existing` resources with dependsOn, and @onlyIfNotExists().
fn uses_symbolic_names(
    tree: &SyntaxTree,
    resources: &[ResourceInfo<'_>],
    modules: &[ModuleInfo<'_>],
) -> bool {
    fn type_syntax(type_expression: &TypeExpression) -> bool {
        match type_expression {
            TypeExpression::Named(_) => false,
            TypeExpression::LiteralUnion(members, _) => members.len() > 1,
            _ => true,
        }
    }
    let declarations = tree.declarations.iter().any(|d| match d {
        Declaration::Type(_)
        | Declaration::Function(_)
        | Declaration::Import(_)
        | Declaration::Extension(_) => true,
        Declaration::Unsupported { keyword, .. } => {
            matches!(
                keyword.as_str(),
                "func" | "import" | "extension" | "provider" | "assert"
            )
        }
        Declaration::Parameter(p) => type_syntax(&p.type_expression),
        Declaration::Variable(v) => v.type_expression.is_some(),
        Declaration::Output(o) => {
            type_syntax(&o.type_expression) || o.decorators.iter().any(|d| d.name.name == "secure")
        }
        _ => false,
    });
    declarations
        || modules
            .iter()
            .any(|m| m.body.is_some_and(|b| b.object_property("name").is_none()))
        || resources.iter().any(|r| {
            (r.declaration.existing
                && r.body
                    .is_some_and(|b| b.object_property("dependsOn").is_some()))
                || r.declaration
                    .decorators
                    .iter()
                    .any(|d| d.name.name == "onlyIfNotExists")
        })
}

/// Calls `f` on every expression in the tree (pre-order), nested resources excluded.
pub fn visit<'e>(expression: &'e Expression, f: &mut dyn FnMut(&'e Expression)) {
    f(expression);
    match &expression.kind {
        ExpressionKind::String(segments) => {
            for segment in segments {
                if let StringSegment::Hole(hole) = segment {
                    visit(hole, f);
                }
            }
        }
        ExpressionKind::Object(items) => {
            for item in items {
                match item {
                    ObjectItem::Property(property) => {
                        if let PropertyKey::String(key) = &property.key {
                            visit(key, f);
                        }
                        visit(&property.value, f);
                    }
                    ObjectItem::Spread(spread) => visit(spread, f),
                    ObjectItem::NestedResource(_) => {}
                }
            }
        }
        ExpressionKind::Array(items) => {
            for item in items {
                match item {
                    ArrayItem::Value(value) | ArrayItem::Spread(value) => visit(value, f),
                }
            }
        }
        ExpressionKind::Call { arguments, .. } => {
            for argument in arguments {
                visit(argument, f);
            }
        }
        ExpressionKind::ResourceIndexCall {
            index, arguments, ..
        } => {
            visit(index, f);
            for argument in arguments {
                visit(argument, f);
            }
        }
        ExpressionKind::InstanceCall {
            base, arguments, ..
        } => {
            visit(base, f);
            for argument in arguments {
                visit(argument, f);
            }
        }
        ExpressionKind::Property { base, .. } => visit(base, f),
        ExpressionKind::Index { base, index, .. } => {
            visit(base, f);
            visit(index, f);
        }
        ExpressionKind::NestedResourceAccess { base, .. } => visit(base, f),
        ExpressionKind::Unary { operand, .. } => visit(operand, f),
        ExpressionKind::Binary { left, right, .. } => {
            visit(left, f);
            visit(right, f);
        }
        ExpressionKind::Ternary {
            condition,
            when_true,
            when_false,
        } => {
            visit(condition, f);
            visit(when_true, f);
            visit(when_false, f);
        }
        ExpressionKind::Parenthesized(inner) => visit(inner, f),
        ExpressionKind::For(for_expression) => {
            visit(&for_expression.collection, f);
            if let Some(filter) = &for_expression.filter {
                visit(filter, f);
            }
            visit(&for_expression.body, f);
        }
        ExpressionKind::Condition { condition, body } => {
            visit(condition, f);
            visit(body, f);
        }
        ExpressionKind::Lambda { body, .. } => visit(body, f),
        _ => {}
    }
}

/// Like `visit`, also descending into child resources declared in a body (and their decorators).
pub fn visit_all<'e>(expression: &'e Expression, f: &mut dyn FnMut(&'e Expression)) {
    visit(expression, &mut |e| {
        f(e);
        if let ExpressionKind::Object(items) = &e.kind {
            for item in items {
                if let ObjectItem::NestedResource(resource) = item {
                    for decorator in &resource.decorators {
                        for argument in &decorator.arguments {
                            visit_all(argument, f);
                        }
                    }
                    visit_all(&resource.value, f);
                }
            }
        }
    });
}

pub type LoopBindings = HashMap<usize, crate::emitter::expression_converter::LoopBinding>;
