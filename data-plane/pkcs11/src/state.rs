//! The module's state: the slots (one per configured cluster, each with its
//! data-plane client and its login, shared by every session of the slot),
//! the sessions, and the tokio runtime that drives the async client. It
//! exists between `C_Initialize` and `C_Finalize`, behind one lock.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard, RwLock,
    },
};

use cloudhsm_data_plane::client::{
    credentials_from_env, ClientConfig, ClientError, CryptoInput, HsmClient,
};
use cryptoki_sys::*;

use crate::{
    config,
    error::{from_client, CkResult},
    mechanisms::{CipherOp, DigestOp, SignOp},
    objects::KeyInfo,
};

/// The credentials of the slot's login: (CKU_*, utility user type, user, password).
type Credentials = (CK_USER_TYPE, String, String, String);

pub struct Slot {
    pub label: String,
    pub serial: String,
    config: ClientConfig,
    /// Who is logged in: `CKU_USER` or `CKU_SO`; shared by all sessions.
    pub login: Mutex<Option<CK_USER_TYPE>>,
    credentials: Mutex<Option<Credentials>>,
    /// Data-plane clients logged in as the slot's user and not in use. An
    /// HSM session serves one call at a time, so concurrent PKCS#11 calls
    /// each borrow a client (and its HSM session); they share the framed
    /// stream to each HSM.
    idle: Mutex<Vec<HsmClient>>,
    /// Changes at every login and logout: a client borrowed under an older
    /// login is not given back.
    generation: AtomicU64,
    /// Class and type of keys seen: handles are never reused in a cluster,
    /// and neither changes, so they are fetched once.
    pub keys: RwLock<HashMap<CK_OBJECT_HANDLE, KeyInfo>>,
    /// private key → public key, for key pairs this process generated (the
    /// public half answers CKA_MODULUS, CKA_EC_POINT of the private one).
    pub pairs: RwLock<HashMap<CK_OBJECT_HANDLE, CK_OBJECT_HANDLE>>,
}

#[derive(Default)]
pub struct Session {
    pub slot: usize,
    pub read_write: bool,
    pub find: Option<std::collections::VecDeque<CK_OBJECT_HANDLE>>,
    pub sign: Option<SignOp>,
    pub verify: Option<SignOp>,
    pub encrypt: Option<CipherOp>,
    pub decrypt: Option<CipherOp>,
    pub digest: Option<DigestOp>,
    /// Keys made with CKA_TOKEN=false: destroyed when the session closes.
    pub session_objects: Vec<CK_OBJECT_HANDLE>,
}

/// A borrowed client, given back to the slot when dropped.
pub struct Lease<'a> {
    slot: &'a Slot,
    generation: u64,
    client: Option<HsmClient>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = HsmClient;
    fn deref(&self) -> &HsmClient {
        // Only a configuration the module already accepted makes clients.
        self.client.as_ref().unwrap_or_else(|| unreachable_client())
    }
}

/// Never reached: `HsmClient::new` succeeded for this configuration at
/// C_Initialize and builds the same way again.
fn unreachable_client() -> &'static HsmClient {
    static FALLBACK: std::sync::OnceLock<HsmClient> = std::sync::OnceLock::new();
    FALLBACK.get_or_init(|| {
        HsmClient::new(ClientConfig {
            endpoint: "https://127.0.0.1:1".into(),
            hsm_addresses: vec!["unavailable".into()],
            ca_pem: None,
            local_socket: None,
        })
        .unwrap_or_else(|_| std::process::abort())
    })
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let current = self.slot.generation.load(Ordering::Acquire) == self.generation;
        if let Some(client) = self.client.take() {
            if current && lock(&self.slot.login).is_some() {
                lock(&self.slot.idle).push(client);
            }
        }
    }
}

pub struct Module {
    runtime: tokio::runtime::Runtime,
    pub slots: Vec<Slot>,
    sessions: Mutex<HashMap<CK_SESSION_HANDLE, Arc<Mutex<Session>>>>,
    next_session: AtomicU64,
}

static MODULE: RwLock<Option<Arc<Module>>> = RwLock::new(None);

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The initialised module, or `CKR_CRYPTOKI_NOT_INITIALIZED`.
pub fn module() -> CkResult<Arc<Module>> {
    MODULE
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or(CKR_CRYPTOKI_NOT_INITIALIZED)
}

/// A stable 16-character serial number from the cluster's first HSM.
fn serial(address: &str) -> String {
    // FNV-1a: stable across processes and versions, unlike the std hasher.
    let hash = address
        .to_ascii_lowercase()
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
    format!("{hash:016X}")
}

pub fn initialize() -> CkResult<()> {
    let mut global = MODULE.write().unwrap_or_else(|p| p.into_inner());
    if global.is_some() {
        return Err(CKR_CRYPTOKI_ALREADY_INITIALIZED);
    }
    let clusters = config::load().map_err(|why| {
        eprintln!("azcloudhsm_pkcs11: {why}");
        CKR_GENERAL_ERROR
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("azcloudhsm-pkcs11")
        .enable_all()
        .build()
        .map_err(|_| CKR_GENERAL_ERROR)?;
    let mut slots = Vec::new();
    for cluster in clusters {
        let serial = serial(&cluster.client.hsm_addresses[0]);
        // Checks the configuration (e.g. its CA) now rather than at first use.
        HsmClient::new(cluster.client.clone()).map_err(|e| {
            eprintln!("azcloudhsm_pkcs11: {e}");
            CKR_GENERAL_ERROR
        })?;
        slots.push(Slot {
            label: cluster.label,
            serial,
            config: cluster.client,
            login: Mutex::new(None),
            credentials: Mutex::new(None),
            idle: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            keys: Default::default(),
            pairs: Default::default(),
        });
    }
    *global = Some(Arc::new(Module {
        runtime,
        slots,
        sessions: Default::default(),
        next_session: AtomicU64::new(1),
    }));
    Ok(())
}

pub fn finalize() -> CkResult<()> {
    let module = MODULE
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or(CKR_CRYPTOKI_NOT_INITIALIZED)?;
    let handles: Vec<_> = lock(&module.sessions).keys().copied().collect();
    for handle in handles {
        let _ = module.close_session(handle);
    }
    if let Ok(module) = Arc::try_unwrap(module) {
        module.runtime.shutdown_background();
    }
    Ok(())
}

impl Module {
    /// Runs a data-plane call to completion on the module's runtime.
    pub fn block<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn slot(&self, id: CK_SLOT_ID) -> CkResult<&Slot> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.slots.get(i))
            .ok_or(CKR_SLOT_ID_INVALID)
    }

    pub fn session(&self, handle: CK_SESSION_HANDLE) -> CkResult<Arc<Mutex<Session>>> {
        lock(&self.sessions)
            .get(&handle)
            .cloned()
            .ok_or(CKR_SESSION_HANDLE_INVALID)
    }

    pub fn open_session(&self, slot: CK_SLOT_ID, read_write: bool) -> CkResult<CK_SESSION_HANDLE> {
        let index = usize::try_from(slot).map_err(|_| CKR_SLOT_ID_INVALID)?;
        let slot_state = self.slot(slot)?;
        if !read_write {
            let so = *lock(&slot_state.login) == Some(CKU_SO);
            if so {
                return Err(CKR_SESSION_READ_WRITE_SO_EXISTS);
            }
        }
        self.implicit_login(slot_state);
        let handle = self.next_session.fetch_add(1, Ordering::Relaxed);
        lock(&self.sessions).insert(
            handle,
            Arc::new(Mutex::new(Session {
                slot: index,
                read_write,
                ..Default::default()
            })),
        );
        Ok(handle)
    }

    /// The SDK logs in by itself with `azcloudhsm_password` when the
    /// application never calls `C_Login` (OpenSSL, JCE): done when the first
    /// session opens, so the session reports a logged-in state.
    fn implicit_login(&self, slot: &Slot) {
        let mut login = lock(&slot.login);
        if login.is_some() {
            return;
        }
        if let Some((user_type, user, password)) = credentials_from_env() {
            let kind = if user_type.eq_ignore_ascii_case("CO") {
                CKU_SO
            } else {
                CKU_USER
            };
            let _ = self.log_in(slot, &mut login, (kind, user_type, user, password));
        }
    }

    pub fn close_session(&self, handle: CK_SESSION_HANDLE) -> CkResult<()> {
        let session = lock(&self.sessions)
            .remove(&handle)
            .ok_or(CKR_SESSION_HANDLE_INVALID)?;
        let session = lock(&session);
        if let Ok(slot) = self.slot(session.slot as CK_SLOT_ID) {
            for object in &session.session_objects {
                let _ = self.block(self.client(slot).delete_key(*object));
            }
        }
        Ok(())
    }

    pub fn close_all_sessions(&self, slot: CK_SLOT_ID) -> CkResult<()> {
        let index = usize::try_from(slot).map_err(|_| CKR_SLOT_ID_INVALID)?;
        self.slot(slot)?;
        let handles: Vec<_> = lock(&self.sessions)
            .iter()
            .filter(|(_, s)| lock(s).slot == index)
            .map(|(h, _)| *h)
            .collect();
        for handle in handles {
            let _ = self.close_session(handle);
        }
        Ok(())
    }

    pub fn sessions_of(&self, slot: usize) -> (usize, usize) {
        let sessions = lock(&self.sessions);
        let mine: Vec<_> = sessions.values().filter(|s| lock(s).slot == slot).collect();
        let rw = mine.iter().filter(|s| lock(s).read_write).count();
        (mine.len(), rw)
    }

    pub fn login(
        &self,
        session: CK_SESSION_HANDLE,
        user_type: CK_USER_TYPE,
        pin: &[u8],
    ) -> CkResult<()> {
        let session = self.session(session)?;
        let slot_index = lock(&session).slot;
        let slot = &self.slots[slot_index];
        let kind = match user_type {
            CKU_USER => "CU",
            CKU_SO => "CO",
            CKU_CONTEXT_SPECIFIC => return Err(CKR_OPERATION_NOT_INITIALIZED),
            _ => return Err(CKR_USER_TYPE_INVALID),
        };
        let mut login = lock(&slot.login);
        match *login {
            Some(current) if current == user_type => return Err(CKR_USER_ALREADY_LOGGED_IN),
            Some(_) => return Err(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
            None => {}
        }
        if user_type == CKU_SO {
            let (all, rw) = self.sessions_of(slot_index);
            if all > rw {
                return Err(CKR_SESSION_READ_ONLY_EXISTS);
            }
        }
        // Azure's PIN is "user:password".
        let pin = std::str::from_utf8(pin).map_err(|_| CKR_PIN_INCORRECT)?;
        let (user, password) = pin
            .split_once(':')
            .filter(|(u, p)| !u.is_empty() && !p.is_empty())
            .ok_or(CKR_PIN_INCORRECT)?;
        self.log_in(
            slot,
            &mut login,
            (
                user_type,
                kind.to_string(),
                user.to_string(),
                password.to_string(),
            ),
        )
    }

    pub fn logout(&self, session: CK_SESSION_HANDLE) -> CkResult<()> {
        let session = self.session(session)?;
        let slot = &self.slots[lock(&session).slot];
        let mut login = lock(&slot.login);
        if login.is_none() {
            return Err(CKR_USER_NOT_LOGGED_IN);
        }
        *login = None;
        *lock(&slot.credentials) = None;
        slot.generation.fetch_add(1, Ordering::AcqRel);
        // Logged out locally whatever the HSM answers: the application asked
        // to end the login, and a later login starts afresh.
        let clients = std::mem::take(&mut *lock(&slot.idle));
        for client in clients {
            let _ = self.block(client.logout());
        }
        Ok(())
    }

    /// Checks the credentials with a fresh client, which becomes the first
    /// of the slot's clients.
    fn log_in(
        &self,
        slot: &Slot,
        login: &mut Option<CK_USER_TYPE>,
        credentials: Credentials,
    ) -> CkResult<()> {
        let client = HsmClient::new(slot.config.clone()).map_err(|_| CKR_GENERAL_ERROR)?;
        let (user_type, kind, user, password) = &credentials;
        self.block(client.login(kind, user, password))
            .map_err(|e| from_client(&e))?;
        slot.generation.fetch_add(1, Ordering::AcqRel);
        *lock(&slot.idle) = vec![client];
        *login = Some(*user_type);
        *lock(&slot.credentials) = Some(credentials);
        Ok(())
    }

    /// Sign, verify, encrypt or decrypt: written and read by the calling
    /// thread on the client's own connection (no hand-off to the runtime's
    /// threads: an application thread waits for the answer anyway), else
    /// through the async client, which fails over and logs in again.
    pub fn crypto(&self, slot: &Slot, input: CryptoInput<'_>) -> Result<Vec<u8>, ClientError> {
        let client = self.client(slot);
        if let Some(answer) = client.crypto_blocking(input) {
            return answer;
        }
        self.block(client.crypto_call(input))
    }

    /// A data-plane client for one call: an idle one of the slot's login,
    /// else a new one logged in with its credentials (or none, when the slot
    /// is not logged in: the call then fails as not logged in).
    pub fn client<'a>(&'a self, slot: &'a Slot) -> Lease<'a> {
        let generation = slot.generation.load(Ordering::Acquire);
        let idle = lock(&slot.idle).pop();
        let client = idle.or_else(|| {
            let client = HsmClient::new(slot.config.clone()).ok()?;
            let credentials = lock(&slot.credentials).clone();
            if let Some((_, kind, user, password)) = credentials {
                let _ = self.block(client.login(&kind, &user, &password));
            }
            Some(client)
        });
        Lease {
            slot,
            generation,
            client,
        }
    }
}
