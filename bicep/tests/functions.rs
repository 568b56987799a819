//! User-defined functions: `functions` in the `__bicep` namespace, calls as `__bicep.name()`,
//! and languageVersion 2.0 as the official compiler switches to it.

mod support;

use serde_json::json;
use support::{compile, diagnostics};

#[test]
fn functions_are_written_to_the_bicep_namespace_and_called_through_it() {
    let template = compile(
        "@description('Builds a URL')\n@export()\nfunc buildUrl(https bool, hostname string, path string) string => '${https ? 'https' : 'http'}://${hostname}${empty(path) ? '' : '/${path}'}'\n\nfunc objReturnType(name string) object => {\n  hello: 'Hi ${name}!'\n}\n\nfunc tags(names string[]) array => map(names, n => toUpper(n))\nfunc twice(name string) array => [\n  buildUrl(true, name, '')\n  name\n]\n\noutput foo string = buildUrl(true, 'google.com', 'search')\noutput hellos array = map(['Evie', 'Casper'], name => objReturnType(name))\n",
    );
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["functions"],
        json!([{
            "namespace": "__bicep",
            "members": {
                "buildUrl": {
                    "parameters": [
                        {"type": "bool", "name": "https"},
                        {"type": "string", "name": "hostname"},
                        {"type": "string", "name": "path"}
                    ],
                    "output": {
                        "type": "string",
                        "value": "[format('{0}://{1}{2}', if(parameters('https'), 'https', 'http'), parameters('hostname'), if(empty(parameters('path')), '', format('/{0}', parameters('path'))))]"
                    },
                    "metadata": {"description": "Builds a URL", "__bicep_export!": true}
                },
                "objReturnType": {
                    "parameters": [{"type": "string", "name": "name"}],
                    "output": {"type": "object", "value": {"hello": "[format('Hi {0}!', parameters('name'))]"}}
                },
                "tags": {
                    "parameters": [{"type": "array", "items": {"type": "string"}, "name": "names"}],
                    "output": {"type": "array", "value": "[map(parameters('names'), lambda('n', toUpper(lambdaVariables('n'))))]"}
                },
                "twice": {
                    "parameters": [{"type": "string", "name": "name"}],
                    "output": {"type": "array", "value": ["[__bicep.buildUrl(true(), parameters('name'), '')]", "[parameters('name')]"]}
                }
            }
        }])
    );
    assert_eq!(
        template["outputs"],
        json!({
            "foo": {"type": "string", "value": "[__bicep.buildUrl(true(), 'google.com', 'search')]"},
            "hellos": {"type": "array", "value": "[map(createArray('Evie', 'Casper'), lambda('name', __bicep.objReturnType(lambdaVariables('name'))))]"}
        })
    );
    assert_eq!(template["resources"], json!({}));
}

#[test]
fn functions_come_after_definitions_and_return_user_types() {
    let template = compile("@minValue(0)\ntype positiveInt = int\nfunc count(input string[]) positiveInt => length(input)\nparam p string\n");
    let keys: Vec<&String> = template.as_object().expect("object").keys().collect();
    let position = |k: &str| keys.iter().position(|x| *x == k);
    assert!(position("definitions") < position("functions"));
    assert!(position("functions") < position("parameters"));
    assert_eq!(
        template["functions"][0]["members"]["count"]["output"],
        json!({"$ref": "#/definitions/positiveInt", "value": "[length(parameters('input'))]"})
    );
}

#[test]
fn a_function_body_sees_only_its_parameters_and_other_functions() {
    let found = diagnostics("param p string\nfunc f(a string) string => '${a}${p}'\n");
    assert_eq!(
        found,
        vec![(
            2,
            35,
            "BCP057".to_string(),
            "The name \"p\" does not exist in the current context.".to_string()
        )]
    );
}

#[test]
fn calls_with_the_wrong_number_of_arguments_are_refused() {
    let found = diagnostics("func f(a string) string => a\noutput o string = f('x', 'y')\n");
    assert_eq!(
        found,
        vec![(
            2,
            19,
            "BCP071".to_string(),
            "Expected 1 arguments, but got 2.".to_string()
        )]
    );
}

#[test]
fn a_function_and_a_variable_may_not_share_a_name() {
    let found = diagnostics("var f = 1\nfunc f() int => 2\n");
    assert_eq!(found[0].2, "BCP028");
    assert_eq!((found[0].0, found[0].1), (2, 6));
}

#[test]
fn a_malformed_function_is_a_syntax_error_not_a_crash() {
    for text in [
        "func",
        "func f(",
        "func f(a) string => a",
        "func f(a string) => a",
        "func f() string =>",
        "func f(a string b int) string => a",
    ] {
        let found = diagnostics(text);
        assert!(!found.is_empty(), "{text}");
        assert!(found.iter().all(|d| d.2 != "BCP901"), "{text}: {found:?}");
    }
}
