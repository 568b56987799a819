//! Recursive descent over the lexer's tokens:
//!
//! ```text
//! expression := primary ( '.' identifier | '[' expression ']' )*
//! primary    := string | integer | call
//! call       := identifier ( '.' identifier )? '(' ( expression ( ',' expression )* )? ')'
//! ```

use super::ast::{Call, Expr};
use super::lexer::{syntax_error, tokenize, Spanned, Token};
use super::ExprError;

/// Deep nesting in a user's template must not exhaust the stack.
const MAX_DEPTH: usize = 200;

/// Parses a template string: `[expr]` with its brackets, or a bare
/// expression without them. Positions in the result and in errors are
/// character offsets into `text`.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let (start, end) = match (chars.first(), chars.last()) {
        (Some('['), Some(']')) if chars.len() >= 2 => (1, chars.len() - 1),
        (Some('['), _) => {
            return Err(syntax_error(
                text,
                chars.len(),
                "the expression is missing its closing ']'",
            ))
        }
        _ => (0, chars.len()),
    };
    let tokens = tokenize(&chars, start, end, text)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        source: text,
        end,
        depth: 0,
    };
    if parser.tokens.is_empty() {
        return Err(syntax_error(text, start, "the expression is empty"));
    }
    let expr = parser.expression()?;
    if let Some(extra) = parser.peek() {
        let position = extra.position;
        return Err(syntax_error(
            text,
            position,
            &format!(
                "the token '{}' at position '{position}' is not expected after the end of the expression",
                extra.token.describe()
            ),
        ));
    }
    Ok(expr)
}

struct Parser<'s> {
    tokens: Vec<Spanned>,
    next: usize,
    source: &'s str,
    /// Where the expression's text ends (for "end of data" errors).
    end: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.next)
    }

    fn advance(&mut self) -> Option<Spanned> {
        let token = self.tokens.get(self.next).cloned();
        if token.is_some() {
            self.next += 1;
        }
        token
    }

    fn expect(&mut self, wanted: Token) -> Result<usize, ExprError> {
        match self.advance() {
            Some(found) if found.token == wanted => Ok(found.position),
            Some(found) => Err(self.unexpected(wanted.describe(), &found)),
            None => Err(self.end_of_data(wanted.describe())),
        }
    }

    fn unexpected(&self, wanted: &str, found: &Spanned) -> ExprError {
        syntax_error(
            self.source,
            found.position,
            &format!(
                "expected token '{wanted}' and actual '{}' at position '{}'",
                found.token.describe(),
                found.position
            ),
        )
    }

    fn end_of_data(&self, wanted: &str) -> ExprError {
        syntax_error(
            self.source,
            self.end,
            &format!("expected token '{wanted}' and actual 'EndOfData'"),
        )
    }

    fn expression(&mut self) -> Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let position = self.peek().map_or(self.end, |t| t.position);
            return Err(syntax_error(
                self.source,
                position,
                "the expression is nested too deeply",
            ));
        }
        let mut expr = self.primary()?;
        loop {
            match self.peek().map(|t| (t.token.clone(), t.position)) {
                Some((Token::Dot, position)) => {
                    self.next += 1;
                    match self.advance() {
                        Some(Spanned {
                            token: Token::Identifier(property),
                            ..
                        }) => {
                            expr = Expr::Member {
                                target: Box::new(expr),
                                property,
                                position,
                            }
                        }
                        Some(found) => return Err(self.unexpected("Identifier", &found)),
                        None => return Err(self.end_of_data("Identifier")),
                    }
                }
                Some((Token::LeftBracket, position)) => {
                    self.next += 1;
                    let index = self.expression()?;
                    self.expect(Token::RightBracket)?;
                    expr = Expr::Index {
                        target: Box::new(expr),
                        index: Box::new(index),
                        position,
                    };
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let Some(first) = self.advance() else {
            return Err(self.end_of_data("Identifier"));
        };
        match first.token {
            Token::String(text) => Ok(Expr::String(text)),
            Token::Int(value) => Ok(Expr::Int(value)),
            Token::Identifier(name) => self.call(name, first.position),
            _ => Err(self.unexpected("Identifier", &first)),
        }
    }

    fn call(&mut self, first_name: String, position: usize) -> Result<Expr, ExprError> {
        // `namespace.function(` is a user-defined function call.
        let (namespace, name) = match (
            self.peek().map(|t| &t.token),
            self.tokens.get(self.next + 1),
        ) {
            (
                Some(Token::Dot),
                Some(Spanned {
                    token: Token::Identifier(second),
                    ..
                }),
            ) => {
                let second = second.clone();
                self.next += 2;
                (Some(first_name), second)
            }
            _ => (None, first_name),
        };
        self.expect(Token::LeftParen)?;
        let mut args = Vec::new();
        if matches!(self.peek().map(|t| &t.token), Some(Token::RightParen)) {
            self.next += 1;
        } else {
            loop {
                args.push(self.expression()?);
                match self.advance() {
                    Some(Spanned {
                        token: Token::Comma,
                        ..
                    }) => continue,
                    Some(Spanned {
                        token: Token::RightParen,
                        ..
                    }) => break,
                    Some(found) => return Err(self.unexpected("RightParenthesis", &found)),
                    None => return Err(self.end_of_data("RightParenthesis")),
                }
            }
        }
        let key = match &namespace {
            Some(ns) => format!("{}.{}", ns.to_lowercase(), name.to_lowercase()),
            None => name.to_lowercase(),
        };
        Ok(Expr::Call(Call {
            namespace,
            name,
            key,
            args,
            position,
        }))
    }
}
