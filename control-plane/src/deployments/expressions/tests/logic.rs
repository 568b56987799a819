use serde_json::json;

use super::{eval, eval_err};

#[test]
fn boolean_functions() {
    assert_eq!(eval("[and(true(), false())]"), json!(false));
    assert_eq!(eval("[and(true(), true(), true())]"), json!(true));
    assert_eq!(eval("[or(false(), true())]"), json!(true));
    assert_eq!(eval("[not(true())]"), json!(false));
    assert_eq!(eval("[bool('TRUE')]"), json!(true));
    assert_eq!(eval("[bool(0)]"), json!(false));
    assert_eq!(eval("[bool(1)]"), json!(true));
    assert!(eval_err("[bool('maybe')]").message.contains("boolean"));
    assert!(eval_err("[and(true(), 1)]").message.contains("Boolean"));
}

#[test]
fn if_is_lazy() {
    assert_eq!(eval("[if(equals(1, 1), 'yes', 'no')]"), json!("yes"));
    assert_eq!(
        eval("[if(false(), parameters('absent'), 'safe')]"),
        json!("safe")
    );
    assert_eq!(eval("[if(true(), 'safe', fail())]"), json!("safe"));
    assert!(eval_err("[if(true(), parameters('absent'), 'x')]")
        .message
        .contains("absent"));
    assert!(eval_err("[if('true', 1, 2)]").message.contains("boolean"));
}

#[test]
fn coalesce_and_equality() {
    assert_eq!(
        eval("[coalesce(null(), null(), 'fallback')]"),
        json!("fallback")
    );
    assert_eq!(eval("[coalesce(null())]"), json!(null));
    assert_eq!(eval("[equals(1, 1)]"), json!(true));
    assert_eq!(eval("[equals('a', 'A')]"), json!(false));
    assert_eq!(
        eval("[equals(createArray('a', 'b'), createArray('a', 'b'))]"),
        json!(true)
    );
    assert_eq!(
        eval("[equals(createObject('a', 1), createObject('a', 1))]"),
        json!(true)
    );
    assert_eq!(eval("[equals(1, '1')]"), json!(false));
}

#[test]
fn comparisons() {
    assert_eq!(eval("[greater(10, 5)]"), json!(true));
    assert_eq!(eval("[greater('A', 'a')]"), json!(false));
    assert_eq!(eval("[greaterOrEquals(5, 5)]"), json!(true));
    assert_eq!(eval("[less(10, 5)]"), json!(false));
    assert_eq!(eval("[less('A', 'a')]"), json!(true));
    assert_eq!(eval("[lessOrEquals(5, 5)]"), json!(true));
    assert!(eval_err("[less(1, 'a')]")
        .message
        .contains("cannot be compared"));
}
