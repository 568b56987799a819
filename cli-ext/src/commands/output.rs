//! `--query` and `--output`, done once for every command.
//!
//! As in the Azure CLI: the query runs first (JMESPath on the command's JSON
//! result); a command's own table layout is used only without `--query`
//! (with one, the table shows what the query returned).

use std::io::Write;

use serde_json::Value;

use super::error::{CliError, CliResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Json,
    Jsonc,
    Table,
    Tsv,
    Yaml,
    Yamlc,
    None,
}

impl OutputFormat {
    /// `-o` wins, then `AZURE_CORE_OUTPUT` (az's environment setting), then JSON.
    pub fn resolve(flag: Option<Self>) -> CliResult<Self> {
        if let Some(f) = flag {
            return Ok(f);
        }
        match std::env::var("AZURE_CORE_OUTPUT") {
            Ok(v) if !v.is_empty() => {
                <Self as clap::ValueEnum>::from_str(&v, true).map_err(|_| {
                    CliError::usage(format!(
                        "AZURE_CORE_OUTPUT: '{v}' is not one of json, jsonc, table, tsv, yaml, yamlc, none"
                    ))
                })
            }
            _ => Ok(Self::Json),
        }
    }
}

/// A table row: columns in display order.
pub type Row = Vec<(&'static str, Value)>;

/// Turns one item of a command's result into its row for `-o table` (a
/// list's items one row each, a single resource one row).
pub type TableLayout = fn(&Value) -> Row;

/// Compiles a `--query` before anything is sent, so a bad expression is a
/// usage error with nothing changed.
pub fn compile_query(query: &str) -> CliResult<jmespath::Expression<'static>> {
    jmespath::compile(query).map_err(|e| {
        CliError::usage(format!(
            "argument --query: invalid jmespath query supplied for '--query': {e}"
        ))
    })
}

pub fn apply_query(expr: &jmespath::Expression<'static>, value: &Value) -> CliResult<Value> {
    let result = expr
        .search(value)
        .map_err(|e| CliError::usage(format!("argument --query: {e}")))?;
    serde_json::to_value(&*result).map_err(|e| CliError::client(e.to_string()))
}

/// Renders a command's result. `layout` is the command's table layout.
pub fn render(
    value: &Value,
    format: OutputFormat,
    query: Option<&jmespath::Expression<'static>>,
    layout: Option<TableLayout>,
) -> CliResult<String> {
    let (value, layout) = match query {
        Some(q) => (apply_query(q, value)?, None),
        None => (value.clone(), layout),
    };
    Ok(match format {
        OutputFormat::None => String::new(),
        OutputFormat::Json => pretty(&value),
        OutputFormat::Jsonc => colour_json(&value, 0) + "\n",
        OutputFormat::Yaml | OutputFormat::Yamlc => {
            serde_yaml_ng::to_string(&value).map_err(|e| CliError::client(e.to_string()))?
        }
        OutputFormat::Tsv => tsv(&value),
        OutputFormat::Table => {
            let layout = layout.unwrap_or(generic_row);
            let rows: Vec<Row> = items(&value).into_iter().map(layout).collect();
            table(&rows)
        }
    })
}

pub fn print(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn pretty(value: &Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

/// A value as a table or TSV cell: strings unquoted, null empty.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Object(_) | Value::Array(_))
}

/// What a table shows a row each: a list's items, or the one result.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// az's default table row: an object's scalar fields as columns, headers
/// with the first letter capitalised.
fn generic_row(item: &Value) -> Row {
    match item {
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| is_scalar(v))
            .map(|(k, v)| (leak_header(k), v.clone()))
            .collect(),
        scalar => vec![("Result", scalar.clone())],
    }
}

/// Column headers are few and the process is short-lived.
fn leak_header(key: &str) -> &'static str {
    let mut chars = key.chars();
    let header = match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    };
    Box::leak(header.into_boxed_str())
}

fn table(rows: &[Row]) -> String {
    // Columns in first-seen order across all rows.
    let mut headers: Vec<&'static str> = Vec::new();
    for row in rows {
        for (h, _) in row {
            if !headers.contains(h) {
                headers.push(h);
            }
        }
    }
    if headers.is_empty() {
        return String::new();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            headers
                .iter()
                .map(|h| {
                    row.iter()
                        .find(|(k, _)| k == h)
                        .map(|(_, v)| cell(v))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<String>| -> String {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in cells {
        out += &line(row);
    }
    out
}

/// az's TSV: one line per item, scalar fields tab-separated, no header.
fn tsv(value: &Value) -> String {
    let line = |v: &Value| -> String {
        match v {
            Value::Object(map) => map
                .values()
                .filter(|v| is_scalar(v))
                .map(cell)
                .collect::<Vec<_>>()
                .join("\t"),
            Value::Array(a) => a
                .iter()
                .filter(|v| is_scalar(v))
                .map(cell)
                .collect::<Vec<_>>()
                .join("\t"),
            scalar => cell(scalar),
        }
    };
    match value {
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(|i| line(i) + "\n").collect(),
        other => line(other) + "\n",
    }
}

/// `-o jsonc`: JSON with ANSI colours (keys, strings, literals), as az prints it.
fn colour_json(value: &Value, indent: usize) -> String {
    const KEY: &str = "\x1b[94m";
    const STRING: &str = "\x1b[32m";
    const LITERAL: &str = "\x1b[36m";
    const RESET: &str = "\x1b[0m";
    let pad = "  ".repeat(indent + 1);
    let close = "  ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{pad}{KEY}{}{RESET}: {}",
                        Value::String(k.clone()),
                        colour_json(v, indent + 1)
                    )
                })
                .collect();
            format!("{{\n{}\n{close}}}", fields.join(",\n"))
        }
        Value::Array(items) if !items.is_empty() => {
            let items: Vec<String> = items
                .iter()
                .map(|v| format!("{pad}{}", colour_json(v, indent + 1)))
                .collect();
            format!("[\n{}\n{close}]", items.join(",\n"))
        }
        Value::String(_) => format!("{STRING}{value}{RESET}"),
        Value::Object(_) | Value::Array(_) => value.to_string(),
        _ => format!("{LITERAL}{value}{RESET}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_aligns_columns_and_leaves_out_nested_values() {
        let v = json!([{"name": "a", "location": "eastus2", "tags": {"x": "y"}},
                       {"name": "longer", "location": "westus"}]);
        let out = render(&v, OutputFormat::Table, None, None).unwrap();
        assert_eq!(
            out,
            "Location  Name\n--------  ------\neastus2   a\nwestus    longer\n"
        );
    }

    #[test]
    fn query_runs_before_formatting_and_replaces_the_layout() {
        let v = json!([{"name": "a", "n": 1}, {"name": "b", "n": 2}]);
        let q = compile_query("[?n > `1`].name").unwrap();
        assert_eq!(
            render(&v, OutputFormat::Tsv, Some(&q), None).unwrap(),
            "b\n"
        );
        assert!(compile_query("[?").is_err());
    }
}
