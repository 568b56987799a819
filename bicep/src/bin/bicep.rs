//! The `bicep` command line, thin over the library: what `az bicep` shells out to.

use bicep::emitter::json_writer::Json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "Bicep CLI (Cloud HSM emulator build)

Usage:
  bicep build <file> [--stdout | --outfile <file> | --outdir <dir>]
  bicep build-params <file.bicepparam> [--stdout | --outfile <file>]
  bicep lint <file>
  bicep format <file> [--stdout | --outfile <file>]
  bicep --version
  bicep --help
";

fn version_line() -> String {
    let commit = option_env!("BICEP_BUILD_COMMIT").unwrap_or("cloudhsm-emulator");
    format!("Bicep CLI version {} ({commit})", bicep::VERSION)
}

fn report(diagnostics: &[bicep::Diagnostic]) -> bool {
    for diagnostic in diagnostics {
        eprintln!("{}", diagnostic.render());
    }
    diagnostics.iter().any(|d| d.is_error())
}

enum Output {
    Stdout,
    File(PathBuf),
    Directory(PathBuf),
    Beside,
}

fn parse_output(arguments: &[String]) -> Result<(PathBuf, Output), String> {
    let mut file = None;
    let mut output = Output::Beside;
    let mut iter = arguments.iter();
    while let Some(argument) = iter.next() {
        match argument.as_str() {
            "--stdout" => output = Output::Stdout,
            "--outfile" => {
                output = Output::File(iter.next().ok_or("--outfile needs a file")?.into())
            }
            "--outdir" => {
                output = Output::Directory(iter.next().ok_or("--outdir needs a directory")?.into())
            }
            // Options az passes that change nothing here.
            "--no-restore" | "--diagnostics-format" => {
                if argument == "--diagnostics-format" {
                    iter.next();
                }
            }
            other if other.starts_with("--") => {
                return Err(format!("Unrecognized parameter \"{other}\""))
            }
            other => file = Some(PathBuf::from(other)),
        }
    }
    Ok((file.ok_or("The input file path was not specified")?, output))
}

fn write(text: &str, input: &Path, output: &Output, extension: &str) -> Result<(), String> {
    let target = match output {
        Output::Stdout => {
            println!("{text}");
            return Ok(());
        }
        Output::File(file) => file.clone(),
        Output::Directory(directory) => directory.join(
            input
                .with_extension(extension)
                .file_name()
                .unwrap_or_default(),
        ),
        Output::Beside => input.with_extension(extension),
    };
    std::fs::write(&target, text).map_err(|e| format!("{}: {e}", target.display()))
}

fn run(arguments: &[String]) -> Result<bool, String> {
    let Some(command) = arguments.first() else {
        print!("{HELP}");
        return Ok(true);
    };
    match command.as_str() {
        "--version" | "-v" | "version" => {
            println!("{}", version_line());
            Ok(true)
        }
        "--help" | "-h" | "help" => {
            print!("{HELP}");
            Ok(true)
        }
        "build" => {
            let (file, output) = parse_output(&arguments[1..])?;
            let compilation = bicep::compile_file(&file);
            let failed = report(&compilation.diagnostics);
            match compilation.template {
                Some(template) if !failed => write(&template, &file, &output, "json").map(|_| true),
                _ => Ok(false),
            }
        }
        "build-params" => {
            let (file, output) = parse_output(&arguments[1..])?;
            let compilation = bicep::compile_params_file(&file);
            let failed = report(&compilation.diagnostics);
            let (Some(parameters), false) = (compilation.parameters, failed) else {
                return Ok(false);
            };
            match output {
                Output::Stdout => {
                    // az reads these two keys from the JSON on stdout.
                    let mut envelope = Json::object();
                    envelope.insert("parametersJson", Json::String(parameters));
                    envelope.insert(
                        "templateJson",
                        Json::String(compilation.template.unwrap_or_default()),
                    );
                    println!("{}", envelope.to_pretty_string());
                    Ok(true)
                }
                other => write(&parameters, &file, &other, "parameters.json").map(|_| true),
            }
        }
        "lint" => {
            let file = arguments
                .get(1)
                .ok_or("The input file path was not specified")?;
            let path = Path::new(file);
            let diagnostics = if path.extension().is_some_and(|e| e == "bicepparam") {
                bicep::compile_params_file(path).diagnostics
            } else {
                bicep::compile_file(path).diagnostics
            };
            Ok(!report(&diagnostics))
        }
        "format" => {
            let (file, output) = parse_output(&arguments[1..])?;
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let formatted = bicep::formatter::format(&text);
            match output {
                // Already newline-terminated.
                Output::Stdout => print!("{formatted}"),
                // Like the official CLI, the file is formatted in place by default.
                Output::Beside => std::fs::write(&file, formatted)
                    .map_err(|e| format!("{}: {e}", file.display()))?,
                other => write(&formatted, &file, &other, "bicep")?,
            }
            Ok(true)
        }
        other => Err(format!(
            "Unrecognized command \"{other}\". Run bicep --help."
        )),
    }
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    // Compile on a thread with a roomy stack: the pipeline recurses over the syntax tree.
    let outcome = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || run(&arguments))
        .map_err(|e| e.to_string())
        .and_then(|handle| {
            handle
                .join()
                .map_err(|_| "the compiler stopped unexpectedly".to_string())
        });
    match outcome.and_then(|result| result) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}
