//! The `bicep` binary as az drives it.

mod support;

use std::process::Command;
use support::Workspace;

fn bicep() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bicep"))
}

#[test]
fn version_line_has_the_official_shape() {
    let output = bicep().arg("--version").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with(&format!("Bicep CLI version {} (", bicep::VERSION)),
        "{text}"
    );
    assert!(text.trim_end().ends_with(')'));
}

#[test]
fn build_to_stdout_and_beside_the_file() {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", "param a string\noutput b string = a\n");
    let output = bicep()
        .args(["build", "--stdout"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success());
    let template: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(template["outputs"]["b"]["value"], "[parameters('a')]");

    let status = bicep().arg("build").arg(&path).status().unwrap();
    assert!(status.success());
    assert!(workspace.directory.path().join("main.json").is_file());

    let out = workspace.directory.path().join("other.json");
    let status = bicep()
        .arg("build")
        .arg(&path)
        .arg("--outfile")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success() && out.is_file());
}

#[test]
fn errors_go_to_stderr_with_exit_code_1() {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", "output b string = missing\n");
    let output = bicep()
        .args(["build", "--stdout"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(
            "(1,19) : Error BCP057: The name \"missing\" does not exist in the current context."
        ),
        "{stderr}"
    );
}

#[test]
fn build_params_to_stdout_gives_az_its_two_keys() {
    let workspace = Workspace::new();
    workspace.file("main.bicep", "param name string\n");
    let params = workspace.file("main.bicepparam", "using 'main.bicep'\nparam name = 'x'\n");
    let output = bicep()
        .args(["build-params", "--stdout"])
        .arg(&params)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let envelope: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let parameters: serde_json::Value =
        serde_json::from_str(envelope["parametersJson"].as_str().unwrap()).unwrap();
    assert_eq!(parameters["parameters"]["name"]["value"], "x");
    let template: serde_json::Value =
        serde_json::from_str(envelope["templateJson"].as_str().unwrap()).unwrap();
    assert_eq!(template["parameters"]["name"]["type"], "string");
}

#[test]
fn lint_format_and_help() {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", "param a string\n");
    assert!(bicep().arg("lint").arg(&path).status().unwrap().success());
    assert!(bicep().arg("--help").status().unwrap().success());
}

#[test]
fn format_prints_with_stdout_writes_an_outfile_or_rewrites_in_place() {
    let workspace = Workspace::new();
    let path = workspace.file(
        "main.bicep",
        "param a   string='x'\r\nvar b={\r\n      c:a\r\n}\r\n",
    );
    let expected = "param a string = 'x'\nvar b = {\n  c: a\n}\n";
    let printed = bicep()
        .args(["format", "--stdout"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(printed.status.success());
    assert_eq!(String::from_utf8_lossy(&printed.stdout), expected);
    let out = workspace.directory.path().join("out.bicep");
    let written = bicep()
        .arg("format")
        .arg(&path)
        .arg("--outfile")
        .arg(&out)
        .status()
        .unwrap();
    assert!(written.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    assert!(bicep().arg("format").arg(&path).status().unwrap().success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}

/// az passes the file as given: a bare `main.bicep` (run in its folder) names imports
/// relative to it, as a full path does.
#[test]
fn imports_from_a_bare_relative_path_name_their_source_relative_to_it() {
    let workspace = Workspace::new();
    workspace.file("lib.bicep", "@export()\nfunc hi() string => 'hi'\n");
    workspace.file(
        "main.bicep",
        "import {hi} from 'lib.bicep'\noutput o string = hi()\n",
    );
    let output = bicep()
        .args(["build", "--stdout", "main.bicep"])
        .current_dir(workspace.directory.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let template: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        template["functions"][0]["members"]["hi"]["metadata"]["__bicep_imported_from!"],
        serde_json::json!({"sourceTemplate": "lib.bicep"})
    );
}
