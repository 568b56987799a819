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

#[test]
fn closures_and_wildcards_are_refused_clearly() {
    let workspace = Workspace::new();
    workspace.file("shared.bicep", SHARED);
    workspace.file("template.json", "{\"resources\": {}}");
    for text in [
        "import {usesHidden} from 'shared.bicep'\n",
        "import * as shared from 'shared.bicep'\n",
        "import {foo} from 'template.json'\n",
    ] {
        let main = workspace.file("main.bicep", text);
        let compilation = bicep::compile_file(&main);
        assert!(compilation.template.is_none(), "{text}");
        assert!(
            compilation.diagnostics.iter().any(|d| d.code == "BCP901"),
            "{text}: {:?}",
            compilation.diagnostics
        );
    }
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
