//! The core linter rules at the official codes, messages, default levels and positions,
//! levels from bicepconfig.json, and `bicep lint` as the official CLI prints it.

mod support;

use std::process::Command;
use support::Workspace;

/// Linter diagnostics as (line, column, level, code, message).
fn lint(workspace: &Workspace, text: &str) -> Vec<(usize, usize, String, String, String)> {
    let path = workspace.file("main.bicep", text);
    bicep::compile_file(&path)
        .diagnostics
        .into_iter()
        .filter(|d| !support::is_compiler_diagnostic(d))
        .map(|d| {
            let level = d
                .render()
                .split(" : ")
                .nth(1)
                .unwrap_or_default()
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_string();
            (d.line, d.column, level, d.code, d.message)
        })
        .collect()
}

const SAMPLE: &str = "param unused string\n\
@secure()\nparam password string = 'hunter2'\n\
@secure()\nparam fine string = ''\n\
var unusedVar = 1\n\
var used = concat('a', password, fine)\n\
@description('management.azure.com is fine in a description')\n\
var url = 'https://management.azure.com/x and login.microsoftonline.com'\n\
var schema = 'https://schema.management.azure.com/schemas/x'\n\
@export()\nvar shared = 2\n\
resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'kv'\n}\n\
output o string = '${used}${url}${schema}'\n";

#[test]
fn each_rule_at_its_official_position_and_message() {
    let workspace = Workspace::new();
    let found = lint(&workspace, SAMPLE);
    let expect = |line: usize, column: usize, code: &str, message: &str| {
        assert!(
            found.iter().any(|(l, c, level, code_found, m)| {
                (*l, *c) == (line, column)
                    && level == "Warning"
                    && code_found == code
                    && m == &format!("{message} [https://aka.ms/bicep/linter-diagnostics#{code}]")
            }),
            "{line},{column} {code}: {found:#?}"
        );
    };
    expect(
        1,
        7,
        "no-unused-params",
        "Parameter \"unused\" is declared but never used.",
    );
    expect(
        3,
        23,
        "secure-parameter-default",
        "Secure parameters should not have hardcoded defaults (except for empty or newGuid()).",
    );
    expect(
        6,
        5,
        "no-unused-vars",
        "Variable \"unusedVar\" is declared but never used.",
    );
    expect(
        7,
        12,
        "prefer-interpolation",
        "Use string interpolation instead of the concat function.",
    );
    expect(9, 20, "no-hardcoded-env-urls", "Environment URLs should not be hardcoded. Use the environment() function to ensure compatibility across clouds. Found this disallowed host: \"management.azure.com\"");
    expect(9, 47, "no-hardcoded-env-urls", "Environment URLs should not be hardcoded. Use the environment() function to ensure compatibility across clouds. Found this disallowed host: \"login.microsoftonline.com\"");
    expect(
        13,
        10,
        "no-unused-existing-resources",
        "Existing resource \"kv\" is declared but never used.",
    );
    // Nothing else: the empty secure default, the exported variable, the description and
    // the excluded schema host are fine.
    assert_eq!(found.len(), 7, "{found:#?}");
    // Warnings do not stop the build.
    let path = workspace.file("main.bicep", SAMPLE);
    assert!(bicep::compile_file(&path).template.is_some());
}

#[test]
fn outputs_that_may_hold_secrets() {
    let workspace = Workspace::new();
    let found = lint(
        &workspace,
        "@secure()\nparam key string\n\
         resource st 'Microsoft.Storage/storageAccounts@2023-01-01' existing = {\n  name: 's'\n}\n\
         output adminPassword string = 'x'\n\
         output k string = key\n\
         output keys object = st.listKeys()\n\
         @secure()\noutput fine string = key\n",
    );
    let rule = "outputs-should-not-contain-secrets";
    let message = |found: &str| {
        format!("Outputs should not contain secrets. Found possible secret: {found} [https://aka.ms/bicep/linter-diagnostics#{rule}]")
    };
    let expected = [
        (6, 1, "output name 'adminPassword' suggests a secret"),
        (7, 19, "secure value 'key'"),
        (8, 22, "function 'listKeys'"),
    ];
    for (line, column, what) in expected {
        assert!(
            found
                .iter()
                .any(|(l, c, _, code, m)| (*l, *c) == (line, column)
                    && code == rule
                    && *m == message(what)),
            "{line},{column} {what}: {found:#?}"
        );
    }
    assert_eq!(
        found.iter().filter(|f| f.3 == rule).count(),
        3,
        "{found:#?}"
    );
}

#[test]
fn needless_interpolation_of_a_string() {
    let workspace = Workspace::new();
    let found = lint(
        &workspace,
        "param name string\nparam count int\nvar a = '${name}'\nvar b = '${count}'\nvar c = { n: '${name}' }\noutput o string = '${a}-${b}-${c.n}'\n",
    );
    let simplify: Vec<(usize, usize)> = found
        .iter()
        .filter(|f| f.3 == "simplify-interpolation")
        .map(|f| (f.0, f.1))
        .collect();
    // An int interpolated is a conversion, not needless; text around a hole is needed.
    assert_eq!(simplify, vec![(3, 9), (5, 14)], "{found:#?}");
    assert!(found.iter().any(|f| f.3 == "simplify-interpolation"
        && f.4 == "Remove unnecessary string interpolation. [https://aka.ms/bicep/linter-diagnostics#simplify-interpolation]"));
}

#[test]
fn depends_on_entries_the_references_already_imply() {
    let workspace = Workspace::new();
    let found = lint(
        &workspace,
        "resource a 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'a'\n  location: 'x'\n}\n\
         resource b 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: '${a.name}b'\n  location: 'x'\n}\n\
         resource c 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: '${b.name}c'\n  location: 'x'\n  dependsOn: [\n    b\n    a\n  ]\n}\n\
         resource d 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'd'\n  location: 'x'\n  dependsOn: [\n    a\n  ]\n}\n",
    );
    let rule = "no-unnecessary-dependson";
    let entries: Vec<(usize, usize, String)> = found
        .iter()
        .filter(|f| f.3 == rule)
        .map(|f| (f.0, f.1, f.4.clone()))
        .collect();
    // c names b (referenced) and a (reached through b); d's entry is needed.
    assert_eq!(
        entries,
        vec![
            (13, 5, format!("Remove unnecessary dependsOn entry 'b'. [https://aka.ms/bicep/linter-diagnostics#{rule}]")),
            (14, 5, format!("Remove unnecessary dependsOn entry 'a'. [https://aka.ms/bicep/linter-diagnostics#{rule}]")),
        ],
        "{found:#?}"
    );
}

#[test]
fn bicepconfig_sets_each_rules_level_or_turns_the_linter_off() {
    let workspace = Workspace::new();
    workspace.file(
        "bicepconfig.json",
        "{\n  // levels: off, info, warning, error\n  \"analyzers\": {\"core\": {\"rules\": {\n    \"no-unused-params\": {\"level\": \"error\"},\n    \"no-unused-vars\": {\"level\": \"off\"},\n    \"prefer-interpolation\": {\"level\": \"info\"}\n  }}}\n}\n",
    );
    let text = "param p string\nvar v = 1\nparam q string\noutput o string = concat(q, 'x')\n";
    let found = lint(&workspace, text);
    assert!(
        found.iter().any(|(l, c, level, code, _)| (*l, *c) == (1, 7)
            && level == "Error"
            && code == "no-unused-params"),
        "{found:?}"
    );
    assert!(
        !found
            .iter()
            .any(|(_, _, _, code, _)| code == "no-unused-vars"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(_, _, level, code, _)| level == "Info" && code == "prefer-interpolation"),
        "{found:?}"
    );
    // A rule at error level fails the build, as the official compiler does.
    let path = workspace.file("main.bicep", text);
    assert!(bicep::compile_file(&path).template.is_none());

    workspace.file(
        "bicepconfig.json",
        "{\"analyzers\": {\"core\": {\"enabled\": false}}}",
    );
    assert!(lint(&workspace, text).is_empty());
}

#[test]
fn bicep_lint_prints_the_official_lines() {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", "param p string\n");
    let output = Command::new(env!("CARGO_BIN_EXE_bicep"))
        .arg("lint")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("run bicep: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{}(1,7) : Warning no-unused-params: Parameter \"p\" is declared but never used. [https://aka.ms/bicep/linter-diagnostics#no-unused-params]",
            path.display()
        )),
        "{stderr}"
    );
    // Warnings only: success.
    assert!(output.status.success());
}
