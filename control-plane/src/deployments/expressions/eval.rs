//! Walks the syntax tree to a value. Arguments are evaluated before the
//! call except for the functions the table marks lazy (`if`, which
//! evaluates only the branch it picks, and the lambda functions, which
//! evaluate their lambda's body once per element).

use serde_json::Value;

use super::ast::{Call, Expr};
use super::errors::{in_function, unknown_function, wrong_arity};
use super::functions::{self, Implementation, Invocation};
use super::values::{as_int, get_property, type_name};
use super::{Context, ExprError};

/// Lambdas nest; this bounds how deep (each level is a Rust stack frame).
const MAX_LAMBDA_DEPTH: usize = 32;

pub struct Evaluator<'c> {
    pub ctx: &'c dyn Context,
    /// Lambda variables in scope, innermost last (a name may shadow).
    locals: Vec<(String, Value)>,
    lambda_depth: usize,
}

impl<'c> Evaluator<'c> {
    pub fn new(ctx: &'c dyn Context) -> Self {
        Self {
            ctx,
            locals: Vec::new(),
            lambda_depth: 0,
        }
    }

    /// An evaluator for a lambda body: the enclosing variables plus `bindings`.
    pub fn with_locals(&self, bindings: Vec<(String, Value)>) -> Result<Evaluator<'c>, ExprError> {
        if self.lambda_depth >= MAX_LAMBDA_DEPTH {
            return Err(ExprError::new("lambdas are nested too deeply"));
        }
        let mut locals = self.locals.clone();
        locals.extend(bindings);
        Ok(Evaluator {
            ctx: self.ctx,
            locals,
            lambda_depth: self.lambda_depth + 1,
        })
    }

    /// `lambdaVariables('name')`: the innermost binding of `name`.
    pub fn local(&self, name: &str) -> Option<&Value> {
        self.locals
            .iter()
            .rev()
            .find(|(bound, _)| bound.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    pub fn eval(&self, expr: &Expr) -> Result<Value, ExprError> {
        match expr {
            Expr::String(text) => Ok(Value::String(text.clone())),
            Expr::Int(value) => Ok(Value::from(*value)),
            Expr::Call(call) => self.call(call),
            Expr::Member {
                target,
                property,
                position,
            } => {
                let target = self.eval(target)?;
                member(&target, property, *position)
            }
            Expr::Index {
                target,
                index,
                position,
            } => {
                let target = self.eval(target)?;
                let index = self.eval(index)?;
                index_into(&target, &index, *position)
            }
        }
    }

    pub fn eval_args(&self, args: &[Expr]) -> Result<Vec<Value>, ExprError> {
        args.iter().map(|arg| self.eval(arg)).collect()
    }

    fn call(&self, call: &Call) -> Result<Value, ExprError> {
        if let Some(namespace) = &call.namespace {
            let args = self.eval_args(&call.args)?;
            return self
                .ctx
                .user_function(namespace, &call.name, &args)
                .map_err(|e| in_function(e, &format!("{namespace}.{}", call.name), call.position));
        }
        let Some(function) = functions::lookup(&call.key) else {
            return Err(unknown_function(&call.name, call.position));
        };
        let given = call.args.len();
        if given < function.min_args || function.max_args.is_some_and(|max| given > max) {
            return Err(wrong_arity(
                &call.name,
                given,
                function.min_args,
                function.max_args,
                call.position,
            ));
        }
        let result = match function.implementation {
            Implementation::Eager(run) => {
                let args = self.eval_args(&call.args)?;
                let invocation = Invocation {
                    name: &call.name,
                    ctx: self.ctx,
                };
                run(&args, &invocation)
            }
            Implementation::Lazy(run) => run(self, call),
        };
        result.map_err(|e| in_function(e, &call.name, call.position))
    }
}

/// `value.property`: objects by name, ignoring case as ARM does.
fn member(target: &Value, property: &str, position: usize) -> Result<Value, ExprError> {
    match target {
        Value::Object(map) => get_property(map, property).cloned().ok_or_else(|| ExprError {
            message: format!(
                "The language expression property '{property}' doesn't exist, available properties are '{}'.",
                map.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            position: Some(position),
        }),
        other => Err(ExprError {
            message: format!(
                "The language expression property '{property}' can't be evaluated: the value is of type '{}', not 'Object'.",
                type_name(other)
            ),
            position: Some(position),
        }),
    }
}

/// `value[index]`: arrays by integer, objects by property name.
fn index_into(target: &Value, index: &Value, position: usize) -> Result<Value, ExprError> {
    match (target, index) {
        (Value::Array(items), _) => {
            let Some(i) = as_int(index) else {
                return Err(ExprError {
                    message: format!(
                        "The language expression array index must be an integer, but is of type '{}'.",
                        type_name(index)
                    ),
                    position: Some(position),
                });
            };
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| ExprError {
                    message: format!(
                        "The language expression property array index '{i}' is out of bounds."
                    ),
                    position: Some(position),
                })
        }
        (Value::Object(_), Value::String(name)) => member(target, name, position),
        (Value::Object(_), other) => Err(ExprError {
            message: format!(
                "The language expression property name must be a string, but is of type '{}'.",
                type_name(other)
            ),
            position: Some(position),
        }),
        (other, _) => Err(ExprError {
            message: format!(
                "The language expression value of type '{}' cannot be indexed; only arrays and objects can.",
                type_name(other)
            ),
            position: Some(position),
        }),
    }
}
