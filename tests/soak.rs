//! Soak: load, `kill -9` at random moments and restarts on the same data
//! dir, with nothing acknowledged lost.
//!
//! Each cycle runs, at the same time: 32 ARM clients creating, updating and
//! deleting clusters (long-running operations), user-assigned identities
//! and role assignments; 16 data-plane clients (crypto users) generating EC
//! key pairs, signing and verifying; a crypto officer creating, re-keying
//! and deleting users; and a backup of the data cluster to Azurite every
//! few seconds. At a random moment the emulator is killed (SIGKILL) and
//! started again on the same data dir. Then every acknowledged write is
//! checked: resources with their last acknowledged tags (and clusters'
//! ETags), role assignments, keys by handle with their public keys (and
//! still signing), users with their passwords, completed backups still
//! restorable (validated, and the latest restored into a fresh cluster at
//! the end with the keys it must hold); no long-running operation stuck;
//! no record half-applied (every provisioned cluster has its HSMs). A
//! write in flight at the kill may have landed or not; either is accepted,
//! and the state found is what the next cycle expects.
//!
//! Short form (CI): `cargo test -p cloudhsm-e2e-tests --test soak` (5
//! cycles). Long form: `SOAK_CYCLES=100` (and `SOAK_SEED` to replay a run's
//! kill timings, `SOAK_UPTIME_MS=min-max` for how long each cycle runs,
//! `SOAK_OPERATION_RETENTION` for the emulator's `--operation-retention`).
//! Prints cycles, operations, losses, stuck operations and resident memory.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use cloudhsm_data_plane::{engine::attributes::ids, engine::keys::Curve, KeySpec};
use cloudhsm_e2e_tests::{
    azurite::{assign_role, storage_token, Azurite, BLOB_DATA_CONTRIBUTOR},
    backup_jobs::{self, backup_body, restore_body},
    cluster_body, cluster_path, identity_id, identity_path, usage, Emulator, Reply, SUB,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const GROUP: &str = "soak";
const ARM_CLIENTS: usize = 32;
const DP_CLIENTS: usize = 16;
const CU_PASSWORD: &str = "soak-user-pass";
const CO_PASSWORD: &str = "soak-officer-pass";
const ROLE_API: &str = "2022-04-01";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

/// A small deterministic generator, so a run's choices and kill moments
/// can be replayed from its seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What a client knows of one item: the state last acknowledged, and the
/// state a write in flight would leave (it may or may not have landed).
#[derive(Clone, Debug, Default)]
struct Known<T> {
    acked: T,
    pending: Option<T>,
}

impl<T: Clone + PartialEq + std::fmt::Debug> Known<T> {
    fn allows(&self, found: &T) -> bool {
        *found == self.acked || self.pending.as_ref() == Some(found)
    }
    fn begin(&mut self, next: T) {
        self.pending = Some(next);
    }
    fn ack(&mut self) {
        if let Some(next) = self.pending.take() {
            self.acked = next;
        }
    }
    /// After a check: what was found is what is known.
    fn settle(&mut self, found: T) {
        self.acked = found;
        self.pending = None;
    }
}

/// An ARM resource as the soak compares it: absent, or present with tags
/// (and, for clusters once an operation ended, the ETag).
#[derive(Clone, Debug, PartialEq, Default)]
enum Arm {
    #[default]
    Absent,
    Present {
        tags: Value,
        etag: Option<String>,
    },
}

impl Arm {
    fn tags(gen: u64) -> Value {
        json!({ "soak": gen.to_string() })
    }
    /// Compares without the ETag when the expectation has none.
    fn matches(&self, found: &Arm) -> bool {
        match (self, found) {
            (Arm::Absent, Arm::Absent) => true,
            (Arm::Present { tags, etag }, Arm::Present { tags: t, etag: e }) => {
                tags == t && (etag.is_none() || etag == e)
            }
            _ => false,
        }
    }
}

/// One ARM client's resources: an identity, a cluster and a role assignment
/// (of its identity, Reader on the group), each under a name of its own.
#[derive(Default)]
struct ArmLedger {
    identity: Known<Arm>,
    /// The identity's principal while it exists (for role assignments).
    principal: Option<String>,
    cluster: Known<Arm>,
    assignment: Known<bool>,
}

/// A key pair a crypto user generated: handles and public key.
#[derive(Clone)]
struct KeyPair {
    public: u64,
    private: u64,
    der: Vec<u8>,
    /// When it was acknowledged (a backup started later holds it).
    made: Instant,
    /// When its deletion was asked for, if it was.
    delete_started: Option<Instant>,
    /// Each half's deletion acknowledged (the private half goes first).
    private_gone: bool,
    public_gone: bool,
}

impl KeyPair {
    fn gone(&self) -> bool {
        self.private_gone && self.public_gone
    }
    fn untouched(&self) -> bool {
        !self.private_gone && !self.public_gone && self.delete_started.is_none()
    }
}

#[derive(Default)]
struct DpLedger {
    keys: Vec<KeyPair>,
}

/// Users the officer manages: name → password (`None`: no such user).
type Users = BTreeMap<String, Known<Option<String>>>;

struct Backup {
    id: String,
    /// When it was asked for (every key acknowledged before is in it).
    started: Option<Instant>,
    validated: bool,
}

#[derive(Default)]
struct Figures {
    operations: AtomicU64,
    acknowledged: AtomicU64,
}

struct Ledger {
    arm: Vec<Mutex<ArmLedger>>,
    dp: Vec<Mutex<DpLedger>>,
    users: Mutex<Users>,
    backups: Mutex<Vec<Backup>>,
    /// The status URL of a backup started and not seen ending.
    backup_in_flight: Mutex<Option<String>>,
    figures: Figures,
    /// Losses and stuck operations found, with what they were.
    losses: Mutex<Vec<String>>,
    stuck: Mutex<Vec<String>>,
}

impl Ledger {
    fn loss(&self, what: String) {
        eprintln!("LOSS: {what}");
        self.losses.lock().unwrap().push(what);
    }
    fn stuck(&self, what: String) {
        eprintln!("STUCK: {what}");
        self.stuck.lock().unwrap().push(what);
    }
}

fn cluster_name(w: usize) -> String {
    format!("soak-c{w:02}")
}
fn identity_name(w: usize) -> String {
    format!("soak-id{w:02}")
}
fn assignment_path(w: usize) -> String {
    let name = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("soak-ra-{w}").as_bytes(),
    );
    format!("/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={ROLE_API}")
}

/// A request that may fail because the emulator was killed under it.
async fn try_call(
    emu: &Emulator,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Option<Reply> {
    let mut request = emu.request(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.ok()?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.ok()?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// The resource as found: absent (404) or present with tags and ETag.
fn arm_state(reply: &Reply) -> Option<Arm> {
    match reply.status {
        StatusCode::NOT_FOUND => Some(Arm::Absent),
        StatusCode::OK => Some(Arm::Present {
            tags: reply.body.get("tags").cloned().unwrap_or(json!({})),
            etag: reply.body["etag"].as_str().map(str::to_string),
        }),
        _ => None,
    }
}

/// Polls an operation until it ends; `None` if the emulator went away.
async fn wait_operation(emu: &Emulator, url: &str) -> Option<String> {
    loop {
        let reply = try_call(emu, Method::GET, url, None).await?;
        match reply.body["status"].as_str() {
            Some("InProgress") | None if reply.status != StatusCode::NOT_FOUND => {}
            Some(done) => return Some(done.to_string()),
            None => return Some("NotFound".into()),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One ARM client until the emulator is killed under it.
async fn arm_client(emu: Arc<Emulator>, ledger: Arc<Ledger>, w: usize, mut rng: Rng) {
    let cluster = cluster_path(GROUP, &cluster_name(w));
    let identity = identity_path(GROUP, &identity_name(w));
    loop {
        let gen = rng.next() % 1_000_000;
        ledger.figures.operations.fetch_add(1, Ordering::Relaxed);
        let choice = rng.below(10);
        if choice < 3 {
            // Identity: create or retag (synchronous), or delete.
            let present = !matches!(ledger.arm[w].lock().unwrap().identity.acked, Arm::Absent);
            if present && rng.below(3) == 0 {
                ledger.arm[w].lock().unwrap().identity.begin(Arm::Absent);
                let Some(reply) = try_call(&emu, Method::DELETE, &identity, None).await else {
                    return;
                };
                assert!(reply.status.is_success(), "identity delete: {reply:?}");
                let mut l = ledger.arm[w].lock().unwrap();
                l.identity.ack();
                l.principal = None;
            } else {
                let tags = Arm::tags(gen);
                ledger.arm[w].lock().unwrap().identity.begin(Arm::Present {
                    tags: tags.clone(),
                    etag: None,
                });
                let body = json!({"location": "eastus2", "tags": tags});
                let Some(reply) = try_call(&emu, Method::PUT, &identity, Some(body)).await else {
                    return;
                };
                assert!(reply.status.is_success(), "identity put: {reply:?}");
                let mut l = ledger.arm[w].lock().unwrap();
                l.identity.ack();
                l.principal = reply.body["properties"]["principalId"]
                    .as_str()
                    .map(str::to_string);
            }
        } else if choice < 8 {
            // Cluster: create (LRO), PATCH tags (LRO), PUT tags (synchronous), delete (LRO).
            let acked = ledger.arm[w].lock().unwrap().cluster.acked.clone();
            match acked {
                Arm::Absent => {
                    let tags = Arm::tags(gen);
                    ledger.arm[w].lock().unwrap().cluster.begin(Arm::Present {
                        tags: tags.clone(),
                        etag: None,
                    });
                    let mut body = cluster_body();
                    body["tags"] = tags;
                    let Some(reply) = try_call(&emu, Method::PUT, &cluster, Some(body)).await
                    else {
                        return;
                    };
                    assert_eq!(
                        reply.status,
                        StatusCode::CREATED,
                        "cluster create: {reply:?}"
                    );
                    ledger.arm[w].lock().unwrap().cluster.ack();
                    let op = reply.header("azure-asyncoperation").expect("operation");
                    let Some(status) = wait_operation(&emu, &op).await else {
                        return;
                    };
                    assert_eq!(status, "Succeeded", "cluster create");
                }
                Arm::Present { tags, .. } => match rng.below(4) {
                    0 => {
                        ledger.arm[w].lock().unwrap().cluster.begin(Arm::Absent);
                        let Some(reply) = try_call(&emu, Method::DELETE, &cluster, None).await
                        else {
                            return;
                        };
                        assert_eq!(
                            reply.status,
                            StatusCode::ACCEPTED,
                            "cluster delete: {reply:?}"
                        );
                        ledger.arm[w].lock().unwrap().cluster.ack();
                        let op = reply.header("location").expect("Location");
                        loop {
                            let Some(poll) = try_call(&emu, Method::GET, &op, None).await else {
                                return;
                            };
                            if poll.status != StatusCode::ACCEPTED {
                                assert!(poll.status.is_success(), "delete result: {poll:?}");
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        continue;
                    }
                    1 => {
                        let tags = Arm::tags(gen);
                        ledger.arm[w].lock().unwrap().cluster.begin(Arm::Present {
                            tags: tags.clone(),
                            etag: None,
                        });
                        let body = json!({ "tags": tags });
                        let Some(reply) = try_call(&emu, Method::PATCH, &cluster, Some(body)).await
                        else {
                            return;
                        };
                        assert_eq!(
                            reply.status,
                            StatusCode::ACCEPTED,
                            "cluster patch: {reply:?}"
                        );
                        ledger.arm[w].lock().unwrap().cluster.ack();
                        let op = reply.header("location").expect("Location");
                        loop {
                            let Some(poll) = try_call(&emu, Method::GET, &op, None).await else {
                                return;
                            };
                            if poll.status != StatusCode::ACCEPTED {
                                assert_eq!(poll.status, StatusCode::OK, "patch result: {poll:?}");
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    2 => {
                        // PUT replaces: the body's tags are the resource's.
                        let _ = tags;
                        let tags = Arm::tags(gen);
                        ledger.arm[w].lock().unwrap().cluster.begin(Arm::Present {
                            tags: tags.clone(),
                            etag: None,
                        });
                        let mut body = cluster_body();
                        body["tags"] = tags.clone();
                        let Some(reply) = try_call(&emu, Method::PUT, &cluster, Some(body)).await
                        else {
                            return;
                        };
                        assert_eq!(reply.status, StatusCode::OK, "cluster put: {reply:?}");
                        // A synchronous write: its ETag is the resource's now.
                        let mut l = ledger.arm[w].lock().unwrap();
                        l.cluster.pending = Some(Arm::Present {
                            tags,
                            etag: reply.body["etag"].as_str().map(str::to_string),
                        });
                        l.cluster.ack();
                        continue;
                    }
                    _ => {}
                },
            }
            // After an operation ended: the ETag it left.
            let Some(reply) = try_call(&emu, Method::GET, &cluster, None).await else {
                return;
            };
            if let Some(found) = arm_state(&reply) {
                let mut l = ledger.arm[w].lock().unwrap();
                if l.cluster.acked.matches(&found) && l.cluster.pending.is_none() {
                    l.cluster.acked = found;
                }
            }
        } else {
            // Role assignment of the identity (while it exists), or its removal.
            let (exists, principal) = {
                let l = ledger.arm[w].lock().unwrap();
                (l.assignment.acked, l.principal.clone())
            };
            let path = assignment_path(w);
            if exists {
                ledger.arm[w].lock().unwrap().assignment.begin(false);
                let Some(reply) = try_call(&emu, Method::DELETE, &path, None).await else {
                    return;
                };
                assert!(reply.status.is_success(), "assignment delete: {reply:?}");
                ledger.arm[w].lock().unwrap().assignment.ack();
            } else if let Some(principal) = principal {
                ledger.arm[w].lock().unwrap().assignment.begin(true);
                let body = json!({"properties": {
                    "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
                    "principalId": principal,
                    "principalType": "ServicePrincipal",
                }});
                let Some(reply) = try_call(&emu, Method::PUT, &path, Some(body)).await else {
                    return;
                };
                assert!(reply.status.is_success(), "assignment put: {reply:?}");
                ledger.arm[w].lock().unwrap().assignment.ack();
            }
        }
        ledger.figures.acknowledged.fetch_add(1, Ordering::Relaxed);
    }
}

/// A data-plane call failed: the kill (no HSM reached: the client stops),
/// or a wrong answer from a running emulator, which fails the soak.
fn killed(e: cloudhsm_data_plane::client::ClientError, what: &str) {
    assert_eq!(e.status, 0, "{what}: {e}");
}

/// One crypto user until the emulator is killed under it.
async fn dp_client(
    cluster: Value,
    emu: Arc<Emulator>,
    ledger: Arc<Ledger>,
    j: usize,
    mut rng: Rng,
) {
    let cu = emu.hsm_client(&cluster);
    if let Err(e) = cu.login("CU", &format!("cu{j:02}"), CU_PASSWORD).await {
        killed(e, "a crypto user logging in");
        return;
    }
    loop {
        ledger.figures.operations.fetch_add(1, Ordering::Relaxed);
        let live: Vec<KeyPair> = ledger.dp[j]
            .lock()
            .unwrap()
            .keys
            .iter()
            .filter(|k| !k.gone() && k.delete_started.is_none())
            .cloned()
            .collect();
        // About a dozen pairs each at most: the data held stays level, so
        // memory from cycle to cycle is comparable.
        if live.len() > 12 || (live.len() > 3 && rng.below(4) == 0) {
            let victim = live[rng.below(live.len() as u64) as usize].clone();
            let mark = |ledger: &Ledger, f: &dyn Fn(&mut KeyPair)| {
                let mut l = ledger.dp[j].lock().unwrap();
                if let Some(k) = l.keys.iter_mut().find(|k| k.private == victim.private) {
                    f(k);
                }
            };
            mark(&ledger, &|k| k.delete_started = Some(Instant::now()));
            if !victim.private_gone {
                if let Err(e) = cu.delete_key(victim.private).await {
                    killed(e, "deleting a private key");
                    return;
                }
                mark(&ledger, &|k| k.private_gone = true);
            }
            if let Err(e) = cu.delete_key(victim.public).await {
                killed(e, "deleting a public key");
                return;
            }
            mark(&ledger, &|k| k.public_gone = true);
        } else {
            let (public, private) = match cu
                .generate_key_pair(
                    KeySpec::Ec { curve: Curve::P256 },
                    usage(&[ids::SIGN, ids::VERIFY]),
                )
                .await
            {
                Ok(pair) => pair,
                Err(e) => {
                    killed(e, "generating a key pair");
                    return;
                }
            };
            let der = match cu.export_public_key(public).await {
                Ok(der) => der,
                // Acknowledged, its public key unread: not checked.
                Err(e) => {
                    killed(e, "exporting a public key");
                    return;
                }
            };
            ledger.dp[j].lock().unwrap().keys.push(KeyPair {
                public,
                private,
                der,
                made: Instant::now(),
                delete_started: None,
                private_gone: false,
                public_gone: false,
            });
            let message = format!("soak {j} {}", rng.next());
            let signature = match cu.sign(private, "ECDSA", message.as_bytes()).await {
                Ok(signature) => signature,
                Err(e) => {
                    killed(e, "signing");
                    return;
                }
            };
            if let Err(e) = cu
                .verify(public, "ECDSA", message.as_bytes(), &signature)
                .await
            {
                killed(e, "verifying");
                return;
            }
        }
        ledger.figures.acknowledged.fetch_add(1, Ordering::Relaxed);
    }
}

/// The crypto officer: creates users, changes their passwords, deletes them.
async fn officer(cluster: Value, emu: Arc<Emulator>, ledger: Arc<Ledger>, mut rng: Rng) {
    let co = emu.hsm_client(&cluster);
    if let Err(e) = co.login("CO", "admin", CO_PASSWORD).await {
        killed(e, "the officer logging in");
        return;
    }
    loop {
        ledger.figures.operations.fetch_add(1, Ordering::Relaxed);
        let name = format!("user{}", rng.below(8));
        let password = format!("pw-{:012}", rng.next() % 1_000_000_000_000);
        let current = ledger
            .users
            .lock()
            .unwrap()
            .entry(name.clone())
            .or_default()
            .acked
            .clone();
        let next = match (&current, rng.below(3)) {
            (Some(_), 0) => None,
            _ => Some(password.clone()),
        };
        ledger
            .users
            .lock()
            .unwrap()
            .get_mut(&name)
            .expect("entry")
            .begin(next.clone());
        let done = match (&current, &next) {
            (None, _) => co.create_user("CU", &name, &password).await,
            (Some(_), Some(_)) => co.change_password(&name, &password).await,
            (Some(_), None) => co.delete_user(&name).await,
        };
        if let Err(e) = done {
            killed(e, "managing a user");
            return;
        }
        ledger
            .users
            .lock()
            .unwrap()
            .get_mut(&name)
            .expect("entry")
            .ack();
        ledger.figures.acknowledged.fetch_add(1, Ordering::Relaxed);
    }
}

/// A backup of the data cluster every couple of seconds.
async fn backups(emu: Arc<Emulator>, ledger: Arc<Ledger>, container: String) {
    let mut pause = Duration::from_millis(300);
    loop {
        tokio::time::sleep(pause).await;
        pause = Duration::from_millis(1500);
        ledger.figures.operations.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let Some(reply) = try_call(
            &emu,
            Method::POST,
            &backup_jobs::action_path(GROUP, "soak-data", "backup"),
            Some(backup_body(&container)),
        )
        .await
        else {
            return;
        };
        assert_eq!(reply.status, StatusCode::ACCEPTED, "backup: {reply:?}");
        let url = reply.header("azure-asyncoperation").expect("operation");
        *ledger.backup_in_flight.lock().unwrap() = Some(url.clone());
        let done = loop {
            let Some(poll) = try_call(&emu, Method::GET, &url, None).await else {
                return;
            };
            if poll.body["status"] != "InProgress" {
                break poll.body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(done["status"], "Succeeded", "backup: {done}");
        let id = done["properties"]["backupId"]
            .as_str()
            .expect("backupId")
            .to_string();
        *ledger.backup_in_flight.lock().unwrap() = None;
        ledger.backups.lock().unwrap().push(Backup {
            id,
            started: Some(started),
            validated: false,
        });
        ledger.figures.acknowledged.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every cluster of the group out of its transitional states (operations
/// interrupted by the kill finish after the restart).
async fn wait_for_operations(emu: &Emulator, ledger: &Ledger) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = emu
            .call(
                Method::GET,
                &format!("/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters?api-version=2025-03-31"),
                None,
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{list:?}");
        let busy: Vec<String> = list.body["value"]
            .as_array()
            .expect("value")
            .iter()
            .filter(|c| {
                !matches!(
                    c["properties"]["provisioningState"].as_str(),
                    Some("Succeeded" | "Failed" | "Canceled")
                )
            })
            .map(|c| {
                format!(
                    "{} {}",
                    c["name"].as_str().unwrap_or_default(),
                    c["properties"]["provisioningState"]
                )
            })
            .collect();
        if busy.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            for c in busy {
                ledger.stuck(format!("cluster {c} 30 s after the restart"));
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks everything the ledger holds against the restarted emulator; what
/// is found becomes what is known.
async fn verify(emu: &Emulator, ledger: &Ledger, data_cluster: &Value, container: &str) {
    wait_for_operations(emu, ledger).await;
    // A backup the kill interrupted ends (Failed, OperationInterrupted, or
    // Succeeded); it does not stay InProgress.
    let interrupted = ledger.backup_in_flight.lock().unwrap().take();
    if let Some(url) = interrupted {
        // The port changed with the restart: the path is what stays.
        let path = &url[url.find("/subscriptions/").expect("status path")..];
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = emu.call(Method::GET, path, None).await;
            if status.status == StatusCode::OK && status.body["status"] != "InProgress" {
                if status.body["status"] == "Succeeded" {
                    if let Some(id) = status.body["properties"]["backupId"].as_str() {
                        ledger.backups.lock().unwrap().push(Backup {
                            id: id.to_string(),
                            // Unknown start: requires no key.
                            started: None,
                            validated: false,
                        });
                    }
                }
                break;
            }
            if Instant::now() > deadline {
                ledger.stuck(format!("backup {path} 30 s after the restart: {status:?}"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut checks = Vec::new();
    for w in 0..ARM_CLIENTS {
        checks.push(async move {
            let cluster = emu
                .call(Method::GET, &cluster_path(GROUP, &cluster_name(w)), None)
                .await;
            let identity = emu
                .call(Method::GET, &identity_path(GROUP, &identity_name(w)), None)
                .await;
            let assignment = emu.call(Method::GET, &assignment_path(w), None).await;
            // No half-applied cluster: a provisioned one has its HSMs.
            if cluster.status == StatusCode::OK {
                let state = cluster.body["properties"]["provisioningState"].clone();
                if state != "Succeeded" {
                    ledger.loss(format!("cluster {} ended {state}", cluster_name(w)));
                } else {
                    let preco = emu.hsm_client(&cluster.body);
                    if let Err(e) = preco.login("PRECO", "admin", "password").await {
                        ledger.loss(format!(
                            "cluster {} is provisioned but its HSMs do not answer: {e}",
                            cluster_name(w)
                        ));
                    }
                }
            }
            (w, cluster, identity, assignment)
        });
    }
    for (w, cluster, identity, assignment) in futures_join(checks).await {
        let mut l = ledger.arm[w].lock().unwrap();
        match arm_state(&cluster) {
            Some(found)
                if l.cluster.acked.matches(&found)
                    || l.cluster
                        .pending
                        .as_ref()
                        .is_some_and(|p| p.matches(&found)) =>
            {
                l.cluster.settle(found)
            }
            found => {
                ledger.loss(format!(
                    "cluster {}: expected {:?} (or {:?}), found {found:?}",
                    cluster_name(w),
                    l.cluster.acked,
                    l.cluster.pending
                ));
                if let Some(found) = found {
                    l.cluster.settle(found);
                }
            }
        }
        match arm_state(&identity) {
            Some(found)
                if l.identity.acked.matches(&found)
                    || l.identity
                        .pending
                        .as_ref()
                        .is_some_and(|p| p.matches(&found)) =>
            {
                l.principal = identity.body["properties"]["principalId"]
                    .as_str()
                    .map(str::to_string);
                // Identities carry no ETag: compare tags only from now on too.
                l.identity.settle(match found {
                    Arm::Present { tags, .. } => Arm::Present { tags, etag: None },
                    absent => absent,
                });
            }
            found => ledger.loss(format!(
                "identity {}: expected {:?} (or {:?}), found {found:?}",
                identity_name(w),
                l.identity.acked,
                l.identity.pending
            )),
        }
        let exists = match assignment.status {
            StatusCode::OK => Some(true),
            StatusCode::NOT_FOUND => Some(false),
            _ => None,
        };
        match exists {
            Some(found) if l.assignment.allows(&found) => l.assignment.settle(found),
            found => ledger.loss(format!(
                "role assignment {w}: expected {:?} (or {:?}), found {found:?} ({assignment:?})",
                l.assignment.acked, l.assignment.pending
            )),
        }
    }

    // Keys: every acknowledged pair by its handles, with its public key, still signing.
    let mut key_checks = Vec::new();
    for j in 0..DP_CLIENTS {
        let keys = ledger.dp[j].lock().unwrap().keys.clone();
        let cu = emu.hsm_client(data_cluster);
        key_checks.push(async move {
            if let Err(e) = cu.login("CU", &format!("cu{j:02}"), CU_PASSWORD).await {
                ledger.loss(format!("cu{j:02} cannot log in with its password: {e}"));
                return Vec::new();
            }
            // What each pair's halves are found to be: (private, public) present.
            let mut found_halves = Vec::new();
            for key in keys {
                let public = cu.export_public_key(key.public).await;
                if let Ok(der) = &public {
                    if *der != key.der {
                        ledger.loss(format!(
                            "cu{j:02} key {}: another public key under its handle",
                            key.public
                        ));
                    }
                }
                let private = cu.sign(key.private, "ECDSA", b"after the restart").await;
                if let (Ok(signature), Ok(_)) = (&private, &public) {
                    if let Err(e) = cu
                        .verify(key.public, "ECDSA", b"after the restart", signature)
                        .await
                    {
                        ledger.loss(format!(
                            "cu{j:02} key pair {}/{} no longer verifies: {e}",
                            key.public, key.private
                        ));
                    }
                }
                for (half, handle, present, acked_gone) in [
                    ("private", key.private, private.is_ok(), key.private_gone),
                    ("public", key.public, public.is_ok(), key.public_gone),
                ] {
                    // A deletion in flight at the kill may have landed or not.
                    let in_flight = key.delete_started.is_some() && !acked_gone;
                    if present && acked_gone {
                        ledger.loss(format!(
                            "cu{j:02} {half} key {handle} is back after its deletion was acknowledged"
                        ));
                    } else if !present && !acked_gone && !in_flight {
                        ledger.loss(format!("cu{j:02} {half} key {handle} is gone"));
                    }
                }
                found_halves.push((key.private, private.is_ok(), public.is_ok()));
            }
            found_halves
        });
    }
    for (j, found) in futures_join(key_checks).await.into_iter().enumerate() {
        let mut l = ledger.dp[j].lock().unwrap();
        for (private, private_present, public_present) in found {
            if let Some(key) = l.keys.iter_mut().find(|k| k.private == private) {
                key.private_gone = !private_present;
                key.public_gone = !public_present;
                key.delete_started = None;
            }
        }
    }

    // Users the officer made, with their passwords.
    let users: Vec<(String, Known<Option<String>>)> = ledger
        .users
        .lock()
        .unwrap()
        .iter()
        .map(|(n, k)| (n.clone(), k.clone()))
        .collect();
    for (name, known) in users {
        let mut candidates = vec![known.acked.clone()];
        candidates.extend(known.pending.clone());
        let mut found = None;
        for candidate in &candidates {
            let client = emu.hsm_client(data_cluster);
            let ok = match candidate {
                Some(password) => client.login("CU", &name, password).await.is_ok(),
                None => {
                    // Absent: listed by no node.
                    let co = emu.hsm_client(data_cluster);
                    co.login("CO", "admin", CO_PASSWORD)
                        .await
                        .expect("officer login");
                    !co.list_users()
                        .await
                        .expect("listUsers")
                        .iter()
                        .any(|u| u.name == name)
                }
            };
            if ok {
                found = Some(candidate.clone());
                break;
            }
        }
        match found {
            Some(state) => ledger
                .users
                .lock()
                .unwrap()
                .get_mut(&name)
                .expect("user")
                .settle(state),
            None => ledger.loss(format!(
                "user {name}: neither {:?} nor {:?} holds",
                known.acked, known.pending
            )),
        }
    }

    // Completed backups: still whole, and restorable.
    let pending: Vec<String> = ledger
        .backups
        .lock()
        .unwrap()
        .iter()
        .filter(|b| !b.validated)
        .map(|b| b.id.clone())
        .collect();
    for id in pending {
        let done = backup_jobs::run(
            emu,
            GROUP,
            "soak-restore",
            "validateRestoreProperties",
            restore_body(container, &id),
        )
        .await;
        if done["status"] != "Succeeded" {
            ledger.loss(format!("backup {id} no longer restorable: {done}"));
        }
        for b in ledger.backups.lock().unwrap().iter_mut() {
            if b.id == id {
                b.validated = true;
            }
        }
    }
}

async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(futures.len());
    // Sequential awaits of concurrently polled futures: each is a local
    // future, so poll them through a join of boxed pins.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().map(|r| r.expect("ready")));
    out
}

/// The latest completed backup restored into a fresh cluster holds every
/// key acknowledged before it started and not deleted since.
async fn restore_latest(emu: &Emulator, ledger: &Ledger, container: &str, round: usize) {
    let Some((id, started)) = ledger
        .backups
        .lock()
        .unwrap()
        .last()
        .map(|b| (b.id.clone(), b.started))
    else {
        return;
    };
    let name = format!("soak-r{round}");
    let reply = emu
        .call(
            Method::PUT,
            &cluster_path(GROUP, &name),
            Some(data_cluster_body()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let op = reply.header("azure-asyncoperation").expect("operation");
    assert_eq!(emu.wait_async_operation(&op).await["status"], "Succeeded");
    let target = emu
        .call(Method::GET, &cluster_path(GROUP, &name), None)
        .await
        .body;
    let done = backup_jobs::run(emu, GROUP, &name, "restore", restore_body(container, &id)).await;
    if done["status"] != "Succeeded" {
        ledger.loss(format!("backup {id} did not restore: {done}"));
        return;
    }
    for j in 0..DP_CLIENTS {
        let keys = ledger.dp[j].lock().unwrap().keys.clone();
        let cu = emu.hsm_client(&target);
        if let Err(e) = cu.login("CU", &format!("cu{j:02}"), CU_PASSWORD).await {
            ledger.loss(format!("restored cu{j:02} cannot log in: {e}"));
            continue;
        }
        for key in keys
            .iter()
            .filter(|k| started.is_some_and(|s| k.made < s) && k.untouched())
        {
            match cu.export_public_key(key.public).await {
                Ok(der) if der == key.der => {}
                other => ledger.loss(format!(
                    "backup {id}: cu{j:02} key {} missing or changed: {:?}",
                    key.public,
                    other.map(|d| d.len())
                )),
            }
        }
    }
    let reply = emu
        .call(Method::DELETE, &cluster_path(GROUP, &name), None)
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
}

/// A cluster whose managed identity may write and read the backups.
fn data_cluster_body() -> Value {
    let mut body = cluster_body();
    body["identity"] = json!({"type": "UserAssigned", "userAssignedIdentities": { identity_id(GROUP, "soak-backup"): {} }});
    body
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_load_loses_nothing() {
    let cycles: usize = env_or("SOAK_CYCLES", 5);
    let seed: u64 = env_or(
        "SOAK_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1,
    );
    let (min_up, max_up) = std::env::var("SOAK_UPTIME_MS")
        .ok()
        .and_then(|v| {
            let (a, b) = v.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .unwrap_or((3000u64, 8000u64));
    println!(
        "soak: {cycles} cycles, seed {seed}, each cycle up {min_up}-{max_up} ms before kill -9"
    );
    let mut rng = Rng(seed);

    // Operations are forgotten 2 minutes after they end (24 hours by
    // default): the soak's half hour then reaches the steady state a
    // day-long run reaches, so its memory figures compare like with like.
    let retention = std::env::var("SOAK_OPERATION_RETENTION").unwrap_or_else(|_| "2m".into());
    let mut emu = Emulator::start_with(&[
        "--provisioning-delay",
        "100ms",
        "--operation-retention",
        &retention,
    ])
    .await;
    emu.put_group(GROUP).await;
    let backup_identity = emu.put_identity(GROUP, "soak-backup").await;
    let azurite = Azurite::start(&emu).await;
    let principal = backup_identity["properties"]["principalId"]
        .as_str()
        .expect("principalId");
    let granted = assign_role(&emu, GROUP, principal, BLOB_DATA_CONTRIBUTOR).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{granted:?}");
    let token = storage_token(&emu, &backup_identity).await;
    azurite.create_container(&token, "soak").await;
    let container = azurite.container_uri("soak");
    for name in ["soak-data", "soak-restore"] {
        let reply = emu
            .call(
                Method::PUT,
                &cluster_path(GROUP, name),
                Some(data_cluster_body()),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        let op = reply.header("azure-asyncoperation").expect("operation");
        assert_eq!(emu.wait_async_operation(&op).await["status"], "Succeeded");
    }
    let data_cluster = emu
        .call(Method::GET, &cluster_path(GROUP, "soak-data"), None)
        .await
        .body;
    emu.activate(&data_cluster, CO_PASSWORD).await;
    let co = emu.hsm_client(&data_cluster);
    co.login("CO", "admin", CO_PASSWORD).await.expect("officer");
    for j in 0..DP_CLIENTS {
        co.create_user("CU", &format!("cu{j:02}"), CU_PASSWORD)
            .await
            .expect("crypto user");
    }
    drop(co);

    let ledger = Arc::new(Ledger {
        arm: (0..ARM_CLIENTS).map(|_| Mutex::default()).collect(),
        dp: (0..DP_CLIENTS).map(|_| Mutex::default()).collect(),
        users: Mutex::default(),
        backups: Mutex::default(),
        backup_in_flight: Mutex::default(),
        figures: Figures::default(),
        losses: Mutex::default(),
        stuck: Mutex::default(),
    });
    let mut rss_after: Vec<u64> = Vec::new();
    let mut anon_after: Vec<u64> = Vec::new();
    let mut rss_loaded: Vec<u64> = Vec::new();
    let restarts = AtomicUsize::new(0);
    let started = Instant::now();
    for cycle in 1..=cycles {
        let shared = Arc::new(emu);
        let mut tasks = Vec::new();
        for w in 0..ARM_CLIENTS {
            tasks.push(tokio::spawn(arm_client(
                shared.clone(),
                ledger.clone(),
                w,
                Rng(rng.next() | 1),
            )));
        }
        for j in 0..DP_CLIENTS {
            tasks.push(tokio::spawn(dp_client(
                data_cluster.clone(),
                shared.clone(),
                ledger.clone(),
                j,
                Rng(rng.next() | 1),
            )));
        }
        tasks.push(tokio::spawn(officer(
            data_cluster.clone(),
            shared.clone(),
            ledger.clone(),
            Rng(rng.next() | 1),
        )));
        tasks.push(tokio::spawn(backups(
            shared.clone(),
            ledger.clone(),
            container.clone(),
        )));
        let uptime = min_up + rng.below(max_up - min_up + 1);
        tokio::time::sleep(Duration::from_millis(uptime)).await;
        rss_loaded.push(shared.rss_kib());
        // kill -9 at this moment, whatever is in flight.
        let pid = shared.pid().expect("running");
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
        for mut task in tasks {
            // A client stops at its first failed request; one stuck in a
            // retry loop is cut off (its write stays "in flight"). A client
            // that panicked found a wrong answer: the soak fails with it.
            match tokio::time::timeout(Duration::from_secs(20), &mut task).await {
                Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Ok(_) => {}
                Err(_) => {
                    task.abort();
                    let _ = task.await;
                }
            }
        }
        let Ok(owned) = Arc::try_unwrap(shared) else {
            panic!("a client still holds the emulator");
        };
        emu = owned.restart().await;
        restarts.fetch_add(1, Ordering::Relaxed);
        verify(&emu, &ledger, &data_cluster, &container).await;
        let rss = emu.settled_rss_kib().await;
        let anon = emu.anon_kib();
        rss_after.push(rss);
        anon_after.push(anon);
        println!(
            "cycle {cycle}: up {uptime} ms, RSS {:.1} MiB loaded / {:.1} MiB after restart, checks and 1.5 s idle ({:.1} MiB of it anonymous); {} operations, {} acknowledged, {} keys, {} backups; losses {}, stuck {}",
            *rss_loaded.last().expect("sampled") as f64 / 1024.0,
            rss as f64 / 1024.0,
            anon as f64 / 1024.0,
            ledger.figures.operations.load(Ordering::Relaxed),
            ledger.figures.acknowledged.load(Ordering::Relaxed),
            ledger.dp.iter().map(|d| d.lock().unwrap().keys.iter().filter(|k| !k.gone()).count()).sum::<usize>(),
            ledger.backups.lock().unwrap().len(),
            ledger.losses.lock().unwrap().len(),
            ledger.stuck.lock().unwrap().len(),
        );
        if cycle % 25 == 0 {
            restore_latest(&emu, &ledger, &container, cycle).await;
        }
    }
    restore_latest(&emu, &ledger, &container, 0).await;

    let losses = ledger.losses.lock().unwrap().clone();
    let stuck = ledger.stuck.lock().unwrap().clone();
    let first = rss_after.first().copied().unwrap_or(0) as f64;
    let last = rss_after.last().copied().unwrap_or(0) as f64;
    println!(
        "soak: {cycles} kill -9 cycles in {:.0} s; {} operations ({} acknowledged), {} backups; {} losses, {} stuck",
        started.elapsed().as_secs_f64(),
        ledger.figures.operations.load(Ordering::Relaxed),
        ledger.figures.acknowledged.load(Ordering::Relaxed),
        ledger.backups.lock().unwrap().len(),
        losses.len(),
        stuck.len()
    );
    println!(
        "soak: RSS after restart, checks and 1.5 s idle: cycle 1 {:.1} MiB, cycle {cycles} {:.1} MiB ({:.0}%; target within 10%: {}); under load: first {:.1} MiB, last {:.1} MiB",
        first / 1024.0,
        last / 1024.0,
        last / first.max(1.0) * 100.0,
        if last <= first * 1.10 { "met" } else { "NOT met" },
        rss_loaded.first().copied().unwrap_or(0) as f64 / 1024.0,
        rss_loaded.last().copied().unwrap_or(0) as f64 / 1024.0,
    );
    let (first_anon, last_anon) = (
        anon_after.first().copied().unwrap_or(0) as f64,
        anon_after.last().copied().unwrap_or(0) as f64,
    );
    println!(
        "soak: of it anonymous (heap and stacks, without the binary's pages): cycle 1 {:.1} MiB, cycle {cycles} {:.1} MiB ({:.0}%)",
        first_anon / 1024.0,
        last_anon / 1024.0,
        last_anon / first_anon.max(1.0) * 100.0,
    );
    assert!(losses.is_empty(), "acknowledged writes lost: {losses:#?}");
    assert!(stuck.is_empty(), "operations stuck: {stuck:#?}");
    drop(azurite);
}
