use serde_json::json;

use super::{eval, eval_err};

const DOGS: &str = "json('[{\"name\":\"Evie\",\"age\":5,\"interests\":[\"Ball\",\"Frisbee\"]},{\"name\":\"Casper\",\"age\":3,\"interests\":[\"Other dogs\"]},{\"name\":\"Indy\",\"age\":2,\"interests\":[\"Butter\"]},{\"name\":\"Kira\",\"age\":8,\"interests\":[\"Rubs\"]}]')";

fn with_dogs(template: &str) -> String {
    template.replace("DOGS", DOGS)
}

#[test]
fn filter_map_sort() {
    assert_eq!(
        eval(&with_dogs(
            "[filter(DOGS, lambda('dog', greaterOrEquals(lambdaVariables('dog').age, 5)))]"
        ))
        .as_array()
        .map(|a| a.len()),
        Some(2)
    );
    assert_eq!(
        eval(&with_dogs(
            "[map(DOGS, lambda('dog', lambdaVariables('dog').name))]"
        )),
        json!(["Evie", "Casper", "Indy", "Kira"])
    );
    assert_eq!(
        eval(&with_dogs("[map(sort(DOGS, lambda('a', 'b', less(lambdaVariables('a').age, lambdaVariables('b').age))), lambda('d', lambdaVariables('d').name))]")),
        json!(["Indy", "Casper", "Evie", "Kira"])
    );
    assert_eq!(
        eval("[map(range(0, 3), lambda('i', 'x', concat(string(lambdaVariables('i')), '@', string(lambdaVariables('x')))))]"),
        json!(["0@0", "1@1", "2@2"])
    );
    assert_eq!(
        eval("[filter(createArray(), lambda('x', true()))]"),
        json!([])
    );
}

#[test]
fn reduce_to_object_group_by_map_values() {
    assert_eq!(
        eval(&with_dogs("[reduce(map(DOGS, lambda('d', lambdaVariables('d').age)), 0, lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]")),
        json!(18)
    );
    assert_eq!(
        eval(&with_dogs("[toObject(DOGS, lambda('d', lambdaVariables('d').name), lambda('d', lambdaVariables('d').age))]")),
        json!({"Evie": 5, "Casper": 3, "Indy": 2, "Kira": 8})
    );
    assert_eq!(
        eval("[groupBy(createArray('foo', 'bar', 'baz'), lambda('x', substring(lambdaVariables('x'), 0, 1)))]"),
        json!({"f": ["foo"], "b": ["bar", "baz"]})
    );
    assert_eq!(
        eval("[mapValues(createObject('foo', 'foo', 'bar', 'bar'), lambda('val', toUpper(lambdaVariables('val'))))]"),
        json!({"foo": "FOO", "bar": "BAR"})
    );
}

#[test]
fn nested_lambdas_see_outer_variables() {
    assert_eq!(
        eval("[map(createArray(1, 2), lambda('x', map(createArray(10, 20), lambda('y', add(lambdaVariables('x'), lambdaVariables('y'))))))]"),
        json!([[11, 21], [12, 22]])
    );
}

#[test]
fn lambda_misuse_is_an_error() {
    assert!(eval_err("[lambda('x', 1)]")
        .message
        .contains("only be an argument"));
    assert!(eval_err("[map(createArray(1), 'x')]")
        .message
        .contains("must be a lambda"));
    assert!(eval_err("[lambdaVariables('x')]")
        .message
        .contains("not defined"));
    assert!(eval_err("[filter(createArray(1), lambda('x', 1))]")
        .message
        .contains("boolean"));
    assert!(
        eval_err("[map(createArray(1), lambda(parameters('name'), 1))]")
            .message
            .contains("string literals")
    );
    assert!(eval_err("[sort(createArray(2, 1), lambda('a', 'b', 'x'))]")
        .message
        .contains("boolean"));
}
