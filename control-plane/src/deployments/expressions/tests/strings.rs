use serde_json::json;

use super::{eval, eval_err};

#[test]
fn base64_and_data_uris() {
    assert_eq!(
        eval("[base64('one, two, three')]"),
        json!("b25lLCB0d28sIHRocmVl")
    );
    assert_eq!(
        eval("[base64ToString('b25lLCB0d28sIHRocmVl')]"),
        json!("one, two, three")
    );
    assert_eq!(
        eval("[base64ToJson('eyJvbmUiOiAiYSIsICJ0d28iOiAiYiJ9')]"),
        json!({"one": "a", "two": "b"})
    );
    assert_eq!(
        eval("[dataUri('Hello')]"),
        json!("data:text/plain;charset=utf8;base64,SGVsbG8=")
    );
    assert_eq!(
        eval("[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]"),
        json!("Hello, World!")
    );
    assert_eq!(
        eval("[dataUriToString('data:,Hello%20there')]"),
        json!("Hello there")
    );
    assert!(eval_err("[base64ToString('***')]")
        .message
        .contains("base64"));
    assert!(eval_err("[dataUriToString('nope')]")
        .message
        .contains("data URI"));
}

#[test]
fn concat_strings_and_arrays() {
    assert_eq!(
        eval("[concat('prefix', '-', uniqueString('x'))]")
            .as_str()
            .map(str::len),
        Some(20)
    );
    assert_eq!(eval("[concat('a', 1, true())]"), json!("a1True"));
    assert_eq!(
        eval("[concat(createArray('1-1', '1-2'), createArray('2-1'))]"),
        json!(["1-1", "1-2", "2-1"])
    );
    assert!(eval_err("[concat('a', createArray(1))]")
        .message
        .contains("either all or none"));
}

#[test]
fn contains_and_searching() {
    assert_eq!(eval("[contains('OneTwoThree', 'e')]"), json!(true));
    assert_eq!(eval("[contains('OneTwoThree', 'z')]"), json!(false));
    assert_eq!(eval("[contains('OneTwoThree', 'one')]"), json!(false));
    assert_eq!(eval("[indexOf('test', 't')]"), json!(0));
    assert_eq!(eval("[indexOf('abcdef', 'CD')]"), json!(2));
    assert_eq!(eval("[lastIndexOf('test', 't')]"), json!(3));
    assert_eq!(eval("[indexOf('abcdef', 'z')]"), json!(-1));
    assert_eq!(eval("[lastIndexOf('abcdef', '')]"), json!(5));
    assert_eq!(eval("[startsWith('abcdef', 'AB')]"), json!(true));
    assert_eq!(eval("[endsWith('abcdef', 'EF')]"), json!(true));
    assert_eq!(eval("[endsWith('abcdef', 'e')]"), json!(false));
}

#[test]
fn first_last_length_empty() {
    assert_eq!(eval("[first('One Two Three')]"), json!("O"));
    assert_eq!(eval("[last('One Two Three')]"), json!("e"));
    assert_eq!(eval("[first('')]"), json!(""));
    assert_eq!(eval("[length('One Two Three')]"), json!(13));
    assert_eq!(eval("[empty('')]"), json!(true));
    assert_eq!(eval("[empty(null())]"), json!(true));
    assert!(eval_err("[empty(1)]").message.contains("Integer"));
}

#[test]
fn format_composite_strings() {
    assert_eq!(
        eval("[format('{0}, {1}. Formatted number: {2:N0}', 'Hello', 'User', 8175133)]"),
        json!("Hello, User. Formatted number: 8,175,133")
    );
    assert_eq!(
        eval("[format('{0:D3}-{1:N2}', 7, json('1234.5'))]"),
        json!("007-1,234.50")
    );
    assert_eq!(
        eval("[format('{0:000}|{1,4}|{1,-4}|', 5, 'ab')]"),
        json!("005|  ab|ab  |")
    );
    assert_eq!(
        eval("[format('{{literal}} {0:X}', 255)]"),
        json!("{literal} FF")
    );
    assert!(eval_err("[format('{1}', 'a')]")
        .message
        .contains("argument 1"));
    assert!(eval_err("[format('{0', 'a')]")
        .message
        .contains("not valid"));
}

#[test]
fn join_split_replace() {
    assert_eq!(
        eval("[join(createArray('a', 'b', 'c'), ',')]"),
        json!("a,b,c")
    );
    assert_eq!(
        eval("[split('one,two,three', ',')]"),
        json!(["one", "two", "three"])
    );
    assert_eq!(
        eval("[split('one;two,three', createArray(',', ';'))]"),
        json!(["one", "two", "three"])
    );
    assert_eq!(eval("[split('a,,b', ',')]"), json!(["a", "", "b"]));
    assert_eq!(
        eval("[replace('123-123-1234', '-', '')]"),
        json!("1231231234")
    );
    assert_eq!(
        eval("[replace('123-123-1234', '1234', 'xxxx')]"),
        json!("123-123-xxxx")
    );
}

#[test]
fn padding_trimming_case() {
    assert_eq!(eval("[padLeft('123', 10, '0')]"), json!("0000000123"));
    assert_eq!(eval("[padLeft(7, 3, '0')]"), json!("007"));
    assert_eq!(eval("[padLeft('abc', 2)]"), json!("abc"));
    assert!(eval_err("[padLeft('a', 3, 'xy')]")
        .message
        .contains("single character"));
    assert_eq!(
        eval("[trim('    one two three   ')]"),
        json!("one two three")
    );
    assert_eq!(eval("[toLower('One Two Three')]"), json!("one two three"));
    assert_eq!(eval("[toUpper('One Two Three')]"), json!("ONE TWO THREE"));
}

#[test]
fn substring_skip_take() {
    assert_eq!(eval("[substring('one two three', 4, 3)]"), json!("two"));
    assert_eq!(eval("[substring('one two three', 4)]"), json!("two three"));
    let e = eval_err("[substring('hello', 3, 5)]");
    assert!(
        e.message
            .contains("The index and length parameters must refer to a location within the string"),
        "{e}"
    );
    assert!(eval_err("[substring('hello', -1, 2)]")
        .message
        .contains("location within"));
    assert_eq!(eval("[skip('one two three', 4)]"), json!("two three"));
    assert_eq!(eval("[take('one two three', 2)]"), json!("on"));
    assert_eq!(eval("[skip('abc', 10)]"), json!(""));
    assert_eq!(eval("[take('abc', -1)]"), json!(""));
}

#[test]
fn string_and_json_conversions() {
    assert_eq!(
        eval("[string(createObject('valueA', 10, 'valueB', 'Example Text'))]"),
        json!("{\"valueA\":10,\"valueB\":\"Example Text\"}")
    );
    assert_eq!(
        eval("[string(createArray('a', 'b', 'c'))]"),
        json!("[\"a\",\"b\",\"c\"]")
    );
    assert_eq!(eval("[string(5)]"), json!("5"));
    assert_eq!(eval("[json('{\"a\": \"b\"}').a]"), json!("b"));
    assert_eq!(eval("[json('null')]"), json!(null));
    assert_eq!(eval("[json('[1,2]')]"), json!([1, 2]));
    assert!(eval_err("[json('{oops')]")
        .message
        .contains("not valid JSON"));
}

#[test]
fn uris() {
    assert_eq!(
        eval("[uri('http://contoso.com/resources/', 'nested/azuredeploy.json')]"),
        json!("http://contoso.com/resources/nested/azuredeploy.json")
    );
    assert_eq!(
        eval("[uri('http://contoso.com/resources', 'nested/azuredeploy.json')]"),
        json!("http://contoso.com/nested/azuredeploy.json")
    );
    assert_eq!(
        eval("[uri('http://contoso.com/resources/', '/nested/azuredeploy.json')]"),
        json!("http://contoso.com/resources/nested/azuredeploy.json")
    );
    assert_eq!(
        eval("[uriComponent('http://contoso.com/resources/nested/azuredeploy.json')]"),
        json!("http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json")
    );
    assert_eq!(
        eval("[uriComponentToString('http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json')]"),
        json!("http://contoso.com/resources/nested/azuredeploy.json")
    );
    assert!(eval_err("[uriComponentToString('%zz')]")
        .message
        .contains("invalid escape"));
}

#[test]
fn new_guid_is_random_and_well_formed() {
    let (a, b) = (eval("[newGuid()]"), eval("[newGuid()]"));
    assert_ne!(a, b);
    assert_eq!(a.as_str().map(str::len), Some(36));
}
