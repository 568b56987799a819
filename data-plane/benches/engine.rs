//! Engine throughput against OpenSSL on the same machine, in the same run:
//! RSA-2048 PKCS#1 v1.5 SHA-256 signs, ECDSA P-256 signs and AES-256-GCM
//! encryptions of 4 KiB, each on one thread (as `openssl speed` measures).
//! Prints figures and the ratio to `openssl speed`; asserts nothing.
//!
//! `cargo bench -p cloudhsm-data-plane --bench engine` (`BENCH_SECONDS`, default 3).

use std::{
    process::Command,
    time::{Duration, Instant},
};

use cloudhsm_data_plane::{
    engine::{cluster::PRECO_USER, keys::Curve},
    Cluster, ClusterConfig, KeyAttributes, KeySpec, Mechanism, Role,
};

fn per_second(duration: Duration, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < duration {
        op();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// `openssl speed` figures: (RSA-2048 sign/s, P-256 sign/s, AES-256-GCM 4 KiB ops/s).
fn openssl(seconds: u64) -> Option<(f64, f64, f64)> {
    let run = |args: &[&str]| -> Option<String> {
        let out = Command::new("openssl")
            .arg("speed")
            .args(["-seconds", &seconds.to_string()])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let rsa = run(&["rsa2048"])?;
    let rsa = rsa
        .lines()
        .find(|l| l.starts_with("rsa 2048"))?
        .split_whitespace()
        .nth(5)?
        .parse()
        .ok()?;
    let ec = run(&["ecdsap256"])?;
    let ec = ec
        .lines()
        .find(|l| l.contains("nistp256"))?
        .split_whitespace()
        .nth(6)?
        .parse()
        .ok()?;
    let aes = run(&["-evp", "aes-256-gcm", "-bytes", "4096"])?;
    let kbytes: f64 = aes
        .lines()
        .find(|l| l.starts_with("AES-256-GCM"))?
        .split_whitespace()
        .nth(1)?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    Some((rsa, ec, kbytes * 1000.0 / 4096.0))
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);

    let cluster = Cluster::new(ClusterConfig::default()).expect("cluster");
    cloudhsm_data_plane::onboarding::activate_cluster(&cluster, "officer-password")
        .expect("activate");
    let co = cluster
        .login(Role::CryptoOfficer, PRECO_USER, "officer-password")
        .expect("CO login");
    let s = cluster.open_session(co).expect("session");
    cluster
        .create_user(s, Role::CryptoUser, "cu1", "user1234")
        .expect("create CU");
    let cu = cluster
        .open_session(
            cluster
                .login(Role::CryptoUser, "cu1", "user1234")
                .expect("CU login"),
        )
        .expect("session");

    let signing = KeyAttributes {
        sign: true,
        verify: true,
        ..Default::default()
    };
    let (_, rsa) = cluster
        .generate_key_pair(cu, KeySpec::Rsa { bits: 2048 }, signing.clone())
        .expect("RSA key");
    let (_, ec) = cluster
        .generate_key_pair(cu, KeySpec::Ec { curve: Curve::P256 }, signing)
        .expect("EC key");
    let aes = cluster
        .generate_key(
            cu,
            KeySpec::Aes { bits: 256 },
            KeyAttributes {
                encrypt: true,
                decrypt: true,
                ..Default::default()
            },
        )
        .expect("AES key");
    let message = [7u8; 32];
    let block = vec![1u8; 4096];

    let engine = (
        per_second(duration, || {
            cluster
                .sign(cu, rsa, Mechanism::RsaPkcs1Sha256, &message)
                .expect("sign");
        }),
        per_second(duration, || {
            cluster
                .sign(cu, ec, Mechanism::Ecdsa, &message)
                .expect("sign");
        }),
        per_second(duration, || {
            cluster
                .encrypt(cu, aes, Mechanism::AesGcm, &block, &[])
                .expect("encrypt");
        }),
    );
    // The provider alone, to separate its cost from the engine's.
    let raw =
        aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("raw RSA key");
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut signature = vec![0u8; raw.public_modulus_len()];
    let raw_rsa = per_second(duration, || {
        raw.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &rng,
            &message,
            &mut signature,
        )
        .expect("raw sign");
    });
    println!("one thread, {seconds} s per figure; aws-lc-rs alone: {raw_rsa:.0} RSA-2048 signs/s");
    println!(
        "{:<28} {:>14} {:>14} {:>8}",
        "operation", "engine/s", "openssl/s", "ratio"
    );
    let baseline = openssl(seconds);
    let rows = [
        (
            "RSA-2048 PKCS#1 SHA-256 sign",
            engine.0,
            baseline.map(|b| b.0),
            0.9,
        ),
        ("ECDSA P-256 sign", engine.1, baseline.map(|b| b.1), 0.8),
        (
            "AES-256-GCM 4 KiB encrypt",
            engine.2,
            baseline.map(|b| b.2),
            0.0,
        ),
    ];
    for (name, ours, theirs, target) in rows {
        match theirs {
            Some(theirs) => {
                let ratio = ours / theirs;
                let verdict = if target == 0.0 {
                    String::new()
                } else if ratio >= target {
                    format!("  (target {:.0}%: met)", target * 100.0)
                } else {
                    format!("  (target {:.0}%: NOT met)", target * 100.0)
                };
                println!(
                    "{name:<28} {ours:>14.0} {theirs:>14.0} {:>7.0}%{verdict}",
                    ratio * 100.0
                );
            }
            None => println!("{name:<28} {ours:>14.0} {:>14} {:>8}", "n/a", "-"),
        }
    }
    if baseline.is_none() {
        println!("(openssl was not found or its output was not understood: no baseline)");
    }
}
