//! The only code of the engine that touches disk: every cluster's records in
//! one sled tree, each under its cluster's prefix (`{cluster id}\0{record}`).
//! (A tree per cluster, as before, cost sled ~10 KiB of memory per cluster
//! that dropping the tree did not give back, and slowed every tree opened
//! after; stores of that layout are moved into the shared tree when opened.)
//!
//! Records (all values encrypted, see below; names are without the prefix):
//! - `meta`: handle counter, activation, which nodes are up;
//! - `partition`: the partition key, the owner's certificates (PO.crt, POAC),
//!   the masking key and outstanding unlockCO challenges;
//! - `master/{node}`: the node's master key, wrapped under the emulator's
//!   root key (`<dir>/root.key`);
//! - `node/{node}/user/{sha256(name)}`, `node/{node}/key/{handle}`: what each
//!   node holds, encrypted under that node's master key;
//! - `ext/{name}`: cluster-wide records of optional features (2FA and
//!   quorum settings, quorum tokens), sealed under node 0's master key;
//! - `snapshot/{node}/{chunk}`: what a restore wrote, in bulk: runs of
//!   logical records (`name ‖ value`, length-prefixed) sealed per chunk
//!   under the node's master key (cluster-wide records under node 0's).
//!   sled pays a few microseconds per record written or scanned, which made
//!   a restore of 10,000 keys (30,000 records: three nodes) spend most of its
//!   time in sled; a few hundred chunks cost almost nothing. Later changes
//!   are single records on top of the snapshot ("overlay"); a record removed
//!   while a snapshot exists is written as a tombstone (an empty sealed
//!   value), since it may still live in a chunk.
//!
//! Values are `1 ‖ nonce(12) ‖ AES-256-GCM(ciphertext ‖ tag)` with the record
//! key as associated data, so a value cannot be moved to another record.
//! Every write is flushed before the engine acknowledges it. Destroying a
//! cluster drops its tree, master keys included.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use aws_lc_rs::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN},
    rand::{SecureRandom, SystemRandom},
};
use serde::{Deserialize, Serialize};

use super::{
    error::EngineError,
    keys::KeyObject,
    length_prefixed::{put_bytes, Reader},
    nodes::Node,
    partition::Partition,
    users::UserRecord,
};

const FORMAT: u8 = 1;
const MASTER: &str = "master/";
const SNAPSHOT: &str = "snapshot/";
/// Plaintext bytes per snapshot chunk: large enough that a restore writes
/// few records, small enough that no single sled value gets unwieldy.
const CHUNK_BYTES: usize = 256 * 1024;
/// A removed record's value while a snapshot may still hold it.
const TOMBSTONE: &[u8] = b"";

fn storage(e: impl std::fmt::Display) -> EngineError {
    EngineError::Storage(e.to_string())
}

fn random_key() -> Result<[u8; 32], EngineError> {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| EngineError::Crypto("random".into()))?;
    Ok(key)
}

fn aead(bytes: &[u8]) -> Result<LessSafeKey, EngineError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| EngineError::Crypto("AES-256-GCM key".into()))
}

fn seal(key: &LessSafeKey, record: &[u8], plain: &[u8]) -> Result<Vec<u8>, EngineError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| EngineError::Crypto("random".into()))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + plain.len() + AES_256_GCM.tag_len());
    out.push(FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(record),
            &mut out[1 + NONCE_LEN..],
        )
        .map_err(|_| EngineError::Crypto("sealing a record".into()))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

fn open(key: &LessSafeKey, record: &[u8], sealed: &[u8]) -> Result<Vec<u8>, EngineError> {
    if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != FORMAT {
        return Err(EngineError::Storage(format!(
            "record {} has an unknown format",
            String::from_utf8_lossy(record)
        )));
    }
    let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN]).map_err(storage)?;
    let mut body = sealed[1 + NONCE_LEN..].to_vec();
    let plain_len = key
        .open_in_place(nonce, Aad::from(record), &mut body)
        .map_err(|_| {
            EngineError::Storage(format!(
                "record {} failed its integrity check",
                String::from_utf8_lossy(record)
            ))
        })?
        .len();
    // The plaintext is the body's start: drop the tag instead of copying.
    body.truncate(plain_len);
    Ok(body)
}

/// Cluster-wide state besides users and keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    pub next_handle: u64,
    pub activated: bool,
    pub nodes_up: Vec<bool>,
}

/// One change the engine made, to be written before it is acknowledged.
#[derive(Debug, Clone)]
pub enum Change {
    Meta(Meta),
    Partition(Box<Partition>),
    User {
        node: usize,
        user: UserRecord,
    },
    UserRemoved {
        node: usize,
        name: String,
    },
    Key {
        node: usize,
        key: Arc<KeyObject>,
    },
    KeyRemoved {
        node: usize,
        handle: u64,
    },
    /// A cluster-wide feature record (`None` removes it); the value is JSON.
    Extension {
        name: String,
        value: Option<Vec<u8>>,
    },
}

/// Every cluster's records, under one data dir.
pub struct EngineStore {
    db: sled::Db,
    /// Every cluster's records, under `{cluster}\0`.
    records: sled::Tree,
    root: LessSafeKey,
}

/// The tree all clusters share.
const RECORDS_TREE: &str = "clusters";
/// Trees of the earlier layout: `cluster/{id}`.
const LEGACY_TREE_PREFIX: &str = "cluster/";

/// Where a cluster's records start: `{id}\0` (ids hold no NUL).
fn cluster_prefix(cluster: &str) -> Vec<u8> {
    let mut prefix = cluster.to_ascii_lowercase().into_bytes();
    prefix.push(0);
    prefix
}

impl EngineStore {
    pub fn open(dir: &Path) -> Result<Self, EngineError> {
        std::fs::create_dir_all(dir).map_err(storage)?;
        let root_path = dir.join("root.key");
        let root = match std::fs::read(&root_path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            Ok(_) => {
                return Err(EngineError::Storage(format!(
                    "{} is not a 32-byte key",
                    root_path.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key()?;
                write_private(&root_path, &key)?;
                key.to_vec()
            }
            Err(e) => return Err(storage(e)),
        };
        let db = open_sled(&dir.join("db")).map_err(storage)?;
        let records = db.open_tree(RECORDS_TREE).map_err(storage)?;
        let store = Self {
            db,
            records,
            root: aead(&root)?,
        };
        store.move_legacy_trees()?;
        Ok(store)
    }

    /// Moves each cluster of the tree-per-cluster layout into the shared
    /// tree: its records copied under its prefix and flushed, then its tree
    /// dropped. Values move as they are (a record's seal binds its name, not
    /// its place). A crash in between copies the same records again.
    fn move_legacy_trees(&self) -> Result<(), EngineError> {
        for name in self.db.tree_names() {
            let Some(id) = std::str::from_utf8(&name)
                .ok()
                .and_then(|n| n.strip_prefix(LEGACY_TREE_PREFIX))
            else {
                continue;
            };
            let legacy = self.db.open_tree(&name).map_err(storage)?;
            let prefix = cluster_prefix(id);
            let mut batch = sled::Batch::default();
            for item in legacy.iter() {
                let (record, value) = item.map_err(storage)?;
                batch.insert([prefix.as_slice(), &record].concat(), value);
            }
            self.records.apply_batch(batch).map_err(storage)?;
            self.db.flush().map_err(storage)?;
            self.db.drop_tree(&name).map_err(storage)?;
            self.db.flush().map_err(storage)?;
        }
        Ok(())
    }

    /// The clusters with stored state (one seek per cluster).
    pub fn cluster_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        let mut from = Vec::new();
        while let Some(Ok((record, _))) = self.records.range(from.clone()..).next() {
            let Some(end) = record.iter().position(|b| *b == 0) else {
                break;
            };
            ids.push(String::from_utf8_lossy(&record[..end]).into_owned());
            // Past every record of this cluster: its prefix with NUL + 1.
            from = record[..=end].to_vec();
            from[end] = 1;
        }
        ids
    }

    /// Whether a cluster has stored state.
    pub fn has_cluster(&self, cluster: &str) -> Result<bool, EngineError> {
        Ok(self
            .records
            .scan_prefix(cluster_prefix(cluster))
            .next()
            .transpose()
            .map_err(storage)?
            .is_some())
    }

    /// Opens (or creates, with fresh master keys) a cluster's records.
    pub fn cluster(&self, cluster: &str, nodes: usize) -> Result<ClusterStore, EngineError> {
        let prefix = cluster_prefix(cluster);
        let full = |record: &str| [prefix.as_slice(), record.as_bytes()].concat();
        let mut masters = Vec::with_capacity(nodes);
        let mut created = sled::Batch::default();
        let mut any_created = false;
        for node in 0..nodes {
            let record = format!("master/{node}");
            let key = match self.records.get(full(&record)).map_err(storage)? {
                Some(wrapped) => open(&self.root, record.as_bytes(), &wrapped)?,
                None => {
                    let key = random_key()?.to_vec();
                    created.insert(full(&record), seal(&self.root, record.as_bytes(), &key)?);
                    any_created = true;
                    key
                }
            };
            masters.push(aead(&key)?);
        }
        if any_created {
            self.records.apply_batch(created).map_err(storage)?;
            self.records.flush().map_err(storage)?;
        }
        let has_snapshot = self.records.scan_prefix(full(SNAPSHOT)).next().is_some();
        Ok(ClusterStore {
            tree: self.records.clone(),
            prefix,
            masters,
            has_snapshot: AtomicBool::new(has_snapshot),
        })
    }

    /// Deletes a cluster's records and master keys: its key material is gone.
    pub fn destroy(&self, cluster: &str) -> Result<(), EngineError> {
        let mut batch = sled::Batch::default();
        for record in self.records.scan_prefix(cluster_prefix(cluster)).keys() {
            batch.remove(record.map_err(storage)?);
        }
        self.records.apply_batch(batch).map_err(storage)?;
        self.db.flush().map_err(storage)?;
        Ok(())
    }
}

/// Creates `dir` if need be and makes it readable by its owner only: sled
/// writes its files world-readable (0644), and the records hold secrets
/// (Event Hubs keys in the clear; sealed keys and users), so the folder is
/// what keeps other local users out.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Opens a sled database. sled's background flusher can hold a dropped
/// handle's file lock a moment longer (a reopen in the same process, as
/// tests do), so a lock conflict is retried for up to ten seconds (a loaded
/// machine can take that long); one that
/// lasts is another process using the directory, and says so.
pub fn open_sled(path: &Path) -> Result<sled::Db, sled::Error> {
    private_dir(path).map_err(sled::Error::Io)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::Config::new().path(path).open() {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if std::time::Instant::now() >= deadline {
                    return Err(sled::Error::Io(std::io::Error::other(format!(
                        "{} is in use by another process (is another emulator running on this data dir?): {e}",
                        path.display()
                    ))));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened,
        }
    }
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(storage)?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(storage)
}

/// A user's record key names it by digest: user names are not stored in clear.
fn user_record(node: usize, name: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, name.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("node/{node}/user/{hex}")
}

/// One cluster's records.
pub struct ClusterStore {
    /// The shared tree; this cluster's records are under `prefix`.
    tree: sled::Tree,
    prefix: Vec<u8>,
    masters: Vec<LessSafeKey>,
    /// Whether `snapshot/` chunks exist, so removals need tombstones.
    has_snapshot: AtomicBool,
}

/// One range of the store, decrypted: records of snapshot chunks, and
/// single records (tombstones among them) that go on top.
#[derive(Default)]
struct Scanned {
    snapshot: Vec<(String, Vec<u8>)>,
    overlay: Vec<(String, Vec<u8>)>,
}

/// What [`ClusterStore::load`] finds.
pub struct Loaded {
    pub meta: Option<Meta>,
    pub partition: Option<Partition>,
    pub nodes: Vec<Node>,
    /// Feature records by name (without the `ext/` prefix), as JSON.
    pub extensions: std::collections::BTreeMap<String, Vec<u8>>,
}

impl Loaded {
    /// What logical records `(name, value)` say, each name once.
    fn parse<'a>(
        records: impl Iterator<Item = (&'a str, &'a [u8])>,
        node_count: usize,
    ) -> Result<Self, EngineError> {
        let mut meta = None;
        let mut partition = None;
        let mut nodes: Vec<Node> = (0..node_count).map(Node::new).collect();
        let mut extensions = BTreeMap::new();
        // The nodes' copies of a key are the same bytes: parse each once and
        // share it, as the nodes share it when the key is made. (By handle,
        // then compared: cheaper than hashing every value.)
        let mut parsed: HashMap<&str, (&[u8], Arc<KeyObject>)> = HashMap::new();
        for (name, value) in records {
            match name {
                "meta" => {
                    meta = Some(serde_json::from_slice::<Meta>(value).map_err(storage)?);
                    continue;
                }
                "partition" => {
                    partition = Some(serde_json::from_slice::<Partition>(value).map_err(storage)?);
                    continue;
                }
                _ => {}
            }
            if let Some(feature) = name.strip_prefix("ext/") {
                extensions.insert(feature.to_string(), value.to_vec());
                continue;
            }
            if !name.starts_with("node/") {
                // Another feature's record: carried by backups, not read here.
                continue;
            }
            let mut parts = name.splitn(4, '/');
            let (Some("node"), Some(node), Some(kind), Some(id)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(storage(format!("bad record {name}")));
            };
            let node: usize = node
                .parse()
                .map_err(|_| storage(format!("bad record {name}")))?;
            let target = nodes.get_mut(node).ok_or(EngineError::NodeNotFound(node))?;
            match kind {
                "user" => {
                    let user: UserRecord = serde_json::from_slice(value).map_err(storage)?;
                    target.users.insert(user.name.clone(), user);
                }
                "key" => {
                    let key = match parsed.get(id) {
                        Some((bytes, key)) if *bytes == value => key.clone(),
                        _ => {
                            let key = Arc::new(
                                serde_json::from_slice::<KeyObject>(value).map_err(storage)?,
                            );
                            parsed.insert(id, (value, key.clone()));
                            key
                        }
                    };
                    target.keys.insert(key.handle, key);
                }
                _ => return Err(storage(format!("bad record {name}"))),
            }
        }
        if let Some(meta) = &meta {
            for (node, up) in nodes.iter_mut().zip(&meta.nodes_up) {
                node.up = *up;
            }
        }
        Ok(Self {
            meta,
            partition,
            nodes,
            extensions,
        })
    }
}

impl ClusterStore {
    /// A record's key in the shared tree.
    fn full(&self, record: &[u8]) -> Vec<u8> {
        [self.prefix.as_slice(), record].concat()
    }

    fn master(&self, node: usize) -> Result<&LessSafeKey, EngineError> {
        self.masters
            .get(node)
            .ok_or(EngineError::NodeNotFound(node))
    }

    fn sealed<T: Serialize>(
        &self,
        node: usize,
        record: &str,
        value: &T,
    ) -> Result<Vec<u8>, EngineError> {
        let json = serde_json::to_vec(value).map_err(storage)?;
        seal(self.master(node)?, record.as_bytes(), &json)
    }

    /// Writes `changes` as one atomic batch and flushes it.
    pub fn apply(&self, changes: Vec<Change>) -> Result<(), EngineError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for change in changes {
            match change {
                Change::Meta(meta) => {
                    // Meta is sealed under node 0's master key.
                    batch.insert(self.full(b"meta"), self.sealed(0, "meta", &meta)?);
                }
                Change::Partition(partition) => {
                    // Cluster-wide, like meta: sealed under node 0's master key.
                    batch.insert(
                        self.full(b"partition"),
                        self.sealed(0, "partition", &partition)?,
                    );
                }
                Change::User { node, user } => {
                    let record = user_record(node, &user.name);
                    batch.insert(
                        self.full(record.as_bytes()),
                        self.sealed(node, &record, &user)?,
                    );
                }
                Change::UserRemoved { node, name } => {
                    self.remove(&mut batch, node, &user_record(node, &name))?
                }
                Change::Key { node, key } => {
                    let record = format!("node/{node}/key/{:020}", key.handle);
                    batch.insert(
                        self.full(record.as_bytes()),
                        self.sealed(node, &record, key.as_ref())?,
                    );
                }
                Change::KeyRemoved { node, handle } => {
                    self.remove(&mut batch, node, &format!("node/{node}/key/{handle:020}"))?
                }
                Change::Extension { name, value } => {
                    let record = format!("ext/{name}");
                    match value {
                        Some(json) => batch.insert(
                            self.full(record.as_bytes()),
                            seal(self.master(0)?, record.as_bytes(), &json)?,
                        ),
                        None => self.remove(&mut batch, 0, &record)?,
                    }
                }
            }
        }
        self.tree.apply_batch(batch).map_err(storage)?;
        self.tree.flush().map_err(storage)?;
        Ok(())
    }

    /// Removes a record; with a snapshot, by a tombstone that hides the
    /// record's copy in a chunk.
    fn remove(
        &self,
        batch: &mut sled::Batch,
        node: usize,
        record: &str,
    ) -> Result<(), EngineError> {
        if self.has_snapshot.load(Ordering::Acquire) {
            batch.insert(
                self.full(record.as_bytes()),
                seal(self.master(node)?, record.as_bytes(), TOMBSTONE)?,
            );
        } else {
            batch.remove(self.full(record.as_bytes()));
        }
        Ok(())
    }

    /// Every logical record but the master keys, decrypted: the snapshot's
    /// records with the single records written since on top. sled's scan
    /// costs microseconds per record, so each node's range is read on its
    /// own thread.
    fn logical_records(&self) -> Result<BTreeMap<String, Vec<u8>>, EngineError> {
        // Range limits: open at both ends, split where each node's records begin.
        let mut bounds: Vec<Option<Vec<u8>>> = vec![None];
        bounds
            .extend((1..self.masters.len()).map(|node| Some(format!("node/{node}/").into_bytes())));
        bounds.push(None);
        let scanned: Vec<Result<Scanned, EngineError>> = std::thread::scope(|scope| {
            let scans: Vec<_> = bounds
                .windows(2)
                .map(|range| {
                    scope.spawn(move || self.scan(range[0].as_deref(), range[1].as_deref()))
                })
                .collect();
            scans
                .into_iter()
                .map(|scan| {
                    scan.join()
                        .unwrap_or_else(|_| Err(storage("scanning the store panicked")))
                })
                .collect()
        });
        let mut records = BTreeMap::new();
        let mut overlay = Vec::new();
        for part in scanned {
            let part = part?;
            records.extend(part.snapshot);
            overlay.extend(part.overlay);
        }
        for (name, plain) in overlay {
            if plain == TOMBSTONE {
                records.remove(&name);
            } else {
                records.insert(name, plain);
            }
        }
        Ok(records)
    }

    /// Reads the records in `[start, end)`, decrypted.
    fn scan(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<Scanned, EngineError> {
        use std::ops::Bound;
        // Open ends stop at this cluster's prefix: `{id}\0` to `{id}\1`.
        let mut after_prefix = self.prefix.clone();
        if let Some(last) = after_prefix.last_mut() {
            *last = 1;
        }
        let range = (
            Bound::Included(start.map_or_else(|| self.prefix.clone(), |s| self.full(s))),
            Bound::Excluded(end.map_or(after_prefix, |e| self.full(e))),
        );
        let mut scanned = Scanned::default();
        for item in self.tree.range::<Vec<u8>, _>(range) {
            let (full, value) = item.map_err(storage)?;
            let record = &full[self.prefix.len()..];
            if record.starts_with(MASTER.as_bytes()) {
                continue;
            }
            let plain = open(self.master(record_node(record))?, record, &value)?;
            if record.starts_with(SNAPSHOT.as_bytes()) {
                let mut reader = Reader::new(&plain);
                let truncated = |_| {
                    storage(format!(
                        "snapshot chunk {} is truncated",
                        String::from_utf8_lossy(record)
                    ))
                };
                while reader.remaining() > 0 {
                    let name = reader.bytes().map_err(truncated)?;
                    let value = reader.bytes().map_err(truncated)?;
                    let name = String::from_utf8(name.to_vec()).map_err(storage)?;
                    scanned.snapshot.push((name, value.to_vec()));
                }
            } else {
                let name = String::from_utf8(record.to_vec()).map_err(storage)?;
                scanned.overlay.push((name, plain));
            }
        }
        Ok(scanned)
    }

    pub fn load(&self) -> Result<Loaded, EngineError> {
        let records = self.logical_records()?;
        Loaded::parse(
            records.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
            self.masters.len(),
        )
    }

    /// Every logical record but the master keys, decrypted: what a backup
    /// carries. Records under `node/{n}/` are sealed under node n's master
    /// key, all others (like `meta`) under node 0's.
    pub fn export_records(&self) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        Ok(self.logical_records()?.into_iter().collect())
    }

    /// Replaces every logical record with `records` (a restore), written as
    /// a snapshot: chunks sealed under this cluster's master keys, in one
    /// atomic, flushed batch. Returns what the records say (as [`Self::load`]
    /// would read them back), parsed on another thread while they are
    /// written, so a restored cluster serves without reading its store again.
    pub fn replace_records(&self, records: &[(String, Vec<u8>)]) -> Result<Loaded, EngineError> {
        std::thread::scope(|scope| {
            let parsing = scope.spawn(|| {
                Loaded::parse(
                    records.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
                    self.masters.len(),
                )
            });
            let written = self.write_snapshot(records);
            let parsed = parsing
                .join()
                .map_err(|_| storage("parsing the restored records panicked"))?;
            written.and(parsed)
        })
    }

    fn write_snapshot(&self, records: &[(String, Vec<u8>)]) -> Result<(), EngineError> {
        let mut batch = sled::Batch::default();
        for full in self.tree.scan_prefix(&self.prefix).keys() {
            let full = full.map_err(storage)?;
            if !full[self.prefix.len()..].starts_with(MASTER.as_bytes()) {
                batch.remove(full);
            }
        }
        let mut by_node: BTreeMap<usize, Vec<&(String, Vec<u8>)>> = BTreeMap::new();
        for entry in records {
            let name = &entry.0;
            if name.starts_with(MASTER) || name.starts_with(SNAPSHOT) {
                return Err(storage(format!("record {name} cannot be restored")));
            }
            by_node
                .entry(record_node(name.as_bytes()))
                .or_default()
                .push(entry);
        }
        for (node, entries) in by_node {
            let master = self.master(node)?;
            let mut chunk = Vec::with_capacity(CHUNK_BYTES);
            let mut sealed_chunks = 0usize;
            let mut seal_chunk = |chunk: &mut Vec<u8>| -> Result<(), EngineError> {
                let name = format!("{SNAPSHOT}{node}/{sealed_chunks:06}");
                batch.insert(
                    [self.prefix.as_slice(), name.as_bytes()].concat(),
                    seal(master, name.as_bytes(), chunk)?,
                );
                sealed_chunks += 1;
                chunk.clear();
                Ok(())
            };
            for (name, plain) in entries {
                put_bytes(&mut chunk, name.as_bytes());
                put_bytes(&mut chunk, plain);
                if chunk.len() >= CHUNK_BYTES {
                    seal_chunk(&mut chunk)?;
                }
            }
            if !chunk.is_empty() {
                seal_chunk(&mut chunk)?;
            }
        }
        self.tree.apply_batch(batch).map_err(storage)?;
        self.tree.flush().map_err(storage)?;
        self.has_snapshot
            .store(!records.is_empty(), Ordering::Release);
        Ok(())
    }
}

/// The node whose master key seals a record.
fn record_node(record: &[u8]) -> usize {
    std::str::from_utf8(record)
        .ok()
        .and_then(|r| r.strip_prefix("node/").or_else(|| r.strip_prefix(SNAPSHOT)))
        .and_then(|r| r.split('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::open_sled;

    #[test]
    fn a_database_still_held_is_waited_for_then_named_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let held = open_sled(&path).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        // Opened once the first handle lets go.
        let reopened = open_sled(&path).unwrap();
        release.join().unwrap();
        // Held for longer than the wait: a clear error.
        let refused = open_sled(&path).unwrap_err().to_string();
        assert!(refused.contains("in use by another process"), "{refused}");
        drop(reopened);
    }
}
