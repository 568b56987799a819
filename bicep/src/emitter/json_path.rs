//! JSONPath for `loadJsonContent(file, path)` / `loadYamlContent(file, path)`: the tokens a
//! path selects, as the official compiler selects them (Json.NET's SelectTokens): one token
//! is that token, several are an array, none is BCP235.
//!
//! Supported: an optional `$`, `.name`, `['name']` / `["name"]`, `[n]` (negative counts from
//! the end), `[*]` / `.*`, `..name` / `..*` (recursive descent), `[a,b]` unions of names or
//! indexes, `[start:end:step]` slices, and filters `[?(...)]` comparing `@.path` (or `@`)
//! with literals by `== != < <= > >=`, joined by `&&` / `||`, or testing that `@.path` exists.

use super::json_writer::Json;

/// The tokens `path` selects in `root`; None when the path is malformed.
pub fn select(root: &Json, path: &str) -> Option<Vec<Json>> {
    let segments = parse(path)?;
    let mut current = vec![root.clone()];
    for segment in &segments {
        let mut next = Vec::new();
        for value in &current {
            apply(segment, value, &mut next);
        }
        current = next;
    }
    Some(current)
}

#[derive(Debug, Clone)]
enum Segment {
    Name(String),
    Wildcard,
    Indexes(Vec<i64>),
    Names(Vec<String>),
    Slice(Option<i64>, Option<i64>, i64),
    Descendants(Box<Segment>),
    Filter(Filter),
}

#[derive(Debug, Clone)]
enum Filter {
    Exists(Vec<Segment>),
    Compare(Operand, Comparison, Operand),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Debug, Clone)]
enum Operand {
    Current(Vec<Segment>),
    Literal(Json),
}

#[derive(Debug, Clone, Copy)]
enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

fn apply(segment: &Segment, value: &Json, out: &mut Vec<Json>) {
    match segment {
        Segment::Name(name) => {
            if let Some(found) = value.get(name) {
                out.push(found.clone());
            }
        }
        Segment::Names(names) => {
            for name in names {
                if let Some(found) = value.get(name) {
                    out.push(found.clone());
                }
            }
        }
        Segment::Wildcard => match value {
            Json::Array(items) => out.extend(items.iter().cloned()),
            Json::Object(entries) => out.extend(entries.iter().map(|(_, v)| v.clone())),
            _ => {}
        },
        Segment::Indexes(indexes) => {
            if let Json::Array(items) = value {
                for index in indexes {
                    let position = if *index < 0 {
                        items.len() as i64 + index
                    } else {
                        *index
                    };
                    if let Some(found) = usize::try_from(position).ok().and_then(|p| items.get(p)) {
                        out.push(found.clone());
                    }
                }
            }
        }
        Segment::Slice(start, end, step) => {
            if let Json::Array(items) = value {
                let length = items.len() as i64;
                let clamp = |v: i64| {
                    if v < 0 {
                        (length + v).max(0)
                    } else {
                        v.min(length)
                    }
                };
                let start = start.map(clamp).unwrap_or(0);
                let end = end.map(clamp).unwrap_or(length);
                let step = (*step).max(1);
                let mut position = start;
                while position < end {
                    out.push(items[position as usize].clone());
                    position += step;
                }
            }
        }
        Segment::Descendants(inner) => {
            fn walk(inner: &Segment, value: &Json, out: &mut Vec<Json>) {
                apply(inner, value, out);
                match value {
                    Json::Array(items) => items.iter().for_each(|i| walk(inner, i, out)),
                    Json::Object(entries) => entries.iter().for_each(|(_, v)| walk(inner, v, out)),
                    _ => {}
                }
            }
            walk(inner, value, out);
        }
        Segment::Filter(filter) => {
            let candidates: Vec<&Json> = match value {
                Json::Array(items) => items.iter().collect(),
                Json::Object(entries) => entries.iter().map(|(_, v)| v).collect(),
                _ => Vec::new(),
            };
            for candidate in candidates {
                if holds(filter, candidate) {
                    out.push(candidate.clone());
                }
            }
        }
    }
}

fn resolve(path: &[Segment], value: &Json) -> Vec<Json> {
    let mut current = vec![value.clone()];
    for segment in path {
        let mut next = Vec::new();
        for v in &current {
            apply(segment, v, &mut next);
        }
        current = next;
    }
    current
}

fn holds(filter: &Filter, value: &Json) -> bool {
    match filter {
        Filter::Exists(path) => !resolve(path, value).is_empty(),
        Filter::And(a, b) => holds(a, value) && holds(b, value),
        Filter::Or(a, b) => holds(a, value) || holds(b, value),
        Filter::Compare(left, comparison, right) => {
            let operand = |o: &Operand| match o {
                Operand::Literal(json) => Some(json.clone()),
                Operand::Current(path) => resolve(path, value).into_iter().next(),
            };
            let (Some(left), Some(right)) = (operand(left), operand(right)) else {
                return false;
            };
            compare(&left, *comparison, &right)
        }
    }
}

fn number(value: &Json) -> Option<f64> {
    match value {
        Json::Integer(n) => Some(*n as f64),
        Json::RawNumber(text) => text.parse().ok(),
        _ => None,
    }
}

fn compare(left: &Json, comparison: Comparison, right: &Json) -> bool {
    use std::cmp::Ordering;
    let ordering = match (number(left), number(right)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => match (left, right) {
            (Json::String(a), Json::String(b)) => Some(a.cmp(b)),
            _ => None,
        },
    };
    match comparison {
        Comparison::Equal => {
            ordering == Some(Ordering::Equal) || (ordering.is_none() && left == right)
        }
        Comparison::NotEqual => {
            !(ordering == Some(Ordering::Equal) || (ordering.is_none() && left == right))
        }
        Comparison::Less => ordering == Some(Ordering::Less),
        Comparison::LessOrEqual => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        Comparison::Greater => ordering == Some(Ordering::Greater),
        Comparison::GreaterOrEqual => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
    }
}

struct Parser<'p> {
    chars: Vec<char>,
    position: usize,
    _text: &'p str,
}

fn parse(path: &str) -> Option<Vec<Segment>> {
    let mut parser = Parser {
        chars: path.trim().chars().collect(),
        position: 0,
        _text: path,
    };
    if parser.peek() == Some('$') {
        parser.position += 1;
    }
    let segments = parser.segments(false)?;
    (parser.position == parser.chars.len()).then_some(segments)
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    /// Segments until the end (or, inside a filter, until something that is not a segment).
    fn segments(&mut self, in_filter: bool) -> Option<Vec<Segment>> {
        let mut segments = Vec::new();
        // A leading name without a dot (`name.x`) is allowed, as Json.NET allows it.
        if !in_filter && self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            segments.push(Segment::Name(self.name()?));
        }
        loop {
            match self.peek() {
                Some('.') if self.chars.get(self.position + 1) == Some(&'.') => {
                    self.position += 2;
                    let inner = if self.eat('*') {
                        Segment::Wildcard
                    } else if self.peek() == Some('[') {
                        self.bracket()?
                    } else {
                        Segment::Name(self.name()?)
                    };
                    segments.push(Segment::Descendants(Box::new(inner)));
                }
                Some('.') => {
                    self.position += 1;
                    if self.eat('*') {
                        segments.push(Segment::Wildcard);
                    } else {
                        segments.push(Segment::Name(self.name()?));
                    }
                }
                Some('[') => segments.push(self.bracket()?),
                _ => return Some(segments),
            }
        }
    }

    fn name(&mut self) -> Option<String> {
        let start = self.position;
        while self.peek().is_some_and(|c| {
            !matches!(
                c,
                '.' | '[' | ']' | '(' | ')' | ' ' | '=' | '!' | '<' | '>' | '&' | '|' | ','
            )
        }) {
            self.position += 1;
        }
        (self.position > start).then(|| self.chars[start..self.position].iter().collect())
    }

    fn quoted(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.position += 1;
        let mut text = String::new();
        loop {
            let c = self.peek()?;
            self.position += 1;
            match c {
                '\\' => {
                    text.push(self.peek()?);
                    self.position += 1;
                }
                c if c == quote => return Some(text),
                c => text.push(c),
            }
        }
    }

    fn integer(&mut self) -> Option<i64> {
        let start = self.position;
        if self.peek() == Some('-') {
            self.position += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.position += 1;
        }
        self.chars[start..self.position]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn bracket(&mut self) -> Option<Segment> {
        self.position += 1; // `[`
        self.spaces();
        let segment = match self.peek()? {
            '*' => {
                self.position += 1;
                Segment::Wildcard
            }
            '?' => {
                self.position += 1;
                self.spaces();
                if !self.eat('(') {
                    return None;
                }
                let filter = self.filter()?;
                self.spaces();
                if !self.eat(')') {
                    return None;
                }
                Segment::Filter(filter)
            }
            '\'' | '"' => {
                let mut names = vec![self.quoted()?];
                self.spaces();
                while self.eat(',') {
                    self.spaces();
                    names.push(self.quoted()?);
                    self.spaces();
                }
                if names.len() == 1 {
                    Segment::Name(names.remove(0))
                } else {
                    Segment::Names(names)
                }
            }
            _ => {
                let start = if self.peek() == Some(':') {
                    None
                } else {
                    Some(self.integer()?)
                };
                self.spaces();
                if self.eat(':') {
                    let end = if matches!(self.peek(), Some(']') | Some(':')) {
                        None
                    } else {
                        Some(self.integer()?)
                    };
                    let step = if self.eat(':') { self.integer()? } else { 1 };
                    Segment::Slice(start, end, step)
                } else {
                    let mut indexes = vec![start?];
                    while self.eat(',') {
                        self.spaces();
                        indexes.push(self.integer()?);
                        self.spaces();
                    }
                    Segment::Indexes(indexes)
                }
            }
        };
        self.spaces();
        self.eat(']').then_some(segment)
    }

    fn filter(&mut self) -> Option<Filter> {
        let mut left = self.filter_and()?;
        loop {
            self.spaces();
            if self.chars.get(self.position..self.position + 2) == Some(&['|', '|']) {
                self.position += 2;
                let right = self.filter_and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                return Some(left);
            }
        }
    }

    fn filter_and(&mut self) -> Option<Filter> {
        let mut left = self.filter_term()?;
        loop {
            self.spaces();
            if self.chars.get(self.position..self.position + 2) == Some(&['&', '&']) {
                self.position += 2;
                let right = self.filter_term()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                return Some(left);
            }
        }
    }

    fn filter_term(&mut self) -> Option<Filter> {
        self.spaces();
        if self.eat('(') {
            let inner = self.filter()?;
            self.spaces();
            return self.eat(')').then_some(inner);
        }
        let left = self.operand()?;
        self.spaces();
        let comparison = match (self.peek(), self.chars.get(self.position + 1)) {
            (Some('='), Some('=')) => Some((Comparison::Equal, 2)),
            (Some('!'), Some('=')) => Some((Comparison::NotEqual, 2)),
            (Some('<'), Some('=')) => Some((Comparison::LessOrEqual, 2)),
            (Some('>'), Some('=')) => Some((Comparison::GreaterOrEqual, 2)),
            (Some('<'), _) => Some((Comparison::Less, 1)),
            (Some('>'), _) => Some((Comparison::Greater, 1)),
            _ => None,
        };
        match comparison {
            None => match left {
                Operand::Current(path) => Some(Filter::Exists(path)),
                Operand::Literal(_) => None,
            },
            Some((comparison, width)) => {
                self.position += width;
                self.spaces();
                let right = self.operand()?;
                Some(Filter::Compare(left, comparison, right))
            }
        }
    }

    fn operand(&mut self) -> Option<Operand> {
        self.spaces();
        match self.peek()? {
            '@' => {
                self.position += 1;
                Some(Operand::Current(self.segments(true)?))
            }
            '\'' | '"' => Some(Operand::Literal(Json::String(self.quoted()?))),
            c if c == '-' || c.is_ascii_digit() => {
                let start = self.position;
                self.position += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    self.position += 1;
                }
                let text: String = self.chars[start..self.position].iter().collect();
                Some(Operand::Literal(match text.parse::<i64>() {
                    Ok(n) => Json::Integer(n),
                    Err(_) => Json::RawNumber(text),
                }))
            }
            _ => {
                let word = self.name()?;
                Some(Operand::Literal(match word.as_str() {
                    "true" => Json::Bool(true),
                    "false" => Json::Bool(false),
                    "null" => Json::Null,
                    _ => return None,
                }))
            }
        }
    }
}
