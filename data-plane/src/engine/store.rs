//! The only code of the engine that touches disk: one sled tree per cluster.
//!
//! Records (all values encrypted, see below):
//! - `meta`: handle counter, activation, which nodes are up;
//! - `partition`: the partition key, the owner's certificates (PO.crt, POAC),
//!   the masking key and outstanding unlockCO challenges;
//! - `master/{node}`: the node's master key, wrapped under the emulator's
//!   root key (`<dir>/root.key`);
//! - `node/{node}/user/{sha256(name)}`, `node/{node}/key/{handle}`: what each
//!   node holds, encrypted under that node's master key;
//! - `ext/{name}`: cluster-wide records of optional features (2FA and
//!   quorum settings, quorum tokens), sealed under node 0's master key.
//!
//! Values are `1 ‖ nonce(12) ‖ AES-256-GCM(ciphertext ‖ tag)` with the record
//! key as associated data, so a value cannot be moved to another record.
//! Every write is flushed before the engine acknowledges it. Destroying a
//! cluster drops its tree, master keys included.

use std::{path::Path, sync::Arc};

use aws_lc_rs::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN},
    rand::{SecureRandom, SystemRandom},
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::{
    error::EngineError, keys::KeyObject, nodes::Node, partition::Partition, users::UserRecord,
};

const FORMAT: u8 = 1;

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
    let mut body = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(record),
        &mut body,
    )
    .map_err(|_| EngineError::Crypto("sealing a record".into()))?;
    let mut out = vec![FORMAT];
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&body);
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
    let plain = key
        .open_in_place(nonce, Aad::from(record), &mut body)
        .map_err(|_| {
            EngineError::Storage(format!(
                "record {} failed its integrity check",
                String::from_utf8_lossy(record)
            ))
        })?;
    Ok(plain.to_vec())
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
    root: LessSafeKey,
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
        let db = sled::Config::new()
            .path(dir.join("db"))
            .open()
            .map_err(storage)?;
        Ok(Self {
            db,
            root: aead(&root)?,
        })
    }

    fn tree_name(cluster: &str) -> String {
        format!("cluster/{}", cluster.to_ascii_lowercase())
    }

    /// The clusters with stored state.
    pub fn cluster_ids(&self) -> Vec<String> {
        self.db
            .tree_names()
            .into_iter()
            .filter_map(|n| {
                String::from_utf8(n.to_vec())
                    .ok()?
                    .strip_prefix("cluster/")
                    .map(str::to_string)
            })
            .collect()
    }

    /// Opens (or creates, with fresh master keys) a cluster's records.
    pub fn cluster(&self, cluster: &str, nodes: usize) -> Result<ClusterStore, EngineError> {
        let tree = self
            .db
            .open_tree(Self::tree_name(cluster))
            .map_err(storage)?;
        let mut masters = Vec::with_capacity(nodes);
        for node in 0..nodes {
            let record = format!("master/{node}");
            let key = match tree.get(&record).map_err(storage)? {
                Some(wrapped) => open(&self.root, record.as_bytes(), &wrapped)?,
                None => {
                    let key = random_key()?.to_vec();
                    tree.insert(&record, seal(&self.root, record.as_bytes(), &key)?)
                        .map_err(storage)?;
                    key
                }
            };
            masters.push(aead(&key)?);
        }
        tree.flush().map_err(storage)?;
        Ok(ClusterStore { tree, masters })
    }

    /// Deletes a cluster's records and master keys: its key material is gone.
    pub fn destroy(&self, cluster: &str) -> Result<(), EngineError> {
        self.db
            .drop_tree(Self::tree_name(cluster))
            .map_err(storage)?;
        self.db.flush().map_err(storage)?;
        Ok(())
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
    tree: sled::Tree,
    masters: Vec<LessSafeKey>,
}

/// What [`ClusterStore::load`] finds.
pub struct Loaded {
    pub meta: Option<Meta>,
    pub partition: Option<Partition>,
    pub nodes: Vec<Node>,
    /// Feature records by name (without the `ext/` prefix), as JSON.
    pub extensions: std::collections::BTreeMap<String, Vec<u8>>,
}

impl ClusterStore {
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

    fn opened<T: DeserializeOwned>(
        &self,
        node: usize,
        record: &[u8],
        value: &[u8],
    ) -> Result<T, EngineError> {
        let json = open(self.master(node)?, record, value)?;
        serde_json::from_slice(&json).map_err(storage)
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
                    batch.insert("meta", self.sealed(0, "meta", &meta)?);
                }
                Change::Partition(partition) => {
                    // Cluster-wide, like meta: sealed under node 0's master key.
                    batch.insert("partition", self.sealed(0, "partition", &partition)?);
                }
                Change::User { node, user } => {
                    let record = user_record(node, &user.name);
                    batch.insert(record.as_bytes(), self.sealed(node, &record, &user)?);
                }
                Change::UserRemoved { node, name } => {
                    batch.remove(user_record(node, &name).as_bytes())
                }
                Change::Key { node, key } => {
                    let record = format!("node/{node}/key/{:020}", key.handle);
                    batch.insert(record.as_bytes(), self.sealed(node, &record, key.as_ref())?);
                }
                Change::KeyRemoved { node, handle } => {
                    batch.remove(format!("node/{node}/key/{handle:020}").as_bytes())
                }
                Change::Extension { name, value } => {
                    let record = format!("ext/{name}");
                    match value {
                        Some(json) => batch.insert(
                            record.as_bytes(),
                            seal(self.master(0)?, record.as_bytes(), &json)?,
                        ),
                        None => batch.remove(record.as_bytes()),
                    }
                }
            }
        }
        self.tree.apply_batch(batch).map_err(storage)?;
        self.tree.flush().map_err(storage)?;
        Ok(())
    }

    pub fn load(&self) -> Result<Loaded, EngineError> {
        let meta = match self.tree.get("meta").map_err(storage)? {
            Some(v) => Some(self.opened::<Meta>(0, b"meta", &v)?),
            None => None,
        };
        let partition = match self.tree.get("partition").map_err(storage)? {
            Some(v) => Some(self.opened::<Partition>(0, b"partition", &v)?),
            None => None,
        };
        let mut nodes: Vec<Node> = (0..self.masters.len()).map(Node::new).collect();
        for item in self.tree.scan_prefix("node/") {
            let (record, value) = item.map_err(storage)?;
            let text = String::from_utf8_lossy(&record).into_owned();
            let mut parts = text.splitn(4, '/').skip(1);
            let node: usize = parts
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| storage(format!("bad record {text}")))?;
            let target = nodes.get_mut(node).ok_or(EngineError::NodeNotFound(node))?;
            match parts.next() {
                Some("user") => {
                    let user: UserRecord = self.opened(node, &record, &value)?;
                    target.users.insert(user.name.clone(), user);
                }
                Some("key") => {
                    let key: KeyObject = self.opened(node, &record, &value)?;
                    target.keys.insert(key.handle, Arc::new(key));
                }
                _ => return Err(storage(format!("bad record {text}"))),
            }
        }
        if let Some(meta) = &meta {
            for (node, up) in nodes.iter_mut().zip(&meta.nodes_up) {
                node.up = *up;
            }
        }
        let mut extensions = std::collections::BTreeMap::new();
        for item in self.tree.scan_prefix("ext/") {
            let (record, value) = item.map_err(storage)?;
            let name = String::from_utf8_lossy(&record["ext/".len()..]).into_owned();
            extensions.insert(name, open(self.master(0)?, &record, &value)?);
        }
        Ok(Loaded {
            meta,
            partition,
            nodes,
            extensions,
        })
    }

    /// Every logical record but the master keys, decrypted: what a backup
    /// carries. Records under `node/{n}/` are sealed under node n's master
    /// key, all others (like `meta`) under node 0's.
    pub fn export_records(&self) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let mut records = Vec::new();
        for item in self.tree.iter() {
            let (record, value) = item.map_err(storage)?;
            if record.starts_with(b"master/") {
                continue;
            }
            let plain = open(self.master(record_node(&record))?, &record, &value)?;
            let name = String::from_utf8(record.to_vec()).map_err(storage)?;
            records.push((name, plain));
        }
        Ok(records)
    }

    /// Replaces every logical record with `records`, sealed under this
    /// cluster's master keys, in one atomic, flushed batch (a restore).
    pub fn replace_records(&self, records: &[(String, Vec<u8>)]) -> Result<(), EngineError> {
        let mut batch = sled::Batch::default();
        for item in self.tree.iter() {
            let (record, _) = item.map_err(storage)?;
            if !record.starts_with(b"master/") {
                batch.remove(record);
            }
        }
        for (name, plain) in records {
            if name.starts_with("master/") {
                return Err(storage(format!("record {name} cannot be restored")));
            }
            let node = record_node(name.as_bytes());
            batch.insert(
                name.as_bytes(),
                seal(self.master(node)?, name.as_bytes(), plain)?,
            );
        }
        self.tree.apply_batch(batch).map_err(storage)?;
        self.tree.flush().map_err(storage)?;
        Ok(())
    }
}

/// The node whose master key seals a record.
fn record_node(record: &[u8]) -> usize {
    std::str::from_utf8(record)
        .ok()
        .and_then(|r| r.strip_prefix("node/"))
        .and_then(|r| r.split('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
