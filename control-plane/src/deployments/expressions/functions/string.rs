//! String functions: encodings (base64, data URIs, URI components),
//! case, trimming, padding, searching and splitting.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use super::Invocation;
use crate::deployments::expressions::values::{
    arg, array_arg, int_arg, str_arg, to_arm_string, type_name,
};
use crate::deployments::expressions::ExprError;

fn text(value: String) -> Result<Value, ExprError> {
    Ok(Value::String(value))
}

fn decode_base64(encoded: &str) -> Result<Vec<u8>, ExprError> {
    STANDARD
        .decode(encoded.trim())
        .map_err(|e| ExprError::new(format!("the value '{encoded}' is not valid base64: {e}")))
}

fn utf8(bytes: Vec<u8>) -> Result<String, ExprError> {
    String::from_utf8(bytes).map_err(|_| ExprError::new("the decoded bytes are not valid UTF-8"))
}

pub fn base64(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    text(STANDARD.encode(str_arg(args, 0)?))
}

pub fn base64_to_string(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    text(utf8(decode_base64(str_arg(args, 0)?)?)?)
}

pub fn base64_to_json(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    parse_json(&utf8(decode_base64(str_arg(args, 0)?)?)?)
}

pub fn json(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    parse_json(str_arg(args, 0)?)
}

fn parse_json(source: &str) -> Result<Value, ExprError> {
    serde_json::from_str(source)
        .map_err(|e| ExprError::new(format!("the value '{source}' is not valid JSON: {e}")))
}

pub fn data_uri(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let encoded = STANDARD.encode(to_arm_string(arg(args, 0)?));
    text(format!("data:text/plain;charset=utf8;base64,{encoded}"))
}

pub fn data_uri_to_string(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let uri = str_arg(args, 0)?;
    let invalid = || ExprError::new(format!("the value '{uri}' is not a valid data URI"));
    let rest = uri
        .get(..5)
        .filter(|scheme| scheme.eq_ignore_ascii_case("data:"))
        .and_then(|_| uri.get(5..))
        .ok_or_else(invalid)?;
    let (header, data) = rest.split_once(',').ok_or_else(invalid)?;
    if header.to_ascii_lowercase().ends_with(";base64") {
        text(utf8(decode_base64(data)?)?)
    } else {
        text(percent_decode(data)?)
    }
}

pub fn ends_with(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let (s, suffix) = (
        str_arg(args, 0)?.to_lowercase(),
        str_arg(args, 1)?.to_lowercase(),
    );
    Ok(Value::Bool(s.ends_with(&suffix)))
}

pub fn starts_with(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let (s, prefix) = (
        str_arg(args, 0)?.to_lowercase(),
        str_arg(args, 1)?.to_lowercase(),
    );
    Ok(Value::Bool(s.starts_with(&prefix)))
}

pub fn join(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let items = array_arg(args, 0)?;
    let delimiter = str_arg(args, 1)?;
    let parts: Vec<String> = items.iter().map(to_arm_string).collect();
    text(parts.join(delimiter))
}

pub fn new_guid(_: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    text(uuid::Uuid::new_v4().to_string())
}

pub fn pad_left(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let value = match arg(args, 0)? {
        v @ (Value::String(_) | Value::Number(_)) => to_arm_string(v),
        other => {
            return Err(ExprError::new(format!(
                "the value to pad must be a string or an integer, not '{}'",
                type_name(other)
            )))
        }
    };
    let total = int_arg(args, 1)?;
    let pad = match args.get(2) {
        None => ' ',
        Some(_) => {
            let pad = str_arg(args, 2)?;
            let mut chars = pad.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => {
                    return Err(ExprError::new(
                        "the padding character must be a single character",
                    ))
                }
            }
        }
    };
    let current = value.chars().count() as i64;
    let missing = usize::try_from(total - current).unwrap_or(0);
    // ARM caps padded strings; guard against templates asking for gigabytes.
    if total > 16 * 1024 {
        return Err(ExprError::new("the total length is too large"));
    }
    text(
        std::iter::repeat_n(pad, missing)
            .chain(value.chars())
            .collect(),
    )
}

pub fn replace(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let (s, old, new) = (str_arg(args, 0)?, str_arg(args, 1)?, str_arg(args, 2)?);
    if old.is_empty() {
        return Err(ExprError::new("the string to replace must not be empty"));
    }
    text(s.replace(old, new))
}

pub fn split(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let s = str_arg(args, 0)?;
    let delimiters: Vec<String> = match arg(args, 1)? {
        Value::String(d) => vec![d.clone()],
        Value::Array(items) => items.iter().map(to_arm_string).collect(),
        other => {
            return Err(ExprError::new(format!(
                "the delimiter must be a string or an array of strings, not '{}'",
                type_name(other)
            )))
        }
    };
    Ok(Value::Array(
        split_any(s, &delimiters)
            .into_iter()
            .map(Value::String)
            .collect(),
    ))
}

/// Splits at every occurrence of any delimiter (leftmost first, as .NET's
/// `String.Split(string[])` does); empty delimiters are ignored.
fn split_any(s: &str, delimiters: &[String]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut rest = s;
    'scan: while !rest.is_empty() {
        for d in delimiters.iter().filter(|d| !d.is_empty()) {
            if let Some(after) = rest.strip_prefix(d.as_str()) {
                parts.push(std::mem::take(&mut current));
                rest = after;
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            current.push(c);
        }
        rest = chars.as_str();
    }
    parts.push(current);
    parts
}

pub fn string(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    text(to_arm_string(arg(args, 0)?))
}

pub fn substring(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let chars: Vec<char> = str_arg(args, 0)?.chars().collect();
    let start = int_arg(args, 1)?;
    let length = match args.get(2) {
        Some(_) => int_arg(args, 2)?,
        None => chars.len() as i64 - start,
    };
    let out_of_range = || {
        ExprError::new(format!(
            "The index and length parameters must refer to a location within the string. The index parameter: '{start}', the length parameter: '{length}', the length of the string parameter: '{}'",
            chars.len()
        ))
    };
    let begin = usize::try_from(start).map_err(|_| out_of_range())?;
    let count = usize::try_from(length).map_err(|_| out_of_range())?;
    let end = begin
        .checked_add(count)
        .filter(|&e| e <= chars.len())
        .ok_or_else(out_of_range)?;
    text(chars[begin..end].iter().collect())
}

pub fn to_lower(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    text(str_arg(args, 0)?.to_lowercase())
}

pub fn to_upper(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    text(str_arg(args, 0)?.to_uppercase())
}

pub fn trim(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    text(str_arg(args, 0)?.trim().to_string())
}

/// `uri(base, relative)`: RFC 3986 reference resolution, which gives what
/// ARM documents (a base without a trailing slash loses its last segment).
pub fn uri(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let (base, relative) = (str_arg(args, 0)?, str_arg(args, 1)?);
    let base_url = url::Url::parse(base)
        .map_err(|e| ExprError::new(format!("the base URI '{base}' is not valid: {e}")))?;
    // ARM documents a trailing slash and a leading one as combining into one.
    let relative = if base.ends_with('/') {
        relative.trim_start_matches('/')
    } else {
        relative
    };
    let joined = base_url
        .join(relative)
        .map_err(|e| ExprError::new(format!("the relative URI '{relative}' is not valid: {e}")))?;
    text(joined.to_string())
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as
/// .NET's `Uri.EscapeDataString` does.
pub fn uri_component(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let mut encoded = String::new();
    for byte in str_arg(args, 0)?.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    text(encoded)
}

pub fn uri_component_to_string(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    text(percent_decode(str_arg(args, 0)?)?)
}

fn percent_decode(encoded: &str) -> Result<String, ExprError> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = encoded
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    ExprError::new(format!(
                        "the value '{encoded}' has an invalid escape at {i}"
                    ))
                })?;
            decoded.push(hex);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    utf8(decoded)
}
