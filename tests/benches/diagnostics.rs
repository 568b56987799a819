//! The cost of a diagnostic setting on the data plane, and how long records
//! take to reach the destination, against a real Azurite:
//!
//! - ECDSA P-256 signing throughput (16 sessions over the framed stream)
//!   with no setting, then with a storage-account setting (every operation
//!   appended to the outbox before it is acknowledged, delivered meanwhile),
//!   alternated over several rounds in the same run; prints the ratio
//!   (target: at least 90%).
//! - Delivery lag: one operation at a time, from its acknowledgement to its
//!   record in the blob (the blob polled every 5 ms), p50 / p99 with the
//!   default batch interval (target p50 < 1 s).
//!
//! `CLOUDHSM_EMULATOR_BIN=target/release/cloudhsm-emulator cargo bench -p
//! cloudhsm-e2e-tests --bench diagnostics` (`BENCH_SECONDS` per round,
//! default 3). Asserts nothing.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use cloudhsm_data_plane::{
    client::HsmClient,
    engine::{
        attributes::{ids, Attribute},
        keys::Curve,
    },
    KeySpec,
};
use cloudhsm_e2e_tests::{
    azurite::Azurite,
    diagnostics::{emulator_for_azurite, put_setting, reader_token, storage_account_id, CONTAINER},
    insights_path, Emulator,
};
use reqwest::Method;
use serde_json::{json, Value};

const SESSIONS: usize = 16;
const ROUNDS: usize = 3;
const LAG_SAMPLES: usize = 100;

async fn sign_rate(clients: &[Arc<HsmClient>], key: u64, duration: Duration) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .cloned()
        .map(|client| {
            tokio::spawn(async move {
                let mut done = 0u64;
                while start.elapsed() < duration {
                    client.sign(key, "ECDSA", &[7u8; 32]).await.expect("sign");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

async fn set_diagnostics(emu: &Emulator, on: bool) {
    if on {
        put_setting(
            emu,
            "rg",
            "chsm1",
            "bench",
            json!({ "storageAccountId": storage_account_id("rg") }),
        )
        .await;
    } else {
        let reply = emu
            .call(
                Method::DELETE,
                &insights_path("rg", "chsm1", "diagnosticSettings/bench"),
                None,
            )
            .await;
        assert!(reply.status.is_success(), "{reply:?}");
    }
}

/// Bytes in the container's blobs now (from the listing: reading blobs
/// that grew to tens of MB during the throughput rounds would be the lag).
async fn delivered_bytes(azurite: &Azurite, token: &str) -> usize {
    let url = format!(
        "{}?restype=container&comp=list",
        azurite.container_uri(CONTAINER)
    );
    let (_, body) = azurite.raw_get(token, url).await;
    String::from_utf8_lossy(&body)
        .split("<Content-Length>")
        .skip(1)
        .filter_map(|s| s.split("</Content-Length>").next()?.parse::<usize>().ok())
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);
    let (emu, port) = emulator_for_azurite(&[]).await;
    let azurite = Azurite::start_on(&emu, port).await;
    emu.put_group("rg").await;
    let cluster: Value = emu.create_cluster("rg", "chsm1").await;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .expect("CO login");
    officer
        .create_user("CU", "cu1", "user1234")
        .await
        .expect("CU");
    let owner = emu.hsm_client(&cluster);
    owner
        .login("CU", "cu1", "user1234")
        .await
        .expect("CU login");
    let (_, key) = owner
        .generate_key_pair(
            KeySpec::Ec { curve: Curve::P256 },
            vec![
                (ids::SIGN, Attribute::Bool(true)),
                (ids::VERIFY, Attribute::Bool(true)),
            ],
        )
        .await
        .expect("key");
    let mut clients = Vec::new();
    for _ in 0..SESSIONS {
        let client = emu.hsm_client(&cluster);
        client
            .login("CU", "cu1", "user1234")
            .await
            .expect("CU login");
        clients.push(Arc::new(client));
    }
    // Warm-up (connections, the stream, the allocator).
    sign_rate(&clients, key, Duration::from_secs(1)).await;

    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        set_diagnostics(&emu, false).await;
        off.push(sign_rate(&clients, key, duration).await);
        set_diagnostics(&emu, true).await;
        on.push(sign_rate(&clients, key, duration).await);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("ECDSA P-256 sign, {SESSIONS} sessions, {ROUNDS} rounds of {seconds} s each:");
    println!(
        "  no diagnostic setting:   {:>8.0} ops/s  (rounds {:?})",
        mean(&off),
        off.iter().map(|r| r.round()).collect::<Vec<_>>()
    );
    println!(
        "  storage-account setting: {:>8.0} ops/s  (rounds {:?})",
        mean(&on),
        on.iter().map(|r| r.round()).collect::<Vec<_>>()
    );
    println!(
        "  ratio on/off: {:.1}% (target >= 90%)",
        100.0 * mean(&on) / mean(&off)
    );

    // Lag: wait for the backlog of the throughput rounds to drain first.
    let token = reader_token(&emu, "rg").await;
    let mut last = delivered_bytes(&azurite, &token).await;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = delivered_bytes(&azurite, &token).await;
        if now == last {
            break;
        }
        last = now;
    }
    let mut lags = Vec::new();
    for _ in 0..LAG_SAMPLES {
        owner.sign(key, "ECDSA", &[1u8; 32]).await.expect("sign");
        let acknowledged = Instant::now();
        loop {
            let now = delivered_bytes(&azurite, &token).await;
            if now > last {
                last = now;
                break;
            }
            assert!(
                acknowledged.elapsed() < Duration::from_secs(30),
                "a record never arrived"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lags.push(acknowledged.elapsed());
    }
    lags.sort();
    println!(
        "delivery lag to the blob, {LAG_SAMPLES} operations one at a time (default 250 ms batch interval): p50 {:.0} ms, p99 {:.0} ms (target p50 < 1 s)",
        percentile(&lags, 0.5).as_secs_f64() * 1e3,
        percentile(&lags, 0.99).as_secs_f64() * 1e3
    );
}
