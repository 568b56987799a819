//! The deployment history of a scope, kept as ARM keeps it: at most 800
//! deployments per resource group or subscription. When a new deployment
//! takes the history past 700, ARM deletes the oldest until 600 are left;
//! redeploying a name moves it to the newest place; deployments still
//! running are not deleted; the deletion runs as the deploying caller, and
//! only if it may `Microsoft.Resources/deployments/delete` there. With no
//! room (the caller may not delete, or 800 are running) the deployment is
//! refused with `DeploymentQuotaExceeded`. (Learn: "Automatic deletions from
//! deployment history".) Unlike ARM, the deletion happens in the same atomic
//! batch as the new deployment, so the history is never seen over its size.
//!
//! Each deployment has a [`HistoryEntry`] keyed by its scope, start time and
//! name, so the oldest of a scope are read first and nothing else is read.

use serde::{Deserialize, Serialize};

use super::{is_active, stage_removal, DeploymentRecord, SEGMENT};
use crate::{
    arm::{
        error::ArmError,
        rbac::{self, Requirement},
        resource_id::storage_key,
    },
    deployments::DeploymentScope,
    identity::tokens::Principal,
    state::AppState,
    store::{Record, Store, StoreError, WriteSet},
};

pub const LIMIT: usize = 800;
const GROOM_ABOVE: usize = 700;
const GROOM_TO: usize = 600;

/// One per deployment, keyed by [`entry_key`]; names its record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub deployment_key: String,
}

impl Record for HistoryEntry {
    const KIND: &'static str = "deployment-history";
    const VERSION: u32 = 1;
}

/// The migration that puts deployments stored before the history in it.
const HISTORY_MIGRATION: &str = "deployment-history";

/// Where a scope's entries (and records) are stored: they sort by time.
fn scope_prefix(scope: &DeploymentScope) -> String {
    storage_key(&format!("{}{SEGMENT}/", scope.id()))
}

fn entry_key(record: &DeploymentRecord) -> String {
    format!(
        "{}{:016}/{}",
        scope_prefix(&record.scope),
        record.started.timestamp_millis().max(0),
        record.name.to_ascii_lowercase()
    )
}

/// Adds the removal of `record`'s entry to `writes` (the deployment is
/// deleted or replaced).
pub fn forget(record: &DeploymentRecord, writes: &mut WriteSet) {
    writes.delete::<HistoryEntry>(&entry_key(record));
}

/// The deployments to delete, oldest first, so that a history of `held`
/// (oldest first, `true` where still running) plus one new deployment fits;
/// `Err(count)` when it cannot fit in [`LIMIT`].
fn plan(held: &[bool], may_delete: bool) -> Result<Vec<usize>, usize> {
    let mut count = held.len() + 1;
    let mut doomed = Vec::new();
    if count > GROOM_ABOVE && may_delete {
        for (at, running) in held.iter().enumerate() {
            if count <= GROOM_TO {
                break;
            }
            if !running {
                doomed.push(at);
                count -= 1;
            }
        }
    }
    if count > LIMIT {
        return Err(held.len() - doomed.len());
    }
    Ok(doomed)
}

/// Under the write lock: makes room in `record`'s scope for it (replacing
/// `replaced`, the earlier deployment of its name, if any) and adds its
/// entry; every change goes into `writes`, committed with the deployment.
pub fn make_room(
    state: &AppState,
    principal: &Principal,
    record: &DeploymentRecord,
    replaced: Option<&DeploymentRecord>,
    writes: &mut WriteSet,
) -> Result<(), ArmError> {
    let replaced_key = replaced.map(entry_key);
    if let Some(key) = &replaced_key {
        writes.delete::<HistoryEntry>(key);
    }
    // A group's prefix does not hold the subscription's, and vice versa;
    // the one replaced gives its place to the new one.
    let held: Vec<(String, HistoryEntry)> = state
        .store
        .list::<HistoryEntry>(&scope_prefix(&record.scope), None, usize::MAX)?
        .into_iter()
        .filter(|(key, _)| replaced_key.as_deref() != Some(key.as_str()))
        .collect();
    let mut running = vec![false; held.len()];
    let over = held.len() + 1 > GROOM_ABOVE;
    if over {
        // Only when there is something to decide: records hold templates.
        for ((_, entry), running) in held.iter().zip(running.iter_mut()) {
            *running = state
                .store
                .get::<DeploymentRecord>(&entry.deployment_key)?
                .is_some_and(|d| is_active(&d.provisioning_state));
        }
    }
    let may_delete = over
        && rbac::authorize(
            state,
            principal,
            &Requirement {
                action: "Microsoft.Resources/deployments/delete".into(),
                scope: record.scope.id(),
            },
        )
        .is_ok();
    let doomed = plan(&running, may_delete).map_err(|count| ArmError::BadRequest {
        code: "DeploymentQuotaExceeded",
        message: format!(
            "Creating the deployment '{}' would exceed the quota of '{LIMIT}'. The current deployment count is '{count}'. Please delete some deployments before creating a new one, or see https://aka.ms/800LimitFix for information on managing deployment limits.",
            record.name
        ),
        target: None,
    })?;
    for at in doomed {
        let (key, entry) = &held[at];
        writes.delete::<HistoryEntry>(key);
        stage_removal(&state.store, &entry.deployment_key, writes)?;
    }
    writes.put(
        &entry_key(record),
        &HistoryEntry {
            deployment_key: storage_key(&record.id),
        },
    )?;
    Ok(())
}

/// Puts the deployments of a data dir written by an earlier release in the
/// history, once.
pub async fn index_earlier_deployments(store: &Store) -> Result<(), StoreError> {
    if store.migrated(HISTORY_MIGRATION)? {
        return Ok(());
    }
    let _guard = store.lock_writes().await;
    let mut writes = WriteSet::new();
    for (key, record) in store.list::<DeploymentRecord>("", None, usize::MAX)? {
        writes.put(
            &entry_key(&record),
            &HistoryEntry {
                deployment_key: key,
            },
        )?;
    }
    writes.mark_migrated(HISTORY_MIGRATION)?;
    store.commit(writes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_700_the_oldest_finished_go_until_600_are_left() {
        // 699 held + the new one: 700, nothing goes.
        assert_eq!(plan(&[false; 699], true), Ok(vec![]));
        // 700 held + 1: the 101 oldest go.
        assert_eq!(plan(&[false; 700], true), Ok((0..101).collect()));
        // Running ones are passed over.
        let mut held = vec![false; 700];
        held[0] = true;
        assert_eq!(plan(&held, true), Ok((1..102).collect()));
        // A caller who may not delete fills the history up to 800, then is refused.
        assert_eq!(plan(&[false; 799], false), Ok(vec![]));
        assert_eq!(plan(&[false; 800], false), Err(800));
        // As are 800 running deployments.
        assert_eq!(plan(&[true; 800], true), Err(800));
    }
}
