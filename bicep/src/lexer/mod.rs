//! Lexer: source text → tokens. Newlines are tokens because Bicep separates
//! declarations, object properties and array items by line breaks.
//! An interpolated string carries the tokens of each `${...}` hole, so the
//! parser can parse the holes as ordinary expressions.

use crate::diagnostics::{catalogue, PendingDiagnostic};
use crate::text::Span;

#[derive(Debug, Clone, PartialEq)]
pub enum StringPiece {
    Text(String),
    Hole(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    Identifier(String),
    Integer(String),
    /// A single-quoted string, split into literal text and `${}` holes.
    String(Vec<StringPiece>),
    /// A `'''` string: verbatim, never interpolated.
    MultilineString(String),
    NewLine,
    LeftBrace,
    RightBrace,
    LeftSquare,
    RightSquare,
    LeftParen,
    RightParen,
    Comma,
    Dot,
    /// `.?` safe property access
    DotQuestion,
    DoubleColon,
    Colon,
    Question,
    DoubleQuestion,
    Exclamation,
    NotEquals,
    /// `=~` case-insensitive equality
    EqualsInsensitive,
    /// `!~`
    NotEqualsInsensitive,
    Equals,
    Assignment,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
    Plus,
    Minus,
    Asterisk,
    Slash,
    Modulo,
    LogicalAnd,
    LogicalOr,
    At,
    Arrow,
    Ellipsis,
    Caret,
    Pipe,
    EndOfFile,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

pub struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
    /// How many `${` holes enclose the current position.
    hole_depth: usize,
    pub diagnostics: Vec<PendingDiagnostic>,
    /// `#disable-next-line`, `#disable-diagnostics` and `#restore-diagnostics` pragmas, in order.
    pub directives: Vec<Directive>,
}

/// What a diagnostics pragma does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectiveKind {
    /// `#disable-next-line`: the named codes on the line after the directive's.
    DisableNextLine,
    /// `#disable-diagnostics`: the named codes from here to the end of the file or a restore.
    Disable,
    /// `#restore-diagnostics`: ends a `#disable-diagnostics` of the named codes.
    Restore,
}

/// A diagnostics pragma: trivia, like a comment, that suppresses diagnostics by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub kind: DirectiveKind,
    pub span: Span,
    pub codes: Vec<String>,
}

const DIRECTIVES: &[(&str, DirectiveKind)] = &[
    ("#disable-next-line", DirectiveKind::DisableNextLine),
    ("#disable-diagnostics", DirectiveKind::Disable),
    ("#restore-diagnostics", DirectiveKind::Restore),
];

/// The diagnostics pragmas of a file (lexed as the parser lexes it, so a `#` inside a string is no pragma).
pub fn directives(text: &str) -> Vec<Directive> {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        position: 0,
        hole_depth: 0,
        diagnostics: Vec::new(),
        directives: Vec::new(),
    };
    lexer.lex_until(None);
    lexer.directives
}

pub fn lex(text: &str) -> (Vec<Token>, Vec<PendingDiagnostic>) {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        position: 0,
        hole_depth: 0,
        diagnostics: Vec::new(),
        directives: Vec::new(),
    };
    let tokens = lexer.lex_until(None);
    (tokens, lexer.diagnostics)
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.position + ahead).copied()
    }

    /// Lexes tokens until end of input or, inside a `${` hole, the `}` that closes it.
    fn lex_until(&mut self, hole_start: Option<usize>) -> Vec<Token> {
        let mut tokens = Vec::new();
        let mut brace_depth = 0usize;
        loop {
            self.skip_trivia();
            let start = self.position;
            let Some(byte) = self.peek(0) else {
                if let Some(hole) = hole_start {
                    self.diagnostics
                        .push(catalogue::unterminated_string(Span::new(hole, start)));
                }
                tokens.push(Token {
                    kind: TokenKind::EndOfFile,
                    span: Span::new(start, start),
                });
                return tokens;
            };
            if hole_start.is_some() && byte == b'}' && brace_depth == 0 {
                self.position += 1;
                return tokens;
            }
            let kind = match byte {
                b'\n' => {
                    self.position += 1;
                    TokenKind::NewLine
                }
                b'\r' => {
                    self.position += 1;
                    if self.peek(0) == Some(b'\n') {
                        self.position += 1;
                    }
                    TokenKind::NewLine
                }
                b'\'' => {
                    if self.text[self.position..].starts_with("'''") {
                        self.lex_multiline_string()
                    } else {
                        self.lex_string()
                    }
                }
                b'0'..=b'9' => {
                    while matches!(self.peek(0), Some(b'0'..=b'9')) {
                        self.position += 1;
                    }
                    TokenKind::Integer(self.text[start..self.position].to_string())
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    while matches!(
                        self.peek(0),
                        Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'0'..=b'9')
                    ) {
                        self.position += 1;
                    }
                    TokenKind::Identifier(self.text[start..self.position].to_string())
                }
                b'$' if self.text[self.position..]
                    .trim_start_matches('$')
                    .starts_with("'''") =>
                {
                    let dollars = self.text[self.position..].len()
                        - self.text[self.position..].trim_start_matches('$').len();
                    self.lex_multiline_interpolated_string(dollars)
                }
                _ => match self.lex_symbol() {
                    Some(kind) => {
                        match kind {
                            TokenKind::LeftBrace => brace_depth += 1,
                            TokenKind::RightBrace => brace_depth = brace_depth.saturating_sub(1),
                            _ => {}
                        }
                        kind
                    }
                    None => {
                        let character = self.text[start..].chars().next().unwrap_or('?');
                        self.position += character.len_utf8();
                        self.diagnostics.push(catalogue::unrecognized_token(
                            Span::new(start, self.position),
                            &character.to_string(),
                        ));
                        continue;
                    }
                },
            };
            tokens.push(Token {
                kind,
                span: Span::new(start, self.position),
            });
        }
    }

    fn lex_symbol(&mut self) -> Option<TokenKind> {
        let rest = &self.text[self.position..];
        // Longest match first.
        const SYMBOLS: &[(&str, TokenKind)] = &[
            ("...", TokenKind::Ellipsis),
            ("::", TokenKind::DoubleColon),
            (".?", TokenKind::DotQuestion),
            ("??", TokenKind::DoubleQuestion),
            ("!=", TokenKind::NotEquals),
            ("=~", TokenKind::EqualsInsensitive),
            ("!~", TokenKind::NotEqualsInsensitive),
            ("==", TokenKind::Equals),
            ("<=", TokenKind::LessThanOrEqual),
            (">=", TokenKind::GreaterThanOrEqual),
            ("&&", TokenKind::LogicalAnd),
            ("||", TokenKind::LogicalOr),
            ("=>", TokenKind::Arrow),
            ("{", TokenKind::LeftBrace),
            ("}", TokenKind::RightBrace),
            ("[", TokenKind::LeftSquare),
            ("]", TokenKind::RightSquare),
            ("(", TokenKind::LeftParen),
            (")", TokenKind::RightParen),
            (",", TokenKind::Comma),
            (".", TokenKind::Dot),
            (":", TokenKind::Colon),
            ("?", TokenKind::Question),
            ("!", TokenKind::Exclamation),
            ("=", TokenKind::Assignment),
            ("<", TokenKind::LessThan),
            (">", TokenKind::GreaterThan),
            ("+", TokenKind::Plus),
            ("-", TokenKind::Minus),
            ("*", TokenKind::Asterisk),
            ("/", TokenKind::Slash),
            ("%", TokenKind::Modulo),
            ("@", TokenKind::At),
            ("^", TokenKind::Caret),
            ("|", TokenKind::Pipe),
        ];
        for (text, kind) in SYMBOLS {
            if rest.starts_with(text) {
                self.position += text.len();
                return Some(kind.clone());
            }
        }
        None
    }

    fn skip_trivia(&mut self) {
        loop {
            match self.peek(0) {
                Some(b' ' | b'\t') => self.position += 1,
                Some(b'/') if self.peek(1) == Some(b'/') => {
                    while !matches!(self.peek(0), None | Some(b'\n' | b'\r')) {
                        self.position += 1;
                    }
                }
                Some(b'/') if self.peek(1) == Some(b'*') => {
                    let start = self.position;
                    match self.text[self.position + 2..].find("*/") {
                        Some(end) => self.position += 2 + end + 2,
                        None => {
                            self.position = self.text.len();
                            self.diagnostics
                                .push(catalogue::unterminated_multiline_comment(Span::new(
                                    start,
                                    start + 2,
                                )));
                        }
                    }
                }
                Some(b'#') if self.hole_depth == 0 && self.at_line_start() => {
                    if !self.lex_directive() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// Only whitespace between the start of the line and the current position.
    fn at_line_start(&self) -> bool {
        self.text[..self.position]
            .bytes()
            .rev()
            .take_while(|b| !matches!(b, b'\n' | b'\r'))
            .all(|b| b == b' ' || b == b'\t')
    }

    /// A diagnostics pragma at the current `#`: its keyword, then codes separated by
    /// spaces up to the end of the line. False (nothing consumed) when it is no pragma.
    fn lex_directive(&mut self) -> bool {
        let rest = &self.text[self.position..];
        let Some((keyword, kind)) = DIRECTIVES.iter().find(|(keyword, _)| {
            rest.starts_with(keyword)
                && matches!(
                    rest.as_bytes().get(keyword.len()),
                    None | Some(b' ' | b'\t' | b'\n' | b'\r')
                )
        }) else {
            return false;
        };
        let start = self.position;
        self.position += keyword.len();
        let mut codes = Vec::new();
        loop {
            while matches!(self.peek(0), Some(b' ' | b'\t')) {
                self.position += 1;
            }
            let code_start = self.position;
            while matches!(
                self.peek(0),
                Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-')
            ) {
                self.position += 1;
            }
            if self.position == code_start {
                break;
            }
            codes.push(self.text[code_start..self.position].to_string());
        }
        let end = codes
            .last()
            .map_or(start + keyword.len(), |_| self.position);
        if codes.is_empty() {
            self.diagnostics
                .push(catalogue::missing_diagnostic_codes(Span::new(start, end)));
        }
        self.directives.push(Directive {
            kind: *kind,
            span: Span::new(start, end),
            codes,
        });
        true
    }

    fn lex_multiline_string(&mut self) -> TokenKind {
        let start = self.position;
        self.position += 3;
        // The official compiler drops one line break right after the opening quotes.
        if self.text[self.position..].starts_with("\r\n") {
            self.position += 2;
        } else if self.peek(0) == Some(b'\n') {
            self.position += 1;
        }
        let content_start = self.position;
        match self.text[content_start..].find("'''") {
            Some(mut end) => {
                // Extra quotes before the closing ''' belong to the content.
                while self.text[content_start + end + 3..].starts_with('\'') {
                    end += 1;
                }
                let content = self.text[content_start..content_start + end].to_string();
                self.position = content_start + end + 3;
                TokenKind::MultilineString(content)
            }
            None => {
                self.position = self.text.len();
                self.diagnostics
                    .push(catalogue::unterminated_string(Span::new(start, start + 3)));
                TokenKind::MultilineString(self.text[content_start..].to_string())
            }
        }
    }

    fn lex_string(&mut self) -> TokenKind {
        let start = self.position;
        self.position += 1;
        let mut pieces = Vec::new();
        let mut text = String::new();
        loop {
            let Some(byte) = self.peek(0) else {
                self.diagnostics
                    .push(catalogue::unterminated_string(Span::new(
                        start,
                        self.position,
                    )));
                break;
            };
            match byte {
                b'\'' => {
                    self.position += 1;
                    break;
                }
                b'\n' | b'\r' => {
                    self.diagnostics
                        .push(catalogue::unterminated_string_with_new_line(Span::new(
                            start,
                            self.position,
                        )));
                    break;
                }
                b'\\' => {
                    let escape_start = self.position;
                    self.position += 1;
                    match self.peek(0) {
                        Some(b'\\') => text.push('\\'),
                        Some(b'\'') => text.push('\''),
                        Some(b'n') => text.push('\n'),
                        Some(b'r') => text.push('\r'),
                        Some(b't') => text.push('\t'),
                        Some(b'$') => text.push('$'),
                        Some(b'u') if self.peek(1) == Some(b'{') => {
                            let digits_start = self.position + 2;
                            let close = self.text[digits_start..].find('}');
                            let code = |start: usize, length: usize| {
                                u32::from_str_radix(&self.text[start..start + length], 16).ok()
                            };
                            let decoded = close.and_then(|length| {
                                let value = code(digits_start, length)?;
                                if let Some(c) = char::from_u32(value) {
                                    return Some((c, length));
                                }
                                // A UTF-16 surrogate pair written as two escapes, `\u{D801}\u{DC37}`,
                                // is the one character it encodes (the official lexer reads UTF-16).
                                let next = digits_start + length + 1;
                                let rest = &self.text[next..];
                                if !(0xD800..0xDC00).contains(&value) || !rest.starts_with("\\u{") {
                                    return None;
                                }
                                let low_length = rest[3..].find('}')?;
                                let low = code(next + 3, low_length)?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return None;
                                }
                                let combined = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00);
                                char::from_u32(combined).map(|c| (c, length + 1 + 3 + low_length))
                            });
                            match decoded {
                                Some((character, length)) => {
                                    text.push(character);
                                    // Leave position on the closing brace; the shared advance below passes it.
                                    self.position = digits_start + length;
                                }
                                None => {
                                    self.diagnostics
                                        .push(catalogue::unrecognized_escape_sequence(Span::new(
                                            escape_start,
                                            self.position + 1,
                                        )))
                                }
                            }
                        }
                        _ => self
                            .diagnostics
                            .push(catalogue::unrecognized_escape_sequence(Span::new(
                                escape_start,
                                self.position + 1,
                            ))),
                    }
                    if self.peek(0).is_some() {
                        let width = self.text[self.position..]
                            .chars()
                            .next()
                            .map(char::len_utf8)
                            .unwrap_or(1);
                        self.position += width;
                    }
                }
                b'$' if self.peek(1) == Some(b'{') && self.hole_depth >= 32 => {
                    // Refuse absurd nesting rather than overflow the stack.
                    self.diagnostics
                        .push(catalogue::unterminated_string(Span::new(
                            start,
                            self.position,
                        )));
                    self.position = self.text.len();
                    break;
                }
                b'$' if self.peek(1) == Some(b'{') => {
                    pieces.push(StringPiece::Text(std::mem::take(&mut text)));
                    let hole = self.lex_hole(2);
                    pieces.push(hole);
                }
                _ => {
                    let character = self.text[self.position..].chars().next().unwrap_or(' ');
                    text.push(character);
                    self.position += character.len_utf8();
                }
            }
        }
        pieces.push(StringPiece::Text(text));
        TokenKind::String(pieces)
    }

    /// A `${...}` hole opened by `opener_length` bytes at the current position: its tokens,
    /// line breaks dropped, ending with an end-of-file token the parser stops at.
    fn lex_hole(&mut self, opener_length: usize) -> StringPiece {
        let hole_start = self.position;
        self.position += opener_length;
        self.hole_depth += 1;
        let mut hole_tokens = self.lex_until(Some(hole_start));
        self.hole_depth -= 1;
        let end = self.position;
        hole_tokens.retain(|token| token.kind != TokenKind::NewLine);
        if !matches!(hole_tokens.last(), Some(t) if t.kind == TokenKind::EndOfFile) {
            hole_tokens.push(Token {
                kind: TokenKind::EndOfFile,
                span: Span::new(end.saturating_sub(1), end.saturating_sub(1)),
            });
        }
        StringPiece::Hole(hole_tokens)
    }

    /// `$'''...${x}...'''` (or `$$'''...$${x}...'''`, as many dollars as open a hole):
    /// a multi-line string, verbatim but for its holes, as Bicep 0.40.2 on reads it.
    fn lex_multiline_interpolated_string(&mut self, dollars: usize) -> TokenKind {
        let start = self.position;
        self.position += dollars + 3;
        if self.text[self.position..].starts_with("\r\n") {
            self.position += 2;
        } else if self.peek(0) == Some(b'\n') {
            self.position += 1;
        }
        let opener = format!("{}{{", "$".repeat(dollars));
        let mut pieces = Vec::new();
        let mut text = String::new();
        loop {
            let rest = &self.text[self.position..];
            if rest.is_empty() {
                self.diagnostics
                    .push(catalogue::unterminated_string(Span::new(
                        start,
                        start + dollars + 3,
                    )));
                break;
            }
            if rest.starts_with("'''") {
                // Extra quotes before the closing ''' belong to the content.
                while self.text[self.position + 3..].starts_with('\'') {
                    text.push('\'');
                    self.position += 1;
                }
                self.position += 3;
                break;
            }
            if rest.starts_with(&opener) {
                if self.hole_depth >= 32 {
                    self.diagnostics
                        .push(catalogue::unterminated_string(Span::new(
                            start,
                            self.position,
                        )));
                    self.position = self.text.len();
                    break;
                }
                pieces.push(StringPiece::Text(std::mem::take(&mut text)));
                let hole = self.lex_hole(opener.len());
                pieces.push(hole);
                continue;
            }
            let character = rest.chars().next().unwrap_or(' ');
            text.push(character);
            self.position += character.len_utf8();
        }
        pieces.push(StringPiece::Text(text));
        TokenKind::String(pieces)
    }
}

/// Whether `text` can be written as a Bicep identifier: a letter or `_`, then letters,
/// digits or `_`.
pub fn is_valid_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
