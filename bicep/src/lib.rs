//! A Bicep compiler that emits the ARM JSON the official compiler emits, so the
//! unmodified `az` CLI (with `bicep.use_binary_from_path=true`) deploys .bicep
//! files to the Cloud HSM emulator.
//!
//! The pipeline reads from the folder names, as in Azure/bicep:
//! lexer → parser (→ syntax) → binder → semantic → type_checker → emitter.

pub mod binder;
pub mod diagnostics;
pub mod emitter;
pub mod formatter;
pub mod lexer;
pub mod parser;
pub mod semantic;
pub mod syntax;
pub mod text;
pub mod type_checker;

pub use diagnostics::{Diagnostic, Level};

use diagnostics::{catalogue, PendingDiagnostic};
use emitter::json_writer::{parse_json, Json};
use parser::FileKind;
use std::path::{Path, PathBuf};
use syntax::{Declaration, ExpressionKind};
use text::LineMap;

/// The Bicep release whose language we follow; printed by --version.
pub const VERSION: &str = "0.38.5";

pub struct Compilation {
    /// The ARM JSON text, 2-space indented like the official compiler, keys in its order.
    pub template: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

pub struct ParamsCompilation {
    /// The deploymentParameters JSON.
    pub parameters: Option<String>,
    pub template: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Compiles a .bicep file; modules are resolved relative to it.
pub fn compile_file(path: &Path) -> Compilation {
    let mut diagnostics = Vec::new();
    let template = compile_to_json(path, &mut Vec::new(), &mut diagnostics);
    Compilation {
        template: template.map(|t| t.to_pretty_string()),
        diagnostics,
    }
}

fn place(path: &Path, text: &str, pending: Vec<PendingDiagnostic>) -> Vec<Diagnostic> {
    let lines = LineMap::new(text);
    let suppressions = Suppressions::new(text, &lines);
    let mut placed: Vec<Diagnostic> = pending
        .into_iter()
        .filter(|d| d.is_error() || !suppressions.suppresses(d, &lines))
        .map(|d| {
            let (line, column) = lines.position(d.span.start);
            Diagnostic {
                path: path.to_path_buf(),
                line,
                column,
                level: d.level,
                code: d.code.to_string(),
                message: d.message,
            }
        })
        .collect();
    placed.sort_by_key(|d| (d.line, d.column));
    placed.dedup();
    placed
}

/// What the file's `#disable-next-line` / `#disable-diagnostics` pragmas turn off.
/// Errors are never suppressed (a template is never emitted past one), as the
/// official compiler keeps them.
struct Suppressions {
    /// (the 1-based line a `#disable-next-line` sits on, its codes)
    next_line: Vec<(usize, Vec<String>)>,
    /// (code, from offset, to offset): `#disable-diagnostics` up to its restore or the end
    ranges: Vec<(String, usize, usize)>,
}

impl Suppressions {
    fn new(text: &str, lines: &LineMap) -> Self {
        let mut next_line = Vec::new();
        let mut ranges = Vec::new();
        let mut open: Vec<(String, usize)> = Vec::new();
        for directive in lexer::directives(text) {
            match directive.kind {
                lexer::DirectiveKind::DisableNextLine => {
                    next_line.push((lines.position(directive.span.start).0, directive.codes));
                }
                lexer::DirectiveKind::Disable => {
                    for code in directive.codes {
                        if !open.iter().any(|(open_code, _)| *open_code == code) {
                            open.push((code, directive.span.start));
                        }
                    }
                }
                lexer::DirectiveKind::Restore => {
                    for code in &directive.codes {
                        if let Some(index) =
                            open.iter().position(|(open_code, _)| open_code == code)
                        {
                            let (code, start) = open.remove(index);
                            ranges.push((code, start, directive.span.end));
                        }
                    }
                }
            }
        }
        for (code, start) in open {
            ranges.push((code, start, usize::MAX));
        }
        Suppressions { next_line, ranges }
    }

    fn suppresses(&self, diagnostic: &PendingDiagnostic, lines: &LineMap) -> bool {
        let line = lines.position(diagnostic.span.start).0;
        let code = diagnostic.code;
        self.next_line
            .iter()
            .any(|(at, codes)| at + 1 == line && codes.iter().any(|c| c == code))
            || self.ranges.iter().any(|(c, start, end)| {
                c == code && (*start..=*end).contains(&diagnostic.span.start)
            })
    }
}

fn read_source(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text.trim_start_matches('\u{feff}').to_string()),
        Err(error) => {
            diagnostics.push(Diagnostic {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                level: Level::Error,
                code: "BCP091".into(),
                message: format!("An error occurred reading file. {error}"),
            });
            None
        }
    }
}

/// Compiles one template file; `stack` holds the files being compiled above it (cycle detection).
fn compile_to_json(
    path: &Path,
    stack: &mut Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Json> {
    let text = read_source(path, diagnostics)?;
    let directory = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (mut tree, mut pending) = parser::parse(&text, FileKind::Template);
    let canonical_here = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    stack.push(canonical_here);
    inline_imports(
        &mut tree,
        &directory,
        text.len() + 1,
        stack,
        &mut pending,
        diagnostics,
    );
    stack.pop();
    let (bindings, mut binder_diagnostics) = binder::bind(&tree);
    pending.append(&mut binder_diagnostics);

    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    stack.push(canonical);
    let mut module_templates = Vec::new();
    for module in &bindings.modules {
        module_templates.push(resolve_module(
            module,
            &directory,
            stack,
            &mut pending,
            diagnostics,
        ));
    }
    stack.pop();

    let model = semantic::SemanticModel::build(&tree, bindings, directory, module_templates);
    pending.append(&mut type_checker::check(&model));
    let has_errors = pending.iter().any(PendingDiagnostic::is_error);
    let template = if has_errors {
        None
    } else {
        let (template, mut emit_diagnostics) = emitter::template_writer::write_template(&model);
        pending.append(&mut emit_diagnostics);
        template
    };
    let has_errors = pending.iter().any(PendingDiagnostic::is_error);
    diagnostics.extend(place(path, &text, pending));
    if has_errors {
        None
    } else {
        template
    }
}

/// Compile-time imports: each named, exported type, variable or function of the
/// imported file is copied into this template, as the official compiler inlines them
/// (after this file's own declarations, ordered by name). Spans of the copies start
/// past this file's text so they never collide with its own.
fn inline_imports(
    tree: &mut syntax::SyntaxTree,
    directory: &Path,
    mut base: usize,
    stack: &mut Vec<PathBuf>,
    pending: &mut Vec<PendingDiagnostic>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let imports: Vec<syntax::ImportDeclaration> = tree
        .declarations
        .iter()
        .filter_map(|d| match d {
            Declaration::Import(import) => Some(import.clone()),
            _ => None,
        })
        .collect();
    // (source file, the declaration under its name here, its name there when aliased)
    let mut inlined: Vec<(String, Declaration, Option<String>)> = Vec::new();
    for import in imports {
        let span = import.path.span;
        let Some(reference) = import.path.as_plain_string() else {
            pending.push(catalogue::compile_time_constant_required(span));
            continue;
        };
        let file = directory.join(&reference);
        if file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            // Not read as Bicep: an ARM template's exports are not inlined yet.
            pending.push(catalogue::unsupported_construct(
                span,
                "Importing from an ARM JSON template",
            ));
            continue;
        }
        let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
        if stack.contains(&canonical) {
            pending.push(catalogue::cyclic_module(span));
            continue;
        }
        let Ok(imported_text) = std::fs::read_to_string(&file) else {
            pending.push(catalogue::module_file_not_found(
                span,
                &format!("Could not find file '{}'.", file.display()),
            ));
            continue;
        };
        // The imported file's own errors are reported in it.
        let before = diagnostics.len();
        if compile_to_json(&file, stack, diagnostics).is_none() {
            if diagnostics.len() == before {
                pending.push(catalogue::module_file_not_found(
                    span,
                    &format!("The file '{}' has errors.", file.display()),
                ));
            } else {
                pending.push(catalogue::module_file_not_found(
                    span,
                    &format!("The imported file '{}' has errors.", file.display()),
                ));
            }
            continue;
        }
        let imported_text = imported_text.trim_start_matches('\u{feff}');
        let (imported, _) = parser::parse_at(imported_text, FileKind::Template, base);
        base += imported_text.len() + 1;
        // What the imported declarations may refer to: names imported as they are (an aliased
        // one is known here by another name than the one its siblings use).
        let requested: Vec<&str> = import
            .names
            .iter()
            .zip(&import.aliases)
            .filter(|(_, alias)| alias.is_none())
            .map(|(n, _)| n.name.as_str())
            .collect();
        let top_level: Vec<String> = imported
            .declarations
            .iter()
            .filter_map(declared_name)
            .collect();
        for (name, alias) in import.names.iter().zip(&import.aliases) {
            let found = imported.declarations.iter().find(|d| {
                declared_name(d).as_deref() == Some(name.name.as_str()) && is_exported(d)
            });
            let Some(found) = found else {
                pending.push(catalogue::import_not_exported(name.span, &name.name));
                continue;
            };
            // A declaration needing others from its file (its import closure) is not inlined yet.
            let needs = references_in(found).into_iter().find(|r| {
                r != &name.name && top_level.contains(r) && !requested.contains(&r.as_str())
            });
            if let Some(needed) = needs {
                pending.push(catalogue::unsupported_construct(
                    name.span,
                    &format!("Importing a declaration that uses '{needed}' from its file without importing it too"),
                ));
                continue;
            }
            let mut declaration = strip_export(found.clone());
            let original = match alias {
                Some(alias) => {
                    rename(&mut declaration, alias);
                    Some(name.name.clone())
                }
                None => None,
            };
            inlined.push((reference.clone(), declaration, original));
        }
    }
    inlined.sort_by_key(|(_, d, _)| declared_name(d).unwrap_or_default());
    for (source, declaration, original) in inlined {
        if let Some(name) = declared_name(&declaration) {
            if let Some(original) = original {
                tree.original_names.push((name.clone(), original));
            }
            tree.imported_from.push((name, source));
        }
        tree.declarations.push(declaration);
    }
}

/// An aliased import is declared here under its alias (its span stays the imported file's).
fn rename(declaration: &mut Declaration, alias: &syntax::Identifier) {
    let name = match declaration {
        Declaration::Type(t) => &mut t.name,
        Declaration::Variable(v) => &mut v.name,
        Declaration::Function(f) => &mut f.name,
        _ => return,
    };
    name.name = alias.name.clone();
}

fn declared_name(declaration: &Declaration) -> Option<String> {
    match declaration {
        Declaration::Type(t) => Some(t.name.name.clone()),
        Declaration::Variable(v) => Some(v.name.name.clone()),
        Declaration::Function(f) => Some(f.name.name.clone()),
        _ => None,
    }
}

fn decorators_of(declaration: &Declaration) -> &[syntax::Decorator] {
    match declaration {
        Declaration::Type(t) => &t.decorators,
        Declaration::Variable(v) => &v.decorators,
        Declaration::Function(f) => &f.decorators,
        _ => &[],
    }
}

fn is_exported(declaration: &Declaration) -> bool {
    decorators_of(declaration)
        .iter()
        .any(|d| d.name.name == "export")
}

/// An inlined copy is not exported again from the importing template.
fn strip_export(mut declaration: Declaration) -> Declaration {
    let decorators = match &mut declaration {
        Declaration::Type(t) => &mut t.decorators,
        Declaration::Variable(v) => &mut v.decorators,
        Declaration::Function(f) => &mut f.decorators,
        _ => return declaration,
    };
    decorators.retain(|d| d.name.name != "export");
    declaration
}

/// Names a declaration refers to: variables and calls in its value, named types in its types.
fn references_in(declaration: &Declaration) -> Vec<String> {
    fn types(type_expression: &syntax::TypeExpression, names: &mut Vec<String>) {
        use syntax::TypeExpression as T;
        match type_expression {
            T::Named(identifier) => names.push(identifier.name.clone()),
            T::ArrayOf(inner, _)
            | T::Nullable(inner, _)
            | T::NonNullable(inner, _)
            | T::Access(inner, _, _) => types(inner, names),
            T::Tuple(items, _) => {
                for item in items {
                    types(&item.value, names);
                }
            }
            T::Union(members, _) => {
                for member in members {
                    types(member, names);
                }
            }
            T::Object(properties, _) => {
                for property in properties {
                    types(&property.value, names);
                }
            }
            _ => {}
        }
    }
    let mut names = Vec::new();
    let mut expressions = Vec::new();
    match declaration {
        Declaration::Type(t) => types(&t.value, &mut names),
        Declaration::Variable(v) => expressions.push(&v.value),
        Declaration::Function(f) => {
            for parameter in &f.parameters {
                types(&parameter.type_expression, &mut names);
            }
            types(&f.return_type, &mut names);
            expressions.push(&f.body);
        }
        _ => {}
    }
    for expression in expressions {
        semantic::visit(expression, &mut |e| match &e.kind {
            ExpressionKind::Variable(identifier) => names.push(identifier.name.clone()),
            ExpressionKind::Call {
                namespace: None,
                name,
                ..
            } => names.push(name.name.clone()),
            _ => {}
        });
    }
    names
}

fn resolve_module(
    module: &syntax::ModuleDeclaration,
    directory: &Path,
    stack: &mut Vec<PathBuf>,
    pending: &mut Vec<PendingDiagnostic>,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Option<Json>, Option<PathBuf>) {
    let span = module.path.span;
    let Some(reference) = module.path.as_plain_string() else {
        if matches!(module.path.kind, ExpressionKind::String(_)) {
            pending.push(catalogue::module_path_interpolation_unsupported(span));
        } else {
            pending.push(catalogue::unrecognized_expression(span));
        }
        return (None, None);
    };
    if ["br:", "br/", "ts:", "ts/"]
        .iter()
        .any(|scheme| reference.starts_with(scheme))
    {
        pending.push(catalogue::registry_unreachable(span, &reference));
        return (None, None);
    }
    let file = directory.join(&reference);
    if !file.is_file() {
        pending.push(catalogue::module_file_not_found(
            span,
            &format!("Could not find file '{}'.", file.display()),
        ));
        return (None, None);
    }
    let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
    if stack.contains(&canonical) {
        pending.push(catalogue::cyclic_module(span));
        return (None, None);
    }
    let is_json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let template = if is_json {
        // An ARM JSON module is inlined as written.
        match std::fs::read_to_string(&file)
            .ok()
            .and_then(|text| parse_json(&text))
        {
            Some(json) => Some(json),
            None => {
                pending.push(catalogue::module_file_not_found(
                    span,
                    &format!(
                        "The file '{}' is not a valid JSON template.",
                        file.display()
                    ),
                ));
                None
            }
        }
    } else {
        let before = diagnostics.len();
        let compiled = compile_to_json(&file, stack, diagnostics);
        if compiled.is_none() && diagnostics.len() == before {
            pending.push(catalogue::module_file_not_found(
                span,
                &format!("The module '{}' failed to compile.", file.display()),
            ));
        }
        compiled
    };
    // Errors inside the module are reported in its own file; this one just stops emitting.
    if template.is_none() && !pending.iter().any(PendingDiagnostic::is_error) {
        pending.push(catalogue::module_file_not_found(
            span,
            &format!("The module '{}' has errors.", file.display()),
        ));
    }
    (template, Some(file))
}

/// Compiles a .bicepparam file: `using './main.bicep'` plus `param x = value` assignments.
pub fn compile_params_file(path: &Path) -> ParamsCompilation {
    let mut diagnostics = Vec::new();
    let Some(text) = read_source(path, &mut diagnostics) else {
        return ParamsCompilation {
            parameters: None,
            template: None,
            diagnostics,
        };
    };
    let (tree, mut pending) = parser::parse(&text, FileKind::Parameters);
    let directory = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let using = tree.declarations.iter().find_map(|d| match d {
        Declaration::Using(value, span) => Some((value, *span)),
        _ => None,
    });
    let mut template_json = None;
    let mut declared_parameters: Vec<(String, bool)> = Vec::new();
    match using {
        None => pending.push(catalogue::bicepparam_missing_using(syntax_start())),
        Some((value, span)) => match value.as_plain_string() {
            None => pending.push(catalogue::compile_time_constant_required(value.span)),
            Some(reference)
                if ["br:", "br/", "ts:", "ts/"]
                    .iter()
                    .any(|s| reference.starts_with(s)) =>
            {
                pending.push(catalogue::registry_unreachable(value.span, &reference))
            }
            Some(reference) => {
                let file = directory.join(&reference);
                if !file.is_file() {
                    pending.push(catalogue::module_file_not_found(
                        span,
                        &format!("Could not find file '{}'.", file.display()),
                    ));
                } else {
                    template_json = compile_to_json(&file, &mut Vec::new(), &mut diagnostics);
                    if let Some(Json::Object(parameters)) =
                        template_json.as_ref().and_then(|t| t.get("parameters"))
                    {
                        for (name, definition) in parameters {
                            declared_parameters
                                .push((name.clone(), definition.get("defaultValue").is_some()));
                        }
                    }
                }
            }
        },
    }

    let mut values = Json::object();
    for declaration in &tree.declarations {
        if let Declaration::ParameterAssignment { name, value, .. } = declaration {
            if template_json.is_some() && !declared_parameters.iter().any(|(n, _)| n == &name.name)
            {
                pending.push(catalogue::bicepparam_param_not_in_template(
                    name.span, &name.name,
                ));
                continue;
            }
            match constant_value(value, &mut pending) {
                Some(json) => {
                    let mut entry = Json::object();
                    entry.insert("value", json);
                    values.insert(&name.name, entry);
                }
                None => continue,
            }
        }
    }
    if template_json.is_some() {
        for (name, has_default) in &declared_parameters {
            if !has_default && values.get(name).is_none() {
                let span = using.map(|(_, s)| s).unwrap_or_default();
                pending.push(catalogue::bicepparam_missing_required_param(span, name));
            }
        }
    }
    let has_errors = pending.iter().any(PendingDiagnostic::is_error)
        || diagnostics.iter().any(Diagnostic::is_error);
    diagnostics.extend(place(path, &text, pending));
    if has_errors {
        return ParamsCompilation {
            parameters: None,
            template: None,
            diagnostics,
        };
    }
    let mut parameters = Json::object();
    parameters.insert(
        "$schema",
        Json::String(
            "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
                .into(),
        ),
    );
    parameters.insert("contentVersion", Json::String("1.0.0.0".into()));
    parameters.insert("parameters", values);
    ParamsCompilation {
        parameters: Some(parameters.to_pretty_string()),
        template: template_json.map(|t| t.to_pretty_string()),
        diagnostics,
    }
}

fn syntax_start() -> text::Span {
    text::Span::new(0, 0)
}

/// A .bicepparam value must be known at compile time: literals, objects, arrays,
/// and readEnvironmentVariable('NAME', 'default').
fn constant_value(
    expression: &syntax::Expression,
    pending: &mut Vec<PendingDiagnostic>,
) -> Option<Json> {
    use syntax::{ArrayItem, ObjectItem};
    match &expression.kind {
        ExpressionKind::String(_) => match expression.as_plain_string() {
            Some(text) => Some(Json::String(text)),
            None => {
                pending.push(catalogue::compile_time_constant_required(expression.span));
                None
            }
        },
        ExpressionKind::Integer(value) => Some(Json::Integer(*value)),
        ExpressionKind::Boolean(value) => Some(Json::Bool(*value)),
        ExpressionKind::Null => Some(Json::Null),
        ExpressionKind::Parenthesized(inner) => constant_value(inner, pending),
        ExpressionKind::Array(items) => {
            let mut values = Vec::new();
            for item in items {
                match item {
                    ArrayItem::Value(value) => values.push(constant_value(value, pending)?),
                    ArrayItem::Spread(spread) => {
                        pending.push(catalogue::compile_time_constant_required(spread.span));
                        return None;
                    }
                }
            }
            Some(Json::Array(values))
        }
        ExpressionKind::Object(items) => {
            let mut object = Json::object();
            for item in items {
                match item {
                    ObjectItem::Property(property) => {
                        let Some(key) = property.key_text() else {
                            pending.push(catalogue::compile_time_constant_required(property.span));
                            return None;
                        };
                        object.insert(&key, constant_value(&property.value, pending)?);
                    }
                    _ => {
                        pending.push(catalogue::compile_time_constant_required(expression.span));
                        return None;
                    }
                }
            }
            Some(object)
        }
        ExpressionKind::Call {
            name, arguments, ..
        } if name.name == "readEnvironmentVariable" && !arguments.is_empty() => {
            let variable = arguments[0].as_plain_string()?;
            match std::env::var(&variable) {
                Ok(value) => Some(Json::String(value)),
                Err(_) => match arguments.get(1) {
                    Some(default) => constant_value(default, pending),
                    None => {
                        pending.push(catalogue::compile_time_constant_required(expression.span));
                        None
                    }
                },
            }
        }
        _ => {
            pending.push(catalogue::compile_time_constant_required(expression.span));
            None
        }
    }
}
