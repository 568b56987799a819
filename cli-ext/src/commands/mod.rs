//! The az-style control-plane commands: `az-cloudhsm <group> <command>`.
//!
//! Flow of one invocation: parse (clap, [`cli`]) → compile `--query` →
//! run the handler (the module named after the group) → render the result
//! once ([`output`]) → map any error to `ERROR: ...` and az's exit code
//! ([`error`]).

mod account;
mod backup;
mod cli;
mod clusters;
mod deployments;
pub(crate) mod error;
mod faults;
mod groups;
pub(crate) mod http;
mod identities;
mod lro;
mod output;
pub(crate) mod paths;
mod private_link;
pub(crate) mod profile;
mod roles;

use std::{
    io::{BufRead, IsTerminal, Write},
    time::Instant,
};

use clap::Parser;
use serde_json::{Map, Value};

use cli::{Cli, Command, GlobalArgs};
use error::{CliError, CliResult};
use output::{OutputFormat, TableLayout};

/// What a command hands back: a result to print (or nothing, as a
/// `--no-wait` or a delete prints nothing) and its table layout.
pub struct Outcome {
    value: Option<Value>,
    layout: Option<TableLayout>,
}

impl Outcome {
    pub fn none() -> Self {
        Self {
            value: None,
            layout: None,
        }
    }

    pub fn value(value: Value) -> Self {
        Self {
            value: Some(value),
            layout: None,
        }
    }

    pub fn table(value: Value, layout: TableLayout) -> Self {
        Self {
            value: Some(value),
            layout: Some(layout),
        }
    }

    /// A result that may be absent (a `--no-wait` start, a finished delete).
    pub fn maybe(value: Value, layout: TableLayout) -> Self {
        if value.is_null() {
            Self::none()
        } else {
            Self::table(value, layout)
        }
    }
}

/// What every handler gets: the global flags.
pub struct Ctx {
    pub global: GlobalArgs,
}

impl Ctx {
    pub async fn arm(&self) -> CliResult<http::Arm> {
        http::Arm::connect(self.global.subscription.as_deref(), self.global.debug).await
    }

    pub fn warn(&self, message: &str) {
        if !self.global.only_show_errors {
            eprintln!("WARNING: {message}");
        }
    }

    /// az's confirmation prompt; `--yes` skips it. Without a terminal to ask
    /// on, the command refuses rather than deleting unasked.
    pub fn confirm(&self, yes: bool, what: &str) -> CliResult<()> {
        if yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(CliError::usage(format!(
                "Unable to prompt for confirmation to delete {what} as no tty is available. Use --yes."
            )));
        }
        eprint!("Are you sure you want to perform this operation? (y/n): ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim().eq_ignore_ascii_case("y") || answer.trim().eq_ignore_ascii_case("yes") {
            Ok(())
        } else {
            Err(CliError::client("Operation cancelled."))
        }
    }
}

/// `--tags a=b c` → `{"a":"b","c":""}`; `--tags ""` clears them.
pub fn parse_tags(tags: &[String]) -> CliResult<Value> {
    let mut map = Map::new();
    for tag in tags.iter().filter(|t| !t.is_empty()) {
        let (key, value) = tag.split_once('=').unwrap_or((tag.as_str(), ""));
        if key.is_empty() {
            return Err(CliError::usage(format!(
                "argument --tags: invalid tag '{tag}': a tag needs a name (key[=value])"
            )));
        }
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
    Ok(Value::Object(map))
}

pub fn run(args: &[String]) -> i32 {
    let started = Instant::now();
    let cli = match Cli::try_parse_from(
        std::iter::once("az-cloudhsm".to_string()).chain(args.iter().cloned()),
    ) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let verbose = cli.global.verbose || cli.global.debug;
    let code = match execute(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ERROR: {e}");
            e.exit_code()
        }
    };
    if verbose {
        eprintln!(
            "INFO: Command ran in {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
    }
    code
}

/// Help goes to stdout with 0; anything else clap rejects is az's usage
/// error: `ERROR: ...` on stderr, exit 2.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            output::print(&e.render().to_string());
            0
        }
        _ => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            eprint!("ERROR: {text}");
            2
        }
    }
}

fn execute(cli: Cli) -> CliResult<()> {
    let format = OutputFormat::resolve(cli.global.output)?;
    // A bad query is a usage error found before anything is sent.
    let query = cli
        .global
        .query
        .as_deref()
        .map(output::compile_query)
        .transpose()?;
    let ctx = Ctx { global: cli.global };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(dispatch(&ctx, cli.command))?;
    if let Some(value) = outcome.value {
        output::print(&output::render(
            &value,
            format,
            query.as_ref(),
            outcome.layout,
        )?);
    }
    Ok(())
}

async fn dispatch(ctx: &Ctx, command: Command) -> CliResult<Outcome> {
    match command {
        Command::Login(args) => account::login(ctx, args).await,
        Command::Logout => account::logout(ctx),
        Command::Account(c) => account::run(ctx, c).await,
        Command::Group(c) => groups::run(ctx, c).await,
        Command::Identity(c) => identities::run(ctx, c).await,
        Command::Cloudhsm(c) => clusters::run(ctx, c).await,
        Command::Role(cli::RoleCommand::Assignment(c)) => roles::run(ctx, c).await,
        Command::Deployment(c) => deployments::run(ctx, c).await,
        Command::Emulator(cli::EmulatorCommand::Fault(c)) => faults::run(ctx, c).await,
    }
}
