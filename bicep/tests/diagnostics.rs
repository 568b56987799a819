//! Common mistakes get the official codes, messages and positions.

mod support;

use support::{diagnostics, Workspace};

fn codes(text: &str) -> Vec<(usize, usize, String)> {
    diagnostics(text)
        .into_iter()
        .map(|(l, c, code, _)| (l, c, code))
        .collect()
}

#[test]
fn undefined_name_is_bcp057_with_official_text() {
    let found = diagnostics("var a = 1\noutput x int = b\n");
    assert_eq!(
        found,
        vec![(
            2,
            16,
            "BCP057".to_string(),
            "The name \"b\" does not exist in the current context.".to_string()
        )]
    );
}

#[test]
fn duplicate_symbol_is_bcp028() {
    assert_eq!(
        codes("param a string\nvar a = 1\n"),
        vec![(2, 5, "BCP028".to_string())]
    );
}

#[test]
fn syntax_errors() {
    assert_eq!(codes("foo bar\n"), vec![(1, 1, "BCP007".to_string())]);
    assert_eq!(codes("var x = {\n  a 1\n}\n")[0].2, "BCP018");
    assert_eq!(codes("var x = 'abc\n")[0].2, "BCP004");
    assert_eq!(codes("var x = )\n")[0].2, "BCP009");
}

#[test]
fn wrong_decorators() {
    assert_eq!(
        codes("@concat('a')\nparam a string\n"),
        vec![(1, 2, "BCP152".to_string())]
    );
    assert_eq!(
        codes("@nope()\nparam a string\n"),
        vec![(1, 2, "BCP057".to_string())]
    );
    assert_eq!(codes("@secure()\nvar a = 'x'\n")[0].2, "BCP126");
}

#[test]
fn missing_module_file_is_bcp091() {
    let found = diagnostics("module m './missing.bicep' = {\n  name: 'm'\n}\n");
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].0, found[0].1, found[0].2.as_str()),
        (1, 10, "BCP091")
    );
}

#[test]
fn registry_module_is_refused_clearly() {
    let found = diagnostics("module m 'br/public:avm/res/x:1.0.0' = {\n  name: 'm'\n}\n");
    assert_eq!(found[0].2, "BCP192");
    assert!(
        found[0].3.contains("cannot reach module registries"),
        "{}",
        found[0].3
    );
}

#[test]
fn errors_inside_a_module_are_reported_in_its_file() {
    let workspace = Workspace::new();
    workspace.file("child.bicep", "output o string = nope\n");
    let main = workspace.file("main.bicep", "module m 'child.bicep' = {\n  name: 'm'\n}\n");
    let compilation = bicep::compile_file(&main);
    assert!(compilation.template.is_none());
    assert!(compilation
        .diagnostics
        .iter()
        .any(|d| d.code == "BCP057" && d.path.ends_with("child.bicep")));
}

#[test]
fn unsupported_language_fails_clearly() {
    // The legacy `provider` keyword and experimental features that change templates are refused.
    let workspace = Workspace::new();
    workspace.file(
        "bicepconfig.json",
        "{\"experimentalFeaturesEnabled\": {\"waitUntil\": true}}",
    );
    let main = workspace.file("main.bicep", "param p string = ''\n");
    let compilation = bicep::compile_file(&main);
    assert!(compilation.template.is_none());
    assert!(compilation
        .diagnostics
        .iter()
        .any(|d| d.code == "BCP901" && d.message.contains("waitUntil")));
    let text = "provider kubernetes with {} as k\n";
    let found = diagnostics(text);
    assert!(
        found
            .iter()
            .any(|(_, _, code, message)| code == "BCP901" && message.contains("not supported")),
        "{text}: {found:?}"
    );
}

#[test]
fn render_matches_the_official_cli_line() {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", "output x int = y\n");
    let compilation = bicep::compile_file(&path);
    assert_eq!(
        compilation.diagnostics[0].render(),
        format!(
            "{}(1,16) : Error BCP057: The name \"y\" does not exist in the current context.",
            path.display()
        )
    );
}

#[test]
fn garbage_input_never_panics() {
    for text in [
        "@",
        "resource",
        "resource x 'a@b' = [for",
        "var x = '${",
        "var x = '${a",
        "param p string = [",
        "}}}]]]",
        "var \u{1F600} = 1",
        "module m",
        "var x = a.b.c[",
        "'''",
        "/* x",
        "var x = 1 ? 2",
        "var x = [^",
    ] {
        let _ = diagnostics(text);
    }
    let deep = format!("var x = {}1{}\n", "(".repeat(5000), ")".repeat(5000));
    assert!(!diagnostics(&deep).is_empty());
    let deep_arrays = format!("var x = {}\n", "[".repeat(5000));
    assert!(!diagnostics(&deep_arrays).is_empty());
    let deep_not = format!("var x = {}true\n", "!".repeat(5000));
    assert!(!diagnostics(&deep_not).is_empty());
    let deep_holes = format!("var x = {}\n", "'${".repeat(2000));
    assert!(!diagnostics(&deep_holes).is_empty());
}

/// Only resource and module loops take a filter: elsewhere the official parser reads
/// `if (...)` as a call of the unsupported function `if` (BCP100) and then expects `]`
/// (BCP018), as InvalidVariables' `noFilteredLoopsInVariables` shows.
#[test]
fn filtered_variable_output_and_property_loops_are_refused_like_the_official_compiler() {
    assert_eq!(
        codes("var x = [for i in range(0, 3): if (i > 1) i]\n"),
        vec![(1, 32, "BCP100".to_string()), (1, 43, "BCP018".to_string())]
    );
    assert_eq!(
        codes("output o array = [for i in range(0, 3): if (i > 1) {\n  v: i\n}]\n"),
        vec![(1, 41, "BCP100".to_string()), (1, 52, "BCP018".to_string())]
    );
    let property_loop = "resource s 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 's'\n  properties: {\n    items: [for i in range(0, 2): if (i == 0) {\n      v: i\n    }]\n  }\n}\n";
    assert_eq!(
        codes(property_loop),
        vec![(4, 35, "BCP100".to_string()), (4, 47, "BCP018".to_string())]
    );
    // A bare `if` body, as in the official baseline, is BCP100 alone.
    let found = diagnostics("var xs = [1]\nvar x = [for thing in xs: if]\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0, found[0].1, found[0].2.as_str()),
        (2, 27, "BCP100")
    );
    assert_eq!(found[0].3, "The function \"if\" is not supported. Use the \"?:\" (ternary conditional) operator instead, e.g. condition ? ValueIfTrue : ValueIfFalse");
}

#[test]
fn filtered_resource_loops_still_compile() {
    let found = diagnostics("resource z 'Microsoft.Network/dnsZones@2018-05-01' = [for i in range(0, 4): if (i % 2 == 0) {\n  name: 'zone${i}'\n  location: 'global'\n}]\n");
    assert!(found.is_empty(), "{found:?}");
}

/// Loops stand where the official ForSyntaxValidator lets them (InvalidVariables and
/// InvalidOutputs give the same BCP138 positions): a variable or output loops only as a
/// whole; a resource property loops through object/array literals, one deep (BCP142).
#[test]
fn misplaced_loops_are_bcp138_and_nested_property_loops_bcp142() {
    assert_eq!(
        codes("var x = {\n  a: [for i in range(0, 3): i]\n}\n"),
        vec![(2, 7, "BCP138".to_string())]
    );
    assert_eq!(
        codes("output o array = [for i in range(0, 2): [for j in range(0, 2): j]]\n"),
        vec![(1, 42, "BCP138".to_string())]
    );
    assert_eq!(
        codes("@allowed([for x in []: 's'])\nparam p string\n"),
        vec![(1, 11, "BCP138".to_string())]
    );
    let resource = |properties: &str| {
        format!("resource z 'Microsoft.Network/dnsZones@2018-05-01' = {{\n  name: 'z'\n  location: 'global'\n  properties: {{\n{properties}\n  }}\n}}\n")
    };
    assert_eq!(
        codes(&resource("    a: concat([for i in range(0, 2): i])")),
        vec![(5, 16, "BCP138".to_string())]
    );
    assert_eq!(
        codes(&resource(
            "    a: [for i in range(0, 2): {\n      b: [for j in range(0, 2): j]\n    }]"
        )),
        vec![(6, 11, "BCP142".to_string())]
    );
    // Allowed: a property loop reached through literals, in a looped resource too.
    let found = diagnostics(&resource(
        "    a: [\n      {\n        b: [for j in range(0, 2): j]\n      }\n    ]",
    ));
    assert!(found.is_empty(), "{found:?}");
    let found = diagnostics("resource z 'Microsoft.Network/dnsZones@2018-05-01' = [for i in range(0, 2): {\n  name: 'z${i}'\n  location: 'global'\n  properties: {\n    a: [for j in range(0, 2): j]\n  }\n}]\n");
    assert!(found.is_empty(), "{found:?}");
}
