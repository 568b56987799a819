//! The one place diagnostics are built (like Azure/bicep's DiagnosticBuilder.cs).
//! Codes and texts below BCP900 are the official compiler's; BCP9xx are this
//! compiler's own, for language it does not implement yet, so a user never
//! mistakes them for an official rule.

use super::{Level, PendingDiagnostic};
use crate::text::Span;

fn error(span: Span, code: &'static str, message: String) -> PendingDiagnostic {
    PendingDiagnostic {
        span,
        level: Level::Error,
        code,
        message,
    }
}

pub fn unrecognized_token(span: Span, token: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP001",
        format!("The following token is not recognized: \"{token}\"."),
    )
}

pub fn unterminated_multiline_comment(span: Span) -> PendingDiagnostic {
    error(span, "BCP002", "The multi-line comment at this location is not terminated. Terminate it with the */ character sequence.".into())
}

pub fn unterminated_string(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP003",
        "The string at this location is not terminated. Terminate the string with a single quote character.".into(),
    )
}

pub fn unterminated_string_with_new_line(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP004",
        "The string at this location is not terminated due to an unexpected new line character."
            .into(),
    )
}

pub fn unrecognized_escape_sequence(span: Span) -> PendingDiagnostic {
    error(span, "BCP006", "The specified escape sequence is not recognized. Only the following escape sequences are allowed: \"\\$\", \"\\'\", \"\\\\\", \"\\n\", \"\\r\", \"\\t\", \"\\u{...}\".".into())
}

pub fn unrecognized_declaration(span: Span) -> PendingDiagnostic {
    error(span, "BCP007", "This declaration type is not recognized. Specify a metadata, parameter, variable, resource, or output declaration.".into())
}

pub fn expected_parameter_continuation(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP008",
        "Expected the \"=\" token, or a newline at this location.".into(),
    )
}

pub fn unrecognized_expression(span: Span) -> PendingDiagnostic {
    error(span, "BCP009", "Expected a literal value, an array, an object, a parenthesized expression, or a function call at this location.".into())
}

pub fn invalid_integer(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP010",
        "Expected a valid 64-bit signed integer.".into(),
    )
}

pub fn expected_keyword(span: Span, keyword: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP012",
        format!("Expected the \"{keyword}\" keyword at this location."),
    )
}

pub fn expected_parameter_identifier(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP013",
        "Expected a parameter identifier at this location.".into(),
    )
}

pub fn expected_variable_identifier(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP015",
        "Expected a variable identifier at this location.".into(),
    )
}

pub fn expected_output_identifier(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP016",
        "Expected an output identifier at this location.".into(),
    )
}

pub fn expected_resource_identifier(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP017",
        "Expected a resource identifier at this location.".into(),
    )
}

pub fn expected_character(span: Span, character: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP018",
        format!("Expected the \"{character}\" character at this location."),
    )
}

pub fn expected_new_line(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP019",
        "Expected a new line character at this location.".into(),
    )
}

pub fn expected_function_or_property_name(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP020",
        "Expected a function or property name at this location.".into(),
    )
}

pub fn expected_property_name(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP022",
        "Expected a property name at this location.".into(),
    )
}

pub fn property_declared_multiple_times(span: Span, property: &str) -> PendingDiagnostic {
    error(span, "BCP025", format!("The property \"{property}\" is declared multiple times in this object. Remove or rename the duplicate properties."))
}

pub fn identifier_declared_multiple_times(span: Span, identifier: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP028",
        format!(
            "Identifier \"{identifier}\" is declared multiple times. Remove or rename the duplicates."
        ),
    )
}

pub fn invalid_output_type(span: Span) -> PendingDiagnostic {
    error(span, "BCP030", "The output type is not valid. Please specify one of the following types: \"array\", \"bool\", \"int\", \"object\", \"string\".".into())
}

pub fn invalid_parameter_type(span: Span) -> PendingDiagnostic {
    error(span, "BCP031", "The parameter type is not valid. Please specify one of the following types: \"array\", \"bool\", \"int\", \"object\", \"string\".".into())
}

pub fn compile_time_constant_required(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP032",
        "The value must be a compile-time constant.".into(),
    )
}

pub fn missing_required_properties(
    span: Span,
    block: &str,
    properties: &[&str],
) -> PendingDiagnostic {
    let quoted: Vec<String> = properties.iter().map(|p| format!("\"{p}\"")).collect();
    error(
        span,
        "BCP035",
        format!(
            "The specified \"{block}\" declaration is missing the following required properties: {}.",
            quoted.join(", ")
        ),
    )
}

/// Appended to the warnings that come from resource type definitions, as the official compiler does.
const TYPE_INACCURACY_CLAUSE: &str =
    " If this is a resource type definition inaccuracy, report it using https://aka.ms/bicep-type-issues.";

fn warning(span: Span, code: &'static str, message: String) -> PendingDiagnostic {
    PendingDiagnostic {
        span,
        level: Level::Warning,
        code,
        message,
    }
}

fn quoted_list(names: &[impl AsRef<str>]) -> String {
    let quoted: Vec<String> = names
        .iter()
        .map(|p| format!("\"{}\"", p.as_ref()))
        .collect();
    quoted.join(", ")
}

/// BCP035 from a resource type's definition: a warning, as for the official compiler's known types.
pub fn missing_required_properties_warning(
    span: Span,
    block: &str,
    properties: &[&str],
) -> PendingDiagnostic {
    warning(
        span,
        "BCP035",
        format!(
            "The specified \"{block}\" declaration is missing the following required properties: {}.{TYPE_INACCURACY_CLAUSE}",
            quoted_list(properties)
        ),
    )
}

pub fn property_type_mismatch(
    span: Span,
    property: &str,
    expected: &str,
    actual: &str,
) -> PendingDiagnostic {
    warning(
        span,
        "BCP036",
        format!("The property \"{property}\" expected a value of type \"{expected}\" but the provided value is of type \"{actual}\".{TYPE_INACCURACY_CLAUSE}"),
    )
}

pub fn property_not_allowed(
    span: Span,
    property: &str,
    type_name: &str,
    permissible: &[String],
) -> PendingDiagnostic {
    let clause = if permissible.is_empty() {
        " No other properties are allowed.".to_string()
    } else {
        format!(
            " Permissible properties include {}.",
            quoted_list(permissible)
        )
    };
    warning(
        span,
        "BCP037",
        format!("The property \"{property}\" is not allowed on objects of type \"{type_name}\".{clause}{TYPE_INACCURACY_CLAUSE}"),
    )
}

pub fn import_not_exported(span: Span, name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP360",
        format!(
            "The '{name}' symbol was not found in (or was not exported by) the imported template."
        ),
    )
}

pub fn name_does_not_exist(span: Span, name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP057",
        format!("The name \"{name}\" does not exist in the current context."),
    )
}

pub fn functions_need_an_object(span: Span, type_display: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP067",
        format!(
            "Cannot call functions on type \"{type_display}\". An \"object\" type is required."
        ),
    )
}

pub fn function_not_on_object(span: Span, type_display: &str, name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP109",
        format!("The type \"{type_display}\" does not contain function \"{name}\"."),
    )
}

pub fn for_expression_not_supported_here(span: Span) -> PendingDiagnostic {
    error(span, "BCP138", "For-expressions are not supported in this context. For-expressions may be used as values of resource, module, variable, and output declarations, or values of resource and module properties.".into())
}

pub fn nested_property_loop(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP142",
        "Property value for-expressions cannot be nested.".into(),
    )
}

pub fn if_function_not_supported(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP100",
        "The function \"if\" is not supported. Use the \"?:\" (ternary conditional) operator instead, e.g. condition ? ValueIfTrue : ValueIfFalse".into(),
    )
}

pub fn unknown_function(span: Span, name: &str) -> PendingDiagnostic {
    // The official compiler reports an unknown function name as an unknown name.
    name_does_not_exist(span, name)
}

pub fn argument_count_mismatch(span: Span, expected: usize, actual: usize) -> PendingDiagnostic {
    error(
        span,
        "BCP071",
        format!("Expected {expected} arguments, but got {actual}."),
    )
}

pub fn module_file_not_found(span: Span, detail: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP091",
        format!("An error occurred reading file. {detail}"),
    )
}

pub fn module_path_interpolation_unsupported(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP092",
        "String interpolation is not supported in file paths.".into(),
    )
}

pub fn cyclic_module(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP095",
        "The file is involved in a cycle (\"module\" references).".into(),
    )
}

pub fn expected_declaration_after_decorator(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP132",
        "Expected a declaration after the decorator.".into(),
    )
}

pub fn cannot_use_function_as_decorator(span: Span, name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP152",
        format!("Function \"{name}\" cannot be used as a decorator."),
    )
}

pub fn decorator_not_permitted_here(span: Span, name: &str, target: &str) -> PendingDiagnostic {
    // Official code for "decorator on the wrong kind of declaration".
    error(
        span,
        "BCP126",
        format!("Function \"{name}\" cannot be used as a {target} decorator."),
    )
}

pub fn type_mismatch(span: Span, expected: &str, actual: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP033",
        format!("Expected a value of type \"{expected}\" but the provided value is of type \"{actual}\"."),
    )
}

pub fn target_scope_invalid(span: Span) -> PendingDiagnostic {
    error(span, "BCP033", "Expected a value of type \"'managementGroup' | 'resourceGroup' | 'subscription' | 'tenant'\" but the provided value is of type \"string\".".into())
}

pub fn file_load_failed(span: Span, detail: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP091",
        format!("An error occurred reading file. {detail}"),
    )
}

pub fn registry_unreachable(span: Span, reference: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP192",
        format!("Unable to restore the artifact with reference \"{reference}\": this compiler works offline for the Cloud HSM emulator and cannot reach module registries or template specs. Copy the module locally and reference it by a relative path."),
    )
}

pub fn bicepparam_missing_using(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP261",
        "A using declaration must be present in this parameters file.".into(),
    )
}

pub fn bicepparam_param_not_in_template(span: Span, name: &str) -> PendingDiagnostic {
    error(span, "BCP259", format!("The parameter \"{name}\" is assigned in the params file without being declared in the Bicep file."))
}

pub fn bicepparam_missing_required_param(span: Span, name: &str) -> PendingDiagnostic {
    error(span, "BCP258", format!("The following parameters are declared in the Bicep file but are missing an assignment in the params file: \"{name}\"."))
}

pub fn lambda_not_a_function_argument(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP242",
        "Lambda functions may only be specified directly as function arguments.".into(),
    )
}

/// Language this compiler does not implement yet: refuse clearly rather than emit wrong JSON.
pub fn missing_diagnostic_codes(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP226",
        "Expected at least one diagnostic code at this location. Valid format is \"#disable-next-line diagnosticCode1 diagnosticCode2 ...\"".into(),
    )
}

pub fn unsupported_construct(span: Span, construct: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP901",
        format!("{construct} is not supported by this Bicep compiler yet (it follows Bicep {}); rewrite the template without it or compile it with the official Bicep CLI.", crate::VERSION),
    )
}

pub fn expected_resource_type_string(span: Span) -> PendingDiagnostic {
    error(span, "BCP068", "Expected a resource type string. Specify a valid resource type of format \"<type-name>@<apiVersion>\".".into())
}

pub fn type_union_not_reducible(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP294",
        "Type unions must be reducible to a single ARM type (such as 'string', 'int', or 'bool')."
            .into(),
    )
}

pub fn discriminator_needs_object_union(span: Span) -> PendingDiagnostic {
    error(span, "BCP363", "The \"discriminator\" decorator can only be applied to object-only union types with unique member types.".into())
}

pub fn discriminator_property_not_literal(span: Span, property: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP364",
        format!("The property \"{property}\" must be a required string literal on all union member types."),
    )
}

pub fn discriminator_value_duplicated(
    span: Span,
    property: &str,
    value: &str,
) -> PendingDiagnostic {
    error(span, "BCP365", format!("The value \"{value}\" for discriminator property \"{property}\" is duplicated across multiple union member types. The value must be unique across all union member types."))
}

pub fn type_property_unknown(span: Span, type_name: &str, property: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP052",
        format!("The type \"{type_name}\" does not contain property \"{property}\"."),
    )
}

pub fn type_index_needs_tuple(span: Span, type_name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP388",
        format!(
            "Cannot access elements of type \"{type_name}\" by index. An tuple type is required."
        ),
    )
}

pub fn type_has_no_additional_properties(span: Span, type_name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP389",
        format!("The type \"{type_name}\" does not declare an additional properties type."),
    )
}

pub fn type_items_need_typed_array(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP390",
        "The array item type access operator ('[*]') can only be used with typed arrays.".into(),
    )
}

pub fn type_access_needs_named_base(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP391",
        "Type member access is only supported on a reference to a named type.".into(),
    )
}

pub fn invalid_resource_type(span: Span) -> PendingDiagnostic {
    error(span, "BCP029", "The resource type is not valid. Specify a valid resource type of format \"<type-name>@<apiVersion>\".".into())
}

pub fn expected_assert_identifier(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP344",
        "Expected an assert identifier at this location.".into(),
    )
}

pub fn test_must_reference_bicep_file(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP345",
        "A test declaration can only reference a Bicep File".into(),
    )
}

pub fn expected_test_identifier(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP346",
        "Expected a test identifier at this location.".into(),
    )
}

pub fn test_framework_disabled(span: Span) -> PendingDiagnostic {
    error(span, "BCP348", "Using a test declaration statement requires enabling EXPERIMENTAL feature \"TestFramework\".".into())
}

pub fn assertions_disabled(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP349",
        "Using an assert declaration requires enabling EXPERIMENTAL feature \"Assertions\".".into(),
    )
}

pub fn assert_value_not_bool(span: Span, value_type: &str) -> PendingDiagnostic {
    error(span, "BCP350", format!("Value of type \"{value_type}\" cannot be assigned to an assert. Asserts can take values of type 'bool' only."))
}

pub fn json_path_not_found(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP235",
        "Specified JSONPath does not exist in the given file or is invalid.".into(),
    )
}

pub fn unknown_text_encoding(span: Span, value: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP070",
        format!("Argument of type \"'{value}'\" is not assignable to parameter of type \"'iso-8859-1' | 'us-ascii' | 'utf-16' | 'utf-16BE' | 'utf-8'\"."),
    )
}

pub fn argument_count(span: Span, expected: &str, actual: usize) -> PendingDiagnostic {
    error(
        span,
        "BCP071",
        format!("Expected {expected} arguments, but got {actual}."),
    )
}

pub fn get_secret_needs_key_vault(span: Span, resource_type: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP109",
        format!("The type \"{resource_type}\" does not contain function \"getSecret\"."),
    )
}

pub fn get_secret_misplaced(span: Span) -> PendingDiagnostic {
    error(span, "BCP180", "Function \"getSecret\" is not valid at this location. It can only be used when directly assigning to a module parameter with a secure decorator.".into())
}

pub fn expected_extension_specification(span: Span) -> PendingDiagnostic {
    error(span, "BCP201", "Expected an extension specification string. This should either be a relative path, or a valid OCI artifact specification.".into())
}

pub fn expected_extension_alias(span: Span) -> PendingDiagnostic {
    error(
        span,
        "BCP202",
        "Expected an extension alias name at this location.".into(),
    )
}

pub fn unrecognized_extension(span: Span, name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP204",
        format!("Extension \"{name}\" is not recognized."),
    )
}

pub fn extension_takes_no_configuration(span: Span, name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP205",
        format!("Extension \"{name}\" does not support configuration."),
    )
}

pub fn extension_requires_configuration(span: Span, name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP206",
        format!("Extension \"{name}\" requires configuration, but none was provided."),
    )
}

pub fn namespace_declared_multiple_times(span: Span, name: &str) -> PendingDiagnostic {
    error(
        span,
        "BCP207",
        format!("Namespace \"{name}\" is declared multiple times. Remove the duplicates."),
    )
}
