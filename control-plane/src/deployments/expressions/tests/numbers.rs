use serde_json::json;

use super::{eval, eval_err};

#[test]
fn arithmetic() {
    assert_eq!(eval("[add(5, 3)]"), json!(8));
    assert_eq!(eval("[sub(7, 3)]"), json!(4));
    assert_eq!(eval("[mul(5, 3)]"), json!(15));
    assert_eq!(eval("[div(8, 3)]"), json!(2));
    assert_eq!(eval("[mod(7, 3)]"), json!(1));
    assert_eq!(eval("[add(-1, 1)]"), json!(0));
    assert_eq!(eval("[mul(4294967296, 2)]"), json!(8589934592_i64));
    assert!(eval_err("[div(1, 0)]").message.contains("zero"));
    assert!(eval_err("[mod(1, 0)]").message.contains("zero"));
    assert!(eval_err("[add(9223372036854775807, 1)]")
        .message
        .contains("out of range"));
    assert!(eval_err("[add('1', 1)]").message.contains("Integer"));
    assert!(eval_err("[99999999999999999999]")
        .message
        .contains("out of range"));
}

#[test]
fn conversions() {
    assert_eq!(eval("[int('4')]"), json!(4));
    assert_eq!(eval("[int(json('4.7'))]"), json!(4));
    assert_eq!(eval("[float('3.5')]"), json!(3.5));
    assert_eq!(eval("[float(2)]"), json!(2.0));
    assert!(eval_err("[int('four')]").message.contains("integer"));
}

#[test]
fn copy_index_overloads() {
    assert_eq!(eval("[copyIndex()]"), json!(2));
    assert_eq!(eval("[copyIndex(1)]"), json!(3));
    assert_eq!(eval("[copyIndex('disks')]"), json!(5));
    assert_eq!(eval("[copyIndex('disks', 10)]"), json!(15));
    assert!(eval_err("[copyIndex('nope')]").message.contains("nope"));
    assert!(eval_err("[copyIndex(1, 2)]").message.contains("loop name"));
}
