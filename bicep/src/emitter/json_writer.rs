//! A JSON value that keeps key order, written the way the official compiler
//! writes templates (2-space indent, `"key": value`). Kept separate from
//! serde_json so the workspace's serde_json stays without `preserve_order`.

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Integer(i64),
    /// A number we read from a file and re-emit verbatim (floats in loadJsonContent).
    RawNumber(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn object() -> Json {
        Json::Object(Vec::new())
    }

    /// Appends a key (objects only); later duplicates replace earlier values in place.
    pub fn insert(&mut self, key: &str, value: Json) {
        if let Json::Object(entries) = self {
            match entries.iter_mut().find(|(existing, _)| existing == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn to_pretty_string(&self) -> String {
        let mut out = String::new();
        write_value(self, 0, &mut out);
        out
    }

    pub fn to_compact_string(&self) -> String {
        let mut out = String::new();
        write_compact(self, &mut out);
        out
    }
}

pub fn escape_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn indent(depth: usize, out: &mut String) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_value(value: &Json, depth: usize, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Integer(n) => out.push_str(&n.to_string()),
        Json::RawNumber(n) => out.push_str(n),
        Json::String(s) => escape_string(s, out),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(depth + 1, out);
                write_value(item, depth + 1, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(depth, out);
            out.push(']');
        }
        Json::Object(entries) if entries.is_empty() => out.push_str("{}"),
        Json::Object(entries) => {
            out.push_str("{\n");
            for (i, (key, item)) in entries.iter().enumerate() {
                indent(depth + 1, out);
                escape_string(key, out);
                out.push_str(": ");
                write_value(item, depth + 1, out);
                if i + 1 < entries.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(depth, out);
            out.push('}');
        }
    }
}

fn write_compact(value: &Json, out: &mut String) {
    match value {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        Json::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                escape_string(key, out);
                out.push(':');
                write_compact(item, out);
            }
            out.push('}');
        }
        other => write_value(other, 0, out),
    }
}

/// Reads JSON text keeping key order (for loadJsonContent). Returns None on malformed input.
pub fn parse_json(text: &str) -> Option<Json> {
    read_json(text, false)
}

/// JSON that may hold `//` and `/* */` comments (bicepconfig.json, loadJsonContent files),
/// as the official compiler reads them.
pub fn parse_json_with_comments(text: &str) -> Option<Json> {
    read_json(text, true)
}

fn read_json(text: &str, comments: bool) -> Option<Json> {
    let mut reader = Reader {
        chars: text.trim_start_matches('\u{feff}').chars().collect(),
        position: 0,
        comments,
    };
    let value = reader.value()?;
    reader.whitespace();
    (reader.position == reader.chars.len()).then_some(value)
}

struct Reader {
    chars: Vec<char>,
    position: usize,
    comments: bool,
}

impl Reader {
    fn whitespace(&mut self) {
        loop {
            while matches!(self.chars.get(self.position), Some(c) if c.is_whitespace()) {
                self.position += 1;
            }
            if !self.comments || self.chars.get(self.position) != Some(&'/') {
                return;
            }
            match self.chars.get(self.position + 1) {
                Some('/') => {
                    while !matches!(self.chars.get(self.position), None | Some('\n')) {
                        self.position += 1;
                    }
                }
                Some('*') => {
                    self.position += 2;
                    while self.position < self.chars.len()
                        && !(self.chars[self.position] == '*'
                            && self.chars.get(self.position + 1) == Some(&'/'))
                    {
                        self.position += 1;
                    }
                    self.position = (self.position + 2).min(self.chars.len());
                }
                _ => return,
            }
        }
    }

    fn eat(&mut self, expected: char) -> Option<()> {
        self.whitespace();
        (self.chars.get(self.position) == Some(&expected)).then(|| self.position += 1)
    }

    fn keyword(&mut self, word: &str, value: Json) -> Option<Json> {
        let end = self.position + word.len();
        let found: String = self.chars.get(self.position..end)?.iter().collect();
        (found == word).then(|| {
            self.position = end;
            value
        })
    }

    fn value(&mut self) -> Option<Json> {
        self.whitespace();
        match self.chars.get(self.position)? {
            '{' => {
                self.position += 1;
                let mut entries = Vec::new();
                if self.eat('}').is_some() {
                    return Some(Json::Object(entries));
                }
                loop {
                    self.whitespace();
                    let key = self.string()?;
                    self.eat(':')?;
                    let value = self.value()?;
                    entries.push((key, value));
                    if self.eat(',').is_none() {
                        self.eat('}')?;
                        return Some(Json::Object(entries));
                    }
                }
            }
            '[' => {
                self.position += 1;
                let mut items = Vec::new();
                if self.eat(']').is_some() {
                    return Some(Json::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    if self.eat(',').is_none() {
                        self.eat(']')?;
                        return Some(Json::Array(items));
                    }
                }
            }
            '"' => self.string().map(Json::String),
            't' => self.keyword("true", Json::Bool(true)),
            'f' => self.keyword("false", Json::Bool(false)),
            'n' => self.keyword("null", Json::Null),
            _ => {
                let start = self.position;
                while matches!(self.chars.get(self.position), Some(c) if c.is_ascii_digit() || "+-.eE".contains(*c))
                {
                    self.position += 1;
                }
                let number: String = self.chars[start..self.position].iter().collect();
                if number.is_empty() {
                    return None;
                }
                Some(match number.parse::<i64>() {
                    Ok(integer) => Json::Integer(integer),
                    Err(_) => Json::RawNumber(number),
                })
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        if self.chars.get(self.position) != Some(&'"') {
            return None;
        }
        self.position += 1;
        let mut text = String::new();
        loop {
            let c = *self.chars.get(self.position)?;
            self.position += 1;
            match c {
                '"' => return Some(text),
                '\\' => {
                    let escaped = *self.chars.get(self.position)?;
                    self.position += 1;
                    match escaped {
                        'n' => text.push('\n'),
                        'r' => text.push('\r'),
                        't' => text.push('\t'),
                        'b' => text.push('\u{08}'),
                        'f' => text.push('\u{0c}'),
                        'u' => {
                            let hex: String = self
                                .chars
                                .get(self.position..self.position + 4)?
                                .iter()
                                .collect();
                            self.position += 4;
                            text.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        }
                        other => text.push(other),
                    }
                }
                other => text.push(other),
            }
        }
    }
}
