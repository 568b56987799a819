//! Typed variables (`var x string = ...`): the official compiler checks the value against
//! the type and writes languageVersion 2.0, the variables themselves as before.

mod support;

use serde_json::json;
use support::{compile, diagnostics};

#[test]
fn typed_variables_switch_to_language_version_2_and_keep_their_values() {
    let template = compile("var name string = 'abc'\nvar counts int[] = [\n  1\n  2\n]\nvar maybe string? = null\noutput o string = name\n");
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["variables"],
        json!({"name": "abc", "counts": [1, 2], "maybe": null})
    );
    assert_eq!(
        template["outputs"]["o"],
        json!({"type": "string", "value": "[variables('name')]"})
    );
}

#[test]
fn an_untyped_variable_stays_at_language_version_1() {
    let template = compile("var name = 'abc'\n");
    assert!(template.get("languageVersion").is_none());
}

#[test]
fn a_literal_of_another_type_is_bcp033() {
    let found =
        diagnostics("var x int = 'abc'\nvar y string[] = [\n  'a'\n  2\n]\nvar z bool = true\n");
    assert_eq!(
        found,
        vec![
            (
                1,
                13,
                "BCP033".to_string(),
                "Expected a value of type \"int\" but the provided value is of type \"'abc'\"."
                    .to_string()
            ),
            (
                4,
                3,
                "BCP033".to_string(),
                "Expected a value of type \"string\" but the provided value is of type \"2\"."
                    .to_string()
            ),
        ]
    );
}

#[test]
fn exported_variables_are_listed_in_the_template_metadata_by_name_with_their_types() {
    // Sorted ordinally: 'I' sorts before 'd'.
    let template = compile("@export()\n@description('a name')\nvar exportedName string = 'a'\n@export()\nvar exporteInline {\n  n: int\n} = {\n  n: 1\n}\n@export()\nvar untyped = 3\nvar private = 4\n");
    assert_eq!(
        template["metadata"]["__bicep_exported_variables!"],
        json!([
            {"name": "exporteInline", "type": {"type": "object", "properties": {"n": {"type": "int"}}}},
            {"name": "exportedName", "description": "a name", "type": {"type": "string"}},
            {"name": "untyped"}
        ])
    );
}
