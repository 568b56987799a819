//! The two ways to run commands: the interactive shell (`Command:` prompt,
//! one command per line, until `exit`) and `singlecmd` (a chain of
//! commands from the process arguments, stopping at the first failure).

use std::io::{IsTerminal, Write};

use super::{
    args::{self, Spec},
    context::Ctx,
    registry::{self, Command},
    UtilError,
};

pub fn top_level_help() -> String {
    let mut text = String::from(
        "az-cloudhsm util: the azcloudhsm_util-style utility for a Cloud HSM cluster's HSMs\n\n\
         Usage:\n    az-cloudhsm util [options]                         interactive shell\n    \
         az-cloudhsm util [options] singlecmd <command...>  run a command, or a chain of commands\n\n\
         Options (where the cluster is):\n    \
         --config <file>          client configuration (default: $AZCLOUDHSM_CLIENT_CONFIG, then ./azcloudhsm_client.json)\n    \
         --endpoints <file>       the emulator's endpoints.json, to look the cluster up with -g/-n\n    \
         -g, --resource-group <g> -n, --name <cluster>\n    \
         --data-plane <file>      data-plane.json (default: next to endpoints.json)\n\n\
         Credentials: azcloudhsm_password=\"user:password\" (and azcloudhsm_user_type, default CU)\n\
         log in without a password on the command line.\n\nCommands:\n",
    );
    for command in registry::COMMANDS {
        text.push_str(&format!(
            "    {:<18} {}\n",
            command.spec.name, command.spec.summary
        ));
    }
    text.push_str(
        "\n'<command> -h' shows a command's flags. Example:\n    \
         az-cloudhsm util singlecmd loginHSM -u CU -s cu1 -p user1234 findKey\n",
    );
    text
}

fn is_command(token: &str) -> bool {
    registry::find(token).is_some()
}

fn unknown(name: &str) -> UtilError {
    UtilError::Usage(match registry::suggest(name) {
        Some(right) => format!("unknown command '{name}'; did you mean '{right}'?"),
        None => format!("unknown command '{name}' (type 'help' for the list)"),
    })
}

/// Runs one parsed command and prints its outcome; the exit code.
fn execute(ctx: &mut Ctx, command: &Command, parsed: &args::Parsed) -> i32 {
    if parsed.help {
        print!("{}", command.spec.usage());
        return 0;
    }
    match (command.run)(ctx, parsed) {
        Ok(()) => 0,
        Err(e) => {
            e.report();
            e.exit_code()
        }
    }
}

/// The command line as echoed after `Command:`, passwords masked.
fn echo(spec: &Spec, tokens: &[String]) -> String {
    let mut shown = vec![spec.name.to_string()];
    let mut positional = 0;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        shown.push(token.clone());
        if let Some(flag) = spec.flags.iter().find(|f| f.name == token) {
            if let Some(value) = flag.value {
                if let Some(next) = tokens.get(i + 1) {
                    shown.push(if value.contains("password") {
                        "********".into()
                    } else {
                        next.clone()
                    });
                }
                i += 1;
            }
        } else {
            if spec
                .positionals
                .get(positional)
                .is_some_and(|p| p.contains("password"))
            {
                shown.pop();
                shown.push("********".into());
            }
            positional += 1;
        }
        i += 1;
    }
    shown.join(" ")
}

/// `singlecmd`: the chain runs in order; the first failure ends it (a
/// command after a failed login must not run as someone else).
pub fn singlecmd(ctx: &mut Ctx, tokens: &[String]) -> i32 {
    if tokens.is_empty() {
        let e =
            UtilError::Usage("singlecmd needs a command, e.g. 'singlecmd listAttributes'".into());
        e.report();
        return e.exit_code();
    }
    if tokens[0] == "help" {
        return help(tokens.get(1).map(String::as_str));
    }
    let mut i = 0;
    while i < tokens.len() {
        let name = &tokens[i];
        let Some(command) = registry::find(name) else {
            let e = unknown(name);
            e.report();
            return e.exit_code();
        };
        let rest = &tokens[i + 1..];
        let (parsed, used) = match args::parse(&command.spec, rest, &is_command) {
            Ok(parsed) => parsed,
            Err(e) => {
                e.report();
                return e.exit_code();
            }
        };
        println!("Command:  {}", echo(&command.spec, &rest[..used]));
        let code = execute(ctx, command, &parsed);
        println!();
        if code != 0 {
            return code;
        }
        i += 1 + used;
    }
    0
}

/// The interactive shell. Reads commands from stdin until `exit`, `quit`
/// or end of input; when stdin is not a terminal (a script piped in) each
/// command is echoed after the prompt so the transcript reads like a
/// session. The exit code is the last command's, as a shell's.
pub fn interactive(ctx: &mut Ctx) -> i32 {
    let stdin = std::io::stdin();
    let echo_input = !stdin.is_terminal();
    let mut last = 0;
    loop {
        print!("Command:  ");
        let _ = std::io::stdout().flush();
        // One line at a time, without holding stdin: a command may read
        // its own confirmation line (the -2fa exchange).
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => {
                println!();
                break;
            }
            Ok(_) => {}
        }
        let words = match args::split_line(&line) {
            Ok(words) => words,
            Err(e) => {
                e.report();
                last = e.exit_code();
                continue;
            }
        };
        let Some(name) = words.first() else {
            if echo_input {
                println!();
            }
            continue;
        };
        if echo_input {
            match registry::find(name) {
                Some(command) => println!("{}", echo(&command.spec, &words[1..])),
                None => println!("{name}"),
            }
        }
        last = match name.as_str() {
            "exit" | "quit" => break,
            "help" => help(words.get(1).map(String::as_str)),
            _ => match registry::find(name) {
                None => {
                    let e = unknown(name);
                    e.report();
                    e.exit_code()
                }
                Some(command) => match args::parse(&command.spec, &words[1..], &|_| false) {
                    Ok((parsed, _)) => execute(ctx, command, &parsed),
                    Err(e) => {
                        e.report();
                        e.exit_code()
                    }
                },
            },
        };
        println!();
    }
    last
}

fn help(command: Option<&str>) -> i32 {
    match command {
        None => {
            print!("{}", top_level_help());
            0
        }
        Some(name) => match registry::find(name) {
            Some(command) => {
                print!("{}", command.spec.usage());
                0
            }
            None => {
                let e = unknown(name);
                e.report();
                e.exit_code()
            }
        },
    }
}
