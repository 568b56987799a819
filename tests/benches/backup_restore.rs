//! Backup and restore time against the local Azurite (HTTPS, OAuth), for a
//! cluster filled to the service's capacity (3,200 key handles: AES, EC and
//! RSA) and for 10,000 key handles with `--key-capacity` raised, and, in the
//! same run, Azurite's raw transfer of a blob of the same size (Put Block in
//! 4 MiB blocks + Put Block List, then Get Blob). Jobs are polled as the SDK
//! pollers poll them (honouring the server's retry hints), so the figures are
//! what an SDK user waits. Five rounds per size (a fresh target cluster
//! each), medians printed; asserts nothing.
//!
//! `cargo bench -p cloudhsm-e2e-tests --bench backup_restore`

use std::time::{Duration, Instant};

use cloudhsm_data_plane::{
    client::HsmClient,
    engine::{
        attributes::{ids, Attribute},
        keys::Curve,
    },
    KeySpec,
};
use cloudhsm_e2e_tests::{
    azurite::{
        assign_role, storage_token, Azurite, ACCOUNT, BLOB_API_VERSION, BLOB_DATA_CONTRIBUTOR,
    },
    backup_jobs::{self, backup_body, restore_body},
    cluster_path, Emulator,
};
use reqwest::Method;
use serde_json::{json, Value};

/// Backup + restore + raw transfer rounds per size; the table shows medians
/// (the machine's other load moves single figures by half).
const ROUNDS: usize = 5;

struct Round {
    backup: Duration,
    restore: Duration,
    raw: Duration,
}

impl Round {
    fn total(&self) -> f64 {
        (self.backup + self.restore).as_secs_f64()
    }
}

/// `(label, handles, RSA pairs, EC pairs)`; the rest are AES keys.
const SIZES: [(&str, usize, usize, usize); 2] = [
    ("full cluster (3,200 handles)", 3200, 100, 500),
    ("10,000 handles", 10_000, 100, 1500),
];

async fn cluster(emu: &Emulator, identity: &Value, name: &str) -> Value {
    let mut body = cloudhsm_e2e_tests::cluster_body();
    body["identity"] = json!({"type": "UserAssigned", "userAssignedIdentities": { identity["id"].as_str().unwrap(): {} }});
    let reply = emu
        .call(Method::PUT, &cluster_path("rg", name), Some(body))
        .await;
    let op = reply
        .header("azure-asyncoperation")
        .expect("create started");
    assert_eq!(emu.wait_async_operation(&op).await["status"], "Succeeded");
    emu.call(Method::GET, &cluster_path("rg", name), None)
        .await
        .body
}

/// Fills a cluster over the network API, 16 requests at a time.
async fn fill(emu: &Emulator, cluster: &Value, handles: usize, rsa: usize, ec: usize) {
    emu.activate(cluster, "officer-pass1").await;
    let officer = emu.hsm_client(cluster);
    officer.login("CO", "admin", "officer-pass1").await.unwrap();
    officer.create_user("CU", "cu1", "user1234").await.unwrap();
    let aes = handles - 2 * rsa - 2 * ec;
    let mut specs: Vec<(KeySpec, bool)> = Vec::new();
    specs.extend((0..rsa).map(|_| (KeySpec::Rsa { bits: 2048 }, true)));
    specs.extend((0..ec).map(|_| (KeySpec::Ec { curve: Curve::P256 }, true)));
    specs.extend((0..aes).map(|_| (KeySpec::Aes { bits: 256 }, false)));
    let clients: Vec<HsmClient> = futures_clients(emu, cluster, 16).await;
    let chunks: Vec<Vec<(KeySpec, bool)>> = specs
        .chunks(specs.len().div_ceil(clients.len()))
        .map(|c| c.to_vec())
        .collect();
    let mut tasks = Vec::new();
    for (client, chunk) in clients.into_iter().zip(chunks) {
        tasks.push(tokio::spawn(async move {
            for (i, (spec, pair)) in chunk.into_iter().enumerate() {
                let attributes = vec![
                    (ids::SIGN, Attribute::Bool(true)),
                    (ids::LABEL, Attribute::Text(format!("k{i}"))),
                ];
                if pair {
                    client.generate_key_pair(spec, attributes).await.unwrap();
                } else {
                    client.generate_key(spec, attributes).await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

async fn futures_clients(emu: &Emulator, cluster: &Value, n: usize) -> Vec<HsmClient> {
    let mut clients = Vec::new();
    for _ in 0..n {
        let client = emu.hsm_client(cluster);
        client.login("CU", "cu1", "user1234").await.unwrap();
        clients.push(client);
    }
    clients
}

/// Runs a job as the Azure SDK pollers do (azure-core's ARM polling, which
/// `begin_backup`/`begin_restore` use): after each response, wait what the
/// server asks (`retry-after-ms`, `x-ms-retry-after-ms`, else `Retry-After`
/// in seconds), then poll `Azure-AsyncOperation`, the spec's
/// `final-state-via`. Returns the time from the POST to the final status, as
/// a user of the SDK sees it.
async fn timed(emu: &Emulator, name: &str, action: &str, body: Value) -> (Duration, Value) {
    let start = Instant::now();
    let reply = backup_jobs::post(emu, "rg", name, action, body).await;
    let url = reply.header("azure-asyncoperation").expect("job started");
    let mut hint = poll_hint(&reply.headers);
    loop {
        tokio::time::sleep(hint).await;
        let poll = emu.call(Method::GET, &url, None).await;
        if poll.body["status"] != "InProgress" {
            assert_eq!(poll.body["status"], "Succeeded", "{}", poll.body);
            return (start.elapsed(), poll.body);
        }
        hint = poll_hint(&poll.headers);
    }
}

/// The delay a poller takes from a response, in azure-core's order; without
/// any header, azure-core's ARM default of 30 s.
fn poll_hint(headers: &reqwest::header::HeaderMap) -> Duration {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    number("retry-after-ms")
        .or_else(|| number("x-ms-retry-after-ms"))
        .map(Duration::from_millis)
        .or_else(|| number("retry-after").map(Duration::from_secs))
        .unwrap_or(Duration::from_secs(30))
}

/// Azurite's raw transfer of `size` bytes: staged blocks + commit, then a download.
async fn raw_transfer(emu: &Emulator, azurite: &Azurite, token: &str, size: usize) -> Duration {
    let block = 4 * 1024 * 1024;
    let payload = vec![0x5au8; size];
    let blob = format!(
        "https://127.0.0.1:{}/{ACCOUNT}/backups/raw-{}",
        azurite.port, size
    );
    let start = Instant::now();
    let mut ids = Vec::new();
    for (i, chunk) in payload.chunks(block).enumerate() {
        let id = base64_id(i);
        let response = emu
            .http
            .put(format!("{blob}?comp=block&blockid={}", urlencode(&id)))
            .bearer_auth(token)
            .header("x-ms-version", BLOB_API_VERSION)
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        ids.push(id);
    }
    let list: String = ids
        .iter()
        .map(|id| format!("<Latest>{id}</Latest>"))
        .collect();
    let response = emu
        .http
        .put(format!("{blob}?comp=blocklist"))
        .bearer_auth(token)
        .header("x-ms-version", BLOB_API_VERSION)
        .body(format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>{list}</BlockList>"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let downloaded = emu
        .http
        .get(&blob)
        .bearer_auth(token)
        .header("x-ms-version", BLOB_API_VERSION)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(downloaded.len(), size);
    start.elapsed()
}

fn base64_id(i: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("block-{i:08}"))
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[tokio::main]
async fn main() {
    println!(
        "backup + restore against local Azurite (release emulator; Azurite on the same 2 cores)"
    );
    println!("medians of {ROUNDS} rounds; the ratio column lists each round's ratio too");
    println!("| cluster | blob size | backup | restore | backup+restore | raw Azurite upload+download | ratio (rounds) |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (label, handles, rsa, ec) in SIZES {
        let capacity = handles.max(3200).to_string();
        let emu =
            Emulator::start_with(&["--provisioning-delay", "50ms", "--key-capacity", &capacity])
                .await;
        emu.put_group("rg").await;
        let identity = emu.put_identity("rg", "backup-id").await;
        let principal = identity["properties"]["principalId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            assign_role(&emu, "rg", &principal, BLOB_DATA_CONTRIBUTOR)
                .await
                .status,
            201
        );
        let azurite = Azurite::start(&emu).await;
        let token = storage_token(&emu, &identity).await;
        azurite.create_container(&token, "backups").await;
        let container = azurite.container_uri("backups");

        let source = cluster(&emu, &identity, "src").await;
        fill(&emu, &source, handles, rsa, ec).await;

        let mut rounds = Vec::new();
        let mut blob_size = 0;
        for round in 0..ROUNDS.max(1) {
            let target = format!("dst{round}");
            cluster(&emu, &identity, &target).await;
            let (backup, done) = timed(&emu, "src", "backup", backup_body(&container)).await;
            let backup_id = done["properties"]["backupId"].as_str().unwrap().to_string();
            let (_, blob) = azurite.get_blob(&token, "backups", &backup_id).await;
            blob_size = blob.len();
            let (restore, _) = timed(
                &emu,
                &target,
                "restore",
                restore_body(&container, &backup_id),
            )
            .await;
            let raw = raw_transfer(&emu, &azurite, &token, blob.len()).await;
            rounds.push(Round {
                backup,
                restore,
                raw,
            });
        }
        let median = |of: &dyn Fn(&Round) -> f64| {
            let mut values: Vec<f64> = rounds.iter().map(of).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let ratios: Vec<String> = rounds
            .iter()
            .map(|r| format!("{:.1}", r.total() / r.raw.as_secs_f64()))
            .collect();
        println!(
            "| {label} | {:.1} MiB | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.1}x ({}) |",
            blob_size as f64 / (1024.0 * 1024.0),
            median(&|r| r.backup.as_secs_f64()),
            median(&|r| r.restore.as_secs_f64()),
            median(&|r| r.total()),
            median(&|r| r.raw.as_secs_f64()),
            median(&|r| r.total() / r.raw.as_secs_f64()),
            ratios.join(", ")
        );
    }
}
