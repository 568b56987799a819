//! A Bicep compiler that emits the ARM JSON the official compiler emits, so the
//! unmodified `az` CLI (with `bicep.use_binary_from_path=true`) deploys .bicep
//! files to the Cloud HSM emulator.
//!
//! The pipeline reads from the folder names, as in Azure/bicep:
//! lexer → parser (→ syntax) → binder → semantic → type_checker → emitter.

pub mod binder;
pub mod config;
pub mod diagnostics;
pub mod emitter;
pub mod formatter;
mod imports;
pub mod lexer;
pub mod linter;
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
pub(crate) fn compile_to_json(
    path: &Path,
    stack: &mut Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Json> {
    let text = read_source(path, diagnostics)?;
    let directory = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (mut tree, mut pending) = parser::parse(&text, FileKind::Template);
    let canonical_here = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    stack.push(canonical_here);
    imports::inline_imports(
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

    let config = config::BicepConfig::for_file(path);
    check_experimental(&tree, &config, path, &mut pending);
    let mut model = semantic::SemanticModel::build(&tree, bindings, directory, module_templates);
    if config.assertions {
        model.experimental_features.push("Asserts");
        model.symbolic_names = true;
    }
    pending.append(&mut type_checker::check(&model));
    // The official compiler lints every file it builds; a rule set to "error" stops it.
    pending.append(&mut linter::lint(&model, &text, &config));
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

pub(crate) fn declared_name(declaration: &Declaration) -> Option<String> {
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

pub(crate) fn is_exported(declaration: &Declaration) -> bool {
    decorators_of(declaration)
        .iter()
        .any(|d| d.name.name == "export")
}

/// An inlined copy is not exported again from the importing template.
pub(crate) fn strip_export(mut declaration: Declaration) -> Declaration {
    let decorators = match &mut declaration {
        Declaration::Type(t) => &mut t.decorators,
        Declaration::Variable(v) => &mut v.decorators,
        Declaration::Function(f) => &mut f.decorators,
        _ => return declaration,
    };
    decorators.retain(|d| d.name.name != "export");
    declaration
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

/// `assert` and `test` need their experimental features turned on in bicepconfig.json; an
/// assert holds a bool, a test names a Bicep file.
fn check_experimental(
    tree: &syntax::SyntaxTree,
    config: &config::BicepConfig,
    path: &Path,
    pending: &mut Vec<PendingDiagnostic>,
) {
    for feature in &config.unsupported_features {
        pending.push(catalogue::unsupported_construct(
            syntax_start(),
            &format!("The experimental feature \"{feature}\" (enabled in bicepconfig.json)"),
        ));
    }
    let mut extension_names: Vec<&str> = Vec::new();
    for declaration in &tree.declarations {
        match declaration {
            Declaration::Extension(extension) => {
                let name = extension.name();
                if extension_names.contains(&name) {
                    let span = extension
                        .alias
                        .as_ref()
                        .unwrap_or(&extension.specifier)
                        .span;
                    pending.push(catalogue::identifier_declared_multiple_times(span, name));
                }
                extension_names.push(name);
                check_extension(extension, config, pending);
            }
            Declaration::Assert { value, span, .. } => {
                if !config.assertions {
                    pending.push(catalogue::assertions_disabled(text::Span::new(
                        span.start,
                        span.start + "assert".len(),
                    )));
                }
                let value_type = match &value.kind {
                    ExpressionKind::String(_) => Some(
                        value
                            .as_plain_string()
                            .map(|t| format!("'{t}'"))
                            .unwrap_or_else(|| "string".into()),
                    ),
                    ExpressionKind::Integer(n) => Some(n.to_string()),
                    ExpressionKind::Null => Some("null".into()),
                    ExpressionKind::Object(_) => Some("object".into()),
                    ExpressionKind::Array(_) => Some("array".into()),
                    _ => None,
                };
                if let Some(value_type) = value_type {
                    pending.push(catalogue::assert_value_not_bool(value.span, &value_type));
                }
            }
            Declaration::Test {
                path: test_path,
                span,
                ..
            } => {
                if !config.test_framework {
                    pending.push(catalogue::test_framework_disabled(text::Span::new(
                        span.start,
                        span.start + "test".len(),
                    )));
                    continue;
                }
                match test_path.as_plain_string() {
                    Some(reference) if reference.ends_with(".bicep") => {
                        let file = path.parent().unwrap_or(Path::new(".")).join(&reference);
                        if !file.is_file() {
                            pending.push(catalogue::module_file_not_found(
                                test_path.span,
                                &format!("Could not find file '{}'.", file.display()),
                            ));
                        }
                    }
                    Some(_) => {
                        pending.push(catalogue::test_must_reference_bicep_file(test_path.span))
                    }
                    None => pending.push(catalogue::compile_time_constant_required(test_path.span)),
                }
            }
            _ => {}
        }
    }
}

/// A built-in extension (az, kubernetes) with the configuration it takes; registry ones
/// cannot be restored offline.
fn check_extension(
    extension: &syntax::ExtensionDeclaration,
    config: &config::BicepConfig,
    pending: &mut Vec<PendingDiagnostic>,
) {
    let specifier = &extension.specifier;
    let registry = |reference: &str| {
        ["br:", "br/", "ts:", "ts/"]
            .iter()
            .any(|scheme| reference.starts_with(scheme))
    };
    if extension.quoted {
        if registry(&specifier.name) {
            pending.push(catalogue::registry_unreachable(
                specifier.span,
                &specifier.name,
            ));
        } else {
            pending.push(catalogue::unsupported_construct(
                specifier.span,
                "An extension from a local package file",
            ));
        }
        return;
    }
    match specifier.name.as_str() {
        "az" => {
            if let Some(value) = &extension.config {
                pending.push(catalogue::extension_takes_no_configuration(
                    value.span, "az",
                ));
            }
        }
        "kubernetes" => match &extension.config {
            None => pending.push(catalogue::extension_requires_configuration(
                specifier.span,
                "kubernetes",
            )),
            Some(value) => {
                if matches!(value.kind, ExpressionKind::Object(_))
                    && value.object_property("kubeConfig").is_none()
                {
                    pending.push(catalogue::missing_required_properties(
                        value.span,
                        "object",
                        &["kubeConfig"],
                    ));
                }
            }
        },
        name => match config
            .extension_aliases
            .iter()
            .find(|(alias, _)| alias == name)
        {
            Some((_, reference)) if registry(reference) => {
                pending.push(catalogue::registry_unreachable(specifier.span, reference))
            }
            Some(_) => pending.push(catalogue::unsupported_construct(
                specifier.span,
                "An extension from a local package file",
            )),
            None => pending.push(catalogue::unrecognized_extension(specifier.span, name)),
        },
    }
}
