//! Compile-time file functions beyond loadTextContent/loadJsonContent (tested in emission.rs):
//! loadYamlContent and loadDirectoryFileInfo, and functions that pass through to ARM.

mod support;

use serde_json::json;
use support::{compile, compile_path, Workspace};

#[test]
fn load_yaml_content_inlines_the_value_keys_in_file_order() {
    let workspace = Workspace::new();
    workspace.file(
        "data.yaml",
        "zeta: someVal\nint: 123\nlist:\n- true\n- '[x]'\nobject:\n  nested : 1\n",
    );
    let main = workspace.file("main.bicep", "var data = loadYamlContent('data.yaml')\n");
    let compilation = bicep::compile_file(&main);
    let text = compilation.template.expect("compiles");
    // Written to a `$fxv#N` variable, as the official compiler hoists loadYamlContent.
    assert!(text.contains("\"$fxv#0\": {\n      \"zeta\": \"someVal\",\n      \"int\": 123,"));
    let template: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        template["variables"]["data"],
        json!("[variables('$fxv#0')]")
    );
    assert_eq!(
        template["variables"]["$fxv#0"],
        json!({"zeta": "someVal", "int": 123, "list": [true, "[[x]"], "object": {"nested": 1}})
    );
}

#[test]
fn load_directory_file_info_lists_files_by_name_ignoring_case_with_an_optional_pattern() {
    let workspace = Workspace::new();
    workspace.file("assets/b.txt", "");
    workspace.file("assets/Zed.txt", "");
    workspace.file("assets/a.json", "");
    workspace.file("assets/sub/inner.txt", "");
    let main = workspace.file(
        "main.bicep",
        "var all = loadDirectoryFileInfo('./assets')\nvar texts = loadDirectoryFileInfo('./assets', '*.txt')\n",
    );
    let template = compile_path(&main);
    let file = |name: &str, extension: &str| json!({"relativePath": format!("assets/{name}"), "baseName": name, "extension": extension});
    assert_eq!(template["variables"]["all"], json!("[variables('$fxv#0')]"));
    assert_eq!(
        template["variables"]["texts"],
        json!("[variables('$fxv#1')]")
    );
    assert_eq!(
        template["variables"]["$fxv#0"],
        json!([
            file("a.json", ".json"),
            file("b.txt", ".txt"),
            file("Zed.txt", ".txt")
        ])
    );
    assert_eq!(
        template["variables"]["$fxv#1"],
        json!([file("b.txt", ".txt"), file("Zed.txt", ".txt")])
    );
}

#[test]
fn like_and_distinct_pass_through() {
    let template =
        compile("output l bool = like('abc', 'a*')\noutput d array = distinct([1, 1])\n");
    assert_eq!(
        template["outputs"]["l"]["value"],
        json!("[like('abc', 'a*')]")
    );
    assert_eq!(
        template["outputs"]["d"]["value"],
        json!("[distinct(createArray(1, 1))]")
    );
}

/// loadJsonContent(file, jsonPath): one match is the value, several an array; the file may
/// hold comments; the value is hoisted into `$fxv#N` (numbered in source order, ordered by
/// name) like every loadJsonContent, and loadTextContent too when it is not a variable's whole
/// value (LoadFunctions baseline, as our own case).
#[test]
fn json_paths_comments_and_hoisted_variables() {
    let workspace = Workspace::new();
    workspace.file(
        "data.json",
        "{\n  // a comment\n  \"name\": \"x\",\n  \"items\": [ /* inline */ {\"n\": \"a\", \"price\": 5.00}, {\"n\": \"b\", \"price\": 2}, {\"n\": \"c\", \"price\": 3.5} ],\n  \"nested\": {\"deep\": {\"value\": 7}}\n}\n",
    );
    workspace.file("t.txt", "hi");
    let main = workspace.file(
        "main.bicep",
        "var name = loadJsonContent('data.json', '.name')\n\
         var pricey = loadJsonContent('data.json', '$.items[?(@.price > 3)].n')\n\
         var deep = loadJsonContent('data.json', 'nested..value')\n\
         var last = loadJsonContent('data.json', '.items[-1:].n')\n\
         var direct = loadTextContent('t.txt')\n\
         var inside = 'say ${loadTextContent('t.txt')}'\n\
         var a2 = loadJsonContent('data.json', '.items[1].n')\n\
         var a3 = loadJsonContent('data.json', '.items[0].n')\n\
         var a4 = loadJsonContent('data.json', '.items[2].n')\n\
         var a5 = loadJsonContent('data.json', '.name')\n\
         var a6 = loadJsonContent('data.json', '.name')\n\
         var a7 = loadJsonContent('data.json', '.name')\n",
    );
    let template = compile_path(&main);
    let variables = &template["variables"];
    assert_eq!(variables["$fxv#0"], json!("x"));
    assert_eq!(variables["$fxv#1"], json!(["a", "c"]));
    assert_eq!(variables["$fxv#2"], json!(7));
    assert_eq!(variables["$fxv#3"], json!("c"));
    assert_eq!(variables["direct"], json!("hi"));
    assert_eq!(variables["$fxv#4"], json!("hi"));
    assert_eq!(
        variables["inside"],
        json!("[format('say {0}', variables('$fxv#4'))]")
    );
    assert_eq!(variables["name"], json!("[variables('$fxv#0')]"));
    // Ordered by name: $fxv#10 comes before $fxv#2.
    let text = bicep::compile_file(&main).template.unwrap_or_default();
    assert!(text.find("\"$fxv#10\"") < text.find("\"$fxv#2\""), "{text}");
    assert!(
        text.find("\"$fxv#9\"") < text.find("\"name\": \"[variables('$fxv#0')]\""),
        "{text}"
    );
}

#[test]
fn text_encodings_and_path_misuse() {
    let workspace = Workspace::new();
    // "hé" in UTF-16 LE with its byte order mark, UTF-16 BE, Latin-1.
    let path = workspace.directory.path();
    std::fs::write(path.join("le.txt"), [0xff, 0xfe, b'h', 0, 0xe9, 0]).unwrap_or_default();
    std::fs::write(path.join("be.txt"), [0, b'h', 0, 0xe9]).unwrap_or_default();
    std::fs::write(path.join("latin.txt"), [b'h', 0xe9]).unwrap_or_default();
    workspace.file("data.json", "{\"a\": 1}");
    let main = workspace.file(
        "main.bicep",
        "var le = loadTextContent('le.txt', 'utf-16')\nvar be = loadTextContent('be.txt', 'utf-16BE')\nvar latin = loadTextContent('latin.txt', 'iso-8859-1')\nvar ascii = loadTextContent('latin.txt', 'us-ascii')\n",
    );
    let template = compile_path(&main);
    assert_eq!(template["variables"]["le"], json!("hé"));
    assert_eq!(template["variables"]["be"], json!("hé"));
    assert_eq!(template["variables"]["latin"], json!("hé"));
    assert_eq!(template["variables"]["ascii"], json!("h?"));

    for (text, code, position) in [
        (
            "var x = loadJsonContent('data.json', '.missing')\n",
            "BCP235",
            (1, 38),
        ),
        (
            "var x = loadJsonContent('data.json', '[[')\n",
            "BCP235",
            (1, 38),
        ),
        (
            "var x = loadTextContent('data.json', 'utf-32')\n",
            "BCP070",
            (1, 38),
        ),
    ] {
        let main = workspace.file("main.bicep", text);
        let compilation = bicep::compile_file(&main);
        assert!(compilation.template.is_none());
        assert!(
            compilation
                .diagnostics
                .iter()
                .any(|d| d.code == code && (d.line, d.column) == position),
            "{text}: {:?}",
            compilation.diagnostics
        );
    }
}
