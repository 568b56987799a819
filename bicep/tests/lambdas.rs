//! Lambdas: `x => ...` and `(a, b) => ...` as arguments of map, filter, reduce,
//! sort, toObject, groupBy and mapValues become ARM's lambda() with lambdaVariables().

mod support;

use serde_json::json;
use support::{compile, diagnostics, Workspace};

#[test]
fn lambdas_in_the_array_and_object_functions() {
    let template = compile(
        "var names = [\n  'a'\n  'b'\n]\nvar hello = map(names, n => 'Hi ${n}!')\nvar indexed = map(names, (n, i) => '${i}:${n}')\nvar even = filter(range(0, 4), i => i % 2 == 0)\nvar total = reduce(range(1, 5), 1, (cur, next) => cur * next)\nvar sorted = sort([\n  { key: 2 }\n  { key: 1 }\n], (x, y) => int(x.key) < int(y.key))\nvar byName = toObject(names, n => n, n => {\n  upper: toUpper(n)\n})\nvar grouped = groupBy([\n  { type: 'a' }\n], arg => arg.type)\nvar doubled = mapValues({\n  a: 1\n}, v => v * 2)\n",
    );
    assert_eq!(
        template["variables"],
        json!({
            "names": ["a", "b"],
            "hello": "[map(variables('names'), lambda('n', format('Hi {0}!', lambdaVariables('n'))))]",
            "indexed": "[map(variables('names'), lambda('n', 'i', format('{0}:{1}', lambdaVariables('i'), lambdaVariables('n'))))]",
            "even": "[filter(range(0, 4), lambda('i', equals(mod(lambdaVariables('i'), 2), 0)))]",
            "total": "[reduce(range(1, 5), 1, lambda('cur', 'next', mul(lambdaVariables('cur'), lambdaVariables('next'))))]",
            "sorted": "[sort(createArray(createObject('key', 2), createObject('key', 1)), lambda('x', 'y', less(int(lambdaVariables('x').key), int(lambdaVariables('y').key))))]",
            "byName": "[toObject(variables('names'), lambda('n', lambdaVariables('n')), lambda('n', createObject('upper', toUpper(lambdaVariables('n')))))]",
            "grouped": "[groupBy(createArray(createObject('type', 'a')), lambda('arg', lambdaVariables('arg').type))]",
            "doubled": "[mapValues(createObject('a', 1), lambda('v', mul(lambdaVariables('v'), 2)))]"
        })
    );
}

#[test]
fn nested_lambdas_parentheses_and_parameters_over_several_lines() {
    let template = compile(
        "var numbers = range(0, 4)\nvar nested = map(filter(numbers, i => contains(filter(numbers, j => 0 == j % 2), i)), x => numbers[x])\nvar wrapped = map([123], (i => '${i}'))\nvar joined = reduce(['abc', 'def'], '', (\n  // the accumulator\n  cur,\n  next\n) => concat(cur, next))\nvar names = toObject([\n  { name: 'x' }\n], x =>\n\n  x.name)\n",
    );
    let variables = &template["variables"];
    assert_eq!(
        variables["nested"],
        "[map(filter(variables('numbers'), lambda('i', contains(filter(variables('numbers'), lambda('j', equals(0, mod(lambdaVariables('j'), 2)))), lambdaVariables('i')))), lambda('x', variables('numbers')[lambdaVariables('x')]))]"
    );
    assert_eq!(
        variables["wrapped"],
        "[map(createArray(123), lambda('i', format('{0}', lambdaVariables('i'))))]"
    );
    assert_eq!(
        variables["joined"],
        "[reduce(createArray('abc', 'def'), '', lambda('cur', 'next', concat(lambdaVariables('cur'), lambdaVariables('next'))))]"
    );
    assert_eq!(
        variables["names"],
        "[toObject(createArray(createObject('name', 'x')), lambda('x', lambdaVariables('x').name))]"
    );
}

#[test]
fn a_lambda_over_a_resource_property_is_inlined_where_used() {
    let template = compile(
        "resource account 'Microsoft.Storage/storageAccounts@2021-09-01' existing = {\n  name: 'acct'\n}\nvar endpoints = map(items(account.properties.secondaryEndpoints), item => item.value)\noutput urls array = endpoints\n",
    );
    assert!(template.get("variables").is_none());
    assert_eq!(
        template["outputs"]["urls"]["value"],
        "[map(items(reference(resourceId('Microsoft.Storage/storageAccounts', 'acct'), '2021-09-01').secondaryEndpoints), lambda('item', lambdaVariables('item').value))]"
    );
}

#[test]
fn a_lambda_parameter_shadows_a_variable_and_is_exact_text() {
    let workspace = Workspace::new();
    let path = workspace.file(
        "main.bicep",
        "var x = 'outer'\noutput o array = map([1], x => x)\n",
    );
    let text = bicep::compile_file(&path).template.expect("template");
    assert!(
        text.contains("\"value\": \"[map(createArray(1), lambda('x', lambdaVariables('x')))]\""),
        "{text}"
    );
}

#[test]
fn a_lambda_outside_a_function_argument_is_bcp242() {
    let found = diagnostics("var f = x => x\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0, found[0].1, found[0].2.as_str()),
        (1, 9, "BCP242")
    );
}
