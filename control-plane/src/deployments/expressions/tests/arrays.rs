use serde_json::json;

use super::{eval, eval_err};

#[test]
fn array_construction() {
    assert_eq!(eval("[array(1)]"), json!([1]));
    assert_eq!(eval("[array('efgh')]"), json!(["efgh"]));
    assert_eq!(eval("[array(createObject('a', 'b'))]"), json!([{"a": "b"}]));
    assert_eq!(eval("[createArray()]"), json!([]));
    assert_eq!(
        eval("[createArray('a', 1, createArray())]"),
        json!(["a", 1, []])
    );
    assert_eq!(eval("[flatten(createArray(createArray('one', 'two'), createArray('three'), createArray('four', 'five')))]"),
        json!(["one", "two", "three", "four", "five"]));
    assert!(eval_err("[flatten(createArray(1))]")
        .message
        .contains("must be an array"));
}

#[test]
fn range_checks_its_bounds() {
    assert_eq!(eval("[range(1, 3)]"), json!([1, 2, 3]));
    assert_eq!(eval("[range(5, 0)]"), json!([]));
    assert!(eval_err("[range(1, 10001)]").message.contains("10000"));
    assert!(eval_err("[range(2147483647, 1)]")
        .message
        .contains("2147483647"));
    assert!(eval_err("[range(0, -1)]").message.contains("non-negative"));
}

#[test]
fn first_last_contains_index() {
    assert_eq!(eval("[first(parameters('list'))]"), json!("a"));
    assert_eq!(eval("[last(parameters('list'))]"), json!("c"));
    assert_eq!(eval("[first(createArray())]"), json!(null));
    assert_eq!(eval("[contains(parameters('list'), 'b')]"), json!(true));
    assert_eq!(eval("[contains(createArray(1, 2), '1')]"), json!(false));
    assert_eq!(eval("[indexOf(createArray('a', 'b', 'a'), 'a')]"), json!(0));
    assert_eq!(
        eval("[lastIndexOf(createArray('a', 'b', 'a'), 'a')]"),
        json!(2)
    );
    assert_eq!(
        eval("[indexOf(createArray(createArray(1)), createArray(1))]"),
        json!(0)
    );
    assert_eq!(eval("[indexOf(createArray(1), 2)]"), json!(-1));
    assert_eq!(eval("[length(parameters('list'))]"), json!(3));
    assert_eq!(eval("[empty(createArray())]"), json!(true));
}

#[test]
fn skip_take() {
    assert_eq!(
        eval("[skip(createArray('one', 'two', 'three'), 2)]"),
        json!(["three"])
    );
    assert_eq!(
        eval("[take(createArray('one', 'two', 'three'), 2)]"),
        json!(["one", "two"])
    );
    assert_eq!(eval("[take(createArray(1), 5)]"), json!([1]));
}

#[test]
fn intersection_and_union() {
    assert_eq!(
        eval("[intersection(createArray('one', 'two', 'three'), createArray('two', 'three'))]"),
        json!(["two", "three"])
    );
    assert_eq!(
        eval("[union(createArray('one', 'two', 'three'), createArray('three', 'four'))]"),
        json!(["one", "two", "three", "four"])
    );
    assert!(eval_err("[union(createArray(1), 'x')]")
        .message
        .contains("only arrays"));
}

#[test]
fn min_max() {
    assert_eq!(eval("[max(createArray(0, 3, 2, 5, 4))]"), json!(5));
    assert_eq!(eval("[max(0, 3, 2, 5, 4)]"), json!(5));
    assert_eq!(eval("[min(createArray(0, 3, 2, 5, 4))]"), json!(0));
    assert_eq!(eval("[min(7)]"), json!(7));
    assert!(eval_err("[max(createArray())]").message.contains("empty"));
    assert!(eval_err("[min('a', 1)]").message.contains("integers"));
}

#[test]
fn from_end_and_try_get() {
    assert_eq!(eval("[indexFromEnd(parameters('list'), 1)]"), json!("c"));
    assert_eq!(eval("[tryIndexFromEnd(parameters('list'), 3)]"), json!("a"));
    assert_eq!(
        eval("[tryIndexFromEnd(parameters('list'), 4)]"),
        json!(null)
    );
    assert_eq!(
        eval("[tryIndexFromEnd(parameters('list'), 0)]"),
        json!(null)
    );
    assert!(eval_err("[indexFromEnd(parameters('list'), 4)]")
        .message
        .contains("out of bounds"));
    assert_eq!(eval("[tryGet(parameters('list'), 1)]"), json!("b"));
    assert_eq!(eval("[tryGet(parameters('list'), 9)]"), json!(null));
}
