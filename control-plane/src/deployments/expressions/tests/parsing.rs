use serde_json::json;

use super::{eval, eval_err, TestContext};
use crate::deployments::expressions::{evaluate_json, function_calls, parse, Expr};

#[test]
fn literals_and_escaping() {
    assert_eq!(eval("plain text"), json!("plain text"));
    assert_eq!(eval("[[not an expression]"), json!("[not an expression]"));
    assert_eq!(eval("['it''s']"), json!("it's"));
    assert_eq!(eval("[42]"), json!(42));
    assert_eq!(eval("[-7]"), json!(-7));
    assert_eq!(eval("[ concat( 'a' , 'b' ) ]"), json!("ab"));
    assert_eq!(eval("[ends with bracket"), json!("[ends with bracket"));
}

#[test]
fn function_names_are_case_insensitive() {
    assert_eq!(eval("[CONCAT('a', ToUpper('b'))]"), json!("aB"));
    assert_eq!(eval("[True()]"), json!(true));
    assert_eq!(eval("[null()]"), json!(null));
}

#[test]
fn member_and_index_access() {
    assert_eq!(eval("[parameters('tags').env]"), json!("test"));
    assert_eq!(eval("[parameters('tags')['Env']]"), json!("test"));
    assert_eq!(eval("[parameters('tags').nested.a[1]]"), json!(2));
    assert_eq!(eval("[parameters('list')[add(1, 1)]]"), json!("c"));
    assert_eq!(eval("[createArray(1, 2)[0]]"), json!(1));
}

#[test]
fn access_errors_name_the_problem() {
    let e = eval_err("[parameters('list')[3]]");
    assert!(
        e.message.contains("array index '3' is out of bounds"),
        "{e}"
    );
    assert_eq!(e.position, Some(19));
    let e = eval_err("[parameters('tags').missing]");
    assert!(
        e.message
            .contains("'missing' doesn't exist, available properties are 'Env, nested'"),
        "{e}"
    );
    assert!(eval_err("[parameters('name').x]")
        .message
        .contains("'String'"));
}

#[test]
fn syntax_errors_have_positions() {
    let e = eval_err("[concat('a']");
    assert!(
        e.message
            .contains("expected token 'RightParenthesis' and actual 'EndOfData'"),
        "{e}"
    );
    let e = eval_err("[concat('a)]");
    assert!(e.message.contains("not terminated"), "{e}");
    assert_eq!(e.position, Some(8));
    let e = eval_err("[concat('a') 'b']");
    assert_eq!(e.position, Some(13));
    assert!(eval_err("[]").message.contains("empty"));
    assert_eq!(eval_err("[concat('a' # 'b')]").position, Some(12));
    let deep = format!("[{}1{}]", "string(".repeat(300), ")".repeat(300));
    assert!(eval_err(&deep).message.contains("nested too deeply"));
}

#[test]
fn unknown_functions_and_arity() {
    let e = eval_err("[concat('a', foo())]");
    assert_eq!(
        e.message,
        "The template function 'foo' is not valid. Please see https://aka.ms/arm-functions for usage details."
    );
    assert_eq!(e.position, Some(13));
    let e = eval_err("[length()]");
    assert!(
        e.message
            .contains("'length' must have exactly 1 argument(s)"),
        "{e}"
    );
    let e = eval_err("[concat()]");
    assert!(
        e.message
            .contains("'concat' must have at least 1 argument(s)"),
        "{e}"
    );
    let e = eval_err("[substring('a', 1, 2, 3)]");
    assert!(e.message.contains("must have at most 3 argument(s)"), "{e}");
}

#[test]
fn function_errors_name_the_function() {
    let e = eval_err("[concat('x', toLower(1))]");
    assert!(
        e.message
            .starts_with("Unable to evaluate template language function 'toLower':"),
        "{e}"
    );
    assert_eq!(e.position, Some(13));
}

#[test]
fn user_functions_dispatch_to_the_context() {
    assert_eq!(
        eval("[my.greet('a', 1)]"),
        json!({"called": "my.greet", "args": ["a", 1]})
    );
}

#[test]
fn function_calls_lists_nested_calls() {
    let expr = parse("[reference(resourceId('Microsoft.Storage/storageAccounts', parameters('name'))).primaryEndpoints]")
        .expect("parses");
    let names: Vec<&str> = function_calls(&expr).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["reference", "resourceid", "parameters"]);
    let Expr::Member { .. } = expr else {
        panic!("member access at the top")
    };
    let user = parse("[Ns.Fn(1)]").expect("parses");
    assert_eq!(function_calls(&user)[0].0, "ns.fn");
}

#[test]
fn evaluate_json_walks_everything_keys_included() {
    let template = json!({
        "[variables('prefix')]": ["[parameters('count')]", 1, true, {"x": "[[literal]"}],
        "plain": null
    });
    assert_eq!(
        evaluate_json(&template, &TestContext).expect("evaluates"),
        json!({"pre": [3, 1, true, {"x": "[literal]"}], "plain": null})
    );
}
