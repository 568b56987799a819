//! Shared helpers: compile a snippet from a temporary directory.

#![allow(dead_code)]

use std::path::PathBuf;

pub struct Workspace {
    pub directory: tempfile::TempDir,
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            directory: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.directory.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create directories");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }
}

/// Compiles `main.bicep` and returns the template as a JSON value; panics with the diagnostics otherwise.
pub fn compile(text: &str) -> serde_json::Value {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", text);
    compile_path(&path)
}

pub fn compile_path(path: &std::path::Path) -> serde_json::Value {
    let compilation = bicep::compile_file(path);
    let rendered: Vec<String> = compilation.diagnostics.iter().map(|d| d.render()).collect();
    let template = compilation
        .template
        .unwrap_or_else(|| panic!("no template; diagnostics: {rendered:#?}"));
    serde_json::from_str(&template).expect("emitted JSON parses")
}

/// Whether a diagnostic is the compiler's own (BCPxxx), not a linter rule's (tested in linter.rs).
pub fn is_compiler_diagnostic(diagnostic: &bicep::Diagnostic) -> bool {
    diagnostic.code.starts_with("BCP")
}

/// The compiler's diagnostics as (line, column, code, message) for a snippet (linter rules,
/// which the official compiler also reports, are left out: linter.rs tests them).
pub fn diagnostics(text: &str) -> Vec<(usize, usize, String, String)> {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", text);
    let compilation = bicep::compile_file(&path);
    assert!(
        compilation.template.is_none() || compilation.diagnostics.iter().all(|d| !d.is_error()),
        "a template must not be emitted alongside errors"
    );
    compilation
        .diagnostics
        .into_iter()
        .filter(is_compiler_diagnostic)
        .map(|d| (d.line, d.column, d.code, d.message))
        .collect()
}
