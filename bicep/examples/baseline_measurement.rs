//! Reproduces the README's baseline figure: how many of the official compiler's own
//! baselines (`src/Bicep.Core.Samples/Files/baselines/*/main.bicep` → `main.json` in
//! Azure/bicep) we compile to identical JSON. A measurement, not a test: it needs a
//! snapshot of that repository, which is never committed here (so CI cannot run it).
//!
//! ```sh
//! BICEP_BASELINES=/path/to/azure-bicep-checkout \
//!   cargo run --release -p bicep --example baseline_measurement
//! ```
//!
//! `BICEP_BASELINES` may name the repository root or the `baselines` folder itself.
//! With `BICEP_BASELINES_OUT=<dir>` each compiled template is written there as
//! `<baseline>.json` (with `metadata._generator` removed, like the expected one beside it as
//! `<baseline>.expected.json`) so differences can be read with `diff`.
//! The formatter is measured the same way against `main.formatted.bicep` where present.

use bicep::emitter::json_writer::{parse_json, Json};
use std::path::{Path, PathBuf};

fn baselines_folder() -> Option<PathBuf> {
    let root = PathBuf::from(std::env::var_os("BICEP_BASELINES")?);
    let nested = root.join("src/Bicep.Core.Samples/Files/baselines");
    Some(if nested.is_dir() { nested } else { root })
}

fn folder_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The baselines (sorted) that have a `main.bicep` and `expected` beside it.
fn baselines_with(folder: &Path, expected: &str) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("read the baselines folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("main.bicep").is_file() && p.join(expected).is_file())
        .collect();
    folders.sort();
    folders
}

/// `metadata._generator` is ours by design (name, version, templateHash), at every nesting level.
fn without_generator(value: &mut Json) {
    match value {
        Json::Object(entries) => {
            for (key, inner) in entries.iter_mut() {
                if key == "metadata" {
                    if let Json::Object(metadata) = inner {
                        metadata.retain(|(k, _)| k != "_generator");
                    }
                }
                without_generator(inner);
            }
            // A metadata object that held only _generator disappears on both sides alike.
            entries.retain(|(k, v)| {
                !(k == "metadata" && matches!(v, Json::Object(m) if m.is_empty()))
            });
        }
        Json::Array(items) => items.iter_mut().for_each(without_generator),
        _ => {}
    }
}

enum Outcome {
    Identical,
    Differs,
    DoesNotCompile(String),
}

fn measure(folder: &Path, out: Option<&Path>) -> Outcome {
    let name = folder_name(folder);
    let compilation = bicep::compile_file(&folder.join("main.bicep"));
    let Some(ours) = compilation.template else {
        let first = compilation
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(|d| d.render())
            .unwrap_or_default();
        return Outcome::DoesNotCompile(first);
    };
    let expected_text = std::fs::read_to_string(folder.join("main.json")).unwrap_or_default();
    let (Some(mut ours), Some(mut expected)) = (parse_json(&ours), parse_json(&expected_text))
    else {
        return Outcome::DoesNotCompile("unreadable JSON".into());
    };
    without_generator(&mut ours);
    without_generator(&mut expected);
    // The pretty text keeps key order, so equal text means equal as values and as text.
    let (ours, expected) = (ours.to_pretty_string(), expected.to_pretty_string());
    if let Some(out) = out {
        let _ = std::fs::write(out.join(format!("{name}.json")), &ours);
        let _ = std::fs::write(out.join(format!("{name}.expected.json")), &expected);
    }
    if ours == expected {
        Outcome::Identical
    } else {
        Outcome::Differs
    }
}

fn main() -> std::process::ExitCode {
    let Some(folder) = baselines_folder() else {
        eprintln!(
            "set BICEP_BASELINES to a snapshot of Azure/bicep (its root or its baselines folder)"
        );
        return std::process::ExitCode::from(2);
    };
    official_baselines(&folder);
    official_formatter_baselines(&folder);
    std::process::ExitCode::SUCCESS
}

fn official_baselines(folder: &Path) {
    let out = std::env::var_os("BICEP_BASELINES_OUT").map(PathBuf::from);
    if let Some(out) = &out {
        std::fs::create_dir_all(out).expect("create BICEP_BASELINES_OUT");
    }
    let folders = baselines_with(folder, "main.json");
    let (mut identical, mut differs, mut failed) = (0, 0, 0);
    for baseline in &folders {
        let name = folder_name(baseline);
        match measure(baseline, out.as_deref()) {
            Outcome::Identical => {
                identical += 1;
                println!("identical       {name}");
            }
            Outcome::Differs => {
                differs += 1;
                println!("differs         {name}");
            }
            Outcome::DoesNotCompile(first) => {
                failed += 1;
                println!("does not compile {name}: {first}");
            }
        }
    }
    println!(
        "\n{} baselines with main.bicep and main.json: {} compile, {identical} identical, {differs} differ, {failed} do not compile",
        folders.len(),
        identical + differs
    );
}

fn official_formatter_baselines(folder: &Path) {
    let folders = baselines_with(folder, "main.formatted.bicep");
    let mut identical = 0;
    for baseline in &folders {
        let name = folder_name(baseline);
        let source = std::fs::read_to_string(baseline.join("main.bicep")).unwrap_or_default();
        let expected =
            std::fs::read_to_string(baseline.join("main.formatted.bicep")).unwrap_or_default();
        let ours = bicep::formatter::format(&source);
        // The baselines are stored with the platform's newlines: compare as LF.
        if ours == expected.replace("\r\n", "\n") {
            identical += 1;
            println!("identical       {name}");
        } else {
            let first = ours
                .lines()
                .zip(expected.lines())
                .position(|(a, b)| a != b.trim_end_matches('\r'))
                .map(|line| format!("first difference at line {}", line + 1))
                .unwrap_or_else(|| "differs in length".into());
            println!("differs         {name}: {first}");
        }
    }
    println!(
        "\n{} baselines with main.bicep and main.formatted.bicep: {identical} formatted identically",
        folders.len()
    );
}
