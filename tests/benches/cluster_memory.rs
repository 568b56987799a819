//! Memory and create rate as clusters accumulate: the release emulator
//! (fresh data dir, 10 ms provisioning) gets clusters created through ARM
//! up to each level (default 10, 100 and 1,000), its resident memory read
//! from `/proc/<pid>/status` at each, then every cluster deleted. Prints
//! MiB per idle empty cluster, resident memory after create + delete
//! against the start, and the create rate at each level with its ratio to
//! the first. Asserts nothing.
//!
//! `cargo bench -p cloudhsm-e2e-tests --bench cluster_memory`
//! (`BENCH_LEVELS=10,100,1000` sets the levels; `BENCH_MAX_RSS_MIB`,
//! default 6144, stops creating once the emulator holds that much, so a
//! build that leaks cannot take the machine down).

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use cloudhsm_e2e_tests::{cluster_body, cluster_path, Emulator};
use reqwest::{Method, StatusCode};

/// Creates and deletes in flight at once (a busy CI pipeline's worth).
const CONCURRENCY: usize = 16;
/// How often a creator polls its operation (a tight client).
const POLL: Duration = Duration::from_millis(10);

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Waits for an `Azure-AsyncOperation` to end; returns its status.
async fn wait(emu: &Emulator, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let reply = emu.call(Method::GET, url, None).await;
        let status = reply.body["status"].as_str().unwrap_or("").to_string();
        if reply.status == StatusCode::OK && status != "InProgress" {
            return status;
        }
        assert!(Instant::now() < deadline, "operation never ended: {url}");
        tokio::time::sleep(POLL).await;
    }
}

async fn create(emu: &Emulator, name: &str) {
    let reply = emu
        .call(
            Method::PUT,
            &cluster_path("mem", name),
            Some(cluster_body()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let op = reply
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    assert_eq!(wait(emu, &op).await, "Succeeded", "creating {name}");
}

async fn delete(emu: &Emulator, name: &str) {
    let reply = emu
        .call(Method::DELETE, &cluster_path("mem", name), None)
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let location = reply.header("location").expect("Location");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let poll = emu.call(Method::GET, &location, None).await;
        if poll.status != StatusCode::ACCEPTED {
            assert!(poll.status.is_success(), "deleting {name}: {poll:?}");
            return;
        }
        assert!(Instant::now() < deadline, "deletion never ended: {name}");
        tokio::time::sleep(POLL).await;
    }
}

/// Runs `job(i)` for every `i` in `range`, `CONCURRENCY` at a time.
async fn run_all<F, Fut>(emu: &Arc<Emulator>, range: std::ops::Range<usize>, job: F)
where
    F: Fn(Arc<Emulator>, usize) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(range.start));
    let end = range.end;
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (emu, next, job) = (emu.clone(), next.clone(), job.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        break;
                    }
                    job(emu.clone(), i).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
}

fn name(i: usize) -> String {
    format!("chsm-mem-{i:05}")
}

/// `RssAnon` and `RssFile` of the emulator (KiB): heap and stacks, against
/// the binary's pages touched so far.
fn rss_parts(emu: &Emulator) -> (u64, u64) {
    let status = emu
        .pid()
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("RssAnon:"), field("RssFile:"))
}

struct Level {
    clusters: usize,
    rss_kib: u64,
    /// Creates per second over the level's last `window` creates.
    rate: f64,
    window: usize,
}

#[tokio::main]
async fn main() {
    let levels: Vec<usize> = std::env::var("BENCH_LEVELS")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let max_rss_kib = std::env::var("BENCH_MAX_RSS_MIB")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(6144)
        * 1024;
    let emu = Arc::new(Emulator::start_with(&["--provisioning-delay", "10ms"]).await);
    let fresh = emu.rss_kib();
    emu.put_group("mem").await;
    // Warm-up, untimed: connections, the operation worker, lazy statics.
    create(&emu, "chsm-warm").await;
    delete(&emu, "chsm-warm").await;
    let start = emu.settled_rss_kib().await;
    let start_parts = rss_parts(&emu);
    println!(
        "cloudHsmClusters created through ARM ({CONCURRENCY} at a time, polled every {} ms), release emulator, --provisioning-delay 10ms, fresh data dir",
        POLL.as_millis()
    );
    println!(
        "RSS: {:.1} MiB at start-up, {:.1} MiB after warm-up (the baseline)",
        mib(fresh),
        mib(start)
    );

    let mut made = 0;
    let mut results: Vec<Level> = Vec::new();
    let mut stopped = false;
    for &level in &levels {
        if level <= made {
            continue;
        }
        // The rate is taken over the level's last tenth (at least 10
        // creates, at most all of them), so each figure says how fast
        // creation is with about `level` clusters in place.
        let window = (level / 10).max(10).min(level - made);
        run_all(&emu, made..level - window, |emu, i| async move {
            create(&emu, &name(i)).await
        })
        .await;
        let timed = Instant::now();
        run_all(&emu, level - window..level, |emu, i| async move {
            create(&emu, &name(i)).await
        })
        .await;
        let rate = window as f64 / timed.elapsed().as_secs_f64();
        made = level;
        let rss_kib = emu.settled_rss_kib().await;
        println!(
            "{level:>6} clusters: RSS {:>8.1} MiB ({:+.1} MiB, {:.3} MiB per cluster); {rate:.1} creates/s over the last {window}",
            mib(rss_kib),
            mib(rss_kib.saturating_sub(start)),
            mib(rss_kib.saturating_sub(start)) / level as f64,
        );
        results.push(Level {
            clusters: level,
            rss_kib,
            rate,
            window,
        });
        if rss_kib > max_rss_kib {
            println!(
                "stopping: RSS above BENCH_MAX_RSS_MIB ({} MiB)",
                max_rss_kib / 1024
            );
            stopped = true;
            break;
        }
    }

    let deleting = Instant::now();
    run_all(&emu, 0..made, |emu, i| async move {
        delete(&emu, &name(i)).await
    })
    .await;
    let delete_rate = made as f64 / deleting.elapsed().as_secs_f64();
    let after = emu.settled_rss_kib().await;
    let listed = emu
        .call(
            Method::GET,
            &format!(
                "/subscriptions/{}/resourceGroups/mem/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters?api-version={}",
                cloudhsm_e2e_tests::SUB,
                cloudhsm_e2e_tests::HSM_API
            ),
            None,
        )
        .await;
    assert_eq!(
        listed.body["value"].as_array().map(Vec::len),
        Some(0),
        "every cluster deleted"
    );
    let after_parts = rss_parts(&emu);
    println!(
        "deleted {made} clusters at {delete_rate:.1}/s; RSS {:.1} MiB (anonymous {:.1} MiB, was {:.1}; file-backed {:.1} MiB, was {:.1})",
        mib(after),
        mib(after_parts.0),
        mib(start_parts.0),
        mib(after_parts.1),
        mib(start_parts.1)
    );
    // More rounds of the same churn show whether what stays is bounded
    // (caches, allocator slack) or grows with every cluster ever made.
    let rounds: usize = std::env::var("BENCH_CHURN_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut after_rounds = after;
    for round in 1..=rounds {
        run_all(&emu, 0..made, |emu, i| async move {
            create(&emu, &name(i)).await
        })
        .await;
        run_all(&emu, 0..made, |emu, i| async move {
            delete(&emu, &name(i)).await
        })
        .await;
        after_rounds = emu.settled_rss_kib().await;
        println!(
            "churn round {round}: {made} more created and deleted; RSS {:.1} MiB",
            mib(after_rounds)
        );
    }

    println!();
    println!("| figure | measured | target |");
    println!("| --- | --- | --- |");
    if let Some(last) = results.last() {
        let per = mib(last.rss_kib.saturating_sub(start)) / last.clusters as f64;
        println!(
            "| RSS per idle empty cluster (at {} clusters) | {per:.3} MiB | <= 1 MiB: {} |",
            last.clusters,
            if per <= 1.0 { "met" } else { "NOT met" }
        );
    }
    let back = after as f64 / start as f64;
    println!(
        "| RSS after creating and deleting {made} vs start | {:.1} MiB vs {:.1} MiB ({:.0}%) | within 10%: {} |",
        mib(after),
        mib(start),
        back * 100.0,
        if back <= 1.10 { "met" } else { "NOT met" }
    );
    if let Some(first) = results.first() {
        for level in &results {
            let ratio = level.rate / first.rate;
            println!(
                "| create rate at {} clusters (last {}) | {:.1}/s ({:.0}% of the rate at {}) | within 20%: {} |",
                level.clusters,
                level.window,
                level.rate,
                ratio * 100.0,
                first.clusters,
                // Faster at scale is no regression.
                if ratio >= 0.8 {
                    "met"
                } else {
                    "NOT met"
                }
            );
        }
    }
    if rounds > 0 {
        println!(
            "| RSS after {rounds} more rounds of {made} created and deleted | {:.1} MiB ({:.0}% of start) | — |",
            mib(after_rounds),
            after_rounds as f64 / start as f64 * 100.0
        );
    }
    if stopped {
        println!("(creation stopped early at {made} clusters: see above)");
    }
}
