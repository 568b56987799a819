//! `az-cloudhsm util` end to end: the real binary against the real
//! emulator, as an administrator drives it — singlecmd chains, an
//! interactive session on stdin, environment credentials, refusals that
//! change nothing, and failover through a stopped HSM.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use cloudhsm_e2e_tests::Emulator;
use serde_json::Value;

const OFFICER_PASSWORD: &str = "officer-pass-1";

/// One emulator with an activated cluster, a crypto user `cu1`, and a
/// client configuration file written by the utility itself.
struct Fixture {
    emulator: Emulator,
    cluster: Value,
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
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

impl Run {
    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }

    /// The number after `label` in the output (`Key Handle: 7`).
    #[track_caller]
    fn number_after(&self, label: &str) -> u64 {
        let at = self.stdout.find(label).unwrap_or_else(|| panic!("no '{label}' in {self:?}"));
        self.stdout[at + label.len()..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after '{label}' in {self:?}"))
    }

    /// The handles findKey printed.
    #[track_caller]
    fn found(&self) -> Vec<u64> {
        let at = self
            .stdout
            .find("matched from start index 0::")
            .unwrap_or_else(|| panic!("not findKey output: {self:?}"));
        let line = self.stdout[at..].lines().nth(1).unwrap_or_default();
        line.split(", ")
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().expect("handle"))
            .collect()
    }
}

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_az-cloudhsm"));
    // The caller's environment must not log the tests in.
    command
        .env_remove("azcloudhsm_password")
        .env_remove("azcloudhsm_user_type")
        .env_remove("AZCLOUDHSM_CLIENT_CONFIG");
    command
}

impl Fixture {
    async fn start() -> Self {
        let emulator = Emulator::start().await;
        emulator.put_group("rg").await;
        let cluster = emulator.create_cluster("rg", "chsm1").await;
        let fixture = Self {
            emulator,
            cluster,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        // Found through the control plane, saved as a client configuration.
        fixture
            .by_name(&["singlecmd", "saveConfig", "-out"])
            .arg(fixture.config())
            .output()
            .map(Run::from)
            .expect("runs")
            .ok();
        // Activation (the pre-crypto-officer changes its password), then
        // the officer creates the crypto user.
        fixture
            .util(&[
                "loginHSM", "-u", "PRECO", "-s", "admin", "-p", "password", "changePswd", "PRECO",
                "admin", OFFICER_PASSWORD,
            ])
            .ok();
        fixture
            .util(&[
                "loginHSM", "-u", "CO", "-s", "admin", "-p", OFFICER_PASSWORD, "createUser", "CU",
                "cu1", "user1234",
            ])
            .ok();
        fixture
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("azcloudhsm_client.json")
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `util --endpoints ... -g rg -n chsm1 <args>`.
    fn by_name(&self, args: &[&str]) -> Command {
        let mut command = binary();
        command
            .arg("util")
            .arg("--endpoints")
            .arg(self.emulator.data_dir().join("endpoints.json"))
            .args(["-g", "rg", "-n", "chsm1"])
            .args(args);
        command
    }

    fn command(&self) -> Command {
        let mut command = binary();
        command.arg("util").arg("--config").arg(self.config());
        command
    }

    fn util(&self, chain: &[&str]) -> Run {
        self.command()
            .arg("singlecmd")
            .args(chain)
            .output()
            .expect("runs")
            .into()
    }

    /// As `cu1` with its credentials in the environment.
    fn as_cu1(&self, chain: &[&str]) -> Run {
        self.command()
            .env("azcloudhsm_password", "cu1:user1234")
            .arg("singlecmd")
            .args(chain)
            .output()
            .expect("runs")
            .into()
    }

    fn interactive(&self, script: &str) -> Run {
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("script written");
        child.wait_with_output().expect("ends").into()
    }
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The DER inside a PEM public key file.
fn pem_der(path: &str) -> Vec<u8> {
    let text = String::from_utf8(read(path)).expect("PEM is text");
    assert!(text.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{text}");
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    B64.decode(body).expect("PEM base64")
}

#[tokio::test]
async fn walkthrough_create_user_generate_key_sign() {
    let f = Fixture::start().await;
    let users = f
        .util(&["loginHSM", "-u", "CO", "-s", "admin", "-p", OFFICER_PASSWORD, "listUsers"])
        .ok();
    assert!(users.stdout.contains("CU          cu1"), "{users:?}");
    assert!(users.stdout.contains("CO          admin"), "{users:?}");

    // The seed's own command line.
    let login = f
        .util(&["loginHSM", "-u", "CU", "-s", "cu1", "-p", "user1234", "findKey"])
        .ok();
    assert!(login.stdout.contains("Cfm3LoginHSM returned: 0x00 : HSM Return: SUCCESS"));
    assert!(login.stdout.contains("Command:  loginHSM -u CU -s cu1 -p ********"), "{login:?}");
    assert!(!login.stdout.contains("user1234"), "password echoed: {login:?}");
    assert!(login.stderr.contains("WARNING: a password on the command line"), "{login:?}");
    assert_eq!(login.found(), Vec::<u64>::new());

    let pair = f
        .as_cu1(&["genRSAKeyPair", "-m", "2048", "-e", "65537", "-l", "signing"])
        .ok();
    assert!(pair.stdout.contains("Cfm3GenerateKeyPair returned: 0x00 : HSM Return: SUCCESS"));
    let public = pair.number_after("public key handle:");
    let private = pair.number_after("private key handle:");

    let message = f.file("message.txt");
    std::fs::write(&message, b"pay 100 to alice").unwrap();
    let signature = f.file("message.sig");
    let pem = f.file("public.pem");
    f.as_cu1(&[
        "sign", "-f", &message, "-k", &private.to_string(), "-m", "1", "-out", &signature,
    ])
    .ok();
    let verified = f
        .as_cu1(&["verify", "-f", &message, "-s", &signature, "-k", &public.to_string(), "-m", "1"])
        .ok();
    assert!(verified.stdout.contains("Signature verification successful"));
    f.as_cu1(&["exportPubKey", "-k", &public.to_string(), "-out", &pem])
        .ok();

    // Outside the HSM: the exported public key checks the signature.
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        pem_der(&pem),
    )
    .verify(&read(&message), &read(&signature))
    .expect("signature verifies with the exported key");

    // A tampered message does not verify: exit 1, the HSM's code.
    std::fs::write(&message, b"pay 900 to alice").unwrap();
    let refused = f.as_cu1(&[
        "verify", "-f", &message, "-s", &signature, "-k", &public.to_string(), "-m", "1",
    ]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stdout.contains("Cfm3Verify returned: 0xc0 : HSM Error: CKR_SIGNATURE_INVALID"));
    assert!(refused.stderr.contains("ERROR: CKR_SIGNATURE_INVALID"), "{refused:?}");

    let found = f.as_cu1(&["findKey", "-l", "signing"]).ok();
    assert_eq!(found.found(), vec![public, private]);
    let private_only = f.as_cu1(&["findKey", "-l", "signing", "-c", "3"]).ok();
    assert_eq!(private_only.found(), vec![private]);
}
