//! Compile time of each template in `bicep/templates/` and of the largest official baseline we
//! compile (from a snapshot of Azure/bicep named by `BICEP_BASELINES`, skipped without it),
//! against the 50 ms target (the official CLI starts a .NET runtime for every build). Prints
//! figures only; nothing here fails on time.
//!
//! ```sh
//! cargo bench -p bicep                                    # templates only
//! BICEP_BASELINES=/path/to/azure-bicep cargo bench -p bicep
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TARGET: Duration = Duration::from_millis(50);
const RUNS: usize = 20;

/// Median wall time of a full compile (read, parse, check, emit, modules included).
fn median_compile_time(path: &Path) -> Option<Duration> {
    bicep::compile_file(path).template.as_ref()?;
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let compilation = bicep::compile_file(path);
            std::hint::black_box(&compilation.template);
            start.elapsed()
        })
        .collect();
    times.sort();
    Some(times[RUNS / 2])
}

fn report(label: &str, path: &Path) {
    match median_compile_time(path) {
        Some(time) => println!(
            "{label:<58} {:>8.2} ms   {:>6.3}x of the 50 ms target",
            time.as_secs_f64() * 1000.0,
            time.as_secs_f64() / TARGET.as_secs_f64()
        ),
        None => println!("{label:<58} does not compile"),
    }
}

/// The largest `main.bicep` among the baselines we compile.
fn largest_compiling_baseline(root: &Path) -> Option<PathBuf> {
    let nested = root.join("src/Bicep.Core.Samples/Files/baselines");
    let folder = if nested.is_dir() {
        nested
    } else {
        root.to_path_buf()
    };
    let mut candidates: Vec<(u64, PathBuf)> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("main.bicep")))
        .filter_map(|path| Some((std::fs::metadata(&path).ok()?.len(), path)))
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .map(|(_, path)| path)
        .find(|path| bicep::compile_file(path).template.is_some())
}

fn main() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&templates)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|e| e == "bicep"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    println!("bicep compile time, median of {RUNS} runs after one warm-up");
    for file in &files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        report(&format!("templates/{name}"), file);
    }
    match std::env::var_os("BICEP_BASELINES") {
        None => {
            println!("largest baseline: skipped (set BICEP_BASELINES to a snapshot of Azure/bicep)")
        }
        Some(root) => match largest_compiling_baseline(Path::new(&root)) {
            Some(path) => {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let name = path
                    .parent()
                    .and_then(Path::file_name)
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                report(&format!("baseline {name} ({} KiB)", size / 1024), &path);
            }
            None => println!("largest baseline: none of the baselines in BICEP_BASELINES compiles"),
        },
    }
}
