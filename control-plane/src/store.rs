//! The one place that touches sled.
//!
//! Every persisted record is a typed [`Record`] stored under `KIND \0 key` in a
//! single tree, prefixed by its version so later releases can migrate old
//! records. Writes are grouped into a [`WriteSet`] that is applied as one
//! atomic sled batch and flushed to disk before the caller acknowledges it:
//! an ARM response is only sent for a write that survives `kill -9`.

use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::{Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failure: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored record {key} is unreadable: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error("stored record {key} has version {found}, this build reads version {expected}")]
    Version {
        key: String,
        found: u32,
        expected: u32,
    },
    #[error("record could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// A kind of persisted record. `KIND` namespaces its keys; `VERSION` is written
/// with every record and checked on read.
pub trait Record: Serialize + DeserializeOwned {
    const KIND: &'static str;
    /// Whether writes of this kind change which HSM addresses the data
    /// plane answers (clusters, private endpoint connections): committing
    /// one bumps [`Store::addressing_epoch`].
    const ADDRESSING: bool = false;
    const VERSION: u32;
}

/// Stored bytes: the record's version as 4 little-endian bytes, then its
/// JSON. The version is checked before any parsing, so a read is one parse.
fn encode<T: Record>(record: &T) -> Result<Vec<u8>, StoreError> {
    let mut bytes = T::VERSION.to_le_bytes().to_vec();
    serde_json::to_writer(&mut bytes, record)?;
    Ok(bytes)
}

/// Clones share the database and the write lock.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    records: sled::Tree,
    /// Serialises read-modify-write sequences (ARM handlers and the operation
    /// worker); reads never take it.
    write_lock: std::sync::Arc<Mutex<()>>,
    /// Bumped by every commit of an [`Record::ADDRESSING`] kind, so the
    /// data plane's address cache can tell it is stale with one atomic load.
    addressing_epoch: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn full_key(kind: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(kind.len() + 1 + key.len());
    k.extend_from_slice(kind.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

impl Store {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = cloudhsm_data_plane::engine::store::open_sled(dir)?;
        let records = db.open_tree("records")?;
        Ok(Self {
            db,
            records,
            write_lock: Default::default(),
            addressing_epoch: Default::default(),
        })
    }

    /// Held across a read-check-write sequence so two writers cannot interleave.
    pub async fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    pub fn get<T: Record>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.records.get(full_key(T::KIND, key))? {
            Some(bytes) => Ok(Some(decode(key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// All records of kind `T` whose key starts with `prefix`, in key order,
    /// starting strictly after `after` when given (for paging).
    pub fn list<T: Record>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let start = full_key(T::KIND, prefix);
        let kind_len = T::KIND.len() + 1;
        let mut out = Vec::new();
        for item in self.records.scan_prefix(&start) {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(&k[kind_len..]).into_owned();
            if after.is_some_and(|a| key.as_str() <= a) {
                continue;
            }
            if out.len() == limit {
                break;
            }
            out.push((key.clone(), decode(&key, &v)?));
        }
        Ok(out)
    }

    /// The records of kind `T` under `prefix` whose stored bytes contain
    /// `needle`, decoded: a scan looking for one value decodes only the
    /// records that can hold it (a full [`Self::list`] parses every one).
    pub fn list_containing<T: Record>(
        &self,
        prefix: &str,
        needle: &[u8],
    ) -> Result<Vec<(String, T)>, StoreError> {
        let start = full_key(T::KIND, prefix);
        let kind_len = T::KIND.len() + 1;
        let finder = memchr::memmem::Finder::new(needle);
        let mut out = Vec::new();
        for item in self.records.scan_prefix(&start) {
            let (k, v) = item?;
            if finder.find(&v).is_none() {
                continue;
            }
            let key = String::from_utf8_lossy(&k[kind_len..]).into_owned();
            out.push((key.clone(), decode(&key, &v)?));
        }
        Ok(out)
    }

    /// Adds the deletion of every record of kind `T` under `prefix` to `writes`.
    pub fn delete_under<T: Record>(
        &self,
        prefix: &str,
        writes: &mut WriteSet,
    ) -> Result<(), StoreError> {
        let start = full_key(T::KIND, prefix);
        for item in self.records.scan_prefix(&start) {
            let (key, _) = item?;
            writes.batch.remove(key);
        }
        writes.addressing |= T::ADDRESSING;
        Ok(())
    }

    /// Changes whenever the records deciding which HSM addresses answer do.
    pub fn addressing_epoch(&self) -> u64 {
        self.addressing_epoch
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Applies every write in `writes` atomically and waits until it is on disk.
    pub async fn commit(&self, writes: WriteSet) -> Result<(), StoreError> {
        self.records.apply_batch(writes.batch)?;
        if writes.addressing {
            // After the batch is applied: a cache rebuilt on the new epoch
            // reads the new records. Before the flush: a path closes at once.
            self.addressing_epoch
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        self.db.flush_async().await?;
        Ok(())
    }
}

fn decode<T: Record>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let (version, json) = bytes.split_at(bytes.len().min(4));
    let found = u32::from_le_bytes(version.try_into().unwrap_or([0; 4]));
    if found != T::VERSION {
        return Err(StoreError::Version {
            key: key.to_string(),
            found,
            expected: T::VERSION,
        });
    }
    serde_json::from_slice(json).map_err(|source| StoreError::Corrupt {
        key: key.to_string(),
        source,
    })
}

/// Marks a one-time migration of the data dir as done, keyed by its name:
/// a start-up step that rewrites what an earlier release stored checks
/// [`Store::migrated`] first and commits [`WriteSet::mark_migrated`] last.
#[derive(serde::Serialize, serde::Deserialize)]
struct Migrated {}

impl Record for Migrated {
    const KIND: &'static str = "migrated";
    const VERSION: u32 = 1;
}

impl Store {
    /// Whether the migration `name` has been committed.
    pub fn migrated(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.get::<Migrated>(name)?.is_some())
    }
}

/// Writes that must land together.
#[derive(Default)]
pub struct WriteSet {
    batch: sled::Batch,
    addressing: bool,
}

impl WriteSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put<T: Record>(&mut self, key: &str, record: &T) -> Result<&mut Self, StoreError> {
        self.batch.insert(full_key(T::KIND, key), encode(record)?);
        self.addressing |= T::ADDRESSING;
        Ok(self)
    }

    /// Records the migration `name` as done (see [`Store::migrated`]).
    pub fn mark_migrated(&mut self, name: &str) -> Result<&mut Self, StoreError> {
        self.put(name, &Migrated {})
    }

    pub fn delete<T: Record>(&mut self, key: &str) -> &mut Self {
        self.batch.remove(full_key(T::KIND, key));
        self.addressing |= T::ADDRESSING;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Thing {
        n: u32,
    }
    impl Record for Thing {
        const KIND: &'static str = "thing";
        const VERSION: u32 = 1;
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct ThingV2 {
        n: u32,
    }
    impl Record for ThingV2 {
        const KIND: &'static str = "thing";
        const VERSION: u32 = 2;
    }

    #[tokio::test]
    async fn writes_are_atomic_listable_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let mut w = WriteSet::new();
            for (k, n) in [("a/1", 1), ("a/2", 2), ("b/1", 3)] {
                w.put(k, &Thing { n }).unwrap();
            }
            store.commit(w).await.unwrap();
            let mut w = WriteSet::new();
            w.delete::<Thing>("a/2");
            store.commit(w).await.unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let listed = store.list::<Thing>("a/", None, 10).unwrap();
        assert_eq!(listed, vec![("a/1".to_string(), Thing { n: 1 })]);
        assert_eq!(store.get::<Thing>("b/1").unwrap(), Some(Thing { n: 3 }));
        assert_eq!(store.list::<Thing>("", Some("a/1"), 10).unwrap().len(), 1);
        assert_eq!(store.list::<Thing>("", None, 1).unwrap().len(), 1);
        assert!(matches!(
            store.get::<ThingV2>("b/1"),
            Err(StoreError::Version { found: 1, .. })
        ));
    }
}
