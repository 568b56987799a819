//! ARM's wording for evaluation errors, in one place so every function
//! reports the same way.

use super::ExprError;

const USAGE: &str = "Please see https://aka.ms/arm-functions for usage details.";

/// A name that is neither a built-in nor a user-defined function.
pub fn unknown_function(name: &str, position: usize) -> ExprError {
    ExprError {
        message: format!("The template function '{name}' is not valid. {USAGE}"),
        position: Some(position),
    }
}

/// Too few or too many arguments, against the registration table's arity.
pub fn wrong_arity(
    name: &str,
    given: usize,
    min: usize,
    max: Option<usize>,
    position: usize,
) -> ExprError {
    let rule = match max {
        Some(max) if max == min => format!("must have exactly {min} argument(s)"),
        _ if given < min => format!("must have at least {min} argument(s)"),
        Some(max) => format!("must have at most {max} argument(s)"),
        None => format!("must have at least {min} argument(s)"),
    };
    ExprError {
        message: format!(
            "The template language function '{name}' {rule}, but {given} were given. {USAGE}"
        ),
        position: Some(position),
    }
}

/// Frames a function's own complaint (`detail`) with ARM's prefix and the
/// call's position. Errors that already carry a position came from deeper
/// in the expression and pass through untouched.
pub fn in_function(error: ExprError, name: &str, position: usize) -> ExprError {
    if error.position.is_some() {
        return error;
    }
    ExprError {
        message: format!(
            "Unable to evaluate template language function '{name}': {} {USAGE}",
            with_full_stop(&error.message)
        ),
        position: Some(position),
    }
}

fn with_full_stop(text: &str) -> String {
    if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    }
}
