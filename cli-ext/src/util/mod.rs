//! The azcloudhsm_util-style data-plane utility: `az-cloudhsm util` starts
//! an interactive shell (`Command:` prompt); `az-cloudhsm util singlecmd
//! <command...>` runs one command, or a chain such as
//! `loginHSM -u CU -s cu1 -p user1234 findKey`, in one invocation.
//!
//! Every HSM call goes through the data-plane client
//! ([`cloudhsm_data_plane::client::HsmClient`]), which fails over between
//! the cluster's HSMs and logs in again after a node replacement.

mod args;
mod attributes;
mod context;
mod crypto;
mod info;
mod keys;
mod locate;
mod output;
mod partition;
mod pem;
mod quorum;
mod registry;
mod shell;
mod two_factor;
mod users;
mod wrap;

use cloudhsm_data_plane::client::ClientError;

/// Exit codes: 0 success, 1 an HSM refused or failed a command, 2 a usage
/// error (unknown command or flag, bad value), 3 the cluster could not be
/// found or reached from its configuration, 4 a local file could not be
/// read or written.
#[derive(Debug)]
pub enum UtilError {
    Usage(String),
    Hsm {
        call: &'static str,
        error: ClientError,
    },
    Config(String),
    File(String),
    /// A command that needs a login, with no login and no credentials in
    /// the environment.
    NotLoggedIn,
}

impl UtilError {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Hsm { .. } | Self::NotLoggedIn => 1,
            Self::Usage(_) => 2,
            Self::Config(_) => 3,
            Self::File(_) => 4,
        }
    }

    /// Prints the error once, in the shape its kind calls for.
    pub fn report(&self) {
        match self {
            Self::Hsm { call, error } => output::failure(call, error),
            Self::Usage(message) => eprintln!("ERROR: {message}"),
            Self::Config(message) => eprintln!("ERROR: cluster configuration: {message}"),
            Self::File(message) => eprintln!("ERROR: {message}"),
            Self::NotLoggedIn => eprintln!(
                "ERROR: CKR_USER_NOT_LOGGED_IN: not logged in: run loginHSM first, \
                 or set azcloudhsm_password=\"user:password\""
            ),
        }
    }
}

pub fn run(args: &[String]) -> i32 {
    let (options, rest) = match locate::Options::parse(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            e.report();
            return e.exit_code();
        }
    };
    let mut ctx = match context::Ctx::new(options) {
        Ok(ctx) => ctx,
        Err(e) => {
            e.report();
            return e.exit_code();
        }
    };
    match rest.first().map(String::as_str) {
        None => shell::interactive(&mut ctx),
        Some("singlecmd") => shell::singlecmd(&mut ctx, &rest[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{}", shell::top_level_help());
            0
        }
        Some(other) => {
            let e = UtilError::Usage(format!(
                "'{other}': run 'az-cloudhsm util' for the interactive shell or \
                 'az-cloudhsm util singlecmd <command>' (see 'az-cloudhsm util --help')"
            ));
            e.report();
            e.exit_code()
        }
    }
}
