//! Compile-time imports: exported types, variables and functions inlined into the
//! importing template, with `__bicep_imported_from!` metadata as the official compiler writes.

mod support;

use serde_json::json;
use support::{compile_path, diagnostics, Workspace};

const SHARED: &str = "@export()\n@minLength(3)\ntype pop = string\n@export()\nvar greeting = 'hello'\n@export()\n@description('Says hi')\nfunc hi(name string) string => '${name}!'\nvar hidden = 1\n@export()\nvar usesHidden = hidden\n";

#[test]
fn named_imports_are_inlined_with_their_origin() {
    let workspace = Workspace::new();
    workspace.file("modules/shared.bicep", SHARED);
    let main = workspace.file(
        "main.bicep",
        "import {pop, greeting, hi} from 'modules/shared.bicep'\nvar mine = greeting\noutput word pop = hi(mine)\n",
    );
    let template = compile_path(&main);
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["definitions"],
        json!({"pop": {"type": "string", "minLength": 3, "metadata": {"__bicep_imported_from!": {"sourceTemplate": "modules/shared.bicep"}}}})
    );
    assert_eq!(
        template["functions"][0]["members"]["hi"],
        json!({
            "parameters": [{"type": "string", "name": "name"}],
            "output": {"type": "string", "value": "[format('{0}!', parameters('name'))]"},
            "metadata": {"description": "Says hi", "__bicep_imported_from!": {"sourceTemplate": "modules/shared.bicep"}}
        })
    );
    assert_eq!(
        template["variables"],
        json!({"mine": "[variables('greeting')]", "greeting": "hello"})
    );
    assert_eq!(
        template["outputs"]["word"],
        json!({"$ref": "#/definitions/pop", "value": "[__bicep.hi(variables('mine'))]"})
    );
}

#[test]
fn an_unexported_name_is_bcp360() {
    let workspace = Workspace::new();
    workspace.file("shared.bicep", SHARED);
    let main = workspace.file("main.bicep", "import {hidden} from 'shared.bicep'\n");
    let compilation = bicep::compile_file(&main);
    assert!(compilation.template.is_none());
    let found: Vec<(usize, usize, &str)> = compilation
        .diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.code.as_str()))
        .collect();
    assert_eq!(found, vec![(1, 9, "BCP360")]);
}

/// The symbols an imported declaration uses come along as `_<n>.<name>` (n numbering the
/// files as their symbols sort by "file_name"), after the file's own declarations.
#[test]
fn an_import_brings_the_declarations_it_uses() {
    let workspace = Workspace::new();
    workspace.file("shared.bicep", SHARED);
    workspace.file(
        "types.bicep",
        "@export()\ntype list = item[]\ntype item = {\n  size: size?\n}\ntype size = int\n",
    );
    let main = workspace.file(
        "main.bicep",
        "import {usesHidden} from 'shared.bicep'\nimport {list} from 'types.bicep'\nvar own = usesHidden\nparam p list\n",
    );
    let template = compile_path(&main);
    assert_eq!(
        template["variables"],
        json!({"own": "[variables('usesHidden')]", "_1.hidden": 1, "usesHidden": "[variables('_1.hidden')]"})
    );
    assert_eq!(
        template["definitions"],
        json!({
            "_2.item": {"type": "object", "properties": {"size": {"$ref": "#/definitions/_2.size", "nullable": true}},
                        "metadata": {"__bicep_imported_from!": {"sourceTemplate": "types.bicep"}}},
            "_2.size": {"type": "int", "metadata": {"__bicep_imported_from!": {"sourceTemplate": "types.bicep"}}},
            "list": {"type": "array", "items": {"$ref": "#/definitions/_2.item"},
                     "metadata": {"__bicep_imported_from!": {"sourceTemplate": "types.bicep"}}}
        })
    );
    // Own declarations first, then the imported ones ordered by name.
    let text = bicep::compile_file(&main).template.unwrap_or_default();
    let order: Vec<usize> = ["\"own\"", "\"_1.hidden\"", "\"usesHidden\""]
        .iter()
        .filter_map(|k| text.find(k))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn a_wildcard_import_reaches_every_export_through_its_namespace() {
    let workspace = Workspace::new();
    workspace.file("shared.bicep", SHARED);
    let main = workspace.file(
        "main.bicep",
        "import * as shared from 'shared.bicep'\nvar g = shared.greeting\nparam p shared.pop\noutput o string = shared.hi(g)\n",
    );
    let template = compile_path(&main);
    assert_eq!(
        template["variables"],
        json!({"g": "[variables('_1.greeting')]", "_1.greeting": "hello", "_1.hidden": 1, "_1.usesHidden": "[variables('_1.hidden')]"})
    );
    assert_eq!(
        template["parameters"]["p"],
        json!({"$ref": "#/definitions/_1.pop"})
    );
    assert_eq!(
        template["definitions"]["_1.pop"],
        json!({"type": "string", "minLength": 3, "metadata": {"__bicep_imported_from!": {"sourceTemplate": "shared.bicep"}}})
    );
    assert_eq!(template["outputs"]["o"]["value"], "[_1.hi(variables('g'))]");
    // The official writer splits `_1.hi` into namespace `_1` and member `hi`.
    assert_eq!(template["functions"][0]["namespace"], "_1");
    assert_eq!(
        template["functions"][0]["members"]["hi"]["metadata"]["__bicep_imported_from!"],
        json!({"sourceTemplate": "shared.bicep", "originalIdentifier": "hi"})
    );
}

/// An ARM JSON template exports variables listed in `__bicep_exported_variables!` and types
/// marked `__bicep_export!`; their references are renamed, a copy variable becomes a loop
/// over range(0, count).
#[test]
fn imports_from_an_arm_json_template() {
    let workspace = Workspace::new();
    workspace.file(
        "lib.json",
        r##"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "languageVersion": "2.0",
  "contentVersion": "1.0.0.0",
  "metadata": {"__bicep_exported_variables!": [{"name": "odd-name"}, {"name": "picked"}]},
  "definitions": {
    "shape": {"type": "object", "properties": {"side": {"$ref": "#/definitions/length"}}, "metadata": {"__bicep_export!": true}},
    "length": {"type": "int"}
  },
  "variables": {
    "odd-name": "value",
    "copy": [{"name": "loop", "count": "[variables('n')]", "input": "[variables('words')[copyIndex('loop')]]"}],
    "n": 2,
    "words": ["a", "b"],
    "picked": "[variables('loop')]"
  },
  "resources": {}
}"##,
    );
    let main = workspace.file(
        "main.bicep",
        "import {\n  'odd-name' as odd\n  picked\n  shape\n} from 'lib.json'\noutput o string = odd\noutput p array = picked\nparam s shape\n",
    );
    let template = compile_path(&main);
    assert_eq!(
        template["variables"],
        json!({
            "copy": [{"name": "_1.loop", "count": "[length(range(0, variables('_1.n')))]",
                      "input": "[variables('_1.words')[copyIndex('_1.loop')]]"}],
            "_1.n": 2,
            "_1.words": ["a", "b"],
            "odd": "value",
            "picked": "[variables('_1.loop')]"
        })
    );
    assert_eq!(
        template["definitions"],
        json!({
            "_1.length": {"type": "int", "metadata": {"__bicep_imported_from!": {"sourceTemplate": "lib.json"}}},
            "shape": {"type": "object", "properties": {"side": {"$ref": "#/definitions/_1.length"}},
                      "metadata": {"__bicep_imported_from!": {"sourceTemplate": "lib.json"}}}
        })
    );
    // Not exported there: BCP360 at the name.
    let main = workspace.file("main.bicep", "import {words} from 'lib.json'\n");
    let compilation = bicep::compile_file(&main);
    assert!(compilation.template.is_none());
    assert!(compilation
        .diagnostics
        .iter()
        .any(|d| d.code == "BCP360" && (d.line, d.column) == (1, 9)));
}

#[test]
fn a_missing_file_is_reported_at_the_path() {
    let found = diagnostics("import {a} from 'nowhere.bicep'\n");
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].0, found[0].1, found[0].2.as_str()),
        (1, 17, "BCP091")
    );
}

#[test]
fn aliased_imports_are_declared_under_their_alias_and_remember_the_original_name() {
    let workspace = Workspace::new();
    workspace.file("modules/shared.bicep", SHARED);
    let main = workspace.file(
        "main.bicep",
        "import {pop as word, greeting as hello, hi as sayHi} from 'modules/shared.bicep'\noutput w word = sayHi(hello)\n",
    );
    let template = compile_path(&main);
    assert_eq!(
        template["definitions"],
        json!({"word": {"type": "string", "minLength": 3, "metadata": {"__bicep_imported_from!": {"sourceTemplate": "modules/shared.bicep", "originalIdentifier": "pop"}}}})
    );
    assert_eq!(
        template["functions"][0]["members"]["sayHi"]["metadata"]["__bicep_imported_from!"],
        json!({"sourceTemplate": "modules/shared.bicep", "originalIdentifier": "hi"})
    );
    assert_eq!(template["variables"], json!({"hello": "hello"}));
    assert_eq!(
        template["outputs"]["w"],
        json!({"$ref": "#/definitions/word", "value": "[__bicep.sayHi(variables('hello'))]"})
    );
}

/// A template compiled from Bicep keeps its exported `func`s in the `__bicep` namespace
/// with `__bicep_export!`: importing one from the JSON gives the same function as importing
/// it from the Bicep file (description kept, export dropped, origin noted).
#[test]
fn functions_import_from_an_arm_json_template() {
    let workspace = Workspace::new();
    workspace.file(
        "lib.json",
        r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "languageVersion": "2.0", "contentVersion": "1.0.0.0",
  "functions": [{"namespace": "__bicep", "members": {
    "hi": {"parameters": [{"type": "string", "name": "name"}], "output": {"type": "string", "value": "[format('{0}!', parameters('name'))]"}, "metadata": {"description": "Says hi", "__bicep_export!": true}},
    "secret": {"parameters": [], "output": {"type": "int", "value": 1}}
  }}],
  "resources": {}}"#,
    );
    let main = workspace.file(
        "main.bicep",
        "import {hi as greet} from 'lib.json'\noutput word string = greet('you')\n",
    );
    let template = compile_path(&main);
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["functions"],
        json!([{"namespace": "__bicep", "members": {"greet": {
            "parameters": [{"type": "string", "name": "name"}],
            "output": {"type": "string", "value": "[format('{0}!', parameters('name'))]"},
            "metadata": {"description": "Says hi", "__bicep_imported_from!": {"sourceTemplate": "lib.json", "originalIdentifier": "hi"}}
        }}}])
    );
    assert_eq!(
        template["outputs"]["word"]["value"],
        "[__bicep.greet('you')]"
    );
    // Not marked for export: BCP360, as for variables and types.
    let main = workspace.file("main.bicep", "import {secret} from 'lib.json'\n");
    let compilation = bicep::compile_file(&main);
    assert!(compilation.template.is_none());
    assert!(compilation
        .diagnostics
        .iter()
        .any(|d| d.code == "BCP360" && (d.line, d.column) == (1, 9)));
}

/// A function the imported one calls comes along as `_1.name`, written in namespace `_1`
/// and called as `_1.name(...)`, whether it came from Bicep or from ARM JSON.
#[test]
fn functions_an_imported_function_calls_join_the_closure_in_their_own_namespace() {
    let workspace = Workspace::new();
    workspace.file(
        "lib.json",
        r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "languageVersion": "2.0", "contentVersion": "1.0.0.0",
  "functions": [{"namespace": "__bicep", "members": {
    "hi": {"parameters": [{"type": "string", "name": "name"}], "output": {"type": "string", "value": "[__bicep.helper(parameters('name'))]"}, "metadata": {"__bicep_export!": true}},
    "helper": {"parameters": [{"type": "string", "name": "n"}], "output": {"type": "string", "value": "[toUpper(parameters('n'))]"}}
  }}],
  "resources": {}}"#,
    );
    workspace.file(
        "lib.bicep",
        "func helper(n string) string => toUpper(n)\n@export()\nfunc hi(name string) string => helper(name)\n",
    );
    for source in ["lib.json", "lib.bicep"] {
        let main = workspace.file(
            "main.bicep",
            &format!("import {{hi}} from '{source}'\noutput word string = hi('you')\n"),
        );
        let template = compile_path(&main);
        let origin = |original: Option<&str>| match original {
            Some(o) => json!({"sourceTemplate": source, "originalIdentifier": o}),
            None => json!({"sourceTemplate": source}),
        };
        assert_eq!(
            template["functions"],
            json!([
                {"namespace": "_1", "members": {"helper": {
                    "parameters": [{"type": "string", "name": "n"}],
                    "output": {"type": "string", "value": "[toUpper(parameters('n'))]"},
                    "metadata": {"__bicep_imported_from!": origin(Some("helper"))}
                }}},
                {"namespace": "__bicep", "members": {"hi": {
                    "parameters": [{"type": "string", "name": "name"}],
                    "output": {"type": "string", "value": "[_1.helper(parameters('name'))]"},
                    "metadata": {"__bicep_imported_from!": origin(None)}
                }}}
            ]),
            "{source}"
        );
        assert_eq!(template["outputs"]["word"]["value"], "[__bicep.hi('you')]");
    }
}
