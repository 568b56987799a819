//! Parser: tokens → syntax tree. Recursive descent for declarations, precedence
//! climbing for expressions. On a syntax error it reports one diagnostic and
//! skips to the end of the declaration, so one typo does not cascade.

use crate::diagnostics::{catalogue, PendingDiagnostic, Reported};
use crate::lexer::{lex, StringPiece, Token, TokenKind};
use crate::syntax::*;
use crate::text::Span;

/// Which grammar a file follows: a template or a .bicepparam file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Template,
    Parameters,
}

/// Far beyond any real template, well within the stack.
const MAXIMUM_NESTING: usize = 64;

type ParseResult<T> = Result<T, Reported>;

pub fn parse(text: &str, kind: FileKind) -> (SyntaxTree, Vec<PendingDiagnostic>) {
    parse_at(text, kind, 0)
}

/// Parses with every span moved `base` bytes on: declarations inlined from an
/// imported file then never share span offsets (the binder's keys) with the importer's.
pub fn parse_at(text: &str, kind: FileKind, base: usize) -> (SyntaxTree, Vec<PendingDiagnostic>) {
    fn shift(tokens: &mut [Token], base: usize) {
        for token in tokens {
            token.span = Span::new(token.span.start + base, token.span.end + base);
            if let TokenKind::String(pieces) = &mut token.kind {
                for piece in pieces {
                    if let StringPiece::Hole(inner) = piece {
                        shift(inner, base);
                    }
                }
            }
        }
    }
    let (mut tokens, mut diagnostics) = lex(text);
    if base > 0 {
        shift(&mut tokens, base);
    }
    let mut parser = Parser::new(tokens, kind);
    let tree = parser.parse_file();
    diagnostics.append(&mut parser.diagnostics);
    (tree, diagnostics)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    kind: FileKind,
    /// Brackets opened since the current declaration began: recovery skips to a
    /// line end outside all of them.
    open_brackets: i32,
    /// Expression nesting depth: deeply nested input is refused instead of overflowing the stack.
    depth: usize,
    diagnostics: Vec<PendingDiagnostic>,
}

impl Parser {
    fn new(mut tokens: Vec<Token>, kind: FileKind) -> Self {
        if !matches!(tokens.last(), Some(t) if t.kind == TokenKind::EndOfFile) {
            let end = tokens.last().map(|t| t.span.end).unwrap_or(0);
            tokens.push(Token {
                kind: TokenKind::EndOfFile,
                span: Span::new(end, end),
            });
        }
        Parser {
            tokens,
            position: 0,
            kind,
            open_brackets: 0,
            depth: 0,
            diagnostics: Vec::new(),
        }
    }

    fn current(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.position.min(last)]
    }

    fn peek_kind(&self, ahead: usize) -> &TokenKind {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.position + ahead).min(last)].kind
    }

    fn at(&self, kind: &TokenKind) -> bool {
        &self.current().kind == kind
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(&self.current().kind, TokenKind::Identifier(name) if name == keyword)
    }

    fn advance(&mut self) -> Token {
        let token = self.current().clone();
        match token.kind {
            TokenKind::LeftBrace | TokenKind::LeftSquare | TokenKind::LeftParen => {
                self.open_brackets += 1
            }
            TokenKind::RightBrace | TokenKind::RightSquare | TokenKind::RightParen => {
                self.open_brackets -= 1
            }
            _ => {}
        }
        if token.kind != TokenKind::EndOfFile {
            self.position += 1;
        }
        token
    }

    fn fail<T>(&mut self, diagnostic: PendingDiagnostic) -> ParseResult<T> {
        self.diagnostics.push(diagnostic);
        Err(Reported)
    }

    fn expect(&mut self, kind: TokenKind, character: &str) -> ParseResult<Token> {
        if self.at(&kind) {
            Ok(self.advance())
        } else {
            let span = self.current().span;
            self.fail(catalogue::expected_character(span, character))
        }
    }

    /// Whether the first token past any newlines is `kind`.
    fn next_after_newlines_is(&self, kind: &TokenKind) -> bool {
        let mut ahead = self.position;
        while matches!(
            self.tokens.get(ahead).map(|t| &t.kind),
            Some(TokenKind::NewLine)
        ) {
            ahead += 1;
        }
        self.tokens.get(ahead).map(|t| &t.kind) == Some(kind)
    }

    fn skip_newlines(&mut self) {
        while self.at(&TokenKind::NewLine) {
            self.advance();
        }
    }

    fn recover(&mut self) {
        loop {
            match self.current().kind {
                TokenKind::EndOfFile => return,
                TokenKind::NewLine if self.open_brackets <= 0 => return,
                _ => {
                    self.advance();
                }
            }
        }
    }

    fn parse_file(&mut self) -> SyntaxTree {
        let mut tree = SyntaxTree::default();
        loop {
            self.skip_newlines();
            if self.at(&TokenKind::EndOfFile) {
                return tree;
            }
            self.open_brackets = 0;
            match self.parse_declaration() {
                Ok(declaration) => {
                    tree.declarations.push(declaration);
                    if !matches!(
                        self.current().kind,
                        TokenKind::NewLine | TokenKind::EndOfFile
                    ) {
                        let span = self.current().span;
                        self.diagnostics.push(catalogue::expected_new_line(span));
                        self.recover();
                    }
                }
                Err(Reported) => self.recover(),
            }
        }
    }

    fn parse_decorators(&mut self) -> ParseResult<Vec<Decorator>> {
        let mut decorators = Vec::new();
        while self.at(&TokenKind::At) {
            let at = self.advance();
            let expression = self.parse_postfix()?;
            let span = at.span.to(expression.span);
            match expression.kind {
                ExpressionKind::Call {
                    namespace,
                    name,
                    arguments,
                } => decorators.push(Decorator {
                    namespace,
                    name,
                    arguments,
                    span,
                }),
                _ => return self.fail(catalogue::expected_function_or_property_name(span)),
            }
            if !self.at(&TokenKind::NewLine) {
                let span = self.current().span;
                return self.fail(catalogue::expected_new_line(span));
            }
            self.skip_newlines();
        }
        Ok(decorators)
    }

    fn parse_identifier(
        &mut self,
        missing: fn(Span) -> PendingDiagnostic,
    ) -> ParseResult<Identifier> {
        match self.current().kind.clone() {
            TokenKind::Identifier(name) => {
                let token = self.advance();
                Ok(Identifier {
                    name,
                    span: token.span,
                })
            }
            _ => {
                let span = self.current().span;
                self.fail(missing(span))
            }
        }
    }

    fn parse_declaration(&mut self) -> ParseResult<Declaration> {
        let decorators = self.parse_decorators()?;
        let start = self.current().span;
        let keyword = match &self.current().kind {
            TokenKind::Identifier(name) => name.clone(),
            TokenKind::EndOfFile if !decorators.is_empty() => {
                return self.fail(catalogue::expected_declaration_after_decorator(start))
            }
            _ => return self.fail(catalogue::unrecognized_declaration(start)),
        };
        match (keyword.as_str(), self.kind) {
            ("param", FileKind::Template) => {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_parameter_identifier)?;
                let type_expression = self.parse_type()?;
                let default_value = if self.at(&TokenKind::Assignment) {
                    self.advance();
                    Some(self.parse_expression()?)
                } else if matches!(
                    self.current().kind,
                    TokenKind::NewLine | TokenKind::EndOfFile
                ) {
                    None
                } else {
                    let span = self.current().span;
                    return self.fail(catalogue::expected_parameter_continuation(span));
                };
                let end = default_value
                    .as_ref()
                    .map(|v| v.span)
                    .unwrap_or(type_expression.span());
                Ok(Declaration::Parameter(ParameterDeclaration {
                    decorators,
                    name,
                    type_expression,
                    default_value,
                    span: start.to(end),
                }))
            }
            ("param", FileKind::Parameters) => {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_parameter_identifier)?;
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_expression()?;
                let span = start.to(value.span);
                Ok(Declaration::ParameterAssignment { name, value, span })
            }
            ("using", FileKind::Parameters) => {
                self.advance();
                let path = self.parse_expression()?;
                let span = start.to(path.span);
                Ok(Declaration::Using(path, span))
            }
            ("var", _) => {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_variable_identifier)?;
                // `var x string = ...`: a declared type before the '='.
                let type_expression = if self.at(&TokenKind::Assignment) {
                    None
                } else {
                    Some(self.parse_type()?)
                };
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_expression()?;
                let span = start.to(value.span);
                Ok(Declaration::Variable(VariableDeclaration {
                    decorators,
                    name,
                    type_expression,
                    value,
                    span,
                }))
            }
            ("output", FileKind::Template) => {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_output_identifier)?;
                let type_expression = if self.at_keyword("resource") {
                    let span = self.current().span;
                    self.advance();
                    TypeExpression::Unsupported(span)
                } else {
                    self.parse_type()?
                };
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_expression()?;
                let span = start.to(value.span);
                Ok(Declaration::Output(OutputDeclaration {
                    decorators,
                    name,
                    type_expression,
                    value,
                    span,
                }))
            }
            ("resource", FileKind::Template) => Ok(Declaration::Resource(
                self.parse_resource_declaration(decorators)?,
            )),
            ("module", FileKind::Template) => {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_resource_identifier)?;
                let path = self.parse_primary()?;
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_declaration_body()?;
                let span = start.to(value.span);
                Ok(Declaration::Module(ModuleDeclaration {
                    decorators,
                    name,
                    path,
                    value,
                    span,
                }))
            }
            ("targetScope", FileKind::Template) => {
                self.advance();
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_expression()?;
                let span = start.to(value.span);
                Ok(Declaration::TargetScope(value, span))
            }
            ("metadata", _) => {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_variable_identifier)?;
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_expression()?;
                let span = start.to(value.span);
                Ok(Declaration::Metadata(MetadataDeclaration {
                    name,
                    value,
                    span,
                }))
            }
            ("type", FileKind::Template) => {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_variable_identifier)?;
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_type()?;
                let span = start.to(value.span());
                Ok(Declaration::Type(TypeDeclaration {
                    decorators,
                    name,
                    value,
                    span,
                }))
            }
            ("import", FileKind::Template)
                if matches!(
                    self.peek_kind(1),
                    TokenKind::LeftBrace | TokenKind::Asterisk
                ) =>
            {
                self.parse_import(start)
            }
            ("extension", FileKind::Template) => {
                self.advance();
                let token = self.current().clone();
                let (specifier, quoted) = match &token.kind {
                    TokenKind::Identifier(name) => (name.clone(), false),
                    TokenKind::String(pieces) => match pieces.as_slice() {
                        [StringPiece::Text(text)] => (text.clone(), true),
                        _ => {
                            return self.fail(catalogue::compile_time_constant_required(token.span))
                        }
                    },
                    _ => return self.fail(catalogue::expected_extension_specification(token.span)),
                };
                self.advance();
                let specifier = Identifier {
                    name: specifier,
                    span: token.span,
                };
                let mut end = token.span;
                let config = if self.at_keyword("with") {
                    self.advance();
                    let value = self.parse_primary()?;
                    end = value.span;
                    Some(value)
                } else {
                    None
                };
                let alias = if self.at_keyword("as") {
                    self.advance();
                    let alias = self.parse_identifier(catalogue::expected_extension_alias)?;
                    end = alias.span;
                    Some(alias)
                } else {
                    None
                };
                Ok(Declaration::Extension(ExtensionDeclaration {
                    specifier,
                    quoted,
                    config,
                    alias,
                    span: start.to(end),
                }))
            }
            ("assert", FileKind::Template) => {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_assert_identifier)?;
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_expression()?;
                let span = start.to(value.span);
                Ok(Declaration::Assert { name, value, span })
            }
            ("test", FileKind::Template)
                if matches!(self.peek_kind(1), TokenKind::Identifier(_)) =>
            {
                self.advance();
                let name = self.parse_identifier(catalogue::expected_test_identifier)?;
                let path = self.parse_primary()?;
                self.expect(TokenKind::Assignment, "=")?;
                let value = self.parse_declaration_body()?;
                let span = start.to(value.span);
                Ok(Declaration::Test {
                    name,
                    path,
                    value,
                    span,
                })
            }
            ("func", FileKind::Template) => Ok(Declaration::Function(
                self.parse_function_declaration(decorators)?,
            )),
            ("type" | "func" | "import" | "extension" | "provider" | "assert" | "extends", _) => {
                // Skip the whole declaration; the type checker refuses it by keyword.
                let keyword_token = self.advance();
                while !matches!(
                    self.current().kind,
                    TokenKind::EndOfFile | TokenKind::NewLine
                ) || self.open_brackets > 0
                {
                    if self.at(&TokenKind::EndOfFile) {
                        break;
                    }
                    self.advance();
                }
                Ok(Declaration::Unsupported {
                    keyword,
                    span: keyword_token.span,
                })
            }
            _ => self.fail(catalogue::unrecognized_declaration(start)),
        }
    }

    /// `import {a, b} from './file.bicep'`
    fn parse_import(&mut self, start: Span) -> ParseResult<Declaration> {
        self.advance();
        let mut names = Vec::new();
        let mut aliases = Vec::new();
        if self.at(&TokenKind::Asterisk) {
            // `import * as ns from 'file'`
            self.advance();
            if !self.at_keyword("as") {
                let span = self.current().span;
                return self.fail(catalogue::expected_keyword(span, "as"));
            }
            self.advance();
            let alias = self.parse_identifier(catalogue::expected_variable_identifier)?;
            if !self.at_keyword("from") {
                let span = self.current().span;
                return self.fail(catalogue::expected_keyword(span, "from"));
            }
            self.advance();
            let path = self.parse_primary()?;
            let span = start.to(path.span);
            return Ok(Declaration::Import(ImportDeclaration {
                names,
                aliases,
                wildcard: Some(alias),
                path,
                span,
            }));
        }
        self.advance(); // `{`
        loop {
            self.skip_newlines();
            if self.at(&TokenKind::RightBrace) {
                break;
            }
            let name = match self.current().kind.clone() {
                // `'not-an-identifier' as alias`: a quoted name needs its alias.
                TokenKind::String(_) => {
                    let token = self.current().clone();
                    let expression = self.parse_primary()?;
                    let Some(text) = expression.as_plain_string() else {
                        return self.fail(catalogue::compile_time_constant_required(token.span));
                    };
                    if !self.at_keyword("as") {
                        let span = self.current().span;
                        return self.fail(catalogue::expected_keyword(span, "as"));
                    }
                    Identifier {
                        name: text,
                        span: token.span,
                    }
                }
                _ => self.parse_identifier(catalogue::expected_variable_identifier)?,
            };
            names.push(name);
            if self.at_keyword("as") {
                self.advance();
                aliases.push(Some(
                    self.parse_identifier(catalogue::expected_variable_identifier)?,
                ));
            } else {
                aliases.push(None);
            }
            // Items are separated by commas or line breaks.
            let line_break = self.at(&TokenKind::NewLine);
            self.skip_newlines();
            if self.at(&TokenKind::Comma) {
                self.advance();
            } else if !self.at(&TokenKind::RightBrace) && !line_break {
                let span = self.current().span;
                return self.fail(catalogue::expected_character(span, "}"));
            }
        }
        self.advance();
        if !self.at_keyword("from") {
            let span = self.current().span;
            return self.fail(catalogue::expected_keyword(span, "from"));
        }
        self.advance();
        let path = self.parse_primary()?;
        let span = start.to(path.span);
        Ok(Declaration::Import(ImportDeclaration {
            names,
            aliases,
            wildcard: None,
            path,
            span,
        }))
    }

    /// `func name(a string, b int) string => body`; parameters may span lines.
    fn parse_function_declaration(
        &mut self,
        decorators: Vec<Decorator>,
    ) -> ParseResult<FunctionDeclaration> {
        let start = self.advance().span;
        let name = self.parse_identifier(catalogue::expected_function_or_property_name)?;
        self.expect(TokenKind::LeftParen, "(")?;
        let mut parameters = Vec::new();
        self.skip_newlines();
        while !self.at(&TokenKind::RightParen) {
            let parameter_name = self.parse_identifier(catalogue::expected_variable_identifier)?;
            let type_expression = self.parse_type()?;
            parameters.push(FunctionParameter {
                name: parameter_name,
                type_expression,
            });
            self.skip_newlines();
            if self.at(&TokenKind::Comma) {
                self.advance();
                self.skip_newlines();
            } else if !self.at(&TokenKind::RightParen) {
                let span = self.current().span;
                return self.fail(catalogue::expected_character(span, ")"));
            }
        }
        self.advance();
        let return_type = self.parse_type()?;
        self.expect(TokenKind::Arrow, "=>")?;
        self.skip_newlines();
        let body = self.parse_expression()?;
        let span = start.to(body.span);
        Ok(FunctionDeclaration {
            decorators,
            name,
            parameters,
            return_type,
            body,
            span,
        })
    }

    fn parse_resource_declaration(
        &mut self,
        decorators: Vec<Decorator>,
    ) -> ParseResult<ResourceDeclaration> {
        let start = self.advance().span;
        let name = self.parse_identifier(catalogue::expected_resource_identifier)?;
        let type_token = self.current().clone();
        let type_reference = match &type_token.kind {
            TokenKind::String(pieces) if pieces.len() == 1 => match &pieces[0] {
                StringPiece::Text(text) => text.clone(),
                StringPiece::Hole(_) => String::new(),
            },
            _ => return self.fail(catalogue::invalid_resource_type(type_token.span)),
        };
        self.advance();
        let existing = if self.at_keyword("existing") {
            self.advance();
            true
        } else {
            false
        };
        self.expect(TokenKind::Assignment, "=")?;
        let value = self.parse_declaration_body()?;
        let span = start.to(value.span);
        Ok(ResourceDeclaration {
            decorators,
            name,
            type_reference,
            type_span: type_token.span,
            existing,
            value,
            span,
        })
    }

    /// A resource or module body: an object, `if (cond) {...}` or a `[for ...]` loop.
    fn parse_declaration_body(&mut self) -> ParseResult<Expression> {
        // `= ` may end the line when `if (...)` follows on a later one, as the official parser allows.
        let mut ahead = self.position;
        while matches!(
            self.tokens.get(ahead).map(|t| &t.kind),
            Some(TokenKind::NewLine)
        ) {
            ahead += 1;
        }
        if matches!(self.tokens.get(ahead).map(|t| &t.kind), Some(TokenKind::Identifier(k)) if k == "if")
        {
            self.skip_newlines();
        }
        if self.at_keyword("if") {
            return self.parse_condition();
        }
        if self.at(&TokenKind::LeftSquare) && self.square_opens_for() {
            // Only a resource or module loop may filter its items with `if (...) {...}`.
            return self.parse_for(true);
        }
        self.parse_expression()
    }

    fn parse_condition(&mut self) -> ParseResult<Expression> {
        let start = self.advance().span;
        self.expect(TokenKind::LeftParen, "(")?;
        let condition = self.parse_expression_allowing_newlines()?;
        self.expect(TokenKind::RightParen, ")")?;
        let body = self.parse_expression()?;
        let span = start.to(body.span);
        Ok(Expression::new(
            ExpressionKind::Condition {
                condition: Box::new(condition),
                body: Box::new(body),
            },
            span,
        ))
    }

    /// A type: one member, or a union of members separated by `|` (a leading `|` and
    /// line breaks before a `|` allowed). Unions of simple literals stay a LiteralUnion.
    fn parse_type(&mut self) -> ParseResult<TypeExpression> {
        let start = self.current().span;
        if self.at(&TokenKind::Pipe) {
            self.advance();
            self.skip_newlines();
        }
        let mut members = vec![self.parse_type_member()?];
        loop {
            if self.at(&TokenKind::Pipe) {
                self.advance();
                self.skip_newlines();
                members.push(self.parse_type_member()?);
            } else if self.at(&TokenKind::NewLine) && self.next_after_newlines_is(&TokenKind::Pipe)
            {
                self.skip_newlines();
            } else {
                break;
            }
        }
        if members.len() == 1 {
            return Ok(members.pop().unwrap_or(TypeExpression::Unsupported(start)));
        }
        let span = start.to(self.previous_span());
        if members
            .iter()
            .all(|m| matches!(m, TypeExpression::LiteralUnion(..)))
        {
            let literals = members
                .into_iter()
                .flat_map(|m| match m {
                    TypeExpression::LiteralUnion(literals, _) => literals,
                    _ => Vec::new(),
                })
                .collect();
            return Ok(TypeExpression::LiteralUnion(literals, span));
        }
        Ok(TypeExpression::Union(members, span))
    }

    /// A literal in type position: `'a'`, `1`, `-1`, `true`, `!true`, `null`.
    fn parse_literal_type(&mut self) -> ParseResult<TypeExpression> {
        let literal = self.parse_unary()?;
        let span = literal.span;
        let folded = match literal.kind {
            ExpressionKind::Unary {
                operator: UnaryOperator::Not,
                operand,
            } => match operand.kind {
                ExpressionKind::Boolean(value) => {
                    Expression::new(ExpressionKind::Boolean(!value), span)
                }
                _ => return self.fail(catalogue::invalid_parameter_type(span)),
            },
            ExpressionKind::String(_) if literal.as_plain_string().is_none() => {
                return self.fail(catalogue::invalid_parameter_type(span))
            }
            ExpressionKind::String(_)
            | ExpressionKind::Integer(_)
            | ExpressionKind::Boolean(_)
            | ExpressionKind::Null => literal,
            _ => return self.fail(catalogue::invalid_parameter_type(span)),
        };
        Ok(TypeExpression::LiteralUnion(vec![folded], span))
    }

    /// `resourceInput<'Type@version'>` after its keyword.
    fn parse_resource_derived_type(
        &mut self,
        output: bool,
        start: Span,
    ) -> ParseResult<TypeExpression> {
        self.expect(TokenKind::LessThan, "<")?;
        self.skip_newlines();
        let token = self.current().clone();
        let reference = match &token.kind {
            TokenKind::String(pieces) => match pieces.as_slice() {
                [StringPiece::Text(text)] => text.clone(),
                [] => String::new(),
                _ => return self.fail(catalogue::compile_time_constant_required(token.span)),
            },
            _ => return self.fail(catalogue::expected_resource_type_string(token.span)),
        };
        self.advance();
        self.skip_newlines();
        let end = self.expect(TokenKind::GreaterThan, ">")?.span;
        Ok(TypeExpression::ResourceDerived {
            output,
            reference,
            span: start.to(end),
        })
    }

    fn parse_type_member(&mut self) -> ParseResult<TypeExpression> {
        let start = self.current().span;
        let mut base = match self.current().kind.clone() {
            TokenKind::Identifier(name) if matches!(name.as_str(), "true" | "false" | "null") => {
                self.parse_literal_type()?
            }
            TokenKind::Identifier(name) => {
                let token = self.advance();
                let qualified = name == "sys" && self.at(&TokenKind::Dot);
                let (name, span) = if qualified {
                    self.advance();
                    let member =
                        self.parse_identifier(catalogue::expected_function_or_property_name)?;
                    (member.name, member.span)
                } else {
                    (name, token.span)
                };
                match name.as_str() {
                    "resourceInput" | "resourceOutput" if self.at(&TokenKind::LessThan) => {
                        self.parse_resource_derived_type(name == "resourceOutput", start)?
                    }
                    _ if qualified => TypeExpression::SysNamed(Identifier { name, span }),
                    _ => TypeExpression::Named(Identifier { name, span }),
                }
            }
            TokenKind::String(_)
            | TokenKind::Integer(_)
            | TokenKind::Minus
            | TokenKind::Exclamation => self.parse_literal_type()?,
            TokenKind::LeftBrace => self.parse_object_type()?,
            TokenKind::LeftSquare => {
                self.advance();
                let mut items = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.at(&TokenKind::RightSquare) {
                        break;
                    }
                    let decorators = self.parse_decorators()?;
                    let value = self.parse_type()?;
                    items.push(TupleTypeItem { decorators, value });
                    // Items are separated by commas or line breaks.
                    let line_break = self.at(&TokenKind::NewLine);
                    self.skip_newlines();
                    if self.at(&TokenKind::Comma) {
                        self.advance();
                    } else if !self.at(&TokenKind::RightSquare) && !line_break {
                        let span = self.current().span;
                        return self.fail(catalogue::expected_character(span, "]"));
                    }
                }
                let end = self.advance().span;
                TypeExpression::Tuple(items, start.to(end))
            }
            TokenKind::LeftParen => {
                // `(T)` is T; `(T)[]`, `(T)?` apply to the whole of it.
                self.advance();
                self.skip_newlines();
                let inner = self.parse_type()?;
                self.skip_newlines();
                self.expect(TokenKind::RightParen, ")")?;
                inner
            }
            _ => return self.fail(catalogue::invalid_parameter_type(start)),
        };
        loop {
            if self.at(&TokenKind::LeftSquare) {
                self.advance();
                let access = match self.current().kind.clone() {
                    TokenKind::RightSquare => None,
                    TokenKind::Asterisk => {
                        self.advance();
                        Some(TypeAccess::Items)
                    }
                    TokenKind::Integer(digits) => {
                        let token = self.advance();
                        match digits.parse::<i64>() {
                            Ok(index) => Some(TypeAccess::Index(index)),
                            Err(_) => {
                                return self.fail(catalogue::invalid_parameter_type(token.span))
                            }
                        }
                    }
                    _ => {
                        let span = self.current().span;
                        return self.fail(catalogue::expected_character(span, "]"));
                    }
                };
                let end = self.expect(TokenKind::RightSquare, "]")?.span;
                let span = start.to(end);
                base = match access {
                    None => TypeExpression::ArrayOf(Box::new(base), span),
                    Some(access) => TypeExpression::Access(Box::new(base), access, span),
                };
            } else if self.at(&TokenKind::Question) {
                let end = self.advance().span;
                base = TypeExpression::Nullable(Box::new(base), start.to(end));
            } else if self.at(&TokenKind::Exclamation) {
                let end = self.advance().span;
                base = TypeExpression::NonNullable(Box::new(base), start.to(end));
            } else if self.at(&TokenKind::Dot) {
                self.advance();
                let token = self.current().clone();
                let access = match &token.kind {
                    TokenKind::Identifier(name) => TypeAccess::Property(name.clone()),
                    TokenKind::Asterisk => TypeAccess::AdditionalProperties,
                    _ => return self.fail(catalogue::expected_property_name(token.span)),
                };
                self.advance();
                base = TypeExpression::Access(Box::new(base), access, start.to(token.span));
            } else {
                return Ok(base);
            }
        }
    }

    fn parse_object_type(&mut self) -> ParseResult<TypeExpression> {
        let start = self.advance().span;
        let mut properties = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&TokenKind::RightBrace) {
                break;
            }
            let decorators = self.parse_decorators()?;
            let token = self.current().clone();
            let name = match &token.kind {
                TokenKind::Identifier(name) => name.clone(),
                TokenKind::Asterisk => "*".to_string(),
                TokenKind::String(pieces) => match pieces.as_slice() {
                    [StringPiece::Text(text)] => text.clone(),
                    [] => String::new(),
                    _ => return self.fail(catalogue::expected_property_name(token.span)),
                },
                _ => return self.fail(catalogue::expected_property_name(token.span)),
            };
            self.advance();
            let optional = if self.at(&TokenKind::Question) {
                self.advance();
                true
            } else {
                false
            };
            self.expect(TokenKind::Colon, ":")?;
            let value = self.parse_type()?;
            properties.push(ObjectTypeProperty {
                decorators,
                name: Identifier {
                    name,
                    span: token.span,
                },
                optional,
                value,
            });
            if self.at(&TokenKind::Comma) {
                self.advance();
            } else if !matches!(
                self.current().kind,
                TokenKind::NewLine | TokenKind::RightBrace
            ) {
                let span = self.current().span;
                return self.fail(catalogue::expected_new_line(span));
            }
        }
        let end = self.advance().span;
        Ok(TypeExpression::Object(properties, start.to(end)))
    }

    fn previous_span(&self) -> Span {
        self.tokens
            .get(self.position.saturating_sub(1))
            .map(|t| t.span)
            .unwrap_or_default()
    }

    fn parse_expression(&mut self) -> ParseResult<Expression> {
        self.parse_ternary()
    }

    /// Inside parentheses line breaks carry no meaning, so they are skipped.
    fn parse_expression_allowing_newlines(&mut self) -> ParseResult<Expression> {
        self.skip_newlines();
        let expression = self.parse_expression()?;
        self.skip_newlines();
        Ok(expression)
    }

    fn parse_ternary(&mut self) -> ParseResult<Expression> {
        if self.depth > MAXIMUM_NESTING {
            let span = self.current().span;
            return self.fail(catalogue::unsupported_construct(
                span,
                "Nesting expressions this deeply",
            ));
        }
        self.depth += 1;
        let result = self.parse_ternary_inner();
        self.depth -= 1;
        result
    }

    fn parse_ternary_inner(&mut self) -> ParseResult<Expression> {
        let condition = self.parse_binary(0)?;
        // The `?` may open the next line, as the official parser allows.
        if self.next_after_newlines_is(&TokenKind::Question) {
            self.skip_newlines();
        }
        if !self.at(&TokenKind::Question) {
            return Ok(condition);
        }
        self.advance();
        self.skip_newlines();
        let when_true = self.parse_ternary()?;
        self.skip_newlines();
        self.expect(TokenKind::Colon, ":")?;
        self.skip_newlines();
        let when_false = self.parse_ternary()?;
        let span = condition.span.to(when_false.span);
        Ok(Expression::new(
            ExpressionKind::Ternary {
                condition: Box::new(condition),
                when_true: Box::new(when_true),
                when_false: Box::new(when_false),
            },
            span,
        ))
    }

    fn binary_operator(&self) -> Option<(BinaryOperator, u8)> {
        // Precedence as in Bicep: ?? < || < && < equality < relational < additive < multiplicative.
        let operator = match self.current().kind {
            TokenKind::DoubleQuestion => (BinaryOperator::Coalesce, 1),
            TokenKind::LogicalOr => (BinaryOperator::Or, 2),
            TokenKind::LogicalAnd => (BinaryOperator::And, 3),
            TokenKind::Equals => (BinaryOperator::Equals, 4),
            TokenKind::NotEquals => (BinaryOperator::NotEquals, 4),
            TokenKind::EqualsInsensitive => (BinaryOperator::EqualsInsensitive, 4),
            TokenKind::NotEqualsInsensitive => (BinaryOperator::NotEqualsInsensitive, 4),
            TokenKind::LessThan => (BinaryOperator::Less, 5),
            TokenKind::LessThanOrEqual => (BinaryOperator::LessOrEquals, 5),
            TokenKind::GreaterThan => (BinaryOperator::Greater, 5),
            TokenKind::GreaterThanOrEqual => (BinaryOperator::GreaterOrEquals, 5),
            TokenKind::Plus => (BinaryOperator::Add, 6),
            TokenKind::Minus => (BinaryOperator::Subtract, 6),
            TokenKind::Asterisk => (BinaryOperator::Multiply, 7),
            TokenKind::Slash => (BinaryOperator::Divide, 7),
            TokenKind::Modulo => (BinaryOperator::Modulo, 7),
            _ => return None,
        };
        Some(operator)
    }

    fn parse_binary(&mut self, minimum_precedence: u8) -> ParseResult<Expression> {
        let mut left = self.parse_unary()?;
        while let Some((operator, precedence)) = self.binary_operator() {
            if precedence <= minimum_precedence {
                break;
            }
            self.advance();
            self.skip_newlines();
            let right = self.parse_binary(precedence)?;
            let span = left.span.to(right.span);
            left = Expression::new(
                ExpressionKind::Binary {
                    operator,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            );
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> ParseResult<Expression> {
        let operator = match self.current().kind {
            TokenKind::Exclamation => UnaryOperator::Not,
            TokenKind::Minus => UnaryOperator::Minus,
            _ => return self.parse_postfix(),
        };
        let start = self.advance().span;
        if self.depth > MAXIMUM_NESTING {
            return self.fail(catalogue::unsupported_construct(
                start,
                "Nesting expressions this deeply",
            ));
        }
        self.depth += 1;
        let operand = self.parse_unary();
        self.depth -= 1;
        let operand = operand?;
        let span = start.to(operand.span);
        // A negative literal is a literal, as the official compiler emits it (-4, not sub(0, 4)).
        if operator == UnaryOperator::Minus {
            if let ExpressionKind::Integer(value) = operand.kind {
                return Ok(Expression::new(
                    ExpressionKind::Integer(value.wrapping_neg()),
                    span,
                ));
            }
        }
        Ok(Expression::new(
            ExpressionKind::Unary {
                operator,
                operand: Box::new(operand),
            },
            span,
        ))
    }

    fn parse_postfix(&mut self) -> ParseResult<Expression> {
        let mut expression = self.parse_primary()?;
        loop {
            match self.current().kind {
                TokenKind::Dot | TokenKind::DotQuestion => {
                    let safe = self.at(&TokenKind::DotQuestion);
                    self.advance();
                    let name = self.parse_identifier(catalogue::expected_property_name)?;
                    if self.at(&TokenKind::LeftParen) {
                        // `az.resourceGroup()` or `base.method()`: only namespaces have functions.
                        let arguments = self.parse_arguments()?;
                        let span = expression.span.to(self.previous_span());
                        let namespace = match expression.kind {
                            ExpressionKind::Variable(identifier) => identifier,
                            // `looped[i].listKeys()`, `vaults[i].getSecret('s')`
                            ExpressionKind::Index {
                                base,
                                index,
                                safe: false,
                                from_end: false,
                            } if matches!(base.kind, ExpressionKind::Variable(_)) => {
                                let ExpressionKind::Variable(resource) = base.kind else {
                                    return self.fail(catalogue::unrecognized_expression(span));
                                };
                                expression = Expression::new(
                                    ExpressionKind::ResourceIndexCall {
                                        resource,
                                        index,
                                        name,
                                        arguments,
                                    },
                                    span,
                                );
                                continue;
                            }
                            base => {
                                expression = Expression::new(
                                    ExpressionKind::InstanceCall {
                                        base: Box::new(Expression::new(base, expression.span)),
                                        name,
                                        arguments,
                                    },
                                    span,
                                );
                                continue;
                            }
                        };
                        expression = Expression::new(
                            ExpressionKind::Call {
                                namespace: Some(namespace),
                                name,
                                arguments,
                            },
                            span,
                        );
                    } else {
                        let span = expression.span.to(name.span);
                        expression = Expression::new(
                            ExpressionKind::Property {
                                base: Box::new(expression),
                                name,
                                safe,
                            },
                            span,
                        );
                    }
                }
                TokenKind::LeftSquare => {
                    self.advance();
                    let safe = if self.at(&TokenKind::Question) {
                        self.advance();
                        true
                    } else {
                        false
                    };
                    let from_end = if self.at(&TokenKind::Caret) {
                        self.advance();
                        true
                    } else {
                        false
                    };
                    let index = self.parse_expression_allowing_newlines()?;
                    let end = self.expect(TokenKind::RightSquare, "]")?.span;
                    let span = expression.span.to(end);
                    expression = Expression::new(
                        ExpressionKind::Index {
                            base: Box::new(expression),
                            index: Box::new(index),
                            safe,
                            from_end,
                        },
                        span,
                    );
                }
                // `x!`: the non-null assertion only changes the type; ARM sees `x` itself.
                TokenKind::Exclamation => {
                    let end = self.advance().span;
                    expression.span = expression.span.to(end);
                }
                TokenKind::DoubleColon => {
                    self.advance();
                    let name = self.parse_identifier(catalogue::expected_resource_identifier)?;
                    let span = expression.span.to(name.span);
                    expression = Expression::new(
                        ExpressionKind::NestedResourceAccess {
                            base: Box::new(expression),
                            name,
                        },
                        span,
                    );
                }
                _ => return Ok(expression),
            }
        }
    }

    fn parse_arguments(&mut self) -> ParseResult<Vec<Expression>> {
        self.expect(TokenKind::LeftParen, "(")?;
        let mut arguments = Vec::new();
        self.skip_newlines();
        while !self.at(&TokenKind::RightParen) {
            arguments.push(self.parse_expression_allowing_newlines()?);
            if self.at(&TokenKind::Comma) {
                self.advance();
                self.skip_newlines();
            } else if !self.at(&TokenKind::RightParen) {
                let span = self.current().span;
                return self.fail(catalogue::expected_character(span, ")"));
            }
        }
        self.advance();
        Ok(arguments)
    }

    fn is_lambda_ahead(&self) -> bool {
        // `x => ...` or `(a, b) => ...`
        if matches!(self.peek_kind(0), TokenKind::Identifier(_))
            && self.peek_kind(1) == &TokenKind::Arrow
        {
            return true;
        }
        if self.peek_kind(0) != &TokenKind::LeftParen {
            return false;
        }
        let mut ahead = 1;
        loop {
            match self.peek_kind(ahead) {
                TokenKind::Identifier(_) | TokenKind::Comma | TokenKind::NewLine => ahead += 1,
                TokenKind::RightParen => return self.peek_kind(ahead + 1) == &TokenKind::Arrow,
                _ => return false,
            }
        }
    }

    fn parse_primary(&mut self) -> ParseResult<Expression> {
        if self.is_lambda_ahead() {
            let start = self.current().span;
            // is_lambda_ahead saw only identifiers, commas and line breaks before `=>`.
            let mut parameters = Vec::new();
            while !self.at(&TokenKind::Arrow) && !self.at(&TokenKind::EndOfFile) {
                let token = self.advance();
                if let TokenKind::Identifier(name) = token.kind {
                    parameters.push(Identifier {
                        name,
                        span: token.span,
                    });
                }
            }
            self.expect(TokenKind::Arrow, "=>")?;
            // The body may start on the next line (`x =>\n  x.name`).
            self.skip_newlines();
            let body = self.parse_expression()?;
            let span = start.to(body.span);
            return Ok(Expression::new(
                ExpressionKind::Lambda {
                    parameters,
                    body: Box::new(body),
                },
                span,
            ));
        }
        let token = self.current().clone();
        match token.kind {
            TokenKind::Integer(digits) => {
                self.advance();
                match digits.parse::<i64>() {
                    Ok(value) => Ok(Expression::new(ExpressionKind::Integer(value), token.span)),
                    Err(_) => self.fail(catalogue::invalid_integer(token.span)),
                }
            }
            TokenKind::String(pieces) => {
                self.advance();
                let mut segments = Vec::new();
                for piece in pieces {
                    match piece {
                        StringPiece::Text(text) => segments.push(StringSegment::Text(text)),
                        StringPiece::Hole(tokens) => {
                            let mut hole_parser = Parser::new(tokens, self.kind);
                            // A hole nests inside this expression: it shares the depth budget.
                            hole_parser.depth = self.depth + 1;
                            let parsed = hole_parser.parse_expression();
                            if parsed.is_ok() && !hole_parser.at(&TokenKind::EndOfFile) {
                                let span = hole_parser.current().span;
                                hole_parser
                                    .diagnostics
                                    .push(catalogue::expected_character(span, "}"));
                            }
                            let failed = !hole_parser.diagnostics.is_empty();
                            self.diagnostics.append(&mut hole_parser.diagnostics);
                            match parsed {
                                Ok(expression) if !failed => {
                                    segments.push(StringSegment::Hole(expression))
                                }
                                _ => return Err(Reported),
                            }
                        }
                    }
                }
                Ok(Expression::new(
                    ExpressionKind::String(segments),
                    token.span,
                ))
            }
            TokenKind::MultilineString(text) => {
                self.advance();
                Ok(Expression::new(
                    ExpressionKind::String(vec![StringSegment::Text(text)]),
                    token.span,
                ))
            }
            TokenKind::Identifier(name) => {
                self.advance();
                let identifier = Identifier {
                    name: name.clone(),
                    span: token.span,
                };
                match name.as_str() {
                    "true" => Ok(Expression::new(ExpressionKind::Boolean(true), token.span)),
                    "false" => Ok(Expression::new(ExpressionKind::Boolean(false), token.span)),
                    "null" => Ok(Expression::new(ExpressionKind::Null, token.span)),
                    _ if self.at(&TokenKind::LeftParen) => {
                        let arguments = self.parse_arguments()?;
                        let span = token.span.to(self.previous_span());
                        Ok(Expression::new(
                            ExpressionKind::Call {
                                namespace: None,
                                name: identifier,
                                arguments,
                            },
                            span,
                        ))
                    }
                    _ => Ok(Expression::new(
                        ExpressionKind::Variable(identifier),
                        token.span,
                    )),
                }
            }
            TokenKind::LeftParen => {
                self.advance();
                let inner = self.parse_expression_allowing_newlines()?;
                let end = self.expect(TokenKind::RightParen, ")")?.span;
                Ok(Expression::new(
                    ExpressionKind::Parenthesized(Box::new(inner)),
                    token.span.to(end),
                ))
            }
            TokenKind::LeftBrace => self.parse_object(),
            TokenKind::LeftSquare => {
                if self.square_opens_for() {
                    self.parse_for(false)
                } else {
                    self.parse_array()
                }
            }
            _ => self.fail(catalogue::unrecognized_expression(token.span)),
        }
    }

    fn parse_object(&mut self) -> ParseResult<Expression> {
        let start = self.advance().span;
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&TokenKind::RightBrace) {
                break;
            }
            if self.at(&TokenKind::EndOfFile) {
                let span = self.current().span;
                return self.fail(catalogue::expected_character(span, "}"));
            }
            let decorators = self.parse_decorators()?;
            if self.at(&TokenKind::Ellipsis) {
                self.advance();
                items.push(ObjectItem::Spread(self.parse_expression()?));
            } else if self.at_keyword("resource")
                && matches!(self.peek_kind(1), TokenKind::Identifier(_))
            {
                items.push(ObjectItem::NestedResource(Box::new(
                    self.parse_resource_declaration(decorators)?,
                )));
            } else {
                let key_token = self.current().clone();
                let key = match &key_token.kind {
                    TokenKind::Identifier(name) => {
                        self.advance();
                        PropertyKey::Identifier(Identifier {
                            name: name.clone(),
                            span: key_token.span,
                        })
                    }
                    TokenKind::String(_) | TokenKind::MultilineString(_) => {
                        PropertyKey::String(self.parse_primary()?)
                    }
                    _ => return self.fail(catalogue::expected_property_name(key_token.span)),
                };
                self.expect(TokenKind::Colon, ":")?;
                let value = self.parse_declaration_body_or_expression()?;
                let span = key_token.span.to(value.span);
                items.push(ObjectItem::Property(ObjectProperty {
                    decorators,
                    key,
                    value,
                    span,
                }));
            }
            if self.at(&TokenKind::Comma) {
                self.advance();
            } else if !matches!(
                self.current().kind,
                TokenKind::NewLine | TokenKind::RightBrace
            ) {
                let span = self.current().span;
                return self.fail(catalogue::expected_new_line(span));
            }
        }
        let end = self.advance().span;
        Ok(Expression::new(
            ExpressionKind::Object(items),
            start.to(end),
        ))
    }

    fn parse_declaration_body_or_expression(&mut self) -> ParseResult<Expression> {
        self.parse_expression()
    }

    fn parse_array(&mut self) -> ParseResult<Expression> {
        let start = self.advance().span;
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&TokenKind::RightSquare) {
                break;
            }
            if self.at(&TokenKind::EndOfFile) {
                let span = self.current().span;
                return self.fail(catalogue::expected_character(span, "]"));
            }
            if self.at(&TokenKind::Ellipsis) {
                self.advance();
                items.push(ArrayItem::Spread(self.parse_expression()?));
            } else {
                items.push(ArrayItem::Value(self.parse_expression()?));
            }
            if self.at(&TokenKind::Comma) {
                self.advance();
            } else if !matches!(
                self.current().kind,
                TokenKind::NewLine | TokenKind::RightSquare
            ) {
                let span = self.current().span;
                return self.fail(catalogue::expected_new_line(span));
            }
        }
        let end = self.advance().span;
        Ok(Expression::new(ExpressionKind::Array(items), start.to(end)))
    }

    /// Whether the `[` at the cursor opens a for-expression (`[` may be followed by line
    /// breaks and comments before `for`).
    fn square_opens_for(&self) -> bool {
        let mut ahead = 1;
        while self.peek_kind(ahead) == &TokenKind::NewLine {
            ahead += 1;
        }
        matches!(self.peek_kind(ahead), TokenKind::Identifier(word) if word == "for")
    }

    /// `[for ... in ...: body]`. A filter (`if (...) {...}`) is part of the syntax only in
    /// a resource or module declaration's value (`allow_filter`); elsewhere the official
    /// parser reads `if (...)` as a call of the unsupported function `if` (BCP100), so a
    /// filtered variable, output or property loop is refused with the same codes.
    fn parse_for(&mut self, allow_filter: bool) -> ParseResult<Expression> {
        let start = self.advance().span;
        self.skip_newlines();
        let keyword = self.advance().span; // `for`
        let (item, index) = if self.at(&TokenKind::LeftParen) {
            self.advance();
            let item = self.parse_identifier(catalogue::expected_variable_identifier)?;
            self.expect(TokenKind::Comma, ",")?;
            let index = self.parse_identifier(catalogue::expected_variable_identifier)?;
            self.expect(TokenKind::RightParen, ")")?;
            (Some(item), Some(index))
        } else {
            (
                Some(self.parse_identifier(catalogue::expected_variable_identifier)?),
                None,
            )
        };
        if !self.at_keyword("in") {
            let span = self.current().span;
            return self.fail(catalogue::expected_keyword(span, "in"));
        }
        self.advance();
        let collection = self.parse_expression()?;
        self.expect(TokenKind::Colon, ":")?;
        self.skip_newlines();
        let (filter, body) = if allow_filter && self.at_keyword("if") {
            match self.parse_condition()?.kind {
                ExpressionKind::Condition { condition, body } => (Some(condition), body),
                _ => return Err(Reported),
            }
        } else {
            (None, Box::new(self.parse_expression()?))
        };
        self.skip_newlines();
        if !self.at(&TokenKind::RightSquare) {
            if let ExpressionKind::Call {
                namespace: None,
                name,
                ..
            } = &body.kind
            {
                // The binder reports BCP100 for a complete `if(...)` body; a filter body
                // after it stops the parse here, so report both as the official compiler does.
                if name.name == "if" {
                    self.diagnostics
                        .push(catalogue::if_function_not_supported(name.span));
                }
            }
        }
        let end = self.expect(TokenKind::RightSquare, "]")?.span;
        Ok(Expression::new(
            ExpressionKind::For(ForExpression {
                keyword,
                item,
                index,
                collection: Box::new(collection),
                filter,
                body,
            }),
            start.to(end),
        ))
    }
}
