//! Crypto throughput through the data-plane network API (HTTPS keep-alive,
//! 16 concurrent sessions, each its own login) against the engine itself
//! (in-process, one thread per core), in the same run. The client sends the
//! operations over its framed stream; the same 16 sessions sending HTTPS+JSON
//! only (`HsmClient::without_stream`) are measured too, for comparison.
//! Prints figures and the ratios; asserts nothing.
//!
//! `cargo bench -p cloudhsm-e2e-tests --bench data_plane` (`BENCH_SECONDS`, default 3).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use cloudhsm_data_plane::{
    client::HsmClient,
    engine::{
        attributes::{ids, Attribute},
        cluster::PRECO_USER,
        keys::Curve,
    },
    Cluster, ClusterConfig, KeyAttributes, KeySpec, Mechanism, Role,
};
use cloudhsm_e2e_tests::Emulator;

const SESSIONS: usize = 16;

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

/// Throughput, and the CPU each operation took (this process and the
/// emulator together): on a machine shared with other work the rate depends
/// on the CPU share we got, the CPU per operation much less.
struct Measured {
    rate: f64,
    cpu_us_per_op: f64,
}

/// CPU seconds used so far by this process and its children (the emulator).
fn cpu_seconds() -> f64 {
    let me = std::process::id();
    let ticks = |stat: &str| -> Option<(u32, u64)> {
        // Fields after the parenthesised command name: state, ppid, ...;
        // utime and stime are the 12th and 13th of them.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some((
            fields[1].parse().ok()?,
            fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?,
        ))
    };
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let pid: u32 = entry.file_name().to_string_lossy().parse().unwrap_or(0);
        if let Some((ppid, used)) = ticks(&stat) {
            if pid == me || ppid == me {
                total += used;
            }
        }
    }
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    total as f64 / per_second
}

fn measured(ops: u64, start: Instant, cpu_before: f64) -> Measured {
    let cpu = cpu_seconds() - cpu_before;
    let ops = ops.max(1) as f64;
    Measured {
        rate: ops / start.elapsed().as_secs_f64(),
        cpu_us_per_op: cpu * 1e6 / ops,
    }
}

/// Operations per second by the engine, on every core.
fn engine_rate(operation: Operation, duration: Duration) -> Measured {
    let cluster = Arc::new(Cluster::new(ClusterConfig::default()).expect("cluster"));
    cloudhsm_data_plane::onboarding::activate_cluster(&cluster, "officer-password")
        .expect("activate");
    let s = cluster
        .open_session(
            cluster
                .login(Role::CryptoOfficer, PRECO_USER, "officer-password")
                .expect("login"),
        )
        .expect("session");
    cluster
        .create_user(s, Role::CryptoUser, "cu1", "user1234")
        .expect("user");
    let owner = cluster
        .open_session(
            cluster
                .login(Role::CryptoUser, "cu1", "user1234")
                .expect("login"),
        )
        .expect("session");
    let attributes = KeyAttributes {
        sign: true,
        encrypt: true,
        ..Default::default()
    };
    let key = match operation {
        Operation::RsaSign => {
            cluster
                .generate_key_pair(owner, KeySpec::Rsa { bits: 2048 }, attributes)
                .expect("key")
                .1
        }
        Operation::EcSign => {
            cluster
                .generate_key_pair(owner, KeySpec::Ec { curve: Curve::P256 }, attributes)
                .expect("key")
                .1
        }
        Operation::AesEncrypt => cluster
            .generate_key(owner, KeySpec::Aes { bits: 256 }, attributes)
            .expect("key"),
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let cluster = cluster.clone();
                let login = cluster
                    .login(Role::CryptoUser, "cu1", "user1234")
                    .expect("login");
                let session = cluster.open_session(login).expect("session");
                scope.spawn(move || {
                    let (message, block) = ([7u8; 32], vec![1u8; 4096]);
                    let mut n = 0;
                    while start.elapsed() < duration {
                        match operation {
                            Operation::RsaSign => drop(
                                cluster
                                    .sign(session, key, Mechanism::RsaPkcs1Sha256, &message)
                                    .expect("sign"),
                            ),
                            Operation::EcSign => drop(
                                cluster
                                    .sign(session, key, Mechanism::Ecdsa, &message)
                                    .expect("sign"),
                            ),
                            Operation::AesEncrypt => drop(
                                cluster
                                    .encrypt(session, key, Mechanism::AesGcm, &block, &[])
                                    .expect("encrypt"),
                            ),
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    measured(counts.iter().sum(), start, cpu_before)
}

/// Operations per second through the network API with `SESSIONS` clients.
async fn network_rate(
    clients: &[Arc<HsmClient>],
    key: u64,
    operation: Operation,
    duration: Duration,
) -> (Measured, u64) {
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .cloned()
        .map(|client| {
            tokio::spawn(async move {
                let (message, block) = ([7u8; 32], vec![1u8; 4096]);
                let (mut done, mut errors) = (0u64, 0u64);
                while start.elapsed() < duration {
                    let result = match operation {
                        Operation::RsaSign => client.sign(key, "SHA256_RSA_PKCS", &message).await,
                        Operation::EcSign => client.sign(key, "ECDSA", &message).await,
                        Operation::AesEncrypt => client.encrypt(key, "AES_GCM", &block, &[]).await,
                    };
                    if result.is_ok() {
                        done += 1
                    } else {
                        errors += 1
                    }
                }
                (done, errors)
            })
        })
        .collect();
    let mut total = (0, 0);
    for task in tasks {
        let (done, errors) = task.await.expect("client task");
        total = (total.0 + done, total.1 + errors);
    }
    (measured(total.0, start, cpu_before), total.1)
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);

    let emulator = Emulator::start_with(&["--provisioning-delay", "10ms"]).await;
    emulator.put_group("bench").await;
    let cluster = emulator.create_cluster("bench", "chsm-bench").await;
    emulator.activate(&cluster, "officer-password").await;
    let officer = emulator.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .expect("CO login");
    officer
        .create_user("CU", "cu1", "user1234")
        .await
        .expect("create CU");
    let owner = emulator.hsm_client(&cluster);
    owner
        .login("CU", "cu1", "user1234")
        .await
        .expect("CU login");
    let attributes = || {
        vec![
            (ids::SIGN, Attribute::Bool(true)),
            (ids::ENCRYPT, Attribute::Bool(true)),
        ]
    };
    let keys = [
        owner
            .generate_key_pair(KeySpec::Rsa { bits: 2048 }, attributes())
            .await
            .expect("RSA")
            .1,
        owner
            .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, attributes())
            .await
            .expect("EC")
            .1,
        owner
            .generate_key(KeySpec::Aes { bits: 256 }, attributes())
            .await
            .expect("AES"),
    ];
    let mut clients = Vec::new();
    // The same through HTTPS+JSON alone, one request per operation, for
    // comparison (the figure before the framed stream existed).
    let mut json_clients = Vec::new();
    for _ in 0..SESSIONS {
        let client = emulator.hsm_client(&cluster);
        client
            .login("CU", "cu1", "user1234")
            .await
            .expect("CU login");
        clients.push(Arc::new(client));
        let client = emulator.hsm_client(&cluster).without_stream();
        client
            .login("CU", "cu1", "user1234")
            .await
            .expect("CU login");
        json_clients.push(Arc::new(client));
    }

    println!("{seconds} s per figure; network API: {SESSIONS} sessions over HTTPS keep-alive; engine: one thread per core");
    println!(
        "{:<30} {:>12} {:>12} {:>7}   {:>12} {:>7}",
        "operation", "engine/s", "network/s", "ratio", "JSON-only/s", "ratio"
    );
    let mut cpu = Vec::new();
    for ((operation, name), key) in OPERATIONS.into_iter().zip(keys) {
        let engine_measured = engine_rate(operation, duration);
        let (network_measured, errors) = network_rate(&clients, key, operation, duration).await;
        let (json_measured, json_errors) =
            network_rate(&json_clients, key, operation, duration).await;
        cpu.push((
            name,
            [&engine_measured, &network_measured, &json_measured].map(|m| m.cpu_us_per_op),
        ));
        let (engine, network, json) = (
            engine_measured.rate,
            network_measured.rate,
            json_measured.rate,
        );
        let errors = errors + json_errors;
        let ratio = network / engine;
        let verdict = if ratio >= 0.5 {
            "target 50%: met"
        } else {
            "target 50%: NOT met"
        };
        let errors = if errors > 0 {
            format!("; {errors} ERRORS")
        } else {
            String::new()
        };
        println!(
            "{name:<30} {engine:>12.0} {network:>12.0} {:>6.0}%   {json:>12.0} {:>6.0}%  ({verdict}{errors})",
            ratio * 100.0,
            json / engine * 100.0
        );
    }
    // Which transport the client used: the framed stream, or HTTPS+JSON when
    // the stream was unavailable.
    println!();
    println!(
        "CPU per operation, this process and the emulator (less sensitive to a loaded machine):"
    );
    println!(
        "{:<30} {:>12} {:>12} {:>7}   {:>12} {:>7}",
        "operation", "engine µs", "network µs", "ratio", "JSON-only µs", "ratio"
    );
    for (name, [engine, network, json]) in cpu {
        println!(
            "{name:<30} {engine:>12.1} {network:>12.1} {:>6.0}%   {json:>12.1} {:>6.0}%",
            engine / network * 100.0,
            engine / json * 100.0
        );
    }
    let streamed: u64 = clients.iter().map(|c| c.streamed_operations()).sum();
    let json_streamed: u64 = json_clients.iter().map(|c| c.streamed_operations()).sum();
    println!("operations answered over the framed stream: {streamed} (JSON-only clients: {json_streamed})");
}
