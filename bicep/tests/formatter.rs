//! `bicep format`, each case the layout the official formatter gives the same snippet
//! (as its `main.formatted.bicep` baselines show).

use bicep::formatter::format;

#[test]
fn indents_by_two_spaces_per_line_that_opens_brackets() {
    assert_eq!(
        format("@metadata({\ndescription: 'd'\n})\nparam p string\nvar v = {\n    a: [\n  1\n        ]\n}\n"),
        "@metadata({\n  description: 'd'\n})\nparam p string\nvar v = {\n  a: [\n    1\n  ]\n}\n"
    );
}

#[test]
fn spaces_declarations_keys_operators_and_one_line_objects() {
    assert_eq!(
        format("var a=1+2\nvar b = {x:a}\nvar c = a==1?'y':'n'\nvar d = [1,2]\nvar e = -1\n"),
        "var a = 1 + 2\nvar b = { x: a }\nvar c = a == 1 ? 'y' : 'n'\nvar d = [1, 2]\nvar e = -1\n"
    );
}

#[test]
fn keeps_one_blank_line_closes_empty_brackets_and_normalises_newlines() {
    assert_eq!(
        format("\r\n\r\nparam a string   \r\n\r\n\r\n\r\nvar b = {\r\n}\r\nvar c = [\r\n]\r\n\r\n"),
        "param a string\n\nvar b = {}\nvar c = []\n"
    );
}

#[test]
fn leaves_strings_and_comments_as_written() {
    let text = "// a  comment:x\nvar a = 'a  b:c${'d${1}'}'\n/* block\n   kept  */\nvar m = '''\n  x  =  y\n'''\n";
    assert_eq!(format(text), text);
}

#[test]
fn breaks_a_resource_loop_as_the_official_formatter_does() {
    assert_eq!(
        format("resource r 'A.B/c@2020-01-01' = [for x in xs: {\n  name: x\n}]\n"),
        "resource r 'A.B/c@2020-01-01' = [\n  for x in xs: {\n    name: x\n  }\n]\n"
    );
}

#[test]
fn single_spaces_pragmas_and_keeps_a_multi_line_strings_own_newlines() {
    assert_eq!(
        format("#disable-next-line   BCP036    BCP037 // why\r\nvar s = '''\r\na\r\n'''\r\n"),
        "#disable-next-line BCP036 BCP037 // why\nvar s = '''\r\na\r\n'''\n"
    );
}

/// Quoted keys hug their colon (LoadFunctions), type unions are spaced and lose a leading
/// `|` on the declaration's line, array types hug `[]` and `?`, one-line objects keep a
/// space before `}` after a string (TypeDeclarations) — and `in []` keeps its space.
#[test]
fn quoted_keys_unions_array_types_and_objects_ending_in_strings() {
    assert_eq!(
        format("var o = {\n  'text' : 1\n  'files' : [\n  ]\n}\n"),
        "var o = {\n  'text': 1\n  'files': []\n}\n"
    );
    assert_eq!(
        format("type aUnion = 'snap'|'crackle'|'pop'\ntype single = | 'alone'\n"),
        "type aUnion = 'snap' | 'crackle' | 'pop'\ntype single = 'alone'\n"
    );
    assert_eq!(
        format("type t = {\n  p: int [] [] ?\n}\n"),
        "type t = {\n  p: int[][]?\n}\n"
    );
    assert_eq!(
        format("param u { property: 'ping'} | { property: 'pong'} = { property: 'pong'}\n"),
        "param u { property: 'ping' } | { property: 'pong' } = { property: 'pong' }\n"
    );
    assert_eq!(
        format("var xs = [for x in []: x]\nvar c = a ? 'x' : 'y'\nvar b = x || y\n"),
        "var xs = [for x in []: x]\nvar c = a ? 'x' : 'y'\nvar b = x || y\n"
    );
}

/// A `func` wider than 120 columns breaks after `=>`, a call hugs its parenthesis, and
/// nothing stands before a comma after a string (Functions baseline) — while a parameter's
/// parenthesized type and `if (...)` keep their space.
#[test]
fn long_functions_break_after_the_arrow_and_calls_hug_their_parenthesis() {
    let long = format!(
        "func b({}) string => 'b'\n",
        ["longParameterName string"; 4].join(", ")
    );
    assert_eq!(
        format(&long),
        format!(
            "func b({}) string =>\n  'b'\n",
            ["longParameterName string"; 4].join(", ")
        )
    );
    assert_eq!(
        format("output o bool = like ('aXaYa' , 'a*a')\n"),
        "output o bool = like('aXaYa', 'a*a')\n"
    );
    assert_eq!(
        format("param p ('a' | 'b')[]\nresource r 'T@1' = if (true) {\n}\n"),
        "param p ('a' | 'b')[]\nresource r 'T@1' = if (true) {}\n"
    );
}
