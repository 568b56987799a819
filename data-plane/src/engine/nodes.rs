//! The HSM nodes (partitions) of a cluster and what each holds. Keys are
//! synchronised by the service; users are not (see `cluster`).

use std::{collections::BTreeMap, sync::Arc};

use aws_lc_rs::digest;

use super::{
    keys::{KeyHandle, KeyObject},
    users::UserRecord,
};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: usize,
    pub up: bool,
    pub users: BTreeMap<String, UserRecord>,
    pub keys: BTreeMap<KeyHandle, Arc<KeyObject>>,
}

/// What `listUsers` / `findAllKeys` per node show, to make divergence visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeListing {
    pub node: usize,
    pub up: bool,
    pub users: usize,
    pub keys: usize,
    /// SHA-256 over the node's user names and key handles, hex.
    pub digest: String,
}

impl Node {
    pub fn new(id: usize) -> Self {
        Self {
            id,
            up: true,
            users: BTreeMap::new(),
            keys: BTreeMap::new(),
        }
    }

    pub fn listing(&self) -> NodeListing {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for name in self.users.keys() {
            ctx.update(b"u:");
            ctx.update(name.as_bytes());
        }
        for handle in self.keys.keys() {
            ctx.update(b"k:");
            ctx.update(&handle.to_be_bytes());
        }
        let digest = ctx
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        NodeListing {
            node: self.id,
            up: self.up,
            users: self.users.len(),
            keys: self.keys.len(),
            digest,
        }
    }
}
