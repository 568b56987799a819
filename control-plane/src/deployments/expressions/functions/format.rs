//! `format()`: .NET composite formatting, `{index[,alignment][:format]}`
//! with `{{` and `}}` for literal braces. Integers take the standard
//! numeric formats ARM templates use (`D`, `N`, `F`, `X`, `P`) and
//! zero-padding custom formats like `000`.

use serde_json::Value;

use super::Invocation;
use crate::deployments::expressions::values::{as_int, rest, str_arg, to_arm_string};
use crate::deployments::expressions::ExprError;

fn invalid(format: &str) -> ExprError {
    ExprError::new(format!("the format string '{format}' is not valid"))
}

pub fn format(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let template = str_arg(args, 0)?;
    let values = rest(args, 1);
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(invalid(template)),
            '{' => {
                let mut item = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => item.push(c),
                        None => return Err(invalid(template)),
                    }
                }
                out.push_str(&format_item(&item, values, template)?);
            }
            c => out.push(c),
        }
    }
    Ok(Value::String(out))
}

fn format_item(item: &str, values: &[Value], template: &str) -> Result<String, ExprError> {
    let (head, spec) = match item.split_once(':') {
        Some((head, spec)) => (head, Some(spec)),
        None => (item, None),
    };
    let (index, alignment) = match head.split_once(',') {
        Some((index, alignment)) => (
            index,
            Some(
                alignment
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| invalid(template))?,
            ),
        ),
        None => (head, None),
    };
    let index: usize = index.trim().parse().map_err(|_| invalid(template))?;
    let value = values.get(index).ok_or_else(|| {
        ExprError::new(format!(
            "the format string refers to argument {index}, but only {} were given",
            values.len()
        ))
    })?;
    let formatted = match spec {
        Some(spec) => format_value(value, spec).ok_or_else(|| invalid(template))?,
        None => to_arm_string(value),
    };
    Ok(align(formatted, alignment.unwrap_or(0)))
}

/// Positive alignment pads on the left, negative on the right.
fn align(text: String, alignment: i64) -> String {
    let width = alignment.unsigned_abs().min(1024) as usize;
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let padding = " ".repeat(width - len);
    if alignment > 0 {
        padding + &text
    } else {
        text + &padding
    }
}

fn format_value(value: &Value, spec: &str) -> Option<String> {
    let Some(number) = value.as_f64() else {
        return Some(to_arm_string(value));
    };
    let integer = as_int(value);
    let mut letters = spec.chars();
    let kind = letters.next()?;
    let precision: Option<usize> = match letters.as_str() {
        "" => None,
        digits => Some(digits.parse::<usize>().ok()?.min(64)),
    };
    match kind.to_ascii_uppercase() {
        'D' => {
            let n = integer?;
            let digits = format!(
                "{:0width$}",
                n.unsigned_abs(),
                width = precision.unwrap_or(0)
            );
            Some(if n < 0 { format!("-{digits}") } else { digits })
        }
        'N' => Some(grouped(number, precision.unwrap_or(2))),
        'F' => Some(format!("{number:.prec$}", prec = precision.unwrap_or(2))),
        'X' => {
            let n = integer?;
            let hex = format!("{n:0width$x}", width = precision.unwrap_or(0));
            Some(if kind == 'X' { hex.to_uppercase() } else { hex })
        }
        'P' => Some(format!(
            "{} %",
            grouped(number * 100.0, precision.unwrap_or(2))
        )),
        _ if spec.chars().all(|c| c == '0') => {
            let n = integer?;
            let digits = format!("{:0width$}", n.unsigned_abs(), width = spec.len().min(64));
            Some(if n < 0 { format!("-{digits}") } else { digits })
        }
        _ => None,
    }
}

/// A number with `,` thousands separators and `decimals` decimals (`N`).
fn grouped(number: f64, decimals: usize) -> String {
    let fixed = format!("{:.decimals$}", number.abs());
    let (whole, fraction) = match fixed.split_once('.') {
        Some((w, f)) => (w.to_string(), Some(f.to_string())),
        None => (fixed, None),
    };
    let mut with_commas = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            with_commas.push(',');
        }
        with_commas.push(c);
    }
    let sign = if number < 0.0 && fixed_is_nonzero(&with_commas, fraction.as_deref()) {
        "-"
    } else {
        ""
    };
    match fraction {
        Some(f) => format!("{sign}{with_commas}.{f}"),
        None => format!("{sign}{with_commas}"),
    }
}

fn fixed_is_nonzero(whole: &str, fraction: Option<&str>) -> bool {
    whole
        .chars()
        .chain(fraction.unwrap_or("").chars())
        .any(|c| c.is_ascii_digit() && c != '0')
}
