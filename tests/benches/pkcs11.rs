//! The PKCS#11 module against SoftHSMv2, what people use today for a local
//! PKCS#11 token, with the same harness (the `cryptoki` crate) in the same
//! run: RSA-2048 SHA-256 PKCS#1 sign, ECDSA P-256 sign, AES-256-GCM 4 KiB
//! encrypt, at 1 session and at 16 threads with a session each. RSA at 16
//! threads is also compared with `openssl speed -multi 16 rsa2048`. Prints
//! figures and ratios; asserts nothing.
//!
//! `cargo bench -p cloudhsm-e2e-tests --bench pkcs11` (`BENCH_SECONDS`, default 3;
//! `BENCH_ONLY=AES` runs the operations whose name contains it and
//! `BENCH_SESSIONS=1` only that concurrency, for profiling;
//! `BENCH_TRANSPORT=tcp` makes the module use the TCP endpoint with TLS, as
//! from another machine, instead of the emulator's local socket).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use cloudhsm_e2e_tests::{
    pkcs11::{cluster_config, module_path, over_the_network, USER_PIN},
    Emulator,
};
use cryptoki::{
    context::{CInitializeArgs, CInitializeFlags, Pkcs11},
    mechanism::{aead::GcmParams, Mechanism},
    object::{Attribute, ObjectHandle},
    session::{Session, UserType},
    slot::Slot,
    types::AuthPin,
};

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
const THREADS: usize = 16;
const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

#[derive(Clone, Copy)]
enum Operation {
    RsaSign,
    EcSign,
    AesEncrypt,
}

const OPERATIONS: [(Operation, &str); 3] = [
    (Operation::RsaSign, "RSA-2048 PKCS#1 SHA-256 sign"),
    (Operation::EcSign, "ECDSA P-256 sign"),
    (Operation::AesEncrypt, "AES-256-GCM 4 KiB encrypt"),
];

/// The same keys made on each token.
#[derive(Clone, Copy)]
struct Keys {
    rsa: ObjectHandle,
    ec: ObjectHandle,
    aes: ObjectHandle,
}

struct Token {
    name: &'static str,
    pkcs11: Arc<Pkcs11>,
    slot: Slot,
    keys: Keys,
}

fn make_keys(session: &Session) -> Keys {
    let (_, rsa) = session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[
                Attribute::ModulusBits(2048.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Token(true),
                Attribute::Verify(true),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sign(true),
                Attribute::Label(b"bench-rsa".to_vec()),
            ],
        )
        .expect("RSA key pair");
    let (_, ec) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::EcParams(P256.to_vec()),
                Attribute::Token(true),
                Attribute::Verify(true),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sign(true),
                Attribute::Label(b"bench-ec".to_vec()),
            ],
        )
        .expect("EC key pair");
    let aes = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::ValueLen(32.into()),
                Attribute::Token(true),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Label(b"bench-aes".to_vec()),
            ],
        )
        .expect("AES key");
    Keys { rsa, ec, aes }
}

fn open(name: &'static str, path: &str, pin: &str) -> Token {
    let pkcs11 = Pkcs11::new(path).expect("loading the module");
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
    let slot = pkcs11.get_slots_with_token().expect("slots")[0];
    let session = pkcs11.open_rw_session(slot).expect("session");
    session
        .login(UserType::User, Some(&AuthPin::new(pin.into())))
        .expect("login");
    let keys = make_keys(&session);
    // The login stays for the other sessions as long as one is open.
    std::mem::forget(session);
    Token {
        name,
        pkcs11: Arc::new(pkcs11),
        slot,
        keys,
    }
}

fn once(session: &Session, keys: Keys, operation: Operation, data: &[u8]) {
    match operation {
        Operation::RsaSign => {
            session
                .sign(&Mechanism::Sha256RsaPkcs, keys.rsa, &data[..32])
                .expect("RSA sign");
        }
        Operation::EcSign => {
            session
                .sign(&Mechanism::Ecdsa, keys.ec, &data[..32])
                .expect("ECDSA sign");
        }
        Operation::AesEncrypt => {
            let mut iv = [1u8; 12];
            let params = GcmParams::new(&mut iv, &[], 128.into()).expect("GCM params");
            session
                .encrypt(&Mechanism::AesGcm(params), keys.aes, data)
                .expect("AES-GCM");
        }
    }
}

/// Operations per second with `threads` sessions, each on its own thread.
fn measure(token: &Token, operation: Operation, threads: usize, seconds: f64) -> f64 {
    let data = vec![7u8; 4096];
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let counts: Vec<_> = (0..threads)
        .map(|_| {
            let (pkcs11, slot, keys, data) =
                (token.pkcs11.clone(), token.slot, token.keys, data.clone());
            std::thread::spawn(move || {
                let session = pkcs11.open_rw_session(slot).expect("session");
                once(&session, keys, operation, &data);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    once(&session, keys, operation, &data);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = counts
        .into_iter()
        .map(|t| t.join().expect("bench thread"))
        .sum();
    total as f64 / start.elapsed().as_secs_f64()
}

/// RSA-2048 signatures per second of `openssl speed -multi 16`.
fn openssl_speed(seconds: f64) -> Option<f64> {
    let output = std::process::Command::new("openssl")
        .args([
            "speed",
            "-multi",
            &THREADS.to_string(),
            "-seconds",
            &format!("{}", seconds.ceil() as u64),
            "rsa2048",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("rsa") && l.contains("2048"))?;
    // rsa 2048 bits <sign s> <verify s> <sign/s> <verify/s>
    let numbers: Vec<f64> = line
        .split_whitespace()
        .filter(|t| !t.ends_with('s'))
        .filter_map(|t| t.parse().ok())
        .collect();
    numbers.get(1).copied()
}

fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    if !std::path::Path::new(SOFTHSM).exists() {
        eprintln!("SoftHSMv2 is not installed ({SOFTHSM}); tests/run.sh installs softhsm2");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emu = runtime.block_on(Emulator::start());
    let config = runtime.block_on(cluster_config(&emu));
    // The module loads once per process, so each transport is a run of its own.
    let transport = std::env::var("BENCH_TRANSPORT").unwrap_or_default();
    let (config, transport) = match transport.as_str() {
        "tcp" => (over_the_network(&config), "TCP + TLS"),
        _ => (config, "the emulator's local socket"),
    };
    std::env::set_var("AZCLOUDHSM_CLIENT_CONFIG", &config);

    // A SoftHSMv2 token of its own, initialised by the bench.
    let softhsm_dir = tempfile::tempdir().expect("temp dir");
    let tokens = softhsm_dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).expect("token dir");
    let conf = softhsm_dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let status = std::process::Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            "bench",
            "--so-pin",
            "12345678",
            "--pin",
            "12345678",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("softhsm2-util");
    assert!(status.success(), "softhsm2-util --init-token");

    let ours = open(
        "azcloudhsm_pkcs11",
        module_path().to_str().expect("path"),
        USER_PIN,
    );
    let softhsm = open("SoftHSMv2", SOFTHSM, "12345678");

    println!("PKCS#11 throughput, {seconds} s per figure (operations/s; ratio = ours / SoftHSMv2); ours over {transport}");
    println!(
        "{:<32} {:>8} {:>14} {:>14} {:>7}",
        "operation", "sessions", ours.name, softhsm.name, "ratio"
    );
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let sessions: Vec<usize> = std::env::var("BENCH_SESSIONS")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1, THREADS]);
    let mut rsa16 = 0.0;
    for (operation, label) in OPERATIONS {
        if !label.contains(&only) {
            continue;
        }
        for &threads in &sessions {
            let a = measure(&ours, operation, threads, seconds);
            let b = measure(&softhsm, operation, threads, seconds);
            if matches!(operation, Operation::RsaSign) && threads == THREADS {
                rsa16 = a;
            }
            println!(
                "{label:<32} {threads:>8} {a:>14.0} {b:>14.0} {:>7.2}",
                a / b
            );
        }
    }
    match (rsa16 > 0.0).then(|| openssl_speed(seconds)).flatten() {
        Some(speed) => println!(
            "RSA-2048 sign at {THREADS} threads: ours {rsa16:.0}/s, `openssl speed -multi {THREADS}` {speed:.0}/s, ratio {:.2}",
            rsa16 / speed
        ),
        None => println!("openssl speed: no figure"),
    }
    drop(emu);
}
