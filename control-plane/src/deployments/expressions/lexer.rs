//! Tokens of the expression language, each with the character offset where
//! it starts, so that parse errors can name a position.

use super::ExprError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Identifier(String),
    String(String),
    Int(i64),
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Dot,
}

impl Token {
    /// ARM's names for tokens, used in "expected token ..." messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Token::Identifier(_) => "Identifier",
            Token::String(_) => "Literal",
            Token::Int(_) => "Integer",
            Token::LeftParen => "LeftParenthesis",
            Token::RightParen => "RightParenthesis",
            Token::LeftBracket => "LeftSquareBracket",
            Token::RightBracket => "RightSquareBracket",
            Token::Comma => "Comma",
            Token::Dot => "Dot",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub token: Token,
    pub position: usize,
}

/// Splits `chars[start..end]` into tokens; positions are indices into `chars`.
/// `source` is the whole template string, for error messages.
pub fn tokenize(
    chars: &[char],
    start: usize,
    end: usize,
    source: &str,
) -> Result<Vec<Spanned>, ExprError> {
    let mut tokens = Vec::new();
    let mut i = start;
    while i < end {
        let c = chars[i];
        let position = i;
        let simple = match c {
            '(' => Some(Token::LeftParen),
            ')' => Some(Token::RightParen),
            '[' => Some(Token::LeftBracket),
            ']' => Some(Token::RightBracket),
            ',' => Some(Token::Comma),
            '.' => Some(Token::Dot),
            _ => None,
        };
        if let Some(token) = simple {
            tokens.push(Spanned { token, position });
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let (text, next) = read_string(chars, i, end, source)?;
            tokens.push(Spanned {
                token: Token::String(text),
                position,
            });
            i = next;
        } else if c.is_ascii_digit() || (c == '-' && i + 1 < end && chars[i + 1].is_ascii_digit()) {
            let mut j = i + 1;
            while j < end && chars[j].is_ascii_digit() {
                j += 1;
            }
            let digits: String = chars[i..j].iter().collect();
            let value = digits.parse::<i64>().map_err(|_| {
                syntax_error(
                    source,
                    position,
                    &format!("the integer literal '{digits}' is out of range"),
                )
            })?;
            tokens.push(Spanned {
                token: Token::Int(value),
                position,
            });
            i = j;
        } else if is_identifier_start(c) {
            let mut j = i + 1;
            while j < end && is_identifier_part(chars[j]) {
                j += 1;
            }
            tokens.push(Spanned {
                token: Token::Identifier(chars[i..j].iter().collect()),
                position,
            });
            i = j;
        } else {
            return Err(syntax_error(
                source,
                position,
                &format!("the character '{c}' at position '{position}' is not expected"),
            ));
        }
    }
    Ok(tokens)
}

/// A single-quoted literal with `''` standing for one quote. Returns the
/// text and the index after the closing quote.
fn read_string(
    chars: &[char],
    open: usize,
    end: usize,
    source: &str,
) -> Result<(String, usize), ExprError> {
    let mut text = String::new();
    let mut i = open + 1;
    while i < end {
        if chars[i] == '\'' {
            if i + 1 < end && chars[i + 1] == '\'' {
                text.push('\'');
                i += 2;
                continue;
            }
            return Ok((text, i + 1));
        }
        text.push(chars[i]);
        i += 1;
    }
    Err(syntax_error(
        source,
        open,
        &format!("the string literal starting at position '{open}' is not terminated"),
    ))
}

fn is_identifier_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_identifier_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// ARM's wording for an expression it cannot read.
pub fn syntax_error(source: &str, position: usize, detail: &str) -> ExprError {
    ExprError {
        message: format!("The language expression '{source}' is not valid: {detail}."),
        position: Some(position),
    }
}
