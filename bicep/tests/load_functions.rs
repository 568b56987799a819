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
    assert!(text.contains("\"data\": {\n      \"zeta\": \"someVal\",\n      \"int\": 123,"));
    let template: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        template["variables"]["data"],
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
    assert_eq!(
        template["variables"]["all"],
        json!([
            file("a.json", ".json"),
            file("b.txt", ".txt"),
            file("Zed.txt", ".txt")
        ])
    );
    assert_eq!(
        template["variables"]["texts"],
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
