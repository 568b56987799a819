//! Diagnostics: what the compiler reports, positioned in the source file.
//! Every diagnostic is built by the [`catalogue`] so codes and texts stay in one place.

pub mod catalogue;

use crate::text::Span;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Error => "Error",
            Level::Warning => "Warning",
            Level::Info => "Info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based
    pub line: usize,
    /// 1-based
    pub column: usize,
    pub level: Level,
    pub code: String,
    pub message: String,
}

impl Diagnostic {
    /// The line the official CLI prints: `<path>(<line>,<col>) : Error BCP057: <message>`.
    pub fn render(&self) -> String {
        format!(
            "{}({},{}) : {} {}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.level.label(),
            self.code,
            self.message
        )
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// A diagnostic before it is placed in a file: the catalogue builds these,
/// the pipeline stages collect them, and the compilation positions them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDiagnostic {
    pub span: Span,
    pub level: Level,
    pub code: &'static str,
    pub message: String,
}

impl PendingDiagnostic {
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// A stage gave up on a node: the diagnostic saying why is already collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported;
