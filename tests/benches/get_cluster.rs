//! GET-cluster throughput and latency over HTTPS keep-alive, against a
//! baseline measured in the same run: a bare axum handler, in its own
//! process like the emulator, serving the same bytes with the same
//! certificate. Prints figures; asserts nothing.
//!
//! `cargo bench -p cloudhsm-e2e-tests --bench get_cluster`
//! (`BENCH_SECONDS` sets the measuring time per run; default 5.)

use std::{
    net::TcpListener,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{http::header, routing::get, Router};
use cloudhsm_e2e_tests::{cluster_path, Emulator};

struct Figures {
    requests: usize,
    errors: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `connections` tasks, each with its own keep-alive HTTP/1.1 connection,
/// send requests back to back for `duration` after a short warm-up.
async fn measure(
    url: &str,
    token: &str,
    ca_pem: &[u8],
    connections: usize,
    duration: Duration,
) -> Figures {
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).expect("CA PEM"))
        .tls_built_in_root_certs(false)
        .http1_only()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("HTTP client");
    let run = |until: Instant| {
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                let (client, url, token) = (client.clone(), url.to_string(), token.to_string());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut errors = 0;
                    while Instant::now() < until {
                        let start = Instant::now();
                        let ok = match client.get(&url).bearer_auth(&token).send().await {
                            Ok(response) => {
                                let ok = response.status().is_success();
                                ok & response.bytes().await.is_ok()
                            }
                            Err(_) => false,
                        };
                        latencies.push(start.elapsed());
                        errors += usize::from(!ok);
                    }
                    (latencies, errors)
                })
            })
            .collect();
        async move {
            let mut all = Vec::new();
            let mut errors = 0;
            for task in tasks {
                let (latencies, e) = task.await.expect("load task");
                all.extend(latencies);
                errors += e;
            }
            (all, errors)
        }
    };
    run(Instant::now() + Duration::from_millis(500)).await; // warm-up: connections, caches
    let started = Instant::now();
    let (mut latencies, errors) = run(started + duration).await;
    let elapsed = started.elapsed();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        requests: latencies.len(),
        errors,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

/// Environment variable that turns this binary into the baseline server:
/// `cert.pem|key.pem|body-file`.
const BASELINE_SERVER: &str = "GET_CLUSTER_BASELINE_SERVER";

/// The baseline: a bare axum handler serving the same bytes with the same
/// TLS certificate, in a process of its own as the emulator is, so both pay
/// the same cross-process costs. Prints its port, then serves until killed.
async fn serve_baseline(spec: &str) {
    let mut parts = spec.split('|');
    let (cert, key, body) = (
        parts.next().expect("cert path"),
        parts.next().expect("key path"),
        parts.next().expect("body path"),
    );
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .expect("baseline TLS config");
    let body = Arc::new(std::fs::read(body).expect("baseline body"));
    let app = Router::new().route(
        "/cluster",
        get(move || {
            let body = body.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    body.as_ref().clone(),
                )
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("baseline listener");
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    println!(
        "{}",
        listener.local_addr().expect("baseline address").port()
    );
    axum_server::from_tcp_rustls(listener, config)
        .serve(app.into_make_service())
        .await
        .expect("baseline server");
}

/// Starts [`serve_baseline`] in a child process; returns it and its URL.
fn start_baseline(emulator: &Emulator, body: &[u8]) -> (std::process::Child, String) {
    let tls = emulator.data_dir().join("tls");
    let body_file = emulator.data_dir().join("baseline-body.json");
    std::fs::write(&body_file, body).expect("writing the baseline body");
    let spec = format!(
        "{}|{}|{}",
        tls.join("server.pem").display(),
        tls.join("server.key").display(),
        body_file.display()
    );
    let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env(BASELINE_SERVER, spec)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starting the baseline server");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("baseline stdout")),
        &mut line,
    )
    .expect("baseline port");
    (child, format!("https://127.0.0.1:{}/cluster", line.trim()))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Ok(spec) = std::env::var(BASELINE_SERVER) {
        return serve_baseline(&spec).await;
    }
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let duration = Duration::from_secs(seconds);

    let emulator = Emulator::start_with(&["--provisioning-delay", "10ms"]).await;
    emulator.put_group("bench").await;
    emulator.create_cluster("bench", "chsm-bench").await;
    let emulator_url = emulator.url(&cluster_path("bench", "chsm-bench"));
    let body = emulator
        .request(reqwest::Method::GET, &cluster_path("bench", "chsm-bench"))
        .send()
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("body")
        .to_vec();
    let (mut baseline_server, baseline_url) = start_baseline(&emulator, &body);
    let ca = std::fs::read(
        emulator
            .endpoints
            .ca_certificate
            .as_ref()
            .expect("HTTPS emulator"),
    )
    .expect("CA file");

    println!(
        "GET cloudHsmCluster over HTTPS keep-alive, {} byte body, {seconds} s per run",
        body.len()
    );
    println!(
        "{:<10} {:>5} {:>12} {:>10} {:>10} {:>9} {:>7}",
        "server", "conns", "requests/s", "p50", "p99", "requests", "errors"
    );
    for connections in [1, 64] {
        let baseline = measure(&baseline_url, "unused", &ca, connections, duration).await;
        let ours = measure(&emulator_url, emulator.token(), &ca, connections, duration).await;
        for (name, f) in [("baseline", &baseline), ("emulator", &ours)] {
            println!(
                "{name:<10} {connections:>5} {:>12.0} {:>10} {:>10} {:>9} {:>7}",
                f.per_second,
                ms(f.p50),
                ms(f.p99),
                f.requests,
                f.errors
            );
        }
        let ratio = ours.per_second / baseline.per_second;
        let mut verdict = format!(
            "{:.0}% of baseline throughput (target >= 50%: {})",
            ratio * 100.0,
            if ratio >= 0.5 { "met" } else { "NOT met" }
        );
        if connections == 64 {
            let p99_ok = ours.p99 < Duration::from_millis(5);
            verdict.push_str(&format!(
                "; p99 {} (target < 5 ms: {})",
                ms(ours.p99),
                if p99_ok { "met" } else { "NOT met" }
            ));
        }
        if ours.errors + baseline.errors > 0 {
            verdict.push_str("; ERRORS during the run: figures are not trustworthy");
        }
        println!("  {connections} connection(s): {verdict}");
    }
    let _ = baseline_server.kill();
    let _ = baseline_server.wait();
}
