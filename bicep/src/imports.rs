//! Compile-time imports (`import {a, b as c} from 'f'`, `import * as ns from 'f'`), from
//! Bicep files and from ARM JSON templates, inlined as the official compiler inlines them
//! (its ImportClosureInfo): every imported declaration comes with the declarations it uses
//! (its closure). A symbol imported by name keeps that name; every other one in the closure
//! is named `_<n>.<name>`, `<n>` numbering the source files in the order their symbols sort
//! by `"<file>_<name>"`. The copies go after the file's own declarations, ordered by name.

use crate::diagnostics::{catalogue, Diagnostic, PendingDiagnostic};
use crate::emitter::json_writer::{parse_json, Json};
use crate::parser::{self, FileKind};
use crate::syntax::*;
use crate::text::Span;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

enum Source {
    Bicep(SyntaxTree),
    Arm(Json),
}

struct LoadedFile {
    /// The file as metadata names it: its path relative to the entry template's folder.
    id: String,
    directory: PathBuf,
    source: Source,
}

/// A declaration of one of the loaded files.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Key {
    file: usize,
    name: String,
}

struct Loader<'c> {
    root: PathBuf,
    files: Vec<LoadedFile>,
    by_path: HashMap<PathBuf, usize>,
    base: usize,
    stack: &'c mut Vec<PathBuf>,
    diagnostics: &'c mut Vec<Diagnostic>,
}

/// Inlines the imports of `tree` (a file in `directory`); spans of the copies start at `base`
/// (past the file's own text) so they never collide with its own.
pub fn inline_imports(
    tree: &mut SyntaxTree,
    directory: &Path,
    base: usize,
    stack: &mut Vec<PathBuf>,
    pending: &mut Vec<PendingDiagnostic>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let imports: Vec<ImportDeclaration> = tree
        .declarations
        .iter()
        .filter_map(|d| match d {
            Declaration::Import(import) => Some(import.clone()),
            _ => None,
        })
        .collect();
    if imports.is_empty() {
        return;
    }
    let mut loader = Loader {
        root: directory.to_path_buf(),
        files: Vec::new(),
        by_path: HashMap::new(),
        base,
        stack,
        diagnostics,
    };
    // Symbols imported by name: (the declaration, its name here).
    let mut explicit: Vec<(Key, String)> = Vec::new();
    // `ns` → the file it names.
    let mut wildcards: HashMap<String, usize> = HashMap::new();
    let mut failed = false;
    for import in &imports {
        let span = import.path.span;
        let Some(reference) = import.path.as_plain_string() else {
            pending.push(catalogue::compile_time_constant_required(span));
            failed = true;
            continue;
        };
        let Some(file) = loader.load(directory, &reference, span, true, pending) else {
            failed = true;
            continue;
        };
        if let Some(alias) = &import.wildcard {
            wildcards.insert(alias.name.clone(), file);
            continue;
        }
        for (name, alias) in import.names.iter().zip(&import.aliases) {
            if !loader.exports(file).contains(&name.name) {
                pending.push(catalogue::import_not_exported(name.span, &name.name));
                failed = true;
                continue;
            }
            let local = alias.as_ref().unwrap_or(name).name.clone();
            explicit.push((
                Key {
                    file,
                    name: name.name.clone(),
                },
                local,
            ));
        }
    }
    if failed {
        return;
    }

    // The closure: explicitly imported symbols, every export of a wildcard-imported file,
    // and whatever they use, transitively.
    let mut queue: Vec<Key> = explicit.iter().map(|(k, _)| k.clone()).collect();
    let mut wildcard_targets: Vec<usize> = wildcards.values().copied().collect();
    wildcard_targets.sort_unstable();
    for file in wildcard_targets {
        for name in loader.exports(file) {
            queue.push(Key { file, name });
        }
    }
    let mut closure: Vec<Key> = Vec::new();
    let mut position = 0;
    while position < queue.len() {
        let key = queue[position].clone();
        position += 1;
        if closure.contains(&key) {
            continue;
        }
        let used = loader.dependencies(&key, pending);
        closure.push(key);
        queue.extend(used);
    }

    // Names: as the official CalculateImportedSymbolNames assigns them.
    let mut names: HashMap<Key, String> = explicit.iter().cloned().collect();
    let mut ordered: Vec<&Key> = closure.iter().collect();
    ordered.sort_by(|a, b| {
        let a = format!("{}_{}", loader.files[a.file].id, a.name);
        let b = format!("{}_{}", loader.files[b.file].id, b.name);
        a.cmp(&b)
    });
    let mut unique = 1;
    let mut template_ids: HashMap<usize, usize> = HashMap::new();
    for key in ordered {
        if names.contains_key(key) {
            continue;
        }
        let template_id = *template_ids.entry(key.file).or_insert_with(|| {
            unique += 1;
            unique - 1
        });
        let symbol = if crate::lexer::is_valid_identifier(&key.name) {
            key.name.clone()
        } else {
            unique += 1;
            format!("_{}", unique - 1)
        };
        names.insert(key.clone(), format!("_{template_id}.{symbol}"));
    }

    // The importing file's own `ns.x` become the names of what they reach.
    let main_wildcard = |namespace: &str, member: &str| -> Option<String> {
        let file = *wildcards.get(namespace)?;
        names
            .get(&Key {
                file,
                name: member.to_string(),
            })
            .cloned()
    };
    for declaration in &mut tree.declarations {
        rewrite_declaration(declaration, &|_| None, &main_wildcard);
    }

    let mut inlined: Vec<(String, Declaration, String, String)> = Vec::new();
    for key in &closure {
        let name = names.get(key).cloned().unwrap_or_else(|| key.name.clone());
        let Some(declaration) = loader.materialize(key, &name, &names, pending) else {
            continue;
        };
        inlined.push((
            name,
            declaration,
            loader.files[key.file].id.clone(),
            key.name.clone(),
        ));
    }
    inlined.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, declaration, source, original) in inlined {
        if name != original {
            tree.original_names.push((name.clone(), original));
        }
        tree.imported_from.push((name, source));
        tree.declarations.push(declaration);
    }
}

impl Loader<'_> {
    /// Loads `reference` (relative to `directory`) once; a Bicep file is compiled first when
    /// `validate` so its own errors are reported in it.
    fn load(
        &mut self,
        directory: &Path,
        reference: &str,
        span: Span,
        validate: bool,
        pending: &mut Vec<PendingDiagnostic>,
    ) -> Option<usize> {
        if ["br:", "br/", "ts:", "ts/"]
            .iter()
            .any(|scheme| reference.starts_with(scheme))
        {
            pending.push(catalogue::registry_unreachable(span, reference));
            return None;
        }
        let path = directory.join(reference);
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if let Some(index) = self.by_path.get(&canonical) {
            return Some(*index);
        }
        if self.stack.contains(&canonical) {
            pending.push(catalogue::cyclic_module(span));
            return None;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            pending.push(catalogue::module_file_not_found(
                span,
                &format!("Could not find file '{}'.", path.display()),
            ));
            return None;
        };
        let text = text.trim_start_matches('\u{feff}');
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let source = if is_json {
            match parse_json(text) {
                Some(json @ Json::Object(_)) => Source::Arm(json),
                _ => {
                    pending.push(catalogue::module_file_not_found(
                        span,
                        &format!(
                            "The file '{}' is not a valid JSON template.",
                            path.display()
                        ),
                    ));
                    return None;
                }
            }
        } else {
            if validate {
                let before = self.diagnostics.len();
                if crate::compile_to_json(&path, self.stack, self.diagnostics).is_none() {
                    let detail = if self.diagnostics.len() == before {
                        format!("The file '{}' has errors.", path.display())
                    } else {
                        format!("The imported file '{}' has errors.", path.display())
                    };
                    pending.push(catalogue::module_file_not_found(span, &detail));
                    return None;
                }
            }
            let (tree, _) = parser::parse_at(text, FileKind::Template, self.base);
            self.base += text.len() + 1;
            Source::Bicep(tree)
        };
        let id = relative_id(&self.root, &path);
        let file_directory = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.files.push(LoadedFile {
            id,
            directory: file_directory,
            source,
        });
        let index = self.files.len() - 1;
        self.by_path.insert(canonical, index);
        Some(index)
    }

    /// Names a file exports, in its declaration order.
    fn exports(&self, file: usize) -> Vec<String> {
        match &self.files[file].source {
            Source::Bicep(tree) => tree
                .declarations
                .iter()
                .filter(|d| crate::is_exported(d))
                .filter_map(crate::declared_name)
                .collect(),
            Source::Arm(template) => {
                let mut names = Vec::new();
                if let Some(Json::Array(exported)) = template
                    .get("metadata")
                    .and_then(|m| m.get("__bicep_exported_variables!"))
                {
                    for entry in exported {
                        if let Some(Json::String(name)) = entry.get("name") {
                            names.push(name.clone());
                        }
                    }
                }
                names.extend(arm_exported_functions(template));
                if let Some(Json::Object(definitions)) = template.get("definitions") {
                    for (name, schema) in definitions {
                        let exported = schema
                            .get("metadata")
                            .and_then(|m| m.get("__bicep_export!"))
                            == Some(&Json::Bool(true));
                        if exported {
                            names.push(name.clone());
                        }
                    }
                }
                names
            }
        }
    }

    fn bicep_declaration(&self, key: &Key) -> Option<&Declaration> {
        match &self.files[key.file].source {
            Source::Bicep(tree) => tree
                .declarations
                .iter()
                .find(|d| crate::declared_name(d).as_deref() == Some(key.name.as_str())),
            Source::Arm(_) => None,
        }
    }

    /// What a local name of a Bicep file stands for: its own declaration, or the declaration
    /// an import of that file brought in under that name.
    fn resolve_local(
        &mut self,
        file: usize,
        name: &str,
        pending: &mut Vec<PendingDiagnostic>,
    ) -> Option<Key> {
        let Source::Bicep(tree) = &self.files[file].source else {
            return None;
        };
        if tree
            .declarations
            .iter()
            .any(|d| crate::declared_name(d).as_deref() == Some(name))
        {
            return Some(Key {
                file,
                name: name.to_string(),
            });
        }
        let found = tree.declarations.iter().find_map(|d| match d {
            Declaration::Import(import) if import.wildcard.is_none() => import
                .names
                .iter()
                .zip(&import.aliases)
                .find(|(n, a)| a.as_ref().unwrap_or(n).name == name)
                .map(|(n, _)| (n.name.clone(), import.path.clone())),
            _ => None,
        });
        let (original, path) = found?;
        let target = self.import_target(file, &path, pending)?;
        Some(Key {
            file: target,
            name: original,
        })
    }

    fn resolve_wildcard(
        &mut self,
        file: usize,
        namespace: &str,
        member: &str,
        pending: &mut Vec<PendingDiagnostic>,
    ) -> Option<Key> {
        let Source::Bicep(tree) = &self.files[file].source else {
            return None;
        };
        let path = tree.declarations.iter().find_map(|d| match d {
            Declaration::Import(ImportDeclaration {
                wildcard: Some(alias),
                path,
                ..
            }) if alias.name == namespace => Some(path.clone()),
            _ => None,
        })?;
        let target = self.import_target(file, &path, pending)?;
        Some(Key {
            file: target,
            name: member.to_string(),
        })
    }

    fn import_target(
        &mut self,
        file: usize,
        path: &Expression,
        pending: &mut Vec<PendingDiagnostic>,
    ) -> Option<usize> {
        let reference = path.as_plain_string()?;
        let directory = self.files[file].directory.clone();
        // The importing file was compiled (and its imports checked) already.
        self.load(&directory, &reference, path.span, false, pending)
    }

    /// The declarations `key` uses.
    fn dependencies(&mut self, key: &Key, pending: &mut Vec<PendingDiagnostic>) -> Vec<Key> {
        match &self.files[key.file].source {
            Source::Arm(template) => {
                let mut used = Vec::new();
                if let Some(value) = arm_variable(template, &key.name)
                    .or_else(|| arm_copy_variable(template, &key.name))
                {
                    collect_arm_references(&value, "variables", &mut used);
                } else if let Some(function) = arm_function(template, &key.name) {
                    // Its parameter and output types, and the functions its value calls.
                    collect_type_references(&function, &mut used);
                    if let Some(Json::String(value)) =
                        function.get("output").and_then(|o| o.get("value"))
                    {
                        let _ = rename_function_calls(value, &mut |name| {
                            used.push(name.to_string());
                            None
                        });
                    }
                } else if let Some(schema) =
                    template.get("definitions").and_then(|d| d.get(&key.name))
                {
                    collect_type_references(schema, &mut used);
                }
                used.sort();
                used.dedup();
                used.into_iter()
                    .filter(|name| name != &key.name)
                    .map(|name| Key {
                        file: key.file,
                        name,
                    })
                    .collect()
            }
            Source::Bicep(_) => {
                let Some(declaration) = self.bicep_declaration(key).cloned() else {
                    return Vec::new();
                };
                let mut locals = Vec::new();
                let mut wildcard_uses = Vec::new();
                for_each_reference(
                    &declaration,
                    &mut |name| locals.push(name.to_string()),
                    &mut |ns, member| wildcard_uses.push((ns.to_string(), member.to_string())),
                );
                let mut used = Vec::new();
                for name in locals {
                    if name == key.name {
                        continue;
                    }
                    if let Some(found) = self.resolve_local(key.file, &name, pending) {
                        used.push(found);
                    }
                }
                for (namespace, member) in wildcard_uses {
                    if let Some(found) =
                        self.resolve_wildcard(key.file, &namespace, &member, pending)
                    {
                        used.push(found);
                    }
                }
                used
            }
        }
    }

    /// The declaration `key` as it is written into the importing template: renamed, its
    /// references renamed to the closure's names, no longer exported.
    fn materialize(
        &mut self,
        key: &Key,
        name: &str,
        names: &HashMap<Key, String>,
        pending: &mut Vec<PendingDiagnostic>,
    ) -> Option<Declaration> {
        let span = Span::new(self.base, self.base);
        self.base += 1;
        match &self.files[key.file].source {
            Source::Arm(template) => {
                let template = template.clone();
                let rename = |kind: &str, original: &str| -> Option<String> {
                    let _ = kind;
                    names
                        .get(&Key {
                            file: key.file,
                            name: original.to_string(),
                        })
                        .cloned()
                };
                let identifier = Identifier {
                    name: name.to_string(),
                    span,
                };
                if let Some(copy) = arm_copy_variable(&template, &key.name) {
                    let count = match copy.get("count") {
                        Some(Json::Integer(n)) => n.to_string(),
                        Some(Json::String(text))
                            if text.starts_with('[') && text.ends_with(']') =>
                        {
                            rename_arm_expression(&text[1..text.len() - 1], &rename)
                        }
                        _ => {
                            pending.push(catalogue::unsupported_construct(
                                span,
                                "An imported ARM copy variable without a count",
                            ));
                            return None;
                        }
                    };
                    let input =
                        rename_arm_json(copy.get("input").cloned().unwrap_or(Json::Null), &rename);
                    return Some(Declaration::Variable(VariableDeclaration {
                        decorators: Vec::new(),
                        name: identifier,
                        type_expression: None,
                        value: Expression::new(
                            ExpressionKind::ArmCopyLoop {
                                count,
                                input: input.to_compact_string(),
                            },
                            span,
                        ),
                        span,
                    }));
                }
                if let Some(value) = arm_variable(&template, &key.name) {
                    let value = rename_arm_json(value, &rename);
                    return Some(Declaration::Variable(VariableDeclaration {
                        decorators: Vec::new(),
                        name: identifier,
                        type_expression: None,
                        value: Expression::new(
                            ExpressionKind::ArmTemplateValue(value.to_compact_string()),
                            span,
                        ),
                        span,
                    }));
                }
                if let Some(schema) = template.get("definitions").and_then(|d| d.get(&key.name)) {
                    let mut schema = rename_type_references(schema.clone(), &rename);
                    if let Some(Json::Object(metadata)) = schema.get_mut("metadata") {
                        metadata.retain(|(k, _)| k != "__bicep_export!");
                    }
                    if let Json::Object(entries) = &mut schema {
                        entries.retain(|(k, v)| {
                            !(k == "metadata" && matches!(v, Json::Object(m) if m.is_empty()))
                        });
                    }
                    return Some(Declaration::Type(TypeDeclaration {
                        decorators: Vec::new(),
                        name: identifier,
                        value: TypeExpression::Schema(schema.to_compact_string(), span),
                        span,
                    }));
                }
                if let Some(function) = arm_function(&template, &key.name) {
                    return Some(Declaration::Function(arm_function_declaration(
                        &function, identifier, &rename,
                    )));
                }
                // Not found: the import's name was checked against the exports already.
                None
            }
            Source::Bicep(_) => {
                let mut declaration = self.bicep_declaration(key)?.clone();
                // Every name the declaration uses, resolved in its own file.
                let mut locals = Vec::new();
                let mut wildcard_uses = Vec::new();
                for_each_reference(
                    &declaration,
                    &mut |n| locals.push(n.to_string()),
                    &mut |ns, m| wildcard_uses.push((ns.to_string(), m.to_string())),
                );
                let mut local_names: HashMap<String, String> = HashMap::new();
                for local in locals {
                    if let Some(found) = self.resolve_local(key.file, &local, pending) {
                        if let Some(final_name) = names.get(&found) {
                            local_names.insert(local, final_name.clone());
                        }
                    }
                }
                let mut wildcard_names: HashMap<(String, String), String> = HashMap::new();
                for (namespace, member) in wildcard_uses {
                    if let Some(found) =
                        self.resolve_wildcard(key.file, &namespace, &member, pending)
                    {
                        if let Some(final_name) = names.get(&found) {
                            wildcard_names.insert((namespace, member), final_name.clone());
                        }
                    }
                }
                rewrite_declaration(
                    &mut declaration,
                    &|n| local_names.get(n).cloned(),
                    &|ns, m| {
                        wildcard_names
                            .get(&(ns.to_string(), m.to_string()))
                            .cloned()
                    },
                );
                rename_declaration(&mut declaration, name);
                Some(crate::strip_export(declaration))
            }
        }
    }
}

fn relative_id(root: &Path, path: &Path) -> String {
    // `main.bicep` given as a bare relative path has an empty parent: the current folder.
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let relative = match full.strip_prefix(&root) {
        Ok(inside) => inside.to_path_buf(),
        Err(_) => {
            // Outside the entry folder: climb with `..` as the official relative path does.
            let mut up = PathBuf::new();
            let mut ancestor = root.as_path();
            loop {
                if let Ok(rest) = full.strip_prefix(ancestor) {
                    break up.join(rest);
                }
                match ancestor.parent() {
                    Some(parent) => {
                        up.push("..");
                        ancestor = parent;
                    }
                    None => break full.clone(),
                }
            }
        }
    };
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn rename_declaration(declaration: &mut Declaration, name: &str) {
    match declaration {
        Declaration::Type(t) => t.name.name = name.to_string(),
        Declaration::Variable(v) => v.name.name = name.to_string(),
        Declaration::Function(f) => f.name.name = name.to_string(),
        _ => {}
    }
}

/// An ARM template's variable value (not a copy loop).
/// A user-defined function of an ARM template's `__bicep` namespace (where the Bicep
/// compiler writes `func` declarations; only those are importable by their plain name).
fn arm_function(template: &Json, name: &str) -> Option<Json> {
    match template.get("functions")? {
        Json::Array(namespaces) => namespaces
            .iter()
            .filter(|n| n.get("namespace") == Some(&Json::String("__bicep".into())))
            .find_map(|n| n.get("members")?.get(name).cloned()),
        _ => None,
    }
}

/// The `__bicep` functions marked `__bicep_export!`, as the official compiler exports them.
fn arm_exported_functions(template: &Json) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(Json::Array(namespaces)) = template.get("functions") {
        for namespace in namespaces {
            if namespace.get("namespace") != Some(&Json::String("__bicep".into())) {
                continue;
            }
            if let Some(Json::Object(members)) = namespace.get("members") {
                for (name, function) in members {
                    let exported = function
                        .get("metadata")
                        .and_then(|m| m.get("__bicep_export!"))
                        == Some(&Json::Bool(true));
                    if exported {
                        names.push(name.clone());
                    }
                }
            }
        }
    }
    names
}

/// An imported ARM function as a `func` declaration: its parameter and output schemas
/// (type references renamed), its value as written there with calls of other imported
/// functions renamed, and its description; never exported again.
fn arm_function_declaration(
    function: &Json,
    identifier: Identifier,
    rename: &dyn Fn(&str, &str) -> Option<String>,
) -> FunctionDeclaration {
    let span = identifier.span;
    let schema_of = |schema: &Json| {
        let mut schema = rename_type_references(schema.clone(), rename);
        if let Json::Object(entries) = &mut schema {
            entries.retain(|(k, _)| k != "name" && k != "value");
        }
        TypeExpression::Schema(schema.to_compact_string(), span)
    };
    let parameters = match function.get("parameters") {
        Some(Json::Array(parameters)) => parameters
            .iter()
            .map(|parameter| FunctionParameter {
                name: Identifier {
                    name: match parameter.get("name") {
                        Some(Json::String(name)) => name.clone(),
                        _ => String::new(),
                    },
                    span,
                },
                type_expression: schema_of(parameter),
            })
            .collect(),
        _ => Vec::new(),
    };
    let output = function.get("output").cloned().unwrap_or(Json::object());
    let value = match output.get("value").cloned().unwrap_or(Json::Null) {
        Json::String(text) if text.starts_with('[') && !text.starts_with("[[") => {
            Json::String(rename_function_calls(&text, &mut |name| {
                rename("function", name)
            }))
        }
        other => other,
    };
    let mut decorators = Vec::new();
    if let Some(Json::String(description)) =
        function.get("metadata").and_then(|m| m.get("description"))
    {
        decorators.push(Decorator {
            namespace: None,
            name: Identifier {
                name: "description".into(),
                span,
            },
            arguments: vec![Expression::new(
                ExpressionKind::String(vec![StringSegment::Text(description.clone())]),
                span,
            )],
            span,
        });
    }
    FunctionDeclaration {
        decorators,
        name: identifier,
        parameters,
        return_type: schema_of(&output),
        body: Expression::new(
            ExpressionKind::ArmTemplateValue(value.to_compact_string()),
            span,
        ),
        span,
    }
}

/// Calls `__bicep.name(` in an ARM expression (outside string literals): each name is
/// passed to `rename`, and replaced where it answers a new one.
fn rename_function_calls(
    expression: &str,
    rename: &mut dyn FnMut(&str) -> Option<String>,
) -> String {
    const PREFIX: &str = "__bicep.";
    let chars: Vec<char> = expression.chars().collect();
    let mut out = String::with_capacity(expression.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\'' {
            let end = string_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + PREFIX.len())].iter().collect();
        if rest == PREFIX {
            let start = i + PREFIX.len();
            let mut end = start;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            match rename(&name) {
                // A closure's `_1.f` is called through its own namespace.
                Some(new) if new.contains('.') => out.push_str(&new),
                Some(new) => {
                    out.push_str(PREFIX);
                    out.push_str(&new);
                }
                None => {
                    out.push_str(PREFIX);
                    out.push_str(&name);
                }
            }
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn arm_variable(template: &Json, name: &str) -> Option<Json> {
    if name == "copy" {
        return None;
    }
    template.get("variables")?.get(name).cloned()
}

fn arm_copy_variable(template: &Json, name: &str) -> Option<Json> {
    match template.get("variables")?.get("copy")? {
        Json::Array(copies) => copies
            .iter()
            .find(|c| c.get("name") == Some(&Json::String(name.to_string())))
            .cloned(),
        _ => None,
    }
}

/// `variables('x')` (and `copyIndex('x')`) names used in an ARM value's expressions.
fn collect_arm_references(value: &Json, function: &str, names: &mut Vec<String>) {
    match value {
        Json::String(text) if text.starts_with('[') && !text.starts_with("[[") => {
            let found = std::cell::RefCell::new(Vec::new());
            let _ = rename_arm_expression(text, &|kind, name| {
                if kind.eq_ignore_ascii_case(function) {
                    found.borrow_mut().push(name.to_string());
                }
                None
            });
            names.extend(found.into_inner());
        }
        Json::Array(items) => items
            .iter()
            .for_each(|i| collect_arm_references(i, function, names)),
        Json::Object(entries) => entries
            .iter()
            .for_each(|(_, v)| collect_arm_references(v, function, names)),
        _ => {}
    }
}

fn collect_type_references(schema: &Json, names: &mut Vec<String>) {
    match schema {
        Json::Object(entries) => {
            for (key, value) in entries {
                match (key.as_str(), value) {
                    ("$ref", Json::String(pointer)) => {
                        if let Some(name) = pointer.strip_prefix("#/definitions/") {
                            names.push(name.split('/').next().unwrap_or(name).to_string());
                        }
                    }
                    _ => collect_type_references(value, names),
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|i| collect_type_references(i, names)),
        _ => {}
    }
}

fn rename_type_references(schema: Json, rename: &dyn Fn(&str, &str) -> Option<String>) -> Json {
    match schema {
        Json::Object(entries) => Json::Object(
            entries
                .into_iter()
                .map(|(key, value)| match (key.as_str(), &value) {
                    ("$ref", Json::String(pointer)) => {
                        let renamed = pointer.strip_prefix("#/definitions/").and_then(|rest| {
                            let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
                            rename("type", name).map(|new| {
                                if tail.is_empty() {
                                    format!("#/definitions/{new}")
                                } else {
                                    format!("#/definitions/{new}/{tail}")
                                }
                            })
                        });
                        (
                            key,
                            Json::String(renamed.unwrap_or_else(|| pointer.clone())),
                        )
                    }
                    _ => (key, rename_type_references(value, rename)),
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(
            items
                .into_iter()
                .map(|i| rename_type_references(i, rename))
                .collect(),
        ),
        other => other,
    }
}

fn rename_arm_json(value: Json, rename: &dyn Fn(&str, &str) -> Option<String>) -> Json {
    match value {
        Json::String(text)
            if text.starts_with('[') && text.ends_with(']') && !text.starts_with("[[") =>
        {
            Json::String(rename_arm_expression(&text, rename))
        }
        Json::Array(items) => Json::Array(
            items
                .into_iter()
                .map(|i| rename_arm_json(i, rename))
                .collect(),
        ),
        Json::Object(entries) => Json::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k, rename_arm_json(v, rename)))
                .collect(),
        ),
        other => other,
    }
}

/// Renames the string argument of `variables('x')` / `copyIndex('x')` in an ARM expression
/// (string literals elsewhere are copied as they are).
fn rename_arm_expression(
    expression: &str,
    rename: &dyn Fn(&str, &str) -> Option<String>,
) -> String {
    let chars: Vec<char> = expression.chars().collect();
    let mut out = String::with_capacity(expression.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = string_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push_str(&word);
            let renames =
                word.eq_ignore_ascii_case("variables") || word.eq_ignore_ascii_case("copyIndex");
            if renames && chars.get(i) == Some(&'(') && chars.get(i + 1) == Some(&'\'') {
                let end = string_end(&chars, i + 1);
                let literal: String = chars[i + 2..end.saturating_sub(1).max(i + 2)]
                    .iter()
                    .collect();
                let name = literal.replace("''", "'");
                out.push('(');
                match rename(&word, &name) {
                    Some(new) => {
                        out.push('\'');
                        out.push_str(&new.replace('\'', "''"));
                        out.push('\'');
                    }
                    None => out.extend(&chars[i + 1..end]),
                }
                i = end;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The index just past the ARM string literal starting at `start` (`''` escapes a quote).
fn string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// Calls `local` for every name a declaration may refer to (variables, function calls,
/// named types) and `wildcard` for every `ns.member`.
fn for_each_reference(
    declaration: &Declaration,
    local: &mut dyn FnMut(&str),
    wildcard: &mut dyn FnMut(&str, &str),
) {
    let mut copy = declaration.clone();
    let mut seen_locals = Vec::new();
    let mut seen_wildcards = Vec::new();
    rewrite_declaration_with(
        &mut copy,
        &mut |name| {
            seen_locals.push(name.to_string());
            None
        },
        &mut |ns, member| {
            seen_wildcards.push((ns.to_string(), member.to_string()));
            None
        },
    );
    for name in &seen_locals {
        local(name);
    }
    for (ns, member) in &seen_wildcards {
        wildcard(ns, member);
    }
}

/// Renames references in a declaration: `local` maps a free name to its new name, `wildcard`
/// maps `ns.member` to the name of what it reaches (the `ns.` goes).
pub fn rewrite_declaration(
    declaration: &mut Declaration,
    local: &dyn Fn(&str) -> Option<String>,
    wildcard: &dyn Fn(&str, &str) -> Option<String>,
) {
    rewrite_declaration_with(declaration, &mut |n| local(n), &mut |ns, m| wildcard(ns, m));
}

type LocalMap<'f> = &'f mut dyn FnMut(&str) -> Option<String>;
type WildcardMap<'f> = &'f mut dyn FnMut(&str, &str) -> Option<String>;

fn rewrite_declaration_with(declaration: &mut Declaration, local: LocalMap, wildcard: WildcardMap) {
    let mut scope = Vec::new();
    match declaration {
        Declaration::Type(t) => rewrite_type(&mut t.value, local, wildcard),
        Declaration::Variable(v) => {
            if let Some(t) = &mut v.type_expression {
                rewrite_type(t, local, wildcard);
            }
            rewrite_expression(&mut v.value, local, wildcard, &mut scope);
        }
        Declaration::Function(f) => {
            for parameter in &mut f.parameters {
                rewrite_type(&mut parameter.type_expression, local, wildcard);
            }
            rewrite_type(&mut f.return_type, local, wildcard);
            scope.extend(f.parameters.iter().map(|p| p.name.name.clone()));
            rewrite_expression(&mut f.body, local, wildcard, &mut scope);
        }
        Declaration::Parameter(p) => {
            rewrite_type(&mut p.type_expression, local, wildcard);
            if let Some(value) = &mut p.default_value {
                rewrite_expression(value, local, wildcard, &mut scope);
            }
        }
        Declaration::Output(o) => {
            rewrite_type(&mut o.type_expression, local, wildcard);
            rewrite_expression(&mut o.value, local, wildcard, &mut scope);
        }
        Declaration::Resource(r) => rewrite_expression(&mut r.value, local, wildcard, &mut scope),
        Declaration::Module(m) => rewrite_expression(&mut m.value, local, wildcard, &mut scope),
        Declaration::Metadata(m) => rewrite_expression(&mut m.value, local, wildcard, &mut scope),
        _ => {}
    }
}

fn rewrite_type(type_expression: &mut TypeExpression, local: LocalMap, wildcard: WildcardMap) {
    use TypeExpression as T;
    if let T::Access(base, TypeAccess::Property(member), span) = type_expression {
        if let T::Named(namespace) = base.as_ref() {
            if let Some(new) = wildcard(&namespace.name, member) {
                *type_expression = T::Named(Identifier {
                    name: new,
                    span: *span,
                });
                return;
            }
        }
    }
    match type_expression {
        T::Named(identifier) => {
            if let Some(new) = local(&identifier.name) {
                identifier.name = new;
            }
        }
        T::ArrayOf(inner, _)
        | T::Nullable(inner, _)
        | T::NonNullable(inner, _)
        | T::Access(inner, _, _) => rewrite_type(inner, local, wildcard),
        T::Object(properties, _) => {
            for property in properties {
                rewrite_type(&mut property.value, local, wildcard);
            }
        }
        T::Tuple(items, _) => {
            for item in items {
                rewrite_type(&mut item.value, local, wildcard);
            }
        }
        T::Union(members, _) => {
            for member in members {
                rewrite_type(member, local, wildcard);
            }
        }
        _ => {}
    }
}

fn rewrite_expression(
    expression: &mut Expression,
    local: LocalMap,
    wildcard: WildcardMap,
    scope: &mut Vec<String>,
) {
    // `ns.member` and `ns.fn(...)` through a wildcard import.
    let replacement = match &expression.kind {
        ExpressionKind::Property { base, name, .. } => match &base.kind {
            ExpressionKind::Variable(namespace) if !scope.contains(&namespace.name) => {
                wildcard(&namespace.name, &name.name).map(|new| {
                    ExpressionKind::Variable(Identifier {
                        name: new,
                        span: namespace.span,
                    })
                })
            }
            _ => None,
        },
        _ => None,
    };
    if let Some(kind) = replacement {
        expression.kind = kind;
        return;
    }
    match &mut expression.kind {
        ExpressionKind::Variable(identifier) if !scope.contains(&identifier.name) => {
            if let Some(new) = local(&identifier.name) {
                identifier.name = new;
            }
        }
        ExpressionKind::Call {
            namespace,
            name,
            arguments,
        } => {
            match namespace {
                None => {
                    if let Some(new) = local(&name.name) {
                        name.name = new;
                    }
                }
                Some(ns) => {
                    if let Some(new) = wildcard(&ns.name, &name.name) {
                        name.name = new;
                        *namespace = None;
                    }
                }
            }
            for argument in arguments {
                rewrite_expression(argument, local, wildcard, scope);
            }
        }
        ExpressionKind::String(segments) => {
            for segment in segments {
                if let StringSegment::Hole(hole) = segment {
                    rewrite_expression(hole, local, wildcard, scope);
                }
            }
        }
        ExpressionKind::Object(items) => {
            for item in items {
                match item {
                    ObjectItem::Property(property) => {
                        if let PropertyKey::String(key) = &mut property.key {
                            rewrite_expression(key, local, wildcard, scope);
                        }
                        rewrite_expression(&mut property.value, local, wildcard, scope);
                    }
                    ObjectItem::Spread(spread) => {
                        rewrite_expression(spread, local, wildcard, scope)
                    }
                    ObjectItem::NestedResource(_) => {}
                }
            }
        }
        ExpressionKind::Array(items) => {
            for item in items {
                match item {
                    ArrayItem::Value(value) | ArrayItem::Spread(value) => {
                        rewrite_expression(value, local, wildcard, scope)
                    }
                }
            }
        }
        ExpressionKind::Property { base, .. }
        | ExpressionKind::NestedResourceAccess { base, .. } => {
            rewrite_expression(base, local, wildcard, scope)
        }
        ExpressionKind::Index { base, index, .. } => {
            rewrite_expression(base, local, wildcard, scope);
            rewrite_expression(index, local, wildcard, scope);
        }
        ExpressionKind::Unary { operand, .. } => {
            rewrite_expression(operand, local, wildcard, scope)
        }
        ExpressionKind::Binary { left, right, .. } => {
            rewrite_expression(left, local, wildcard, scope);
            rewrite_expression(right, local, wildcard, scope);
        }
        ExpressionKind::Ternary {
            condition,
            when_true,
            when_false,
        } => {
            rewrite_expression(condition, local, wildcard, scope);
            rewrite_expression(when_true, local, wildcard, scope);
            rewrite_expression(when_false, local, wildcard, scope);
        }
        ExpressionKind::Parenthesized(inner) => rewrite_expression(inner, local, wildcard, scope),
        ExpressionKind::Condition { condition, body } => {
            rewrite_expression(condition, local, wildcard, scope);
            rewrite_expression(body, local, wildcard, scope);
        }
        ExpressionKind::For(for_expression) => {
            rewrite_expression(&mut for_expression.collection, local, wildcard, scope);
            let before = scope.len();
            scope.extend(for_expression.item.iter().map(|i| i.name.clone()));
            scope.extend(for_expression.index.iter().map(|i| i.name.clone()));
            if let Some(filter) = &mut for_expression.filter {
                rewrite_expression(filter, local, wildcard, scope);
            }
            rewrite_expression(&mut for_expression.body, local, wildcard, scope);
            scope.truncate(before);
        }
        ExpressionKind::Lambda { parameters, body } => {
            let before = scope.len();
            scope.extend(parameters.iter().map(|p| p.name.clone()));
            rewrite_expression(body, local, wildcard, scope);
            scope.truncate(before);
        }
        _ => {}
    }
}
