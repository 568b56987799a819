//! What the broker needs to know from the control plane.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A failure of the directory itself (its store), not an answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DirectoryError(pub String);

/// An event hub as the data plane sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HubInfo {
    /// Unique for this hub's lifetime: a hub deleted and made again under
    /// the same name has a new one, and so a new, empty log.
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub partition_count: u32,
    pub retention: Duration,
    pub created_at: DateTime<Utc>,
    /// Consumer group names (`$Default` among them).
    pub consumer_groups: Vec<String>,
}

/// The rights of a shared access rule. `Manage` implies the other two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights {
    pub listen: bool,
    pub send: bool,
    pub manage: bool,
}

impl Rights {
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Self {
        let has = |n: &str| names.iter().any(|r| r.as_ref().eq_ignore_ascii_case(n));
        Rights {
            listen: has("Listen"),
            send: has("Send"),
            manage: has("Manage"),
        }
    }
    pub fn can_send(self) -> bool {
        self.send || self.manage
    }
    pub fn can_listen(self) -> bool {
        self.listen || self.manage
    }
}

/// A shared access authorization rule of a namespace (`hub: None`) or of one
/// of its hubs.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRule {
    pub namespace: String,
    pub hub: Option<String>,
    pub key_name: String,
    pub primary_key: String,
    pub secondary_key: String,
    pub rights: Rights,
}

pub trait Directory: Send + Sync + 'static {
    /// The hub `name` of namespace `namespace` (names as the user spelled
    /// them; the control plane matches them case-insensitively, as Azure).
    fn hub(&self, namespace: &str, name: &str) -> Result<Option<HubInfo>, DirectoryError>;
    /// Every rule named `key_name`, in every namespace and hub: a SAS token
    /// names its rule but, behind the emulator's single endpoint, not its
    /// namespace, so the broker tries the keys of all of them.
    fn rules_named(&self, key_name: &str) -> Result<Vec<AccessRule>, DirectoryError>;
    /// The uids of every hub that exists, so logs of deleted hubs can go.
    fn hub_uids(&self) -> Result<Vec<String>, DirectoryError>;
}
