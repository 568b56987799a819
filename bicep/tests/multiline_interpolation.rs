//! `$'''...${x}...'''` and `$$'''...$${x}...'''`: multi-line strings with holes (Bicep 0.40.2 on).

mod support;

use support::compile;

#[test]
fn a_multiline_interpolated_string_is_a_format_call() {
    let template =
        compile("param env string\nvar text = $'''\nEnvironment ${env}\nliteral \\n '''\n");
    assert_eq!(
        template["variables"]["text"],
        "[format('Environment {0}\nliteral \\n ', parameters('env'))]"
    );
}

#[test]
fn doubled_dollars_keep_a_single_dollar_hole_literal() {
    let template =
        compile("param p string\nvar text = $$'''Literal ${p}; active $${toUpper(p)}.'''\n");
    assert_eq!(
        template["variables"]["text"],
        "[format('Literal ${{p}}; active {0}.', toUpper(parameters('p')))]"
    );
}

#[test]
fn without_holes_it_is_a_plain_string() {
    let template = compile("var text = $'''a\nb'''\n");
    assert_eq!(template["variables"]["text"], "a\nb");
}
