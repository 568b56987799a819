//! Date functions. Times are UTC; formats are .NET's (standard one-letter
//! formats as en-US prints them, which is what ARM's documentation shows,
//! and the custom `yyyy`/`MM`/`dd`/`HH`/`mm`/`ss`/`fff` patterns).

use chrono::{DateTime, Datelike, Duration, Months, NaiveDateTime, Timelike, Utc};
use serde_json::Value;

use super::Invocation;
use crate::deployments::expressions::values::{int, int_arg, str_arg};
use crate::deployments::expressions::ExprError;

const DEFAULT_UTC_NOW_FORMAT: &str = "yyyyMMddTHHmmssZ";
const ISO_FORMAT: &str = "yyyy-MM-ddTHH:mm:ssZ";

pub fn utc_now(args: &[Value], inv: &Invocation) -> Result<Value, ExprError> {
    let format = match args.first() {
        Some(_) => str_arg(args, 0)?,
        None => DEFAULT_UTC_NOW_FORMAT,
    };
    Ok(Value::String(format_datetime(&inv.ctx.utc_now(), format)?))
}

pub fn date_time_add(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let base = parse_datetime(str_arg(args, 0)?)?;
    let duration = str_arg(args, 1)?;
    let result = add_duration(base, duration)?;
    let format = match args.get(2) {
        Some(_) => str_arg(args, 2)?,
        None => ISO_FORMAT,
    };
    Ok(Value::String(format_datetime(&result, format)?))
}

pub fn date_time_from_epoch(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    let seconds = int_arg(args, 0)?;
    let time = DateTime::<Utc>::from_timestamp(seconds, 0)
        .ok_or_else(|| ExprError::new(format!("the epoch time '{seconds}' is out of range")))?;
    Ok(Value::String(format_datetime(&time, ISO_FORMAT)?))
}

pub fn date_time_to_epoch(args: &[Value], _: &Invocation) -> Result<Value, ExprError> {
    Ok(int(parse_datetime(str_arg(args, 0)?)?.timestamp()))
}

/// ISO 8601 / RFC 3339, with or without an offset (none means UTC), and
/// the `u` format's space-separated form.
pub fn parse_datetime(text: &str) -> Result<DateTime<Utc>, ExprError> {
    let trimmed = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(t.with_timezone(&Utc));
    }
    let without_zone = trimmed.trim_end_matches(['Z', 'z']);
    for pattern in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y%m%dT%H%M%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(without_zone, pattern) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(ExprError::new(format!(
        "the value '{text}' is not a valid date and time"
    )))
}

/// Adds an ISO 8601 duration: `[-]P[nY][nM][nW][nD][T[nH][nM][n[.n]S]]`.
fn add_duration(base: DateTime<Utc>, duration: &str) -> Result<DateTime<Utc>, ExprError> {
    let invalid = || {
        ExprError::new(format!(
            "the value '{duration}' is not a valid ISO 8601 duration"
        ))
    };
    let (negative, body) = match duration.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, duration),
    };
    let body = body.strip_prefix(['P', 'p']).ok_or_else(invalid)?;
    let (mut months, mut seconds) = (0i64, 0f64);
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in body.chars() {
        match c.to_ascii_uppercase() {
            'T' if !in_time && number.is_empty() => in_time = true,
            d if d.is_ascii_digit() || d == '.' || d == ',' => {
                number.push(if d == ',' { '.' } else { d })
            }
            unit => {
                let n: f64 = number.parse().map_err(|_| invalid())?;
                number.clear();
                any = true;
                match (in_time, unit) {
                    (false, 'Y') => months += (n as i64) * 12,
                    (false, 'M') => months += n as i64,
                    (false, 'W') => seconds += n * 7.0 * 86_400.0,
                    (false, 'D') => seconds += n * 86_400.0,
                    (true, 'H') => seconds += n * 3_600.0,
                    (true, 'M') => seconds += n * 60.0,
                    (true, 'S') => seconds += n,
                    _ => return Err(invalid()),
                }
            }
        }
    }
    if !number.is_empty() || !any {
        return Err(invalid());
    }
    let sign = if negative { -1 } else { 1 };
    let shifted = if months == 0 {
        Some(base)
    } else if sign * months > 0 {
        base.checked_add_months(Months::new(u32::try_from(months).map_err(|_| invalid())?))
    } else {
        base.checked_sub_months(Months::new(u32::try_from(months).map_err(|_| invalid())?))
    };
    let millis = (seconds * 1000.0).round();
    if !millis.is_finite() || millis.abs() > 1e15 {
        return Err(invalid());
    }
    shifted
        .and_then(|t| t.checked_add_signed(Duration::milliseconds(sign * millis as i64)))
        .ok_or_else(|| ExprError::new("the resulting date and time is out of range"))
}

/// Expands a .NET standard format letter to its en-US custom pattern.
fn standard_pattern(format: &str) -> Option<&'static str> {
    Some(match format {
        "d" => "M/d/yyyy",
        "D" => "dddd, MMMM d, yyyy",
        "f" => "dddd, MMMM d, yyyy h:mm tt",
        "F" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "g" => "M/d/yyyy h:mm tt",
        "G" => "M/d/yyyy h:mm:ss tt",
        "m" | "M" => "MMMM d",
        "o" | "O" => "yyyy-MM-ddTHH:mm:ss.fffffffK",
        "r" | "R" => "ddd, dd MMM yyyy HH:mm:ss 'GMT'",
        "s" => "yyyy-MM-ddTHH:mm:ss",
        "t" => "h:mm tt",
        "T" => "h:mm:ss tt",
        "u" => "yyyy-MM-dd HH:mm:ssZ",
        "U" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "y" | "Y" => "MMMM yyyy",
        _ => return None,
    })
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Formats `time` with a .NET date format string.
pub fn format_datetime(time: &DateTime<Utc>, format: &str) -> Result<String, ExprError> {
    let pattern: Vec<char> = standard_pattern(format).unwrap_or(format).chars().collect();
    if format.chars().count() == 1 && standard_pattern(format).is_none() {
        return Err(ExprError::new(format!(
            "the date format '{format}' is not valid"
        )));
    }
    let mut out = String::new();
    let mut i = 0;
    while i < pattern.len() {
        let c = pattern[i];
        let run = pattern[i..].iter().take_while(|&&x| x == c).count();
        let month = time.month0() as usize;
        let weekday = time.weekday().num_days_from_monday() as usize;
        match c {
            'y' => {
                if run == 2 {
                    out.push_str(&format!("{:02}", time.year() % 100));
                } else if run == 1 {
                    out.push_str(&(time.year() % 100).to_string());
                } else {
                    out.push_str(&format!("{:0w$}", time.year(), w = run));
                }
            }
            'M' => match run {
                1 => out.push_str(&(month + 1).to_string()),
                2 => out.push_str(&format!("{:02}", month + 1)),
                3 => out.push_str(MONTHS[month].get(..3).unwrap_or_default()),
                _ => out.push_str(MONTHS[month]),
            },
            'd' => match run {
                1 => out.push_str(&time.day().to_string()),
                2 => out.push_str(&format!("{:02}", time.day())),
                3 => out.push_str(DAYS[weekday].get(..3).unwrap_or_default()),
                _ => out.push_str(DAYS[weekday]),
            },
            'H' => out.push_str(&pad(time.hour(), run)),
            'h' => out.push_str(&pad((time.hour() + 11) % 12 + 1, run)),
            'm' => out.push_str(&pad(time.minute(), run)),
            's' => out.push_str(&pad(time.second(), run)),
            'f' | 'F' => {
                let digits = format!("{:09}", time.nanosecond());
                let mut part: String = digits.chars().take(run.min(7)).collect();
                if c == 'F' {
                    part = part.trim_end_matches('0').to_string();
                }
                out.push_str(&part);
            }
            't' => {
                let marker = if time.hour() < 12 { "AM" } else { "PM" };
                out.push_str(if run == 1 { &marker[..1] } else { marker });
            }
            'K' => out.push('Z'),
            'z' => out.push_str(if run >= 3 {
                "+00:00"
            } else if run == 2 {
                "+00"
            } else {
                "+0"
            }),
            '\'' | '"' => {
                let close = pattern[i + 1..].iter().position(|&x| x == c);
                let end = close.map_or(pattern.len(), |p| i + 1 + p);
                out.extend(&pattern[i + 1..end]);
                i = (end + 1).min(pattern.len());
                continue;
            }
            '\\' => {
                if let Some(next) = pattern.get(i + 1) {
                    out.push(*next);
                }
                i += 2;
                continue;
            }
            other => {
                out.extend(std::iter::repeat_n(other, run));
            }
        }
        i += run;
    }
    Ok(out)
}

fn pad(value: u32, run: usize) -> String {
    if run >= 2 {
        format!("{value:02}")
    } else {
        value.to_string()
    }
}
