//! How long an ended operation stays readable.
//!
//! ARM's status and result URLs do not answer forever. The Azure REST API
//! guidelines ask a service to keep a status monitor "for some publicly
//! documented period of time (at least 24 hours) after the operation
//! completes"; the emulator keeps them 24 hours by default
//! (`--operation-retention`), then forgets them: their URLs answer 404
//! `OperationNotFound` as for an id never issued. Without this, every
//! operation ever run stayed in the store, and the store's memory grew with
//! the history instead of with what is current.
//!
//! An operation's end is indexed by an [`EndedOperation`] written in the same
//! batch as the end itself, keyed by the end time, so the sweeper reads only
//! what has expired, oldest first, and never the whole history.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{OperationKind, OperationRecord};
use crate::store::{Record, Store, StoreError, WriteSet};

/// Ended operations are forgotten in batches of this many, each under the
/// write lock for one commit only.
const SWEEP_BATCH: usize = 512;

/// The expiry index: one per ended operation, keyed by [`index_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndedOperation {
    pub id: String,
    /// So a provider can forget its own records of the operation without
    /// the operation record being read.
    pub kind: OperationKind,
}

impl Record for EndedOperation {
    const KIND: &'static str = "ended-operation";
    const VERSION: u32 = 1;
}

/// The migration that indexes operations ended before the index existed.
const INDEX_MIGRATION: &str = "ended-operation-index";

/// Milliseconds since the epoch, zero-padded so keys sort by time.
fn index_key(end: DateTime<Utc>, id: &str) -> String {
    format!("{:016}/{id}", end.timestamp_millis().max(0))
}

fn key_time(key: &str) -> Option<i64> {
    key.split_once('/')?.0.parse().ok()
}

/// Removes what a provider keeps per operation besides the operation
/// record, when the operation is forgotten.
pub type Forgetter = fn(&EndedOperation, &mut WriteSet);

/// Adds the ended operation and its index entry to `writes`.
pub(super) fn stage_end(op: &OperationRecord, writes: &mut WriteSet) -> Result<(), StoreError> {
    let end = op.end_time.unwrap_or_else(Utc::now);
    writes.put(&op.id, op)?;
    writes.put(
        &index_key(end, &op.id),
        &EndedOperation {
            id: op.id.clone(),
            kind: op.kind,
        },
    )?;
    Ok(())
}

/// Indexes operations that ended before this index existed (a data dir
/// written by an earlier release), once: the only full read of the history.
pub async fn index_earlier_history(store: &Store) -> Result<(), StoreError> {
    if store.migrated(INDEX_MIGRATION)? {
        return Ok(());
    }
    let _guard = store.lock_writes().await;
    let mut after: Option<String> = None;
    loop {
        let page = store.list::<OperationRecord>("", after.as_deref(), SWEEP_BATCH)?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = Some(last.clone());
        let mut writes = WriteSet::new();
        for (_, op) in page.iter().filter(|(_, op)| op.end_time.is_some()) {
            stage_end(op, &mut writes)?;
        }
        store.commit(writes).await?;
    }
    let mut writes = WriteSet::new();
    writes.mark_migrated(INDEX_MIGRATION)?;
    store.commit(writes).await
}

/// Forgets every operation that ended more than `retention` ago; returns
/// how many.
pub async fn sweep(
    store: &Store,
    retention: Duration,
    forget: Forgetter,
) -> Result<usize, StoreError> {
    let cutoff =
        (Utc::now() - chrono::Duration::from_std(retention).unwrap_or_default()).timestamp_millis();
    let mut forgotten = 0;
    loop {
        let _guard = store.lock_writes().await;
        let expired: Vec<(String, EndedOperation)> = store
            .list::<EndedOperation>("", None, SWEEP_BATCH)?
            .into_iter()
            .take_while(|(key, _)| key_time(key).is_some_and(|t| t <= cutoff))
            .collect();
        if expired.is_empty() {
            return Ok(forgotten);
        }
        let mut writes = WriteSet::new();
        for (key, ended) in &expired {
            writes.delete::<EndedOperation>(key);
            writes.delete::<OperationRecord>(&ended.id);
            forget(ended, &mut writes);
        }
        store.commit(writes).await?;
        forgotten += expired.len();
        if expired.len() < SWEEP_BATCH {
            return Ok(forgotten);
        }
    }
}

/// Sweeps every tenth of the retention (1 s to 10 min apart), so an
/// operation is forgotten at most 10% after its time.
pub async fn run_sweeper(store: Store, retention: Duration, forget: Forgetter) {
    let interval = (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(600));
    loop {
        match sweep(&store, retention, forget).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(forgotten = n, "ended operations past their retention"),
            Err(e) => tracing::error!(error = %e, "forgetting expired operations failed"),
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands for a provider's per-operation record.
    #[derive(Serialize, Deserialize)]
    struct JobNote {}
    impl Record for JobNote {
        const KIND: &'static str = "test-job-note";
        const VERSION: u32 = 1;
    }

    fn forget_note(ended: &EndedOperation, writes: &mut WriteSet) {
        writes.delete::<JobNote>(&ended.id);
    }

    fn operation(ended: bool) -> OperationRecord {
        let mut op = OperationRecord::begin(
            OperationKind::Backup,
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/c",
            "s",
            "eastus2",
            "2025-03-31",
            Duration::ZERO,
        );
        if ended {
            op.status = super::super::OperationStatus::Succeeded;
            op.end_time = Some(Utc::now() - chrono::Duration::seconds(30));
        }
        op
    }

    #[tokio::test]
    async fn earlier_history_is_indexed_once_and_only_ended_operations_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // As an earlier release left them: operation records, no index.
        let (old, running) = (operation(true), operation(false));
        let mut writes = WriteSet::new();
        for op in [&old, &running] {
            writes.put(&op.id, op).unwrap();
            writes.put(&op.id, &JobNote {}).unwrap();
        }
        store.commit(writes).await.unwrap();
        index_earlier_history(&store).await.unwrap();
        assert_eq!(store.list::<EndedOperation>("", None, 10).unwrap().len(), 1);

        // Within the retention nothing goes.
        let hour = Duration::from_secs(3600);
        assert_eq!(sweep(&store, hour, forget_note).await.unwrap(), 0);
        assert!(store.get::<OperationRecord>(&old.id).unwrap().is_some());

        // Past it: the ended one, its note and its index entry go; the one
        // still running stays, however old.
        let ten_seconds = Duration::from_secs(10);
        assert_eq!(sweep(&store, ten_seconds, forget_note).await.unwrap(), 1);
        assert!(store.get::<OperationRecord>(&old.id).unwrap().is_none());
        assert!(store.get::<JobNote>(&old.id).unwrap().is_none());
        assert!(store
            .list::<EndedOperation>("", None, 10)
            .unwrap()
            .is_empty());
        assert!(store.get::<OperationRecord>(&running.id).unwrap().is_some());
        assert!(store.get::<JobNote>(&running.id).unwrap().is_some());

        // Ending it now indexes it in the same batch; a second start-up does
        // not re-read the history.
        let mut running = running;
        let mut writes = WriteSet::new();
        running.stage_end(&mut writes).unwrap();
        store.commit(writes).await.unwrap();
        assert_eq!(store.list::<EndedOperation>("", None, 10).unwrap().len(), 1);
        assert!(store.migrated(INDEX_MIGRATION).unwrap());
        assert_eq!(sweep(&store, ten_seconds, forget_note).await.unwrap(), 0);
    }

    #[test]
    fn index_keys_sort_by_end_time() {
        let early = DateTime::from_timestamp_millis(999).unwrap();
        let late = DateTime::from_timestamp_millis(1_000_000_000_000).unwrap();
        let (a, b) = (index_key(early, "zzz"), index_key(late, "aaa"));
        assert!(a < b, "{a} < {b}");
        assert_eq!(key_time(&a), Some(999));
        assert_eq!(key_time("garbage"), None);
    }
}
