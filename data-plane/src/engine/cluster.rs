//! A cluster: three HSM nodes behind one API, with the service's replication
//! rules. Keys are synchronised by the service: written to every node that is
//! up, and copied to a node when it comes back. Users are not: a user created
//! while a node was down is missing there until a crypto officer runs
//! [`Cluster::sync_user`].

// More operations on `Cluster`, one module per family; as child modules they
// share the cluster's private state and helpers.
mod certificates;
mod masked_objects;
mod onboarding;
mod public_keys;
mod user_admin;
mod utilities;

pub use user_admin::{KeyOwnership, UserAttributes};

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Instant,
};

mod security;

pub use security::{SecurityChange, SecurityView, TokenView};

use super::{
    attributes::{ids, Attribute, KeyAttributes},
    audit::{self, AuditEvent, AuditSink},
    error::EngineError,
    keys::{self, KeyClass, KeyHandle, KeyMaterial, KeyObject, KeySpec},
    mechanisms::Mechanism,
    nodes::{Node, NodeListing},
    partition::Partition,
    sessions::{Caller, InUse, LoginId, SessionHandle, SessionTable},
    store::{Change, ClusterStore, Loaded, Meta},
    users::{Role, UserRecord},
};

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Failed logins before a user is locked.
    pub max_failed_logins: u32,
    /// Key handles the cluster holds; a key pair uses two.
    pub key_capacity: usize,
    pub nodes: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            max_failed_logins: 5,
            key_capacity: 3200,
            nodes: 3,
        }
    }
}

/// Audit events kept in memory per cluster.
const AUDIT_BUFFER: usize = 10_000;

/// The partition's pre-crypto-officer, as a new cluster ships it.
pub const PRECO_USER: &str = "admin";
/// Its documented default password (change it to activate the cluster).
pub const PRECO_DEFAULT_PASSWORD: &str = "password";

struct State {
    nodes: Vec<Node>,
    sessions: SessionTable,
    next_handle: KeyHandle,
    activated: bool,
    /// Certificates, partition key, masking key (cluster-wide).
    partition: Partition,
    /// Changes made since the last write to the store.
    journal: Vec<Change>,
    /// Opt-in 2FA and quorum: settings, tokens, pending authdata.
    security: security::SecurityState,
}

pub struct Cluster {
    config: ClusterConfig,
    state: Mutex<State>,
    /// The most recent audit events (a bounded buffer; a diagnostic setting
    /// streams them on).
    audit: Mutex<std::collections::VecDeque<AuditEvent>>,
    /// Where audit events go besides the buffer (set once, by the owner).
    audit_sink: std::sync::OnceLock<Arc<dyn AuditSink>>,
    store: Option<ClusterStore>,
    /// Held while the journal is written, so an operation is acknowledged
    /// only once its own changes are on disk.
    persisting: Mutex<()>,
}

impl State {
    /// The node that serves a request: the first one up (the client library
    /// fails over in the same order).
    fn serving(&self) -> Result<usize, EngineError> {
        self.nodes
            .iter()
            .position(|n| n.up)
            .ok_or(EngineError::NoNodeAvailable)
    }

    /// A user as the serving node holds it (users are per node).
    fn user(&self, name: &str) -> Result<&UserRecord, EngineError> {
        let node = self.serving()?;
        self.nodes[node]
            .users
            .get(name)
            .ok_or_else(|| EngineError::UserNotFound(name.to_string()))
    }

    fn key(&self, handle: KeyHandle) -> Result<Arc<KeyObject>, EngineError> {
        let node = self.serving()?;
        self.nodes[node]
            .keys
            .get(&handle)
            .cloned()
            .ok_or(EngineError::KeyNotFound(handle))
    }

    /// Writes a key to every node that is up (the service's key sync).
    fn put_key(&mut self, key: KeyObject) {
        let key = Arc::new(key);
        for node in self.nodes.iter_mut().filter(|n| n.up) {
            node.keys.insert(key.handle, key.clone());
            self.journal.push(Change::Key {
                node: node.id,
                key: key.clone(),
            });
        }
    }

    fn remove_key(&mut self, handle: KeyHandle) {
        for node in self.nodes.iter_mut().filter(|n| n.up) {
            node.keys.remove(&handle);
            self.journal.push(Change::KeyRemoved {
                node: node.id,
                handle,
            });
        }
    }

    /// Writes a user to the nodes that are up only: users are not synchronised.
    fn put_user(&mut self, user: UserRecord) {
        for node in self.nodes.iter_mut().filter(|n| n.up) {
            node.users.insert(user.name.clone(), user.clone());
            self.journal.push(Change::User {
                node: node.id,
                user: user.clone(),
            });
        }
    }

    fn remove_user(&mut self, name: &str) {
        for node in self.nodes.iter_mut().filter(|n| n.up) {
            node.users.remove(name);
            self.journal.push(Change::UserRemoved {
                node: node.id,
                name: name.to_string(),
            });
        }
    }

    fn put_partition(&mut self, partition: Partition) {
        self.journal
            .push(Change::Partition(Box::new(partition.clone())));
        self.partition = partition;
    }

    /// Records handle counter, activation and node states.
    fn touch_meta(&mut self) {
        let meta = Meta {
            next_handle: self.next_handle,
            activated: self.activated,
            nodes_up: self.nodes.iter().map(|n| n.up).collect(),
        };
        self.journal.push(Change::Meta(meta));
    }

    /// Makes node `target` hold exactly `users` and `keys`, journalling the difference.
    fn reset_node(
        &mut self,
        target: usize,
        users: Option<std::collections::BTreeMap<String, UserRecord>>,
        keys: std::collections::BTreeMap<KeyHandle, Arc<KeyObject>>,
    ) {
        let node = &mut self.nodes[target];
        for handle in node.keys.keys().filter(|h| !keys.contains_key(h)) {
            self.journal.push(Change::KeyRemoved {
                node: target,
                handle: *handle,
            });
        }
        for key in keys.values() {
            self.journal.push(Change::Key {
                node: target,
                key: key.clone(),
            });
        }
        node.keys = keys;
        if let Some(users) = users {
            for name in node.users.keys().filter(|n| !users.contains_key(*n)) {
                self.journal.push(Change::UserRemoved {
                    node: target,
                    name: name.clone(),
                });
            }
            for user in users.values() {
                self.journal.push(Change::User {
                    node: target,
                    user: user.clone(),
                });
            }
            node.users = users;
        }
    }

    fn handles_in_use(&self) -> usize {
        self.nodes.iter().map(|n| n.keys.len()).max().unwrap_or(0)
    }
}

impl Cluster {
    /// A new cluster kept in memory only.
    pub fn new(config: ClusterConfig) -> Result<Self, EngineError> {
        Self::build(config, None, None)
    }

    /// A cluster kept in `store`: its state is loaded if the store has one,
    /// else a new cluster is written there.
    pub fn open(config: ClusterConfig, store: ClusterStore) -> Result<Self, EngineError> {
        let loaded = store.load()?;
        Self::build(config, Some(store), Some(loaded))
    }

    /// A cluster kept in `store` whose state was already read from it (what
    /// [`Self::replace_records`] returns after a restore).
    pub fn open_loaded(
        config: ClusterConfig,
        store: ClusterStore,
        loaded: Loaded,
    ) -> Result<Self, EngineError> {
        Self::build(config, Some(store), Some(loaded))
    }

    fn build(
        config: ClusterConfig,
        store: Option<ClusterStore>,
        loaded: Option<Loaded>,
    ) -> Result<Self, EngineError> {
        let mut state = State {
            nodes: (0..config.nodes.max(1)).map(Node::new).collect(),
            sessions: SessionTable::default(),
            next_handle: 0,
            activated: false,
            partition: Partition::new()?,
            journal: Vec::new(),
            security: Default::default(),
        };
        if let Some(loaded) = &loaded {
            state.security = security::SecurityState::load(&loaded.extensions)?;
        }
        match loaded {
            Some(Loaded {
                meta: Some(meta),
                partition,
                nodes,
                ..
            }) => {
                state.nodes = nodes;
                state.next_handle = meta.next_handle;
                state.activated = meta.activated;
                match partition {
                    Some(partition) => state.partition = partition,
                    // Stored before partitions were recorded: give it one now.
                    None => state.put_partition(state.partition.clone()),
                }
            }
            _ => {
                let preco = UserRecord::new(PRECO_USER, Role::Preco, PRECO_DEFAULT_PASSWORD)?;
                state.put_user(preco);
                state.put_partition(state.partition.clone());
                state.touch_meta();
            }
        }
        let cluster = Self {
            config,
            state: Mutex::new(state),
            audit: Mutex::new(std::collections::VecDeque::new()),
            audit_sink: std::sync::OnceLock::new(),
            store,
            persisting: Mutex::new(()),
        };
        cluster.persist()?;
        Ok(cluster)
    }

    /// Writes every journalled change to the store and flushes it.
    fn persist(&self) -> Result<(), EngineError> {
        let _writing = self.persisting.lock().unwrap_or_else(|p| p.into_inner());
        let changes = std::mem::take(&mut self.lock().journal);
        match &self.store {
            Some(store) => store.apply(changes),
            None => Ok(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the cluster down with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `op`, recording an audit event whatever its outcome.
    fn audited<T>(
        &self,
        name: &'static str,
        op: impl FnOnce() -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let start = Instant::now();
        let result = op();
        // Failed operations change state too (failed-login counters).
        let result = match (result, self.persist()) {
            (Ok(value), Ok(())) => Ok(value),
            (Err(e), _) | (Ok(_), Err(e)) => Err(e),
        };
        let member = self.lock().serving().unwrap_or(0);
        let code = match &result {
            Ok(_) => "0",
            Err(e) => e.code(),
        };
        let event = audit::event(name, member, &audit::caller_ip(), start.elapsed(), code);
        // Before the operation is acknowledged: a sink that queued the event
        // durably has it whatever happens next.
        let sunk = match self.audit_sink.get() {
            Some(sink) => sink.record(&event),
            None => Ok(()),
        };
        let mut audit = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        if audit.len() == AUDIT_BUFFER {
            audit.pop_front();
        }
        audit.push_back(event);
        drop(audit);
        match (result, sunk) {
            (Ok(_), Err(e)) => Err(EngineError::Storage(format!(
                "recording the operation log: {e}"
            ))),
            (result, _) => result,
        }
    }

    /// Sends every later audit event to `sink` too. Set once; a second call
    /// is ignored (the owner sets it when it opens the cluster).
    pub fn set_audit_sink(&self, sink: Arc<dyn AuditSink>) {
        let _ = self.audit_sink.set(sink);
    }

    pub fn audit_events(&self) -> Vec<AuditEvent> {
        self.audit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn is_activated(&self) -> bool {
        self.lock().activated
    }

    // ---- backup and restore (see `backup_format`) ----

    /// Every record of the cluster's store, decrypted, taken while no write
    /// is in flight: what a backup carries, whatever features put there.
    pub fn export_records(&self) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let _writing = self.persisting.lock().unwrap_or_else(|p| p.into_inner());
        match &self.store {
            Some(store) => store.export_records(),
            None => Err(EngineError::Storage(
                "an in-memory cluster has no records to back up".into(),
            )),
        }
    }

    /// Replaces the cluster's stored records with a backup's. Only a cluster
    /// that is not activated takes a restore; the caller opens the restored
    /// cluster with [`Self::open_loaded`] from what this returns.
    pub fn replace_records(&self, records: &[(String, Vec<u8>)]) -> Result<Loaded, EngineError> {
        let _writing = self.persisting.lock().unwrap_or_else(|p| p.into_inner());
        if self.lock().activated {
            return Err(EngineError::NotPermitted(
                "only a cluster that is not activated can be restored".into(),
            ));
        }
        match &self.store {
            Some(store) => store.replace_records(records),
            None => Err(EngineError::Storage(
                "an in-memory cluster cannot be restored".into(),
            )),
        }
    }

    // ---- logins and sessions ----

    /// `loginHSM -u CU -s cu1 -p user1234`.
    pub fn login(&self, role: Role, user: &str, password: &str) -> Result<LoginId, EngineError> {
        self.audited("CN_LOGIN", || {
            let mut state = self.lock();
            let record = self.check_password(&mut state, role, user, password)?;
            // A 2FA officer logs in with `login_two_factor_begin`.
            security::refuse_password_only(&record)?;
            Self::clear_failed_logins(&mut state, &record);
            Ok(state.sessions.login(Caller {
                user: record.name,
                role: record.role,
            }))
        })
    }

    /// The first factor of a login: failures count towards lockout (the
    /// count is reset once the whole login succeeds).
    fn check_password(
        &self,
        state: &mut State,
        role: Role,
        user: &str,
        password: &str,
    ) -> Result<UserRecord, EngineError> {
        let node = state.serving()?;
        let record = state.nodes[node]
            .users
            .get(user)
            .cloned()
            .ok_or(EngineError::LoginFailed)?;
        if record.role != role {
            return Err(EngineError::LoginFailed);
        }
        if record.locked {
            return Err(EngineError::UserLocked(user.to_string()));
        }
        if record.disabled {
            return Err(EngineError::NotPermitted(
                "the user's access is disabled".into(),
            ));
        }
        if !record.password_matches(password) {
            self.count_failed_login(state, &record);
            return Err(EngineError::LoginFailed);
        }
        Ok(record)
    }

    fn clear_failed_logins(state: &mut State, record: &UserRecord) {
        if record.failed_logins > 0 {
            let mut reset = record.clone();
            reset.failed_logins = 0;
            state.put_user(reset);
        }
    }

    fn count_failed_login(&self, state: &mut State, record: &UserRecord) {
        let mut failed = record.clone();
        failed.failed_logins += 1;
        failed.locked = failed.failed_logins >= self.config.max_failed_logins;
        state.put_user(failed);
    }

    pub fn open_session(&self, login: LoginId) -> Result<SessionHandle, EngineError> {
        self.lock().sessions.open(login)
    }

    pub fn close_session(&self, session: SessionHandle) -> Result<(), EngineError> {
        self.lock().sessions.close(session)
    }

    pub fn logout(&self, login: LoginId) -> Result<(), EngineError> {
        self.audited("CN_LOGOUT", || self.lock().sessions.logout(login))
    }

    fn enter(&self, session: SessionHandle) -> Result<(Caller, InUse), EngineError> {
        self.lock().sessions.enter(session)
    }

    fn officer(&self, session: SessionHandle) -> Result<(Caller, InUse), EngineError> {
        let (caller, in_use) = self.enter(session)?;
        if caller.role.manages_users() {
            Ok((caller, in_use))
        } else {
            Err(EngineError::NotPermitted(
                "only a crypto officer manages users".into(),
            ))
        }
    }

    fn crypto_user(&self, session: SessionHandle) -> Result<(Caller, InUse), EngineError> {
        let (caller, in_use) = self.enter(session)?;
        if caller.role.uses_keys() {
            Ok((caller, in_use))
        } else {
            Err(EngineError::NotPermitted(
                "only crypto users use keys".into(),
            ))
        }
    }

    // ---- users ----

    pub fn create_user(
        &self,
        session: SessionHandle,
        role: Role,
        name: &str,
        password: &str,
    ) -> Result<(), EngineError> {
        self.audited("CN_CREATE_USER", || {
            let (caller, _in_use) = self.officer(session)?;
            if !matches!(
                role,
                Role::CryptoOfficer | Role::CryptoUser | Role::ApplianceUser
            ) {
                return Err(EngineError::NotPermitted(format!(
                    "users of type {} cannot be created",
                    role.as_str()
                )));
            }
            let record = UserRecord::new(name, role, password)?;
            let mut state = self.lock();
            let node = state.serving()?;
            if state.nodes[node].users.contains_key(name) {
                return Err(EngineError::UserExists(name.to_string()));
            }
            state.quorum_approved(&caller.user, security::Service::User)?;
            state.put_user(record);
            Ok(())
        })
    }

    pub fn delete_user(&self, session: SessionHandle, name: &str) -> Result<(), EngineError> {
        self.audited("CN_DELETE_USER", || {
            let (caller, _in_use) = self.officer(session)?;
            if caller.user == name {
                return Err(EngineError::NotPermitted(
                    "an officer cannot delete itself".into(),
                ));
            }
            let mut state = self.lock();
            let node = state.serving()?;
            match state.nodes[node].users.get(name) {
                None => return Err(EngineError::UserNotFound(name.to_string())),
                Some(target) => user_admin::check_officer_may_manage(target)?,
            }
            if state.nodes[node].keys.values().any(|k| k.owner == name) {
                return Err(EngineError::NotPermitted(format!(
                    "user '{name}' still owns keys; delete them first"
                )));
            }
            state.quorum_approved(&caller.user, security::Service::User)?;
            state.remove_user(name);
            state.sessions.logout_user(name);
            Ok(())
        })
    }

    /// `(name, role)` of every user on the serving node.
    pub fn list_users(&self) -> Result<Vec<(String, Role)>, EngineError> {
        let state = self.lock();
        let node = state.serving()?;
        Ok(state.nodes[node]
            .users
            .values()
            .map(|u| (u.name.clone(), u.role))
            .collect())
    }

    /// A user changes its own password; an officer changes anyone's. The
    /// pre-crypto-officer changing its own password activates the cluster and
    /// becomes a crypto officer.
    pub fn change_password(
        &self,
        session: SessionHandle,
        name: &str,
        new_password: &str,
    ) -> Result<(), EngineError> {
        self.audited("CN_CHANGE_PSWD", || {
            let (caller, _in_use) = self.enter(session)?;
            if caller.user != name && !caller.role.manages_users() {
                return Err(EngineError::NotPermitted(
                    "only a crypto officer changes another user's password".into(),
                ));
            }
            let mut state = self.lock();
            let mut record = state.user(name)?.clone();
            if caller.user != name {
                user_admin::check_officer_may_manage(&record)?;
            }
            let updated = UserRecord::new(name, record.role, new_password)?;
            record.password_hash = updated.password_hash;
            record.failed_logins = 0;
            // Changing another user's password is user management.
            if caller.user != name {
                state.quorum_approved(&caller.user, security::Service::User)?;
            }
            security::on_password_change(&mut record);
            if record.role == Role::Preco {
                // Activation needs the owner's certificates first.
                state.partition.check_ready()?;
                record.role = Role::CryptoOfficer;
                state.activated = true;
                state.touch_meta();
            }
            state.put_user(record);
            Ok(())
        })
    }

    pub fn unlock_user(&self, session: SessionHandle, name: &str) -> Result<(), EngineError> {
        self.audited("CN_UNLOCK_USER", || {
            let _ = self.officer(session)?;
            let mut state = self.lock();
            let mut record = state.user(name)?.clone();
            record.locked = false;
            record.failed_logins = 0;
            state.put_user(record);
            Ok(())
        })
    }

    /// Copies a user from a node that has it to every node that is up.
    pub fn sync_user(&self, session: SessionHandle, name: &str) -> Result<(), EngineError> {
        let _ = self.officer(session)?;
        let mut state = self.lock();
        let record = state
            .nodes
            .iter()
            .filter(|n| n.up)
            .find_map(|n| n.users.get(name).cloned())
            .ok_or_else(|| EngineError::UserNotFound(name.to_string()))?;
        state.put_user(record);
        drop(state);
        self.persist()
    }

    // ---- keys ----

    /// The handle of one new key object, if the cluster has room for it.
    fn allocate_handle(&self, state: &mut State) -> Result<KeyHandle, EngineError> {
        self.check_capacity(state, 1)?;
        state.next_handle += 1;
        state.touch_meta();
        Ok(state.next_handle)
    }

    fn check_capacity(&self, state: &State, needed: usize) -> Result<(), EngineError> {
        if state.handles_in_use() + needed > self.config.key_capacity {
            Err(EngineError::CapacityExceeded {
                limit: self.config.key_capacity,
            })
        } else {
            Ok(())
        }
    }

    /// `genSymKey`: a secret key owned by the caller.
    pub fn generate_key(
        &self,
        session: SessionHandle,
        spec: KeySpec,
        attributes: KeyAttributes,
    ) -> Result<KeyHandle, EngineError> {
        self.audited("CN_GENERATE_KEY", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            spec.check()?;
            let material = keys::generate_secret(spec)?;
            let mut state = self.lock();
            let handle = self.allocate_handle(&mut state)?;
            let mut attributes = attributes;
            attributes.never_extractable = !attributes.extractable;
            state.put_key(KeyObject {
                handle,
                class: KeyClass::Secret,
                spec,
                owner: caller.user,
                shared_with: Default::default(),
                attributes,
                material,
                pair: None,
                prepared: Default::default(),
            });
            Ok(handle)
        })
    }

    /// `genRSAKeyPair` / `genECCKeyPair`: returns `(public, private)` handles.
    pub fn generate_key_pair(
        &self,
        session: SessionHandle,
        spec: KeySpec,
        attributes: KeyAttributes,
    ) -> Result<(KeyHandle, KeyHandle), EngineError> {
        self.audited("CN_GENERATE_KEY_PAIR", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            spec.check()?;
            if !spec.is_pair() {
                return Err(EngineError::KeySpecInvalid(format!(
                    "{spec:?} is not a key pair"
                )));
            }
            // Key generation is slow (RSA): done outside the cluster lock.
            let (private, public) = keys::generate_pair(spec)?;
            let mut state = self.lock();
            self.check_capacity(&state, 2)?;
            let (public_handle, private_handle) = (state.next_handle + 1, state.next_handle + 2);
            state.next_handle += 2;
            state.touch_meta();
            let mut private_attributes = attributes.clone();
            private_attributes.never_extractable = !private_attributes.extractable;
            private_attributes.verify = false;
            private_attributes.encrypt = false;
            let mut public_attributes = attributes;
            public_attributes.sign = false;
            public_attributes.decrypt = false;
            public_attributes.sensitive = false;
            public_attributes.extractable = true;
            public_attributes.private = false;
            for (handle, class, material, attributes, pair) in [
                (
                    public_handle,
                    KeyClass::Public,
                    public,
                    public_attributes,
                    private_handle,
                ),
                (
                    private_handle,
                    KeyClass::Private,
                    private,
                    private_attributes,
                    public_handle,
                ),
            ] {
                state.put_key(KeyObject {
                    handle,
                    class,
                    spec,
                    owner: caller.user.clone(),
                    shared_with: Default::default(),
                    attributes,
                    material,
                    pair: Some(pair),
                    prepared: Default::default(),
                });
            }
            Ok((public_handle, private_handle))
        })
    }

    /// A key the caller may use.
    fn usable_key(
        &self,
        caller: &Caller,
        handle: KeyHandle,
    ) -> Result<Arc<KeyObject>, EngineError> {
        let key = self.lock().key(handle)?;
        if key.usable_by(&caller.user) {
            Ok(key)
        } else {
            // Not revealing whether someone else's key exists.
            Err(EngineError::KeyNotFound(handle))
        }
    }

    fn owned_key(&self, caller: &Caller, handle: KeyHandle) -> Result<Arc<KeyObject>, EngineError> {
        let key = self.usable_key(caller, handle)?;
        if key.owner == caller.user {
            Ok(key)
        } else {
            Err(EngineError::NotPermitted(
                "only the key's owner may do this".into(),
            ))
        }
    }

    pub fn get_attribute(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
        id: u32,
    ) -> Result<Attribute, EngineError> {
        let (caller, _in_use) = self.crypto_user(session)?;
        let key = self.usable_key(&caller, handle)?;
        match id {
            ids::CLASS => Ok(Attribute::Number(match key.class {
                KeyClass::Certificate => 1,
                KeyClass::Public => 2,
                KeyClass::Private => 3,
                KeyClass::Secret => 4,
            })),
            _ if key.class == KeyClass::Certificate => certificates::attribute(&key, id),
            ids::KEY_TYPE => Ok(Attribute::Number(match key.spec {
                KeySpec::Rsa { .. } => 0,
                KeySpec::Ec { .. } => 3,
                KeySpec::GenericSecret { .. } => 0x10,
                KeySpec::Aes { .. } => 0x1f,
            })),
            ids::VALUE_LEN => match key.spec {
                KeySpec::Aes { bits } => Ok(Attribute::Number(u64::from(bits / 8))),
                KeySpec::GenericSecret { bytes } => Ok(Attribute::Number(bytes as u64)),
                _ => Err(EngineError::AttributeTypeInvalid(id)),
            },
            ids::MODULUS_BITS => match key.spec {
                KeySpec::Rsa { bits } => Ok(Attribute::Number(u64::from(bits))),
                _ => Err(EngineError::AttributeTypeInvalid(id)),
            },
            ids::EC_PARAMS => match key.spec {
                KeySpec::Ec { curve } => Ok(Attribute::Text(curve.oid_der_hex().into())),
                _ => Err(EngineError::AttributeTypeInvalid(id)),
            },
            _ => key.attributes.get(id),
        }
    }

    /// Owners change their keys' attributes; officers set TRUSTED on any key.
    pub fn set_attribute(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
        id: u32,
        value: Attribute,
    ) -> Result<(), EngineError> {
        self.audited("CN_SET_ATTRIBUTE_VALUE", || {
            let (caller, _in_use) = self.enter(session)?;
            let key = if caller.role == Role::CryptoOfficer {
                self.lock().key(handle)?
            } else {
                self.owned_key(&caller, handle)?
            };
            if key.class == KeyClass::Certificate && !matches!(id, ids::LABEL | ids::ID) {
                return Err(EngineError::AttributeReadOnly(id));
            }
            let mut updated = (*key).clone();
            updated.attributes.set(id, &value, caller.role)?;
            self.lock().put_key(updated);
            Ok(())
        })
    }

    /// `findKey`: the handles of keys the caller may use whose attributes
    /// match every `(id, value)` given.
    pub fn find_keys(
        &self,
        session: SessionHandle,
        filter: &[(u32, Attribute)],
    ) -> Result<Vec<KeyHandle>, EngineError> {
        self.audited("CN_FIND_OBJECTS_USING_COUNT", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            let state = self.lock();
            let node = state.serving()?;
            Ok(state.nodes[node]
                .keys
                .values()
                .filter(|k| k.usable_by(&caller.user))
                .filter(|k| {
                    filter
                        .iter()
                        .all(|(id, value)| k.attributes.get(*id).as_ref() == Ok(value))
                })
                .map(|k| k.handle)
                .collect())
        })
    }

    /// `shareKey`: the owner shares a key (both halves of a pair) with
    /// another crypto user, or stops sharing it.
    pub fn share_key(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
        user: &str,
        share: bool,
    ) -> Result<(), EngineError> {
        self.audited("CN_SHARE_OBJECT", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            let key = self.owned_key(&caller, handle)?;
            let mut state = self.lock();
            let node = state.serving()?;
            match state.nodes[node].users.get(user) {
                Some(u) if u.role == Role::CryptoUser => {}
                _ => return Err(EngineError::UserNotFound(user.to_string())),
            }
            let pair = key.pair.and_then(|p| state.key(p).ok());
            for k in std::iter::once(key).chain(pair) {
                let mut updated = (*k).clone();
                if share {
                    updated.shared_with.insert(user.to_string());
                } else {
                    updated.shared_with.remove(user);
                }
                state.put_key(updated);
            }
            Ok(())
        })
    }

    pub fn delete_key(&self, session: SessionHandle, handle: KeyHandle) -> Result<(), EngineError> {
        self.audited("CN_TOMBSTONE_OBJECT", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            self.owned_key(&caller, handle)?;
            self.lock().remove_key(handle);
            Ok(())
        })
    }

    /// `exportPubKey`: public keys only; everything else leaves wrapped.
    pub fn export_public_key(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
    ) -> Result<Vec<u8>, EngineError> {
        let (caller, _in_use) = self.crypto_user(session)?;
        let key = self.usable_key(&caller, handle)?;
        match &key.material {
            KeyMaterial::Public(bytes) => Ok(bytes.clone()),
            _ => Err(EngineError::KeyUnextractable),
        }
    }

    // ---- crypto ----

    /// Runs a crypto operation with a key the caller may use and whose
    /// attribute `allowed` permits it.
    fn with_usable_key<T>(
        &self,
        operation: &'static str,
        session: SessionHandle,
        handle: KeyHandle,
        (allowed, what): (fn(&KeyAttributes) -> bool, &'static str),
        run: impl FnOnce(&KeyObject) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        self.audited(operation, || {
            let (caller, _in_use) = self.crypto_user(session)?;
            let key = self.usable_key(&caller, handle)?;
            if !allowed(&key.attributes) {
                return Err(EngineError::KeyFunctionNotPermitted(what));
            }
            run(&key)
        })
    }

    pub fn sign(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
        mechanism: Mechanism,
        data: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        self.with_usable_key("CN_SIGN", session, handle, (|a| a.sign, "signing"), |key| {
            mechanism.sign(key, data)
        })
    }

    pub fn verify(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
        mechanism: Mechanism,
        data: &[u8],
        signature: &[u8],
    ) -> Result<(), EngineError> {
        self.with_usable_key(
            "CN_VERIFY",
            session,
            handle,
            (|a| a.verify, "verification"),
            |key| mechanism.verify(key, data, signature),
        )
    }

    pub fn encrypt(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
        mechanism: Mechanism,
        data: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        self.with_usable_key(
            "CN_ENCRYPT",
            session,
            handle,
            (|a| a.encrypt, "encryption"),
            |key| mechanism.encrypt(key, data, aad),
        )
    }

    pub fn decrypt(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
        mechanism: Mechanism,
        data: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        self.with_usable_key(
            "CN_DECRYPT",
            session,
            handle,
            (|a| a.decrypt, "decryption"),
            |key| mechanism.decrypt(key, data, aad),
        )
    }

    /// `wrapKey`: the owner of `target` wraps it under `wrapping`. A key
    /// that is not EXTRACTABLE never leaves; one marked WRAP_WITH_TRUSTED
    /// leaves only under a TRUSTED wrapping key.
    pub fn wrap_key(
        &self,
        session: SessionHandle,
        wrapping: KeyHandle,
        target: KeyHandle,
        mechanism: Mechanism,
    ) -> Result<Vec<u8>, EngineError> {
        self.with_usable_key(
            "CN_WRAP_KEY",
            session,
            wrapping,
            (|a| a.wrap, "wrapping"),
            |kek| {
                let caller = self.lock().sessions.caller(session)?;
                let key = self.owned_key(&caller, target)?;
                if !key.attributes.extractable {
                    return Err(EngineError::KeyUnextractable);
                }
                if key.attributes.wrap_with_trusted && !kek.attributes.trusted {
                    return Err(EngineError::NotPermitted(
                        "the key is WRAP_WITH_TRUSTED: only a TRUSTED key may wrap it".into(),
                    ));
                }
                let plain = match &key.material {
                    KeyMaterial::Secret(bytes) | KeyMaterial::Private(bytes) => bytes,
                    KeyMaterial::Public(_) | KeyMaterial::Certificate(_) => {
                        return Err(EngineError::MechanismInvalid(
                            "public keys and certificates are read, not wrapped".into(),
                        ))
                    }
                };
                mechanism.wrap(kek, plain)
            },
        )
    }

    /// `unwrapKey`: imports a wrapped key as a new key owned by the caller.
    pub fn unwrap_key(
        &self,
        session: SessionHandle,
        wrapping: KeyHandle,
        wrapped: &[u8],
        mechanism: Mechanism,
        spec: KeySpec,
        attributes: KeyAttributes,
    ) -> Result<KeyHandle, EngineError> {
        self.with_usable_key(
            "CN_UNWRAP_KEY",
            session,
            wrapping,
            (|a| a.unwrap, "unwrapping"),
            |kek| {
                spec.check()?;
                let (class, material) =
                    keys::imported_material(spec, mechanism.unwrap(kek, wrapped)?)?;
                let caller = self.lock().sessions.caller(session)?;
                let mut state = self.lock();
                let handle = self.allocate_handle(&mut state)?;
                let mut attributes = attributes;
                attributes.local = false;
                attributes.never_extractable = false;
                state.put_key(KeyObject {
                    handle,
                    class,
                    spec,
                    owner: caller.user,
                    shared_with: Default::default(),
                    attributes,
                    material,
                    pair: None,
                    prepared: Default::default(),
                });
                Ok(handle)
            },
        )
    }

    // ---- nodes ----

    fn node_mut<'a>(state: &'a mut State, node: usize) -> Result<&'a mut Node, EngineError> {
        state
            .nodes
            .get_mut(node)
            .ok_or(EngineError::NodeNotFound(node))
    }

    /// Simulates an HSM failing or being taken out.
    pub fn stop_node(&self, node: usize) -> Result<(), EngineError> {
        let mut state = self.lock();
        Self::node_mut(&mut state, node)?.up = false;
        state.touch_meta();
        drop(state);
        self.persist()
    }

    /// Brings a node back; the service re-synchronises its keys (users stay
    /// as they were on that node).
    pub fn start_node(&self, node: usize) -> Result<(), EngineError> {
        let mut state = self.lock();
        Self::node_mut(&mut state, node)?;
        if let Ok(source) = state.serving() {
            let keys = state.nodes[source].keys.clone();
            state.reset_node(node, None, keys);
        }
        state.nodes[node].up = true;
        state.touch_meta();
        drop(state);
        self.persist()
    }

    /// Swaps a node for a new HSM: keys are synchronised to it; users are
    /// copied from a healthy node, as the service does when it replaces one.
    pub fn replace_node(&self, node: usize) -> Result<(), EngineError> {
        let mut state = self.lock();
        Self::node_mut(&mut state, node)?;
        let source = state
            .nodes
            .iter()
            .position(|n| n.up && n.id != node)
            .ok_or(EngineError::NoNodeAvailable)?;
        let (users, keys) = (
            state.nodes[source].users.clone(),
            state.nodes[source].keys.clone(),
        );
        state.reset_node(node, Some(users), keys);
        state.nodes[node].up = true;
        state.touch_meta();
        drop(state);
        self.persist()
    }

    /// `findSingleKey`: whether each node holds the key.
    pub fn find_single_key(&self, handle: KeyHandle) -> Vec<(usize, bool)> {
        self.lock()
            .nodes
            .iter()
            .map(|n| (n.id, n.keys.contains_key(&handle)))
            .collect()
    }

    /// Whether HSM `node` is up (cheap: for routing every request).
    pub fn node_is_up(&self, node: usize) -> bool {
        self.lock().nodes.get(node).is_some_and(|n| n.up)
    }

    /// Per-node counts and digests, to make divergence visible.
    pub fn node_listings(&self) -> Vec<NodeListing> {
        self.lock().nodes.iter().map(Node::listing).collect()
    }

    /// Which nodes are up (what ARM shows per HSM): cheap, unlike
    /// [`Self::node_listings`], which digests every node's users and keys.
    pub fn nodes_up(&self) -> Vec<bool> {
        self.lock().nodes.iter().map(|n| n.up).collect()
    }
}
