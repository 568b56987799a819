//! The core linter rules users meet most, with the official codes, messages, default
//! levels and positions (Azure/bicep's Analyzers/Linter/Rules), each level settable in
//! bicepconfig.json (`analyzers.core.rules.<rule>.level`: off, info, warning, error) and the
//! whole linter off with `analyzers.core.enabled: false`. Rendered as the official CLI does:
//! `Warning no-unused-params: Parameter "p" is declared but never used. [https://aka.ms/...]`.

use crate::binder::Symbol;
use crate::config::BicepConfig;
use crate::diagnostics::{Level, PendingDiagnostic};
use crate::semantic::{visit, SemanticModel};
use crate::syntax::*;
use crate::text::Span;

/// Hosts the official default configuration disallows, and the one it excludes.
const DISALLOWED_HOSTS: &[&str] = &[
    "azuredatalakeanalytics.net",
    "azuredatalakestore.net",
    "batch.core.windows.net",
    "core.windows.net",
    "database.windows.net",
    "datalake.azure.net",
    "gallery.azure.com",
    "graph.windows.net",
    "login.microsoftonline.com",
    "management.azure.com",
    "management.core.windows.net",
    "vault.azure.net",
];
const EXCLUDED_HOSTS: &[&str] = &["schema.management.azure.com"];

/// The rules, with their default level (the official category default).
pub const RULES: &[(&str, &str)] = &[
    ("no-unused-params", "warning"),
    ("no-unused-vars", "warning"),
    ("no-unused-existing-resources", "warning"),
    ("secure-parameter-default", "warning"),
    ("prefer-interpolation", "warning"),
    ("no-hardcoded-env-urls", "warning"),
    ("outputs-should-not-contain-secrets", "warning"),
    ("simplify-interpolation", "warning"),
    ("no-unnecessary-dependson", "warning"),
];

struct Linter<'c> {
    config: &'c BicepConfig,
    found: Vec<PendingDiagnostic>,
}

impl Linter<'_> {
    fn report(&mut self, rule: &'static str, span: Span, message: String) {
        let default = RULES
            .iter()
            .find(|(r, _)| *r == rule)
            .map(|(_, l)| *l)
            .unwrap_or("warning");
        let level = match self
            .config
            .rule_level(rule, default)
            .to_ascii_lowercase()
            .as_str()
        {
            "error" => Level::Error,
            "info" => Level::Info,
            "warning" => Level::Warning,
            _ => return,
        };
        self.found.push(PendingDiagnostic {
            span,
            level,
            code: rule,
            message: format!("{message} [https://aka.ms/bicep/linter-diagnostics#{rule}]"),
        });
    }
}

/// Lints one file's own declarations (not those its imports brought in).
pub fn lint(model: &SemanticModel<'_>, text: &str, config: &BicepConfig) -> Vec<PendingDiagnostic> {
    if !config.linter_enabled {
        return Vec::new();
    }
    let mut linter = Linter {
        config,
        found: Vec::new(),
    };
    let own = |span: Span| span.start < text.len();
    let referenced: std::collections::HashSet<Symbol> =
        model.bindings.references.values().copied().collect();
    let used = |symbol: Symbol| referenced.contains(&symbol);

    for (index, parameter) in model.bindings.parameters.iter().enumerate() {
        if own(parameter.name.span) && !used(Symbol::Parameter(index)) {
            linter.report(
                "no-unused-params",
                parameter.name.span,
                format!(
                    "Parameter \"{}\" is declared but never used.",
                    parameter.name.name
                ),
            );
        }
    }
    for (index, variable) in model.bindings.variables.iter().enumerate() {
        let exported = variable.decorators.iter().any(|d| d.name.name == "export");
        if own(variable.name.span) && !exported && !used(Symbol::Variable(index)) {
            linter.report(
                "no-unused-vars",
                variable.name.span,
                format!(
                    "Variable \"{}\" is declared but never used.",
                    variable.name.name
                ),
            );
        }
    }
    for (index, resource) in model.bindings.resources.iter().enumerate() {
        let declaration = resource.declaration;
        if own(declaration.name.span) && declaration.existing && !used(Symbol::Resource(index)) {
            linter.report(
                "no-unused-existing-resources",
                declaration.name.span,
                format!(
                    "Existing resource \"{}\" is declared but never used.",
                    declaration.name.name
                ),
            );
        }
    }
    for parameter in &model.bindings.parameters {
        if !own(parameter.name.span) {
            continue;
        }
        check_secure_default(parameter, text, &mut linter);
    }
    for root in own_expressions(model, text) {
        visit(root, &mut |e| {
            if let ExpressionKind::Call {
                namespace,
                name,
                arguments,
            } = &e.kind
            {
                let system = namespace.as_ref().is_none_or(|n| n.name == "sys");
                if system
                    && name.name == "concat"
                    && arguments.len() > 1
                    && arguments.iter().all(|a| is_string(model, a))
                {
                    linter.report(
                        "prefer-interpolation",
                        e.span,
                        "Use string interpolation instead of the concat function.".into(),
                    );
                }
            }
        });
    }
    check_environment_urls(model, text, &mut linter);
    check_output_secrets(model, text, &mut linter);
    check_simplify_interpolation(model, text, &mut linter);
    check_unnecessary_depends_on(model, text, &mut linter);
    linter.found
}

/// What a resource or module depends on without its `dependsOn`: its parent and what its
/// other properties reference, directly or through variables.
fn implicit_dependencies(model: &SemanticModel<'_>, symbol: Symbol) -> Vec<Symbol> {
    let (body, parent) = match symbol {
        Symbol::Resource(r) => (model.resources[r].body, model.resources[r].parent),
        Symbol::Module(m) => (model.modules[m].body, None),
        _ => return Vec::new(),
    };
    let mut found = Vec::new();
    if let Some(parent) = parent {
        found.push((Symbol::Resource(parent), None));
    }
    if let Some(ExpressionKind::Object(items)) = body.map(|b| &b.kind) {
        for item in items {
            if let ObjectItem::Property(property) = item {
                if property.key_text().as_deref() != Some("dependsOn") {
                    model.referenced_declarations(&property.value, &mut found, &mut Vec::new());
                }
            }
        }
    }
    let mut symbols: Vec<Symbol> = found.into_iter().map(|(s, _)| s).collect();
    symbols.dedup();
    symbols
}

/// A `dependsOn` entry the references already imply (transitively), or one repeated.
fn check_unnecessary_depends_on(model: &SemanticModel<'_>, text: &str, linter: &mut Linter<'_>) {
    let declarations: Vec<(Symbol, Option<&Expression>)> = (0..model.resources.len())
        .map(|r| (Symbol::Resource(r), model.resources[r].body))
        .chain((0..model.modules.len()).map(|m| (Symbol::Module(m), model.modules[m].body)))
        .collect();
    for (symbol, body) in declarations {
        let Some(body) = body else { continue };
        if body.span.start >= text.len() {
            continue;
        }
        let Some(depends_on) = body.object_property("dependsOn") else {
            continue;
        };
        let ExpressionKind::Array(entries) = &depends_on.value.kind else {
            continue;
        };
        // Everything the declaration waits for without its dependsOn, transitively.
        let mut inferred: Vec<Symbol> = Vec::new();
        let mut queue = implicit_dependencies(model, symbol);
        while let Some(next) = queue.pop() {
            if inferred.contains(&next) || next == symbol {
                continue;
            }
            inferred.push(next);
            queue.extend(implicit_dependencies(model, next));
        }
        if inferred.is_empty() {
            continue;
        }
        let mut explicit: Vec<Symbol> = Vec::new();
        for entry in entries {
            let ArrayItem::Value(value) = entry else {
                continue;
            };
            let ExpressionKind::Variable(identifier) = &value.kind else {
                continue;
            };
            let referent = match model.symbol_of(identifier) {
                Some(s @ Symbol::Resource(r)) if model.resources[r].for_loop.is_none() => s,
                Some(s @ Symbol::Module(m)) if model.modules[m].for_loop.is_none() => s,
                _ => continue,
            };
            if !inferred.contains(&referent) && !explicit.contains(&referent) {
                explicit.push(referent);
                continue;
            }
            linter.report(
                "no-unnecessary-dependson",
                value.span,
                format!("Remove unnecessary dependsOn entry '{}'.", identifier.name),
            );
        }
    }
}

/// `'${x}'` with nothing else, where `x` is a string: the official rule looks at variable,
/// output and parameter default values and at every object property's value.
fn check_simplify_interpolation(model: &SemanticModel<'_>, text: &str, linter: &mut Linter<'_>) {
    let mut values: Vec<&Expression> = Vec::new();
    for declaration in &model.tree.declarations {
        match declaration {
            Declaration::Variable(v) => values.push(&v.value),
            Declaration::Output(o) => values.push(&o.value),
            Declaration::Parameter(p) => values.extend(p.default_value.as_ref()),
            _ => {}
        }
    }
    for root in own_expressions(model, text) {
        crate::semantic::visit_all(root, &mut |e| {
            if let ExpressionKind::Object(items) = &e.kind {
                for item in items {
                    if let ObjectItem::Property(property) = item {
                        values.push(&property.value);
                    }
                }
            }
        });
    }
    let mut reported: Vec<usize> = Vec::new();
    for value in values {
        if value.span.start >= text.len() || reported.contains(&value.span.start) {
            continue;
        }
        let ExpressionKind::String(segments) = &value.kind else {
            continue;
        };
        let parts: Vec<&StringSegment> = segments
            .iter()
            .filter(|s| !matches!(s, StringSegment::Text(t) if t.is_empty()))
            .collect();
        let [StringSegment::Hole(inner)] = parts[..] else {
            continue;
        };
        if is_string(model, inner) {
            reported.push(value.span.start);
            linter.report(
                "simplify-interpolation",
                value.span,
                "Remove unnecessary string interpolation.".into(),
            );
        }
    }
}

/// Outputs (not @secure) named like a password, reading a @secure() parameter, or calling a
/// list*() function: the official rule's three findings, each at its own span.
fn check_output_secrets(model: &SemanticModel<'_>, text: &str, linter: &mut Linter<'_>) {
    const DESCRIPTION: &str = "Outputs should not contain secrets.";
    for output in &model.bindings.outputs {
        if output.span.start >= text.len()
            || output.decorators.iter().any(|d| d.name.name == "secure")
        {
            continue;
        }
        if output.name.name.to_ascii_lowercase().contains("password") {
            linter.report(
                "outputs-should-not-contain-secrets",
                output.span,
                format!(
                    "{DESCRIPTION} Found possible secret: output name '{}' suggests a secret",
                    output.name.name
                ),
            );
        }
        let mut findings: Vec<(Span, String)> = Vec::new();
        visit(&output.value, &mut |e| match &e.kind {
            ExpressionKind::Variable(identifier) => {
                if let Some(Symbol::Parameter(index)) = model.symbol_of(identifier) {
                    let parameter = model.bindings.parameters[index];
                    if parameter.decorators.iter().any(|d| d.name.name == "secure") {
                        findings.push((
                            identifier.span,
                            format!("secure value '{}'", identifier.name),
                        ));
                    }
                }
            }
            ExpressionKind::Call {
                namespace, name, ..
            } if name.name.to_ascii_lowercase().starts_with("list") => {
                let applies = match namespace {
                    None => true,
                    Some(n) if n.name == "az" => true,
                    Some(n) => matches!(model.symbol_of(n), Some(Symbol::Resource(_))),
                };
                if applies {
                    findings.push((e.span, format!("function '{}'", name.name)));
                }
            }
            ExpressionKind::ResourceIndexCall { name, .. }
            | ExpressionKind::InstanceCall { name, .. }
                if name.name.to_ascii_lowercase().starts_with("list") =>
            {
                findings.push((e.span, format!("function '{}'", name.name)));
            }
            _ => {}
        });
        for (span, found) in findings {
            linter.report(
                "outputs-should-not-contain-secrets",
                span,
                format!("{DESCRIPTION} Found possible secret: {found}"),
            );
        }
    }
}

/// @secure() parameters keep no literal default but '' , {} or one using newGuid(); the
/// diagnostic covers `= value`, as the official rule's span does.
fn check_secure_default(parameter: &ParameterDeclaration, text: &str, linter: &mut Linter<'_>) {
    let secure = parameter.decorators.iter().any(|d| d.name.name == "secure");
    let Some(default) = &parameter.default_value else {
        return;
    };
    if !secure {
        return;
    }
    let allowed = match &default.kind {
        ExpressionKind::String(_) => default.as_plain_string().as_deref() == Some(""),
        ExpressionKind::Object(items) => items.is_empty(),
        _ => false,
    };
    let mut new_guid = false;
    visit(default, &mut |e| {
        if let ExpressionKind::Call { name, .. } = &e.kind {
            if name.name == "newGuid" {
                new_guid = true;
            }
        }
    });
    if allowed || new_guid {
        return;
    }
    let before = &text[..default.span.start.min(text.len())];
    let equals = before
        .trim_end()
        .strip_suffix('=')
        .map(str::len)
        .unwrap_or(default.span.start);
    linter.report(
        "secure-parameter-default",
        Span::new(equals, default.span.end),
        "Secure parameters should not have hardcoded defaults (except for empty or newGuid())."
            .into(),
    );
}

/// Whether an expression is known to be a string (so concat() of it is string concat).
fn is_string(model: &SemanticModel<'_>, expression: &Expression) -> bool {
    match &expression.kind {
        ExpressionKind::String(_) => true,
        ExpressionKind::Parenthesized(inner) => is_string(model, inner),
        ExpressionKind::Variable(identifier) => match model.symbol_of(identifier) {
            Some(Symbol::Parameter(index)) => matches!(
                &model.bindings.parameters[index].type_expression,
                TypeExpression::Named(t) if t.name == "string"
            ),
            Some(Symbol::Variable(index)) => {
                matches!(
                    model.bindings.variables[index].value.kind,
                    ExpressionKind::String(_)
                )
            }
            _ => false,
        },
        ExpressionKind::Call { name, .. } => matches!(
            name.name.as_str(),
            "format"
                | "toLower"
                | "toUpper"
                | "uniqueString"
                | "guid"
                | "string"
                | "trim"
                | "replace"
                | "substring"
                | "base64"
                | "newGuid"
                | "utcNow"
        ),
        _ => false,
    }
}

/// Expressions of this file's own declarations (decorators excluded).
fn own_expressions<'a>(model: &SemanticModel<'a>, text: &str) -> Vec<&'a Expression> {
    let mut roots = Vec::new();
    for declaration in &model.tree.declarations {
        let value: Vec<&Expression> = match declaration {
            Declaration::Parameter(p) => p.default_value.iter().collect(),
            Declaration::Variable(v) => vec![&v.value],
            Declaration::Resource(r) => vec![&r.value],
            Declaration::Module(m) => vec![&m.value],
            Declaration::Output(o) => vec![&o.value],
            Declaration::Function(f) => vec![&f.body],
            Declaration::Metadata(m) => vec![&m.value],
            Declaration::Assert { value, .. } => vec![value],
            _ => Vec::new(),
        };
        roots.extend(value.into_iter().filter(|e| e.span.start < text.len()));
    }
    roots
}

/// Strings naming a public cloud's endpoints, except in @description / @metadata, resource
/// types and module paths; one diagnostic per host found, at the host.
fn check_environment_urls(model: &SemanticModel<'_>, text: &str, linter: &mut Linter<'_>) {
    let mut strings: Vec<Span> = Vec::new();
    let mut collect = |expression: &Expression| {
        visit(expression, &mut |e| {
            if matches!(e.kind, ExpressionKind::String(_)) {
                strings.push(e.span);
            }
        })
    };
    for declaration in &model.tree.declarations {
        let decorators: &[Decorator] = match declaration {
            Declaration::Parameter(p) => &p.decorators,
            Declaration::Variable(v) => &v.decorators,
            Declaration::Resource(r) => &r.decorators,
            Declaration::Module(m) => &m.decorators,
            Declaration::Output(o) => &o.decorators,
            _ => &[],
        };
        for decorator in decorators {
            if !matches!(decorator.name.name.as_str(), "description" | "metadata") {
                decorator.arguments.iter().for_each(&mut collect);
            }
        }
    }
    for root in own_expressions(model, text) {
        collect(root);
    }
    let mut reported: Vec<usize> = Vec::new();
    for span in strings {
        let Some(source) = text.get(span.start..span.end.min(text.len())) else {
            continue;
        };
        let lower = source.to_ascii_lowercase();
        let mut matches: Vec<(usize, usize)> = Vec::new();
        for host in DISALLOWED_HOSTS {
            matches.extend(host_matches(&lower, host).map(|at| (at, host.len())));
        }
        // Longest first at a position, overlapping ones dropped.
        matches.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let excluded: Vec<(usize, usize)> = EXCLUDED_HOSTS
            .iter()
            .flat_map(|host| host_matches(&lower, host).map(move |at| (at, host.len())))
            .collect();
        let mut previous_end = 0;
        for (at, length) in matches {
            if at < previous_end {
                continue;
            }
            previous_end = at + length;
            if excluded.iter().any(|(x, l)| at < x + l && *x < at + length) {
                continue;
            }
            let position = span.start + at;
            if reported.contains(&position) {
                continue;
            }
            reported.push(position);
            linter.report(
                "no-hardcoded-env-urls",
                Span::new(position, position + length),
                format!(
                    "Environment URLs should not be hardcoded. Use the environment() function to ensure compatibility across clouds. Found this disallowed host: \"{}\"",
                    &source[at..at + length]
                ),
            );
        }
    }
}

/// Where `host` occurs in `text` not inside a longer name (no letter or digit either side).
fn host_matches<'t>(text: &'t str, host: &'t str) -> impl Iterator<Item = usize> + 't {
    let bytes = text.as_bytes();
    text.match_indices(host)
        .map(|(at, _)| at)
        .filter(move |at| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + host.len()).copied();
            !before.is_some_and(|b| b.is_ascii_alphanumeric())
                && !after.is_some_and(|b| b.is_ascii_alphanumeric())
        })
}
