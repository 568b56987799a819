//! The syntax tree of one expression. Positions are 0-based character
//! offsets into the template string as written (outer brackets included),
//! so errors can point at the token a user wrote.

/// One ARM expression. ARM has only string and integer literals; `true`,
/// `false` and `null` are the functions `true()`, `false()` and `null()`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    String(String),
    Int(i64),
    Call(Call),
    /// `target.property` (case-insensitive on objects).
    Member {
        target: Box<Expr>,
        property: String,
        position: usize,
    },
    /// `target[index]`.
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
        position: usize,
    },
}

/// A function call: a built-in `name(args)` or a user-defined
/// `namespace.name(args)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub namespace: Option<String>,
    pub name: String,
    /// The name lower-cased (`namespace.name` for user functions): function
    /// names are case-insensitive, and this is what lookups compare.
    pub key: String,
    pub args: Vec<Expr>,
    pub position: usize,
}

impl Expr {
    /// Where this expression starts in the template string.
    pub fn position(&self) -> Option<usize> {
        match self {
            Expr::String(_) | Expr::Int(_) => None,
            Expr::Call(call) => Some(call.position),
            Expr::Member { position, .. } | Expr::Index { position, .. } => Some(*position),
        }
    }
}

/// Every call in `expr`, outermost first, nested ones included, as
/// (lower-cased name, arguments): what the template planner scans for
/// `reference(...)` and `resourceId(...)` dependencies.
pub fn function_calls(expr: &Expr) -> Vec<(&str, &[Expr])> {
    let mut calls = Vec::new();
    collect_calls(expr, &mut calls);
    calls
}

fn collect_calls<'e>(expr: &'e Expr, calls: &mut Vec<(&'e str, &'e [Expr])>) {
    match expr {
        Expr::String(_) | Expr::Int(_) => {}
        Expr::Call(call) => {
            calls.push((call.key.as_str(), call.args.as_slice()));
            for arg in &call.args {
                collect_calls(arg, calls);
            }
        }
        Expr::Member { target, .. } => collect_calls(target, calls),
        Expr::Index { target, index, .. } => {
            collect_calls(target, calls);
            collect_calls(index, calls);
        }
    }
}
