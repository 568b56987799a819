//! `assert` and `test` declarations, behind bicepconfig.json's experimental features as in
//! the official compiler: with "assertions" on, the template is languageVersion
//! 2.1-experimental with its warning metadata and an `asserts` object; `test` declarations
//! are checked and never written (TestFramework baseline, as our own cases).

mod support;

use serde_json::json;
use support::{compile_path, Workspace};

const CONFIG: &str = "{\n  // both experimental features on\n  \"experimentalFeaturesEnabled\": {\n    \"assertions\": true,\n    \"testFramework\": true\n  }\n}\n";

#[test]
fn asserts_are_written_with_the_experimental_language_version() {
    let workspace = Workspace::new();
    workspace.file("bicepconfig.json", CONFIG);
    let main = workspace.file(
        "main.bicep",
        "param env string\nvar name = '${env}-app'\nassert named = name == 'prod-app' || contains(name, 'dev')\n",
    );
    let template = compile_path(&main);
    assert_eq!(template["languageVersion"], "2.1-experimental");
    assert_eq!(
        template["metadata"]["_EXPERIMENTAL_FEATURES_ENABLED"],
        json!(["Asserts"])
    );
    assert!(template["metadata"]["_EXPERIMENTAL_WARNING"]
        .as_str()
        .is_some_and(|w| w.starts_with("This template uses ARM features that are experimental.")));
    assert_eq!(
        template["asserts"],
        json!({"named": "[or(equals(variables('name'), 'prod-app'), contains(variables('name'), 'dev'))]"})
    );
    // The official key order: metadata starts with the warning, asserts come last.
    let text = bicep::compile_file(&main).template.unwrap_or_default();
    let warning = text.find("_EXPERIMENTAL_WARNING");
    let generator = text.find("_generator");
    assert!(warning.is_some() && warning < generator, "{text}");
    assert!(
        text.find("\"asserts\"") > text.find("\"resources\""),
        "{text}"
    );
}

#[test]
fn test_declarations_are_checked_and_not_written() {
    let workspace = Workspace::new();
    workspace.file("bicepconfig.json", CONFIG);
    workspace.file("app.bicep", "param env string\nassert ok = env != ''\n");
    let main = workspace.file(
        "main.bicep",
        "test prod 'app.bicep' = {\n  params: {\n    env: 'prod'\n  }\n}\n",
    );
    let template = compile_path(&main);
    assert_eq!(template["resources"], json!({}));
    assert!(template.get("asserts").is_none());
    assert_eq!(template["languageVersion"], "2.1-experimental");
}

#[test]
fn misuse_is_reported_with_codes_and_positions() {
    let workspace = Workspace::new();
    let main = workspace.file("main.bicep", "assert a = true\ntest t 'x.bicep' = {}\n");
    let found: Vec<(usize, usize, String)> = bicep::compile_file(&main)
        .diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.code.clone()))
        .collect();
    assert!(found.contains(&(1, 1, "BCP349".into())), "{found:?}");
    assert!(found.contains(&(2, 1, "BCP348".into())), "{found:?}");

    workspace.file("bicepconfig.json", CONFIG);
    let main = workspace.file(
        "main.bicep",
        "assert notBool = 'yes'\ntest t 'x.json' = {}\ntest u 'missing.bicep' = {}\n",
    );
    let found: Vec<(usize, usize, String)> = bicep::compile_file(&main)
        .diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.code.clone()))
        .collect();
    assert!(found.contains(&(1, 18, "BCP350".into())), "{found:?}");
    assert!(found.contains(&(2, 8, "BCP345".into())), "{found:?}");
    assert!(found.contains(&(3, 8, "BCP091".into())), "{found:?}");
}
