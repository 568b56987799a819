use serde_json::json;

use super::{eval, eval_err};

#[test]
fn create_and_inspect() {
    assert_eq!(
        eval("[createObject('intProp', 1, 'stringProp', 'abc', 'boolProp', true(), 'arrayProp', createArray('a', 'b', 'c'), 'objectProp', createObject('key1', 'value1'))]"),
        json!({"intProp": 1, "stringProp": "abc", "boolProp": true, "arrayProp": ["a", "b", "c"], "objectProp": {"key1": "value1"}})
    );
    assert_eq!(eval("[createObject()]"), json!({}));
    assert!(eval_err("[createObject('a')]").message.contains("pairs"));
    assert!(eval_err("[createObject(1, 2)]").message.contains("strings"));
    assert_eq!(eval("[contains(parameters('tags'), 'ENV')]"), json!(true));
    assert_eq!(eval("[length(parameters('tags'))]"), json!(2));
    assert_eq!(eval("[empty(createObject())]"), json!(true));
    assert_eq!(
        eval("[objectKeys(createObject('a', 1, 'b', 2))]"),
        json!(["a", "b"])
    );
}

#[test]
fn items_sorts_by_key() {
    assert_eq!(
        eval("[items(createObject('item002', createObject('enabled', false()), 'item001', createObject('enabled', true())))]"),
        json!([{"key": "item001", "value": {"enabled": true}}, {"key": "item002", "value": {"enabled": false}}])
    );
}

#[test]
fn union_merges_deeply_and_intersection_keeps_equal_values() {
    assert_eq!(
        eval("[union(createObject('a', 'b', 'c', 'd'), createObject('c', 'z', 'e', 'f'))]"),
        json!({"a": "b", "c": "z", "e": "f"})
    );
    assert_eq!(
        eval("[union(json('{\"p\":{\"x\":1,\"l\":[1]}}'), json('{\"p\":{\"y\":2,\"l\":[2]}}'))]"),
        json!({"p": {"x": 1, "y": 2, "l": [1, 2]}})
    );
    assert_eq!(
        eval("[intersection(createObject('one', 'a', 'two', 'b'), createObject('one', 'a', 'two', 'z'))]"),
        json!({"one": "a"})
    );
}

#[test]
fn shallow_merge_and_try_get() {
    assert_eq!(
        eval("[shallowMerge(createArray(createObject('one', 'a', 'nested', createObject('x', 1)), createObject('two', 'b', 'nested', createObject('y', 2))))]"),
        json!({"one": "a", "two": "b", "nested": {"y": 2}})
    );
    assert_eq!(eval("[tryGet(parameters('tags'), 'env')]"), json!("test"));
    assert_eq!(eval("[tryGet(parameters('tags'), 'nope')]"), json!(null));
    assert_eq!(
        eval("[tryGet(parameters('tags'), 'nested', 'a', 2)]"),
        json!(3)
    );
    assert_eq!(
        eval("[tryGet(parameters('tags'), 'nested', 'b', 2)]"),
        json!(null)
    );
}
