//! `az-cloudhsm`: the emulator's command-line tool.
//!
//! Two halves with different conventions, split at the first argument:
//! - `az-cloudhsm util ...` is the `azcloudhsm_util`-style data-plane utility
//!   (interactive shell or `singlecmd`), see [`util`];
//! - everything else follows the Azure CLI (`az`) conventions, see [`commands`].

mod commands;
mod util;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = if args.first().map(String::as_str) == Some("util") {
        util::run(&args[1..])
    } else {
        commands::run(&args)
    };
    std::process::exit(code);
}
