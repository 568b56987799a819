//! Runs the real `az-cloudhsm` binary against a real emulator (started by
//! the shared e2e support crate), with a config folder of its own so no
//! test sees another's login.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use cloudhsm_e2e_tests::Emulator;
use serde_json::Value;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Parses stdout as JSON (asserting success).
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts the command succeeded.
    pub fn expect_ok(&self) {
        assert_eq!(self.code, 0, "command failed: {self:?}");
    }

    /// Asserts az's error shape: non-zero `code`, `ERROR: ` + `text` on stderr, nothing on stdout.
    pub fn expect_error(&self, code: i32, text: &str) {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stderr.starts_with("ERROR: "), "{self:?}");
        assert!(self.stderr.contains(text), "expected {text:?} in: {self:?}");
        assert!(self.stdout.is_empty(), "{self:?}");
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub struct Cli {
    pub emulator: Emulator,
    config: tempfile::TempDir,
}

impl Cli {
    /// A fresh emulator, and a CLI not yet logged in.
    pub async fn start() -> Self {
        Self::start_with(&["--provisioning-delay", "200ms"]).await
    }

    pub async fn start_with(args: &[&str]) -> Self {
        let emulator = Emulator::start_with(args).await;
        Self {
            emulator,
            config: tempfile::tempdir().expect("config dir"),
        }
    }

    /// A fresh emulator and a logged-in CLI.
    pub async fn logged_in() -> Self {
        let cli = Self::start().await;
        cli.login();
        cli
    }

    pub fn endpoints_file(&self) -> PathBuf {
        self.emulator.data_dir().join("endpoints.json")
    }

    pub fn config_dir(&self) -> &Path {
        self.config.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_az-cloudhsm"));
        command
            .args(args)
            .env("AZURE_CONFIG_DIR", self.config.path())
            .env_remove("AZURE_CORE_OUTPUT")
            .env_remove("CLOUDHSM_EMULATOR_ENDPOINTS")
            .stdin(Stdio::null());
        command
    }

    pub fn run_with(&self, mut command: Command) -> Run {
        let output = command.output().expect("running az-cloudhsm");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(self.command(args))
    }

    /// Runs a command that must succeed and print JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        self.run(args).json()
    }

    /// Runs a command that must succeed and print nothing.
    pub fn quiet(&self, args: &[&str]) {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
    }

    pub fn login(&self) {
        let endpoints = self.endpoints_file();
        let run = self.run(&[
            "login",
            "--endpoints",
            endpoints.to_str().expect("utf-8 path"),
            "--only-show-errors",
        ]);
        assert_eq!(run.code, 0, "{run:?}");
    }

    /// The cached access token (to check it never leaks).
    pub fn cached_token(&self) -> String {
        let text = std::fs::read_to_string(self.config.path().join("cloudhsmEmulatorTokens.json"))
            .expect("token cache");
        let v: Value = serde_json::from_str(&text).expect("token cache is JSON");
        v["accessToken"].as_str().expect("accessToken").to_string()
    }
}
