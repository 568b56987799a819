//! The syntax tree the parser builds. Every node carries its span so any later
//! stage can point a diagnostic at it.

use crate::text::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Identifier {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StringSegment {
    Text(String),
    Hole(Expression),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOperator {
    Not,
    Minus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOperator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Equals,
    NotEquals,
    EqualsInsensitive,
    NotEqualsInsensitive,
    Less,
    LessOrEquals,
    Greater,
    GreaterOrEquals,
    And,
    Or,
    Coalesce,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PropertyKey {
    Identifier(Identifier),
    String(Expression),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectProperty {
    pub decorators: Vec<Decorator>,
    pub key: PropertyKey,
    pub value: Expression,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ObjectItem {
    Property(ObjectProperty),
    Spread(Expression),
    /// A child resource declared inside its parent's body.
    NestedResource(Box<ResourceDeclaration>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArrayItem {
    Value(Expression),
    Spread(Expression),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForExpression {
    /// The `for` keyword (where the official compiler reports a misplaced loop).
    pub keyword: Span,
    pub item: Option<Identifier>,
    pub index: Option<Identifier>,
    pub collection: Box<Expression>,
    /// `for x in xs: if (cond) {...}`
    pub filter: Option<Box<Expression>>,
    pub body: Box<Expression>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExpressionKind {
    String(Vec<StringSegment>),
    Integer(i64),
    Boolean(bool),
    Null,
    Variable(Identifier),
    Object(Vec<ObjectItem>),
    Array(Vec<ArrayItem>),
    Call {
        namespace: Option<Identifier>,
        name: Identifier,
        arguments: Vec<Expression>,
    },
    /// `symbol[index].function(...)`: a function of one resource of a resource loop.
    ResourceIndexCall {
        resource: Identifier,
        index: Box<Expression>,
        name: Identifier,
        arguments: Vec<Expression>,
    },
    /// `base.function(...)` on any other base: a resource reached through `a::b` or
    /// parentheses is the only one with functions (BCP067 otherwise).
    InstanceCall {
        base: Box<Expression>,
        name: Identifier,
        arguments: Vec<Expression>,
    },
    Property {
        base: Box<Expression>,
        name: Identifier,
        safe: bool,
    },
    Index {
        base: Box<Expression>,
        index: Box<Expression>,
        safe: bool,
        from_end: bool,
    },
    /// `parent::child`
    NestedResourceAccess {
        base: Box<Expression>,
        name: Identifier,
    },
    Unary {
        operator: UnaryOperator,
        operand: Box<Expression>,
    },
    Binary {
        operator: BinaryOperator,
        left: Box<Expression>,
        right: Box<Expression>,
    },
    Ternary {
        condition: Box<Expression>,
        when_true: Box<Expression>,
        when_false: Box<Expression>,
    },
    Parenthesized(Box<Expression>),
    For(ForExpression),
    /// `if (cond) {...}` as a resource or module body.
    Condition {
        condition: Box<Expression>,
        body: Box<Expression>,
    },
    /// `x => body` or `(a, b) => body`: ARM's lambda('x', ...) with lambdaVariables('x').
    Lambda {
        parameters: Vec<Identifier>,
        body: Box<Expression>,
    },
    /// A variable's value imported from an ARM JSON template, as that template writes it
    /// (compact JSON text, its `variables('...')` already renamed).
    ArmTemplateValue(String),
    /// A copy-loop variable imported from an ARM JSON template: its count (an ARM expression
    /// without brackets) and its input (compact JSON text).
    ArmCopyLoop {
        count: String,
        input: String,
    },
    /// Left behind where a syntax error was reported, so later stages stay quiet.
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub kind: ExpressionKind,
    pub span: Span,
}

impl Expression {
    pub fn new(kind: ExpressionKind, span: Span) -> Self {
        Expression { kind, span }
    }

    pub fn error(span: Span) -> Self {
        Expression::new(ExpressionKind::Error, span)
    }

    /// The literal text of a string with no holes.
    pub fn as_plain_string(&self) -> Option<String> {
        match &self.kind {
            ExpressionKind::String(segments) => {
                let mut text = String::new();
                for segment in segments {
                    match segment {
                        StringSegment::Text(part) => text.push_str(part),
                        StringSegment::Hole(_) => return None,
                    }
                }
                Some(text)
            }
            _ => None,
        }
    }

    /// The value of `key` in an object literal (for resource and module bodies).
    pub fn object_property(&self, key: &str) -> Option<&ObjectProperty> {
        match &self.kind {
            ExpressionKind::Object(items) => items.iter().find_map(|item| match item {
                ObjectItem::Property(property) if property.key_text().as_deref() == Some(key) => {
                    Some(property)
                }
                _ => None,
            }),
            _ => None,
        }
    }
}

impl ObjectProperty {
    pub fn key_text(&self) -> Option<String> {
        match &self.key {
            PropertyKey::Identifier(identifier) => Some(identifier.name.clone()),
            PropertyKey::String(expression) => expression.as_plain_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decorator {
    pub namespace: Option<Identifier>,
    pub name: Identifier,
    pub arguments: Vec<Expression>,
    pub span: Span,
}

/// A parameter or output type as written: `string`, `int[]`, `object?`, `'a' | 'b'`.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeExpression {
    Named(Identifier),
    /// `sys.bool`: the built-in type, even where a user-defined type shadows its name.
    SysNamed(Identifier),
    ArrayOf(Box<TypeExpression>, Span),
    Nullable(Box<TypeExpression>, Span),
    /// `T!`: the type without null.
    NonNullable(Box<TypeExpression>, Span),
    /// A union of literal values (`null` included); the official compiler emits it as allowedValues.
    LiteralUnion(Vec<Expression>, Span),
    /// `{ name: string, tags?: object, *: string }` (a user-defined object type).
    Object(Vec<ObjectTypeProperty>, Span),
    /// `[string, int]`: a tuple, written as prefixItems with items false.
    Tuple(Vec<TupleTypeItem>, Span),
    /// A union whose members are not all simple literals: named types, object or tuple
    /// literals, nested unions; a tagged union when `@discriminator` decorates it.
    Union(Vec<TypeExpression>, Span),
    /// `t.prop`, `t.*`, `t[0]`, `t[*]`: a part of another type.
    Access(Box<TypeExpression>, TypeAccess, Span),
    /// `resourceInput<'Type@version'>` / `resourceOutput<...>`: a type derived from a resource body.
    ResourceDerived {
        output: bool,
        /// As written inside the quotes (an `az:` prefix included).
        reference: String,
        span: Span,
    },
    /// A type imported from an ARM JSON template: its schema as compact JSON text.
    Schema(String, Span),
    /// Type syntax we parse past but cannot express: reported as unsupported.
    Unsupported(Span),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeAccess {
    Property(String),
    AdditionalProperties,
    Index(i64),
    Items,
}

/// One item of a tuple type, with its own decorators.
#[derive(Debug, Clone, PartialEq)]
pub struct TupleTypeItem {
    pub decorators: Vec<Decorator>,
    pub value: TypeExpression,
}

/// One property of an object type; `*` names the type of any additional property.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectTypeProperty {
    pub decorators: Vec<Decorator>,
    pub name: Identifier,
    pub optional: bool,
    pub value: TypeExpression,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeDeclaration {
    pub decorators: Vec<Decorator>,
    pub name: Identifier,
    pub value: TypeExpression,
    pub span: Span,
}

impl TypeExpression {
    pub fn span(&self) -> Span {
        match self {
            TypeExpression::Named(identifier) | TypeExpression::SysNamed(identifier) => {
                identifier.span
            }
            TypeExpression::ResourceDerived { span, .. } => *span,
            TypeExpression::ArrayOf(_, span)
            | TypeExpression::Nullable(_, span)
            | TypeExpression::NonNullable(_, span)
            | TypeExpression::Union(_, span)
            | TypeExpression::Access(_, _, span)
            | TypeExpression::Schema(_, span)
            | TypeExpression::LiteralUnion(_, span)
            | TypeExpression::Object(_, span)
            | TypeExpression::Tuple(_, span)
            | TypeExpression::Unsupported(span) => *span,
        }
    }
}

/// One typed parameter of a user-defined function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionParameter {
    pub name: Identifier,
    pub type_expression: TypeExpression,
}

/// `func name(a string, b int) string => body`: written to the template's `functions`
/// in the `__bicep` namespace and called as `__bicep.name(...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDeclaration {
    pub decorators: Vec<Decorator>,
    pub name: Identifier,
    pub parameters: Vec<FunctionParameter>,
    pub return_type: TypeExpression,
    pub body: Expression,
    pub span: Span,
}

/// `import {a, b} from './file.bicep'`: the named exported declarations are inlined.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportDeclaration {
    pub names: Vec<Identifier>,
    /// `import {a as b}`: the name each import is known by here, when it differs (same order).
    pub aliases: Vec<Option<Identifier>>,
    /// `import * as ns from '...'`: every export, reached as `ns.name`.
    pub wildcard: Option<Identifier>,
    pub path: Expression,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParameterDeclaration {
    pub decorators: Vec<Decorator>,
    pub name: Identifier,
    pub type_expression: TypeExpression,
    pub default_value: Option<Expression>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariableDeclaration {
    pub decorators: Vec<Decorator>,
    pub name: Identifier,
    /// `var x string = ...`: the declared type, if any (it switches to languageVersion 2.0).
    pub type_expression: Option<TypeExpression>,
    pub value: Expression,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDeclaration {
    pub decorators: Vec<Decorator>,
    pub name: Identifier,
    /// `'Microsoft.X/y@2020-01-01'` as written; nested resources may give just `'child@...'`.
    pub type_reference: String,
    pub type_span: Span,
    pub existing: bool,
    pub value: Expression,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModuleDeclaration {
    pub decorators: Vec<Decorator>,
    pub name: Identifier,
    pub path: Expression,
    pub value: Expression,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputDeclaration {
    pub decorators: Vec<Decorator>,
    pub name: Identifier,
    pub type_expression: TypeExpression,
    pub value: Expression,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionDeclaration {
    /// `kubernetes`, or a registry reference as written in quotes.
    pub specifier: Identifier,
    /// Whether the specifier was written as a string (a registry or file reference).
    pub quoted: bool,
    pub config: Option<Expression>,
    pub alias: Option<Identifier>,
    pub span: Span,
}

impl ExtensionDeclaration {
    /// The name resources and the template refer to it by.
    pub fn name(&self) -> &str {
        &self.alias.as_ref().unwrap_or(&self.specifier).name
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataDeclaration {
    pub name: Identifier,
    pub value: Expression,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Declaration {
    TargetScope(Expression, Span),
    Metadata(MetadataDeclaration),
    Parameter(ParameterDeclaration),
    Variable(VariableDeclaration),
    Resource(ResourceDeclaration),
    Module(ModuleDeclaration),
    Output(OutputDeclaration),
    /// `type name = ...`: a user-defined type, written to `definitions`.
    Type(TypeDeclaration),
    /// `func name(...) type => body`: a user-defined function.
    Function(FunctionDeclaration),
    Import(ImportDeclaration),
    /// `using './main.bicep'` in a .bicepparam file.
    Using(Expression, Span),
    /// `param x = value` in a .bicepparam file.
    ParameterAssignment {
        name: Identifier,
        value: Expression,
        span: Span,
    },
    /// `extension kubernetes with { ... } as k8s`: a namespace of non-Azure resource types.
    Extension(ExtensionDeclaration),
    /// `assert name = condition` (the experimental "assertions" feature).
    Assert {
        name: Identifier,
        value: Expression,
        span: Span,
    },
    /// `test name 'file.bicep' = {...}` (the experimental "testFramework" feature): checked,
    /// never written to the template.
    Test {
        name: Identifier,
        path: Expression,
        value: Expression,
        span: Span,
    },
    /// import/extension/assert…: parsed past, then refused by the type checker.
    Unsupported {
        keyword: String,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyntaxTree {
    pub declarations: Vec<Declaration>,
    /// Declarations inlined by `import`: name → the file they came from, as the importer wrote it.
    pub imported_from: Vec<(String, String)>,
    /// Declarations imported under another name: (name here, name in the imported file).
    pub original_names: Vec<(String, String)>,
}

impl SyntaxTree {
    /// The name an aliased import has in the file it came from.
    pub fn original_name(&self, name: &str) -> Option<&str> {
        self.original_names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, original)| original.as_str())
    }

    pub fn import_source(&self, name: &str) -> Option<&str> {
        self.imported_from
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, source)| source.as_str())
    }
}
