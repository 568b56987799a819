//! `az-cloudhsm util` end to end: the real binary against the real
//! emulator, as an administrator drives it — singlecmd chains, an
//! interactive session on stdin, environment credentials, refusals that
//! change nothing, and failover through a stopped HSM.

use std::{
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use cloudhsm_data_plane::{
    client::TwoFactorKey,
    engine::{quorum::Token, two_factor::AuthData},
    onboarding::PartitionOwner,
};
use cloudhsm_e2e_tests::Emulator;
use serde_json::Value;

const OFFICER_PASSWORD: &str = "officer-pass-1";

/// One emulator with an activated cluster, a crypto user `cu1`, and a
/// client configuration file written by the utility itself.
struct Fixture {
    emulator: Emulator,
    cluster: Value,
    dir: tempfile::TempDir,
    /// PO.key and PO.crt, once activated.
    owner: Option<PartitionOwner>,
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
        let at = self
            .stdout
            .find(label)
            .unwrap_or_else(|| panic!("no '{label}' in {self:?}"));
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
    /// A provisioned cluster, not yet activated, and its client
    /// configuration written by the utility from the control plane.
    async fn provisioned() -> Self {
        let emulator = Emulator::start().await;
        emulator.put_group("rg").await;
        let cluster = emulator.create_cluster("rg", "chsm1").await;
        let fixture = Self {
            emulator,
            cluster,
            dir: tempfile::tempdir().expect("temp dir"),
            owner: None,
        };
        fixture
            .by_name(&["singlecmd", "saveConfig", "-out"])
            .arg(fixture.config())
            .output()
            .map(Run::from)
            .expect("runs")
            .ok();
        fixture
    }

    /// The onboarding flow through the utility: the partition's CSR out,
    /// the owner signs it (as OpenSSL would, offline), PO.crt and the POAC
    /// in, then the pre-crypto-officer's new password activates.
    fn activate(&mut self) {
        let (csr, po, poac) = (
            self.file("partition.csr"),
            self.file("PO.crt"),
            self.file("POAC.crt"),
        );
        self.util(&[
            "loginHSM",
            "-u",
            "PRECO",
            "-s",
            "admin",
            "-p",
            "password",
            "getCertReq",
            "-f",
            &csr,
        ])
        .ok();
        let owner = PartitionOwner::generate().expect("PO key");
        std::fs::write(&po, owner.certificate_pem()).unwrap();
        let csr_pem = String::from_utf8(read(&csr)).unwrap();
        std::fs::write(&poac, owner.sign_csr(&csr_pem).expect("POAC")).unwrap();
        self.util(&[
            "loginHSM",
            "-u",
            "PRECO",
            "-s",
            "admin",
            "-p",
            "password",
            "storeCert",
            "-fPath",
            &po,
            "-type",
            "4",
            "storeCert",
            "-fPath",
            &poac,
            "-type",
            "8",
            "changePswd",
            "PRECO",
            "admin",
            OFFICER_PASSWORD,
        ])
        .ok();
        self.owner = Some(owner);
    }

    /// Activated, with the crypto user `cu1`.
    async fn start() -> Self {
        let mut fixture = Self::provisioned().await;
        fixture.activate();
        fixture
            .as_admin(&["createUser", "CU", "cu1", "user1234"])
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

    /// `singlecmd` after `loginHSM` as the officer `admin`.
    fn as_admin(&self, chain: &[&str]) -> Run {
        let mut args = vec![
            "loginHSM",
            "-u",
            "CO",
            "-s",
            "admin",
            "-p",
            OFFICER_PASSWORD,
        ];
        args.extend_from_slice(chain);
        self.util(&args)
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

    /// `encrypt` as cu1, which must succeed.
    #[track_caller]
    fn encrypt(&self, key: &str, mechanism: &str, plain: &str, sealed: &str) {
        self.as_cu1(&[
            "encrypt", "-k", key, "-m", mechanism, "-f", plain, "-out", sealed,
        ])
        .ok();
    }

    /// `decrypt` as cu1, which must succeed and give `expected`'s bytes back.
    #[track_caller]
    fn decrypt_expecting(
        &self,
        key: &str,
        mechanism: &str,
        sealed: &str,
        opened: &str,
        expected: &str,
    ) {
        self.as_cu1(&[
            "decrypt", "-k", key, "-m", mechanism, "-f", sealed, "-out", opened,
        ])
        .ok();
        assert_eq!(read(opened), read(expected));
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

/// An interactive utility process driven line by line.
struct Session {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    /// Everything read so far.
    transcript: String,
}

impl Session {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
            transcript: String::new(),
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("written");
    }

    /// Output up to and including the line with `marker`.
    #[track_caller]
    fn until(&mut self, marker: &str) -> String {
        let mut seen = String::new();
        while !seen.contains(marker) {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).expect("reads");
            assert!(n > 0, "ended before {marker:?}: {seen}");
            seen.push_str(&line);
        }
        self.transcript.push_str(&seen);
        seen
    }

    /// Answers a -2fa exchange: waits for the authdata, signs it with
    /// `key` (adding the public key when asked), confirms.
    #[track_caller]
    fn sign_authdata(&mut self, path: &str, key: &TwoFactorKey) {
        let prompt = self.until("then press Enter");
        let request: AuthData = serde_json::from_slice(&read(path)).expect("authdata JSON");
        assert!(!request.data.is_empty(), "no digests: {prompt}");
        let signed = if prompt.contains("PublicKey") {
            key.sign_authdata_with_key(&request)
        } else {
            key.sign_authdata(&request)
        }
        .expect("signed");
        std::fs::write(path, serde_json::to_vec_pretty(&signed).unwrap()).unwrap();
        self.send("");
    }

    /// Closes stdin; the whole output and the exit code.
    fn finish(self) -> Run {
        let Self {
            child,
            stdin,
            mut stdout,
            mut transcript,
        } = self;
        drop(stdin);
        std::io::Read::read_to_string(&mut stdout, &mut transcript).expect("reads");
        let mut run: Run = child.wait_with_output().expect("ends").into();
        run.stdout = transcript;
        run
    }
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The DER inside a PEM public key file.
fn pem_der(path: &str) -> Vec<u8> {
    let text = String::from_utf8(read(path)).expect("PEM is text");
    assert!(text.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{text}");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(body).expect("PEM base64")
}

#[tokio::test]
async fn walkthrough_create_user_generate_key_sign() {
    let f = Fixture::start().await;
    // saveConfig names the emulator's socket on this machine (the PKCS#11
    // module's frames go there), as data-plane.json has it.
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.config()).expect("saved configuration"))
            .expect("JSON");
    assert_eq!(
        saved["localSocket"].as_str().map(std::path::PathBuf::from),
        Some(f.emulator.data_dir().join("data-plane.sock")),
        "{saved}"
    );
    let users = f.as_admin(&["listUsers"]).ok();
    assert!(users.stdout.contains("CU          cu1"), "{users:?}");
    assert!(users.stdout.contains("CO          admin"), "{users:?}");

    // The seed's own command line.
    let login = f
        .util(&[
            "loginHSM", "-u", "CU", "-s", "cu1", "-p", "user1234", "findKey",
        ])
        .ok();
    assert!(login
        .stdout
        .contains("Cfm3LoginHSM returned: 0x00 : HSM Return: SUCCESS"));
    assert!(
        login
            .stdout
            .contains("Command:  loginHSM -u CU -s cu1 -p ********"),
        "{login:?}"
    );
    assert!(
        !login.stdout.contains("user1234"),
        "password echoed: {login:?}"
    );
    assert!(
        login
            .stderr
            .contains("WARNING: a password on the command line"),
        "{login:?}"
    );
    assert_eq!(login.found(), Vec::<u64>::new());

    let pair = f
        .as_cu1(&[
            "genRSAKeyPair",
            "-m",
            "2048",
            "-e",
            "65537",
            "-l",
            "signing",
        ])
        .ok();
    assert!(pair
        .stdout
        .contains("Cfm3GenerateKeyPair returned: 0x00 : HSM Return: SUCCESS"));
    let public = pair.number_after("public key handle:");
    let private = pair.number_after("private key handle:");
    // The README's walkthrough shows these handles: the cluster's first key.
    assert_eq!((public, private), (1, 2), "{pair:?}");

    let message = f.file("message.txt");
    std::fs::write(&message, b"pay 100 to alice").unwrap();
    let signature = f.file("message.sig");
    let pem = f.file("public.pem");
    f.as_cu1(&[
        "sign",
        "-f",
        &message,
        "-k",
        &private.to_string(),
        "-m",
        "1",
        "-out",
        &signature,
    ])
    .ok();
    let verified = f
        .as_cu1(&[
            "verify",
            "-f",
            &message,
            "-s",
            &signature,
            "-k",
            &public.to_string(),
            "-m",
            "1",
        ])
        .ok();
    assert!(verified
        .stdout
        .contains("Signature verification successful"));
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
        "verify",
        "-f",
        &message,
        "-s",
        &signature,
        "-k",
        &public.to_string(),
        "-m",
        "1",
    ]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused
        .stdout
        .contains("Cfm3Verify returned: 0xc0 : HSM Error: CKR_SIGNATURE_INVALID"));
    assert!(
        refused.stderr.contains("ERROR: CKR_SIGNATURE_INVALID"),
        "{refused:?}"
    );

    let found = f.as_cu1(&["findKey", "-l", "signing"]).ok();
    assert_eq!(found.found(), vec![public, private]);
    let private_only = f.as_cu1(&["findKey", "-l", "signing", "-c", "3"]).ok();
    assert_eq!(private_only.found(), vec![private]);
}

#[tokio::test]
async fn every_key_command_through_singlecmd() {
    let f = Fixture::start().await;
    f.as_admin(&["createUser", "-u", "CU", "-s", "cu2", "-p", "user5678"])
        .ok();

    // AES: encrypt and decrypt a file.
    let aes = f
        .as_cu1(&[
            "genSymKey",
            "-t",
            "31",
            "-s",
            "32",
            "-l",
            "data-key",
            "-id",
            "k1",
        ])
        .ok();
    assert!(aes
        .stdout
        .contains("Cfm3GenerateSymmetricKey returned: 0x00 : HSM Return: SUCCESS"));
    let aes = aes.number_after("Key Handle:").to_string();
    let (plain, sealed, opened) = (f.file("plain"), f.file("sealed"), f.file("opened"));
    std::fs::write(&plain, b"card 4111 1111 1111 1111").unwrap();
    for mechanism in ["AES_GCM", "AES_CBC_PAD"] {
        f.encrypt(&aes, mechanism, &plain, &sealed);
        assert_ne!(read(&sealed), read(&plain));
        f.decrypt_expecting(&aes, mechanism, &sealed, &opened, &plain);
    }

    // Attributes: read all to a file, change the label, find by it.
    let attributes = f.file("attributes.txt");
    f.as_cu1(&["getAttribute", "-o", &aes, "-a", "512", "-out", &attributes])
        .ok();
    let text = String::from_utf8(read(&attributes)).unwrap();
    for expected in [
        "OBJ_ATTR_CLASS\n0x04\n",
        "OBJ_ATTR_KEY_TYPE\n0x1f\n",
        "OBJ_ATTR_LABEL\ndata-key\n",
        "OBJ_ATTR_ID\nk1\n",
        "OBJ_ATTR_EXTRACTABLE\n0x01\n",
        "OBJ_ATTR_VALUE_LEN\n0x00000020\n",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    assert!(!text.contains("OBJ_ATTR_MODULUS_BITS"), "{text}");
    f.as_cu1(&["setAttribute", "-o", &aes, "-a", "3", "-v", "renamed"])
        .ok();
    let label = f.as_cu1(&["getAttribute", "-o", &aes, "-a", "3"]).ok();
    assert!(
        label.stdout.contains("OBJ_ATTR_LABEL\nrenamed"),
        "{label:?}"
    );
    assert_eq!(
        f.as_cu1(&["findKey", "-l", "renamed"]).ok().found(),
        vec![aes.parse::<u64>().unwrap()]
    );
    assert!(f
        .as_cu1(&["findKey", "-l", "data-key"])
        .ok()
        .found()
        .is_empty());
    let list = f.util(&["listAttributes"]).ok();
    assert!(
        list.stdout.contains("OBJ_ATTR_LABEL                 = 3"),
        "{list:?}"
    );

    // Wrap under a key-encryption key, unwrap a copy: the copy opens what
    // the original sealed.
    let kek = f
        .as_cu1(&["genSymKey", "-t", "31", "-s", "32", "-l", "kek"])
        .ok()
        .number_after("Key Handle:")
        .to_string();
    let wrapped = f.file("wrapped.key");
    let wrap = f
        .as_cu1(&["wrapKey", "-k", &aes, "-w", &kek, "-out", &wrapped])
        .ok();
    assert!(wrap.stdout.contains("length 40"), "{wrap:?}");
    f.encrypt(&aes, "AES_GCM", &plain, &sealed);
    let copy = f
        .as_cu1(&["unWrapKey", "-f", &wrapped, "-w", &kek, "-l", "copy"])
        .ok()
        .number_after("Key Handle:")
        .to_string();
    f.decrypt_expecting(&copy, "AES_GCM", &sealed, &opened, &plain);
    // A non-extractable key never leaves.
    let fixed = f
        .as_cu1(&["genSymKey", "-t", "31", "-s", "16", "-l", "fixed", "-nex"])
        .ok()
        .number_after("Key Handle:")
        .to_string();
    let refused = f.as_cu1(&["wrapKey", "-k", &fixed, "-w", &kek, "-out", &wrapped]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("CKR_KEY_UNEXTRACTABLE"),
        "{refused:?}"
    );

    // EC: sign with -m 17, the PEM key verifies it outside the HSM.
    let pair = f.as_cu1(&["genECCKeyPair", "-i", "2", "-l", "ec"]).ok();
    let (public, private) = (
        pair.number_after("public key handle:").to_string(),
        pair.number_after("private key handle:").to_string(),
    );
    let (signature, pem) = (f.file("ec.sig"), f.file("ec.pem"));
    f.as_cu1(&[
        "sign", "-f", &plain, "-k", &private, "-m", "17", "-out", &signature,
    ])
    .ok();
    f.as_cu1(&["exportPubKey", "-k", &public, "-out", &pem])
        .ok();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
        pem_der(&pem),
    )
    .verify(&read(&plain), &read(&signature))
    .expect("ECDSA signature verifies with the exported key");
    let secp = f
        .as_cu1(&["genECCKeyPair", "-i", "16", "-l", "k1-curve"])
        .ok();
    let secp_pem = f.file("secp.pem");
    f.as_cu1(&[
        "exportPubKey",
        "-k",
        &secp.number_after("public key handle:").to_string(),
        "-out",
        &secp_pem,
    ])
    .ok();
    // The curve's OID (1.3.132.0.10) is in the SubjectPublicKeyInfo.
    assert!(
        pem_der(&secp_pem)
            .windows(7)
            .any(|w| w == [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]),
        "secp256k1 OID missing"
    );

    // RSA-OAEP and HMAC.
    let rsa = f
        .as_cu1(&["genRSAKeyPair", "-m", "2048", "-e", "65537", "-l", "oaep"])
        .ok();
    let (rsa_public, rsa_private) = (
        rsa.number_after("public key handle:").to_string(),
        rsa.number_after("private key handle:").to_string(),
    );
    f.encrypt(&rsa_public, "RSA_OAEP", &plain, &sealed);
    f.decrypt_expecting(&rsa_private, "RSA_OAEP", &sealed, &opened, &plain);

    // importPubKey: the exported PEMs come back as public keys that work.
    let rsa_pem = f.file("rsa.pem");
    f.as_cu1(&["exportPubKey", "-k", &rsa_public, "-out", &rsa_pem])
        .ok();
    let imported_rsa = f
        .as_cu1(&["importPubKey", "-f", &rsa_pem, "-l", "partner-rsa"])
        .ok()
        .number_after("Public Key Handle:")
        .to_string();
    f.encrypt(&imported_rsa, "RSA_OAEP", &plain, &sealed);
    f.decrypt_expecting(&rsa_private, "RSA_OAEP", &sealed, &opened, &plain);
    let imported_ec = f
        .as_cu1(&["importPubKey", "-f", &pem, "-l", "partner-ec"])
        .ok()
        .number_after("Public Key Handle:")
        .to_string();
    f.as_cu1(&[
        "verify",
        "-f",
        &plain,
        "-s",
        &signature,
        "-k",
        &imported_ec,
        "-m",
        "17",
    ])
    .ok();
    let attrs = f
        .as_cu1(&["getAttribute", "-o", &imported_ec, "-a", "512"])
        .ok();
    assert!(attrs.stdout.contains("OBJ_ATTR_CLASS\n0x02\n"), "{attrs:?}");
    assert!(attrs.stdout.contains("OBJ_ATTR_LOCAL\n0x00\n"), "{attrs:?}");
    assert!(
        attrs.stdout.contains("OBJ_ATTR_LABEL\npartner-ec\n"),
        "{attrs:?}"
    );
    let before = f.as_cu1(&["findKey"]).ok().found();
    let not_pem = f.as_cu1(&["importPubKey", "-f", &plain, "-l", "junk"]);
    assert_eq!(not_pem.code, 4, "{not_pem:?}");
    assert!(
        not_pem.stderr.contains("not a PEM public key"),
        "{not_pem:?}"
    );
    assert_eq!(f.as_cu1(&["findKey"]).ok().found(), before);

    let hmac = f
        .as_cu1(&["genSymKey", "-t", "16", "-s", "32", "-l", "mac"])
        .ok()
        .number_after("Key Handle:")
        .to_string();
    let tag = f.file("tag");
    f.as_cu1(&[
        "sign",
        "-f",
        &plain,
        "-k",
        &hmac,
        "-m",
        "SHA256_HMAC",
        "-out",
        &tag,
    ])
    .ok();
    f.as_cu1(&[
        "verify",
        "-f",
        &plain,
        "-s",
        &tag,
        "-k",
        &hmac,
        "-m",
        "SHA256_HMAC",
    ])
    .ok();

    // Keyless: digest and random bytes from the HSM.
    let hashed = f.as_cu1(&["digest", "-f", &plain, "-m", "SHA256"]).ok();
    let expected: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &read(&plain))
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        hashed.stdout.contains(&format!("Digest: {expected}")),
        "{hashed:?}"
    );
    let (random1, random2) = (f.file("random1"), f.file("random2"));
    f.as_cu1(&["getRandom", "-n", "32", "-out", &random1]).ok();
    f.as_cu1(&["getRandom", "-n", "32", "-out", &random2]).ok();
    assert_eq!(read(&random1).len(), 32);
    assert_ne!(read(&random1), read(&random2));
    let too_many = f.as_cu1(&["getRandom", "-n", "100000", "-out", &random1]);
    assert_eq!(too_many.code, 1, "{too_many:?}");
    assert!(too_many.stderr.contains("CKR_DATA_INVALID"), "{too_many:?}");
    assert_eq!(read(&random1).len(), 32, "a refused call wrote its file");

    // Sharing: cu2 sees the key while shared, not after.
    let cu2_find = || {
        f.util(&[
            "loginHSM", "-u", "CU", "-s", "cu2", "-p", "user5678", "findKey", "-l", "renamed",
        ])
        .ok()
        .found()
    };
    assert!(cu2_find().is_empty());
    // One unknown user: nobody gets the key.
    let partly = f.as_cu1(&["shareKey", &aes, "cu1", "cu2,nobody", "1"]);
    assert_eq!(partly.code, 1, "{partly:?}");
    assert!(partly.stderr.contains("RET_USER_NOT_FOUND"), "{partly:?}");
    assert!(cu2_find().is_empty(), "half-applied share");
    f.as_cu1(&["shareKey", &aes, "cu1", "cu2", "1"]).ok();
    assert_eq!(cu2_find(), vec![aes.parse::<u64>().unwrap()]);
    let not_owner = f.as_cu1(&["shareKey", &aes, "cu2", "cu2", "0"]);
    assert_eq!(not_owner.code, 2, "{not_owner:?}");
    f.as_cu1(&["shareKey", &aes, "cu1", "cu2", "0"]).ok();
    assert!(cu2_find().is_empty());

    // Verify sync: the key is on every HSM; the HSMs agree.
    let single = f.as_cu1(&["findSingleKey", "-k", &aes]).ok();
    assert_eq!(
        single.stdout.matches("HSM Return: SUCCESS").count(),
        4,
        "{single:?}"
    );
    let info = f.as_cu1(&["getHSMInfo"]).ok();
    assert!(info.stdout.contains("Number of HSMs: 3"), "{info:?}");
    assert!(info.stdout.contains("HSMs in sync: yes"), "{info:?}");
    for hsm in f.cluster["properties"]["hsms"].as_array().unwrap() {
        assert!(
            info.stdout.contains(hsm["fqdn"].as_str().unwrap()),
            "{info:?}"
        );
    }

    // Delete: gone for findKey and the HSMs.
    let deleted = f.as_cu1(&["deleteKey", "-k", &copy]).ok();
    assert!(deleted.stdout.contains("Cfm3DeleteKey returned: 0x00"));
    assert!(f.as_cu1(&["findKey", "-l", "copy"]).ok().found().is_empty());
    let gone = f.as_cu1(&["findSingleKey", "-k", &copy]);
    assert_eq!(gone.code, 1, "{gone:?}");

    // Users: delete cu2, change cu1's password, log out.
    f.as_admin(&["deleteUser", "CU", "cu2"]).ok();
    let users = f.as_admin(&["listUsers"]).ok();
    assert!(!users.stdout.contains("cu2"), "{users:?}");
    f.as_cu1(&["changePswd", "CU", "cu1", "user1234-new", "logoutHSM"])
        .ok();
    assert_eq!(f.as_cu1(&["findKey"]).code, 1, "old password still works");
    f.util(&[
        "loginHSM",
        "-u",
        "CU",
        "-s",
        "cu1",
        "-p",
        "user1234-new",
        "findKey",
        "logoutHSM",
    ])
    .ok();
}

#[tokio::test]
async fn interactive_session_from_stdin() {
    let f = Fixture::start().await;
    let session = f.interactive(
        "loginHSM -u CU -s cu1 -p user1234\n\
         genSymKey -t 31 -s 16 -l \"interactive key\"\n\
         \n\
         findKey -l 'interactive key'\n\
         genSymKey -t 99 -s 16 -l bad\n\
         getAttribute -o 1 -a 3\n\
         logoutHSM\n\
         exit\n\
         findKey\n",
    );
    assert_eq!(
        session.code, 0,
        "the last command (logoutHSM) succeeded: {session:?}"
    );
    let out = &session.stdout;
    assert!(
        out.starts_with("Command:  loginHSM -u CU -s cu1 -p ********\n"),
        "{session:?}"
    );
    assert!(
        out.contains("Command:  genSymKey -t 31 -s 16 -l interactive key"),
        "{session:?}"
    );
    let handle = session.number_after("Key Handle:");
    assert!(out.contains(&format!("0::1\n{handle}\n")), "{session:?}");
    // A bad line is reported and the shell goes on.
    assert!(session.stderr.contains("genSymKey -t 99"), "{session:?}");
    assert!(out.contains("Cfm3LogoutHSM returned: 0x00"), "{session:?}");
    // Nothing after exit ran.
    assert_eq!(out.matches("Cfm3FindKey").count(), 1, "{session:?}");

    // End of input ends the shell; a failing last command sets the code.
    let failing = f.interactive("loginHSM -u CU -s cu1 -p wrong-password\n");
    assert_eq!(failing.code, 1, "{failing:?}");
    assert!(
        failing.stderr.contains("RET_USER_LOGIN_FAILURE"),
        "{failing:?}"
    );
    let help = f.interactive("help\nhelp genRSAKeyPair\n");
    assert_eq!(help.code, 0, "{help:?}");
    assert!(help.stdout.contains("genECCKeyPair"), "{help:?}");
    assert!(help.stdout.contains("-m <modulus length>"), "{help:?}");
}

#[tokio::test]
async fn refusals_are_clear_and_change_nothing() {
    let f = Fixture::start().await;
    let key = f
        .as_cu1(&["genSymKey", "-t", "31", "-s", "32", "-l", "kept"])
        .ok()
        .number_after("Key Handle:")
        .to_string();
    let keys_now = || f.as_cu1(&["findKey"]).ok().found();
    let before = keys_now();

    // Wrong password: exit 1, the HSM's code, and the chain stops there.
    let wrong = f.util(&[
        "loginHSM",
        "-u",
        "CU",
        "-s",
        "cu1",
        "-p",
        "not-it",
        "genSymKey",
        "-t",
        "31",
        "-s",
        "32",
        "-l",
        "x",
    ]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(
        wrong
            .stdout
            .contains("Cfm3LoginHSM returned: 0xa0 : HSM Error: RET_USER_LOGIN_FAILURE"),
        "{wrong:?}"
    );
    assert!(
        wrong
            .stderr
            .contains("ERROR: RET_USER_LOGIN_FAILURE: login failed"),
        "{wrong:?}"
    );
    assert!(!wrong.stdout.contains("Command:  genSymKey"), "{wrong:?}");

    // Usage errors: exit 2, a message naming the problem, no HSM call.
    for (chain, message) in [
        (
            &["genSymKey", "-t", "31", "-s", "32", "-l", "x", "-bogus"][..],
            "unknown flag '-bogus'",
        ),
        (
            &["genSymKey", "-t", "31", "-s", "32"][..],
            "missing -l <label>",
        ),
        (
            &["genSymKey", "-t", "31", "-s", "32", "-l"][..],
            "-l: missing <label>",
        ),
        (
            &["genSymKey", "-t", "seven", "-s", "32", "-l", "x"][..],
            "'seven' is not a valid number",
        ),
        (
            &["genSymKey", "-t", "3", "-s", "32", "-l", "x"][..],
            "key types are 31 (AES) and 16",
        ),
        (
            &["genRSAKeyPair", "-m", "2048", "-e", "3", "-l", "x"][..],
            "exponent must be 65537",
        ),
        (
            &["genECCKeyPair", "-i", "99", "-l", "x"][..],
            "curves are 2 (P-256)",
        ),
        (
            &["genSymKey", "-t", "31", "-s", "32", "-l", "x", "-sess"][..],
            "session keys are not emulated",
        ),
        (&["findkey"][..], "did you mean 'findKey'?"),
        (
            &["setAttribute", "-o", &key, "-a", "3"][..],
            "missing -v <value>",
        ),
        (
            &["setAttribute", "-o", &key, "-a", "354", "-v", "yes"][..],
            "takes 0 or 1",
        ),
        (
            &["getAttribute", "-o", &key, "-a", "4242"][..],
            "unknown attribute",
        ),
    ] {
        let run = f.as_cu1(chain);
        assert_eq!(run.code, 2, "{chain:?}: {run:?}");
        assert!(
            run.stderr.contains(message),
            "{chain:?}: wanted {message:?} in {run:?}"
        );
        assert!(
            !run.stdout.contains("returned:"),
            "{chain:?} reached the HSM: {run:?}"
        );
    }
    // A stray word after a complete login is refused, not ignored: the
    // chain stops before any HSM call and exits 2.
    let stray = f.util(&[
        "loginHSM",
        "-u",
        "CU",
        "-s",
        "cu1",
        "-p",
        "user1234",
        "noSuchCommand",
    ]);
    assert_eq!(stray.code, 2, "{stray:?}");
    assert!(
        stray
            .stderr
            .contains("loginHSM: unexpected argument 'noSuchCommand'"),
        "{stray:?}"
    );
    assert!(!stray.stdout.contains("returned:"), "{stray:?}");
    let stray_user = f.as_admin(&[
        "createUser",
        "-u",
        "CU",
        "-s",
        "cu9",
        "-p",
        "pw123456",
        "oops",
    ]);
    assert_eq!(stray_user.code, 2, "{stray_user:?}");
    assert!(
        stray_user
            .stderr
            .contains("createUser: unexpected argument 'oops'"),
        "{stray_user:?}"
    );

    let nothing = binary()
        .args(["util", "frobnicate"])
        .output()
        .map(Run::from)
        .unwrap();
    assert_eq!(nothing.code, 2, "{nothing:?}");
    assert!(nothing.stderr.contains("singlecmd"), "{nothing:?}");

    // The HSM's refusals: exit 1 with its code; the key is unchanged.
    let read_only = f.as_cu1(&["setAttribute", "-o", &key, "-a", "0", "-v", "1"]);
    assert_eq!(read_only.code, 1, "{read_only:?}");
    assert!(
        read_only
            .stdout
            .contains("Cfm3SetAttributeValue returned: 0x10 : HSM Error: CKR_ATTRIBUTE_READ_ONLY"),
        "{read_only:?}"
    );
    f.as_cu1(&["setAttribute", "-o", &key, "-a", "354", "-v", "0"])
        .ok();
    let back = f.as_cu1(&["setAttribute", "-o", &key, "-a", "354", "-v", "1"]);
    assert_eq!(back.code, 1, "EXTRACTABLE came back: {back:?}");
    let attrs = f.as_cu1(&["getAttribute", "-o", &key, "-a", "512"]).ok();
    assert!(
        attrs.stdout.contains("OBJ_ATTR_EXTRACTABLE\n0x00"),
        "{attrs:?}"
    );
    assert!(attrs.stdout.contains("OBJ_ATTR_LABEL\nkept"), "{attrs:?}");
    let officer_keys = f.as_admin(&["genSymKey", "-t", "31", "-s", "32", "-l", "x"]);
    assert_eq!(officer_keys.code, 1, "{officer_keys:?}");
    assert!(
        officer_keys.stderr.contains("RET_OPERATION_NOT_PERMITTED"),
        "{officer_keys:?}"
    );
    let short = f.as_admin(&["createUser", "CU", "cu9", "short"]);
    assert_eq!(short.code, 1, "{short:?}");
    assert!(short.stderr.contains("CKR_PIN_LEN_RANGE"), "{short:?}");
    let missing = f.as_cu1(&["deleteKey", "-k", "999999"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing
            .stdout
            .contains("0x82 : HSM Error: CKR_OBJECT_HANDLE_INVALID"),
        "{missing:?}"
    );
    assert_eq!(keys_now(), before, "a refused command changed the keys");
    let users = f.as_admin(&["listUsers"]).ok();
    assert!(!users.stdout.contains("cu9"), "{users:?}");

    // Not logged in and no credentials: told how to log in.
    let anonymous = f.util(&["findKey"]);
    assert_eq!(anonymous.code, 1, "{anonymous:?}");
    assert!(
        anonymous
            .stderr
            .contains("run loginHSM first, or set azcloudhsm_password"),
        "{anonymous:?}"
    );

    // The default configuration file is ./azcloudhsm_client.json.
    let default = binary()
        .current_dir(f.dir.path())
        .env("azcloudhsm_password", "cu1:user1234")
        .args(["util", "singlecmd", "findKey"])
        .output()
        .map(Run::from)
        .unwrap()
        .ok();
    assert_eq!(default.found(), before);
    // -g/-n without --endpoints: the emulator's default data dir
    // (./.cloudhsm-emulator) is where the utility looks.
    let home = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        f.emulator.data_dir(),
        home.path().join(".cloudhsm-emulator"),
    )
    .unwrap();
    let by_default = binary()
        .current_dir(home.path())
        .env("azcloudhsm_password", "cu1:user1234")
        .args(["util", "-g", "rg", "-n", "chsm1", "singlecmd", "findKey"])
        .output()
        .map(Run::from)
        .unwrap()
        .ok();
    assert_eq!(by_default.found(), before);
    let elsewhere = tempfile::tempdir().unwrap();
    let no_endpoints = binary()
        .current_dir(elsewhere.path())
        .args(["util", "-g", "rg", "-n", "chsm1", "singlecmd", "findKey"])
        .output()
        .map(Run::from)
        .unwrap();
    assert_eq!(no_endpoints.code, 2, "{no_endpoints:?}");
    assert!(
        no_endpoints.stderr.contains("--endpoints"),
        "{no_endpoints:?}"
    );
    // No configuration: exit 3 saying where it looked and what to give.
    let empty = tempfile::tempdir().unwrap();
    let lost = binary()
        .current_dir(empty.path())
        .args(["util", "singlecmd", "findKey"])
        .output()
        .map(Run::from)
        .unwrap();
    assert_eq!(lost.code, 3, "{lost:?}");
    assert!(lost.stderr.contains("azcloudhsm_client.json"), "{lost:?}");
    assert!(lost.stderr.contains("--config"), "{lost:?}");
    let no_cluster = f
        .by_name(&[])
        .args(["-n", "nope", "singlecmd", "findKey"])
        .output()
        .map(Run::from)
        .unwrap();
    assert_eq!(no_cluster.code, 3, "{no_cluster:?}");
    assert!(
        no_cluster.stderr.contains("ResourceNotFound"),
        "{no_cluster:?}"
    );
}

#[tokio::test]
async fn credentials_from_the_environment() {
    let f = Fixture::start().await;
    // No loginHSM at all: azcloudhsm_password logs in implicitly.
    let implicit = f
        .as_cu1(&["genSymKey", "-t", "31", "-s", "16", "-l", "env"])
        .ok();
    assert!(
        implicit
            .stderr
            .contains("Logged in as CU 'cu1' from azcloudhsm_password"),
        "{implicit:?}"
    );
    assert!(!implicit.stderr.contains("WARNING"), "{implicit:?}");
    // loginHSM without -p takes the password from the environment.
    let explicit = f
        .as_cu1(&["loginHSM", "-u", "CU", "-s", "cu1", "findKey", "-l", "env"])
        .ok();
    assert!(
        explicit.stdout.contains("Cfm3LoginHSM returned: 0x00"),
        "{explicit:?}"
    );
    assert!(!explicit.stderr.contains("WARNING"), "{explicit:?}");
    assert_eq!(explicit.found().len(), 1);
    // ... and the user too, with azcloudhsm_user_type for the role.
    let officer = f
        .command()
        .env("azcloudhsm_password", format!("admin:{OFFICER_PASSWORD}"))
        .env("azcloudhsm_user_type", "CO")
        .args(["singlecmd", "loginHSM", "listUsers"])
        .output()
        .map(Run::from)
        .unwrap()
        .ok();
    assert!(officer.stdout.contains("cu1"), "{officer:?}");
    // The environment names another user: no password for this one.
    let other = f.as_cu1(&["loginHSM", "-u", "CU", "-s", "cu2"]);
    assert_eq!(other.code, 2, "{other:?}");
    assert!(other.stderr.contains("no password for 'cu2'"), "{other:?}");
    // A wrong password in the environment fails like a wrong -p.
    let wrong = f
        .command()
        .env("azcloudhsm_password", "cu1:wrong-password")
        .args(["singlecmd", "findKey"])
        .output()
        .map(Run::from)
        .unwrap();
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("RET_USER_LOGIN_FAILURE"), "{wrong:?}");
}

#[tokio::test]
async fn fails_over_through_a_stopped_hsm() {
    let f = Fixture::start().await;
    let admin = f.emulator.hsm_client(&f.cluster);

    // An interactive session logged in before its HSM stops carries on.
    let mut session = Session::start(f.command());
    session.send("loginHSM -u CU -s cu1 -p user1234");
    session.send("genSymKey -t 31 -s 32 -l before");
    session.until("Key Handle:");
    admin
        .admin_node(f.emulator.token(), 0, "stop")
        .await
        .expect("node 0 stops");
    session.send("genSymKey -t 31 -s 32 -l during");
    session.send("findKey");
    let seen = session.until("Cfm3FindKey returned");
    assert!(seen.contains("Symmetric Key Created"), "{seen}");
    assert!(seen.contains("0::2\n"), "{seen}");
    session.send("getHSMInfo");
    let info = session.until("HSMs in sync");
    assert!(info.contains("DOWN"), "{info}");
    let run = session.finish();
    assert_eq!(run.code, 0, "{run:?}");

    // A new invocation while the first HSM is down, then after it is
    // replaced by an empty one that the cluster fills again.
    let during = f.as_cu1(&["findKey", "-l", "during"]).ok();
    assert_eq!(during.found().len(), 1, "{during:?}");
    admin
        .admin_node(f.emulator.token(), 0, "start")
        .await
        .expect("node 0 starts");
    admin
        .admin_node(f.emulator.token(), 0, "replace")
        .await
        .expect("node 0 replaced");
    let after = f.as_cu1(&["findKey"]).ok();
    assert_eq!(after.found().len(), 2, "{after:?}");
    let handle = during.found()[0].to_string();
    f.as_cu1(&["findSingleKey", "-k", &handle]).ok();
}

#[tokio::test]
async fn help_for_the_utility_and_every_command() {
    let top = binary()
        .args(["util", "--help"])
        .output()
        .map(Run::from)
        .unwrap()
        .ok();
    let names: Vec<String> = top
        .stdout
        .split("Commands:\n")
        .nth(1)
        .expect("a command list")
        .lines()
        .take_while(|l| l.starts_with("    "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    for expected in [
        "loginHSM",
        "logoutHSM",
        "listUsers",
        "createUser",
        "deleteUser",
        "changePswd",
        "genSymKey",
        "genRSAKeyPair",
        "genECCKeyPair",
        "findKey",
        "getAttribute",
        "setAttribute",
        "listAttributes",
        "deleteKey",
        "shareKey",
        "wrapKey",
        "unWrapKey",
        "exportPubKey",
        "importPubKey",
        "sign",
        "verify",
        "encrypt",
        "decrypt",
        "getHSMInfo",
        "findSingleKey",
        "syncUser",
        "getCertReq",
        "storeCert",
        "getChallenge",
        "unlockCO",
        "extractMaskedObject",
        "insertMaskedObject",
        "getPolicy",
        "setPolicy",
        "registerQuorumPubKey",
        "setMValue",
        "getToken",
        "approveToken",
        "listTokens",
        "delToken",
        "setUserAttributes",
        "disableUserAccess",
        "findAllKeys",
        "getKeyInfo",
        "digest",
        "getRandom",
        "unlockUser",
        "saveConfig",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let one = binary()
        .args(["util", "singlecmd", "help", "wrapKey"])
        .output()
        .map(Run::from)
        .unwrap()
        .ok();
    assert!(one.stdout.contains("Usage: wrapKey"), "{one:?}");
    for name in &names {
        // No configuration is needed for help.
        let help = binary()
            .args(["util", "singlecmd", name, "-h"])
            .output()
            .map(Run::from)
            .unwrap()
            .ok();
        assert!(help.stdout.contains(&format!("Usage: {name}")), "{help:?}");
        assert!(help.stdout.contains("Example:"), "{help:?}");
    }
}

#[tokio::test]
async fn activation_unlock_co_and_masked_objects() {
    let mut f = Fixture::provisioned().await;
    // Activation needs the owner's certificates first.
    let early = f.util(&[
        "loginHSM",
        "-u",
        "PRECO",
        "-s",
        "admin",
        "-p",
        "password",
        "changePswd",
        "PRECO",
        "admin",
        OFFICER_PASSWORD,
    ]);
    assert_eq!(early.code, 1, "{early:?}");
    assert!(
        early.stderr.contains("RET_PARTITION_NOT_INITIALIZED"),
        "{early:?}"
    );
    let bad_type = f.util(&[
        "loginHSM",
        "-u",
        "PRECO",
        "-s",
        "admin",
        "-p",
        "password",
        "storeCert",
        "-fPath",
        "x",
        "-type",
        "5",
    ]);
    assert_eq!(bad_type.code, 2, "{bad_type:?}");
    let not_a_certificate = f.file("junk.crt");
    std::fs::write(&not_a_certificate, "not a certificate").unwrap();
    let junk = f.util(&[
        "loginHSM",
        "-u",
        "PRECO",
        "-s",
        "admin",
        "-p",
        "password",
        "storeCert",
        "-fPath",
        &not_a_certificate,
        "-type",
        "4",
    ]);
    assert_eq!(junk.code, 1, "{junk:?}");
    assert!(junk.stderr.contains("RET_INVALID_CERTIFICATE"), "{junk:?}");
    f.activate();
    let arm = f
        .emulator
        .call(
            reqwest::Method::GET,
            &cloudhsm_e2e_tests::cluster_path("rg", "chsm1"),
            None,
        )
        .await;
    assert_eq!(arm.body["properties"]["activationState"], "Active");

    // Five wrong passwords lock the officer; PO.key's signature over a
    // challenge unlocks it with a new password.
    for _ in 0..5 {
        assert_eq!(
            f.util(&[
                "loginHSM",
                "-u",
                "CO",
                "-s",
                "admin",
                "-p",
                "wrong-password"
            ])
            .code,
            1
        );
    }
    let locked = f.as_admin(&[]);
    assert!(locked.stderr.contains("RET_USER_LOCKED"), "{locked:?}");
    let (challenge, signature) = (f.file("challenge.bin"), f.file("challenge.sig"));
    f.util(&["getChallenge", "-s", "admin", "-out", &challenge])
        .ok();
    let signed = f
        .owner
        .as_ref()
        .expect("owner")
        .sign_challenge(&read(&challenge))
        .expect("signed");
    std::fs::write(&signature, &signed).unwrap();
    f.util(&[
        "unlockCO",
        "-s",
        "admin",
        "-f",
        &signature,
        "-p",
        "officer-pass-2",
    ])
    .ok();
    // A challenge serves once.
    let replay = f.util(&["unlockCO", "-s", "admin", "-f", &signature]);
    assert_eq!(replay.code, 1, "{replay:?}");
    f.util(&[
        "loginHSM",
        "-u",
        "CO",
        "-s",
        "admin",
        "-p",
        "officer-pass-2",
        "createUser",
        "CU",
        "cu1",
        "user1234",
    ])
    .ok();

    // A masked object comes back as a working key after the key is gone.
    let key = f
        .as_cu1(&["genSymKey", "-t", "31", "-s", "32", "-l", "masked"])
        .ok()
        .number_after("Key Handle:")
        .to_string();
    let (plain, sealed, opened, blob) = (
        f.file("plain"),
        f.file("sealed"),
        f.file("opened"),
        f.file("key.mask"),
    );
    std::fs::write(&plain, b"kept across masking").unwrap();
    f.encrypt(&key, "AES_GCM", &plain, &sealed);
    f.as_cu1(&["extractMaskedObject", "-o", &key, "-out", &blob])
        .ok();
    f.as_cu1(&["deleteKey", "-k", &key]).ok();
    let restored = f
        .as_cu1(&["insertMaskedObject", "-f", &blob])
        .ok()
        .number_after("New Key Handle:")
        .to_string();
    f.decrypt_expecting(&restored, "AES_GCM", &sealed, &opened, &plain);
    // An altered blob is refused and adds nothing.
    let mut altered = read(&blob);
    let last = altered.len() - 1;
    altered[last] ^= 1;
    std::fs::write(&blob, altered).unwrap();
    let before = f.as_cu1(&["findKey"]).ok().found();
    let refused = f.as_cu1(&["insertMaskedObject", "-f", &blob]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(f.as_cu1(&["findKey"]).ok().found(), before);
}

#[tokio::test]
async fn two_factor_officers_and_quorum_approval() {
    let f = Fixture::start().await;
    let (admin_key, co2_key, rotated) = (
        TwoFactorKey::generate().unwrap(),
        TwoFactorKey::generate().unwrap(),
        TwoFactorKey::generate().unwrap(),
    );
    let authdata = f.file("authdata.json");
    let token_file = f.file("token.json");

    // 2FA is opt-in: off, a -2fa change is refused.
    let off = f.as_admin(&["getPolicy"]);
    assert!(off.ok().stdout.contains("Two-factor authentication: off"));

    let mut admin = Session::start(f.command());
    admin.send(&format!("loginHSM -u CO -s admin -p {OFFICER_PASSWORD}"));
    admin.send(&format!("registerQuorumPubKey -f {authdata}"));
    admin.sign_authdata(&authdata, &admin_key);
    assert!(admin
        .until("Cfm3RegisterQuorumPubKey returned")
        .contains("Cfm3RegisterQuorumPubKey returned: 0x00"));
    admin.send("setPolicy -2fa 1");
    assert!(admin
        .until("Quorum approvers")
        .contains("Two-factor authentication: on"));
    admin.send(&format!("createUser CO co2 officer2-pass -2fa {authdata}"));
    admin.sign_authdata(&authdata, &co2_key);
    assert!(admin
        .until("Cfm3CreateUser returned")
        .contains("returned: 0x00"));
    admin.send("setPolicy -quorum 1");
    let policy = admin.until("Quorum approvers");
    assert!(policy.contains("Quorum authentication:     on"), "{policy}");
    assert!(policy.contains("M value (user service):    2"), "{policy}");

    // User management now waits for two approvals.
    admin.send("createUser CU cu5 user5678");
    assert!(admin
        .until("Cfm3CreateUser returned")
        .contains("HSM Error: RET_QUORUM_APPROVAL_REQUIRED"));
    admin.send(&format!("getToken -s user -out {token_file}"));
    admin.until("Cfm3GetToken returned");
    let mut file: Value = serde_json::from_slice(&read(&token_file)).unwrap();
    let token: Token = serde_json::from_value(file.clone()).expect("a token");
    file["signatures"] = serde_json::json!([
        admin_key.approve("admin", &token).unwrap(),
        co2_key.approve("co2", &token).unwrap(),
    ]);
    std::fs::write(&token_file, serde_json::to_vec(&file).unwrap()).unwrap();
    admin.send(&format!("approveToken -f {token_file}"));
    assert!(admin
        .until("approval(s)")
        .contains(&format!("Token {} has 2 approval(s)", token.id)));
    admin.send("listTokens");
    assert!(admin
        .until("Number of tokens")
        .contains("Number of tokens: 1"));
    admin.send("createUser CU cu5 user5678");
    assert!(admin
        .until("Cfm3CreateUser returned")
        .contains("returned: 0x00"));
    // The approval was used up.
    admin.send("createUser CU cu6 user5678");
    assert!(admin
        .until("Cfm3CreateUser returned")
        .contains("RET_QUORUM_APPROVAL_REQUIRED"));
    admin.send("exit");
    admin.finish();

    // co2 has 2FA: a password alone is refused, a wrong key fails, its key
    // logs in; it rotates its key with changePswd -2fa.
    let plain = f.util(&["loginHSM", "-u", "CO", "-s", "co2", "-p", "officer2-pass"]);
    assert_eq!(plain.code, 1, "{plain:?}");
    assert!(plain.stderr.contains("RET_2FA_REQUIRED"), "{plain:?}");
    let login_co2 = |key: &TwoFactorKey, password: &str, then: &[&str]| {
        let mut command = f.command();
        command.args([
            "singlecmd",
            "loginHSM",
            "-u",
            "CO",
            "-s",
            "co2",
            "-p",
            password,
            "-2fa",
            &authdata,
        ]);
        command.args(then);
        let mut session = Session::start(command);
        session.sign_authdata(&authdata, key);
        session
    };
    let wrong = login_co2(&admin_key, "officer2-pass", &[]).finish();
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(
        wrong.stdout.contains("RET_2FA_VERIFICATION_FAILED"),
        "{wrong:?}"
    );
    let rotation = f.file("rotation.json");
    let mut co2 = login_co2(
        &co2_key,
        "officer2-pass",
        &[
            "listUsers",
            "changePswd",
            "CO",
            "co2",
            "officer2-new",
            "-2fa",
            &rotation,
        ],
    );
    co2.sign_authdata(&rotation, &rotated);
    let run = co2.finish();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("cu5"), "{run:?}");
    assert!(
        run.stdout.contains("Cfm3ChangePswd returned: 0x00"),
        "{run:?}"
    );
    let old_key = login_co2(&co2_key, "officer2-new", &[]).finish();
    assert_eq!(old_key.code, 1, "the old key still works: {old_key:?}");
    let new_key = login_co2(&rotated, "officer2-new", &["getPolicy"]).finish();
    assert_eq!(new_key.code, 0, "{new_key:?}");
    assert!(new_key.stdout.contains("co2"), "{new_key:?}");

    // No confirmation (input ends): a clear refusal, no login.
    let unconfirmed = f
        .command()
        .args([
            "singlecmd",
            "loginHSM",
            "-u",
            "CO",
            "-s",
            "co2",
            "-p",
            "officer2-new",
            "-2fa",
            &authdata,
            "listUsers",
        ])
        .stdin(Stdio::null())
        .output()
        .map(Run::from)
        .unwrap();
    assert_eq!(unconfirmed.code, 2, "{unconfirmed:?}");
    assert!(
        unconfirmed.stderr.contains("press Enter"),
        "{unconfirmed:?}"
    );
    assert!(
        !unconfirmed.stdout.contains("Cfm3ListUsers"),
        "{unconfirmed:?}"
    );
}

#[tokio::test]
async fn user_access_controls_and_key_overview() {
    let f = Fixture::start().await;
    f.as_admin(&["createUser", "CU", "cu2", "user5678"]).ok();
    let key = f
        .as_cu1(&["genSymKey", "-t", "31", "-s", "32", "-l", "owned"])
        .ok()
        .number_after("Key Handle:")
        .to_string();
    f.as_cu1(&["shareKey", &key, "cu1", "cu2", "1"]).ok();

    // findAllKeys: the officer sees the key, its owner and its shares.
    let all = f.as_admin(&["findAllKeys"]).ok();
    assert!(all.stdout.contains("Number of keys found 1"), "{all:?}");
    let row = format!("{key:<12}{:<20}cu2", "cu1");
    assert!(all.stdout.contains(&row), "{all:?}");
    let info = f.as_cu1(&["getKeyInfo", "-k", &key]).ok();
    assert!(info.stdout.contains("Owned by user cu1"), "{info:?}");
    assert!(
        info.stdout
            .contains("shared to following 1 user(s):\n\t\tcu2"),
        "{info:?}"
    );
    let unknown = f.as_cu1(&["getKeyInfo", "-k", "424242"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("CKR_OBJECT_HANDLE_INVALID"),
        "{unknown:?}"
    );
    let none = f.as_admin(&["findAllKeys", "admin"]).ok();
    assert!(none.stdout.contains("Number of keys found 0"), "{none:?}");

    // setUserAttributes: a disabled login is refused until re-enabled.
    f.as_admin(&["setUserAttributes", "-s", "cu2", "-disableLogin", "1"])
        .ok();
    let cu2 = || f.util(&["loginHSM", "-u", "CU", "-s", "cu2", "-p", "user5678"]);
    let refused = cu2();
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("disabled"), "{refused:?}");
    let bad = f.as_admin(&["setUserAttributes", "-s", "cu2", "-disableLogin", "yes"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    f.as_admin(&["setUserAttributes", "-s", "cu2", "-disableLogin", "0"])
        .ok();
    cu2().ok();

    // disableUserAccess: cu1 takes its management away from officers.
    let applied = f.as_cu1(&["disableUserAccess"]).ok();
    assert!(
        applied
            .stdout
            .contains("Cfm3DisableUserAccess returned: 0x00"),
        "{applied:?}"
    );
    for chain in [
        &["changePswd", "CU", "cu1", "taken-over-1"][..],
        &["deleteUser", "CU", "cu1"][..],
        &["setUserAttributes", "-s", "cu1", "-disableLogin", "1"][..],
    ] {
        let refused = f.as_admin(chain);
        assert_eq!(refused.code, 1, "{chain:?}: {refused:?}");
        assert!(
            refused.stderr.contains("RET_OPERATION_NOT_PERMITTED"),
            "{chain:?}: {refused:?}"
        );
    }
    // cu1 is untouched: same password, still there.
    f.as_cu1(&["findKey", "-l", "owned"]).ok();
    // An officer cannot use the crypto user's command.
    let not_cu = f.as_admin(&["disableUserAccess"]);
    assert_eq!(not_cu.code, 1, "{not_cu:?}");
}

#[tokio::test]
async fn acknowledged_keys_survive_kill_9() {
    let f = Fixture::start().await;
    let key = f
        .as_cu1(&["genSymKey", "-t", "31", "-s", "32", "-l", "durable"])
        .ok()
        .number_after("Key Handle:")
        .to_string();
    let (plain, sealed, opened) = (f.file("plain"), f.file("sealed"), f.file("opened"));
    std::fs::write(&plain, b"written before the crash").unwrap();
    f.encrypt(&key, "AES_GCM", &plain, &sealed);

    // kill -9 and start again on the same data dir (on new ports: the
    // configuration is saved again from the control plane).
    let Fixture {
        emulator,
        cluster,
        dir,
        owner,
    } = f;
    let f = Fixture {
        emulator: emulator.restart().await,
        cluster,
        dir,
        owner,
    };
    f.by_name(&["singlecmd", "saveConfig", "-out"])
        .arg(f.config())
        .output()
        .map(Run::from)
        .unwrap()
        .ok();
    assert_eq!(
        f.as_cu1(&["findKey", "-l", "durable"]).ok().found(),
        vec![key.parse::<u64>().unwrap()]
    );
    f.decrypt_expecting(&key, "AES_GCM", &sealed, &opened, &plain);
}

/// The README's activation step with the OpenSSL commands of Azure's
/// onboarding guide: the owner makes PO.key / PO.crt and signs the
/// partition's CSR into the POAC, off the emulator; the utility stores both
/// and the pre-crypto-officer's new password activates the cluster.
#[tokio::test]
async fn activation_with_the_readmes_openssl_commands() {
    let f = Fixture::provisioned().await;
    // The utility runs in the folder the certificate files are in, as a user would.
    let util_here = |chain: &[&str]| -> Run {
        f.command()
            .current_dir(f.dir.path())
            .arg("singlecmd")
            .args(chain)
            .output()
            .expect("runs")
            .into()
    };
    util_here(&[
        "loginHSM",
        "-u",
        "PRECO",
        "-s",
        "admin",
        "-p",
        "password",
        "getCertReq",
        "-f",
        "partition.csr",
    ])
    .ok();
    let openssl = |args: &str| {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("openssl {args}"))
            .current_dir(f.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args}");
    };
    // Exactly the README's lines.
    openssl("req -newkey rsa:2048 -nodes -sha256 -keyout PO.key -out PO.csr -subj '/CN=Partition Owner'");
    openssl("x509 -req -sha256 -days 3650 -in PO.csr -signkey PO.key -out PO.crt");
    openssl("x509 -req -sha256 -days 3650 -in partition.csr -CA PO.crt -CAkey PO.key -CAcreateserial -out POAC.crt");
    util_here(&[
        "loginHSM",
        "-u",
        "PRECO",
        "-s",
        "admin",
        "-p",
        "password",
        "storeCert",
        "-fPath",
        "PO.crt",
        "-type",
        "4",
        "storeCert",
        "-fPath",
        "POAC.crt",
        "-type",
        "8",
        "changePswd",
        "PRECO",
        "admin",
        OFFICER_PASSWORD,
    ])
    .ok();
    let arm = f
        .emulator
        .call(
            reqwest::Method::GET,
            &cloudhsm_e2e_tests::cluster_path("rg", "chsm1"),
            None,
        )
        .await;
    assert_eq!(arm.body["properties"]["activationState"], "Active");
}

/// With `--network-isolation`, `saveConfig` of a cluster closed to the
/// public network writes the private-link names its approved private
/// endpoint reports, and the utility works through them; a configuration
/// with the public names gets a clear refusal.
#[tokio::test]
async fn save_config_follows_the_approved_private_endpoint() {
    let emulator =
        Emulator::start_with(&["--provisioning-delay", "200ms", "--network-isolation"]).await;
    emulator.put_group("rg").await;
    let cluster = emulator.create_cluster("rg", "chsm1").await;
    let put = emulator
        .call(
            reqwest::Method::PUT,
            &cloudhsm_e2e_tests::endpoint_path("rg", "pe1"),
            Some(cloudhsm_e2e_tests::endpoint_body(
                cluster["id"].as_str().expect("id"),
                false,
                serde_json::json!(["cloudHsm"]),
            )),
        )
        .await;
    assert_eq!(put.status, reqwest::StatusCode::CREATED, "{put:?}");
    let mut f = Fixture {
        emulator,
        cluster,
        dir: tempfile::tempdir().expect("temp dir"),
        owner: None,
    };
    f.by_name(&["singlecmd", "saveConfig", "-out"])
        .arg(f.config())
        .output()
        .map(Run::from)
        .expect("runs")
        .ok();
    let saved: Value = serde_json::from_slice(&read(&f.config().display().to_string())).unwrap();
    let hsms: Vec<&str> = saved["hsms"]
        .as_array()
        .expect("hsms")
        .iter()
        .map(|h| h.as_str().expect("name"))
        .collect();
    assert_eq!(hsms.len(), 3, "{saved}");
    for (hsm, public) in hsms
        .iter()
        .zip(f.cluster["properties"]["hsms"].as_array().unwrap())
    {
        let public = public["fqdn"].as_str().unwrap();
        assert!(hsm.ends_with(".privatelink.cloudhsm.localhost"), "{saved}");
        assert_eq!(
            hsm.split('.').take(2).collect::<Vec<_>>(),
            public.split('.').take(2).collect::<Vec<_>>()
        );
    }
    f.activate();
    f.as_admin(&["listUsers"]).ok();

    // The same cluster by its public names: refused, and the utility says why.
    let mut public_config = saved.clone();
    public_config["hsms"] = f.cluster["properties"]["hsms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["fqdn"].clone())
        .collect();
    std::fs::write(f.config(), public_config.to_string()).unwrap();
    let refused = f.as_admin(&["listUsers"]);
    assert_ne!(refused.code, 0, "{refused:?}");
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        said.contains("not reachable over the public network"),
        "{refused:?}"
    );
    assert!(said.contains("RET_NETWORK_ACCESS_DENIED"), "{refused:?}");
}
