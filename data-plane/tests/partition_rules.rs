//! The partition's rules through the engine: masked objects follow the
//! cluster's records (a cluster restored from them takes its blobs), capacity
//! on insert, ownership state sealed at rest, audit events of the new
//! operations.

use cloudhsm_data_plane::{
    engine::{
        mechanisms::digest::DigestAlgorithm,
        partition::{CERT_PO, CERT_POAC},
        store::EngineStore,
    },
    onboarding::{activate_cluster, PartitionOwner},
    Cluster, ClusterConfig, EngineError, KeyAttributes, KeySpec, Role, SessionHandle,
};

fn with_cu(cluster: &Cluster) -> SessionHandle {
    let co = cluster
        .login(Role::CryptoOfficer, "admin", "officer-password")
        .unwrap();
    let co = cluster.open_session(co).unwrap();
    cluster
        .create_user(co, Role::CryptoUser, "cu1", "user1234")
        .unwrap();
    cu_session(cluster)
}

fn cu_session(cluster: &Cluster) -> SessionHandle {
    let login = cluster.login(Role::CryptoUser, "cu1", "user1234").unwrap();
    cluster.open_session(login).unwrap()
}

fn open(store: &EngineStore, id: &str) -> Cluster {
    Cluster::open(ClusterConfig::default(), store.cluster(id, 3).unwrap()).unwrap()
}

fn secret() -> KeyAttributes {
    KeyAttributes {
        encrypt: true,
        decrypt: true,
        extractable: false,
        ..Default::default()
    }
}

/// A backup carries the cluster's records as they are; restoring writes them
/// under the new cluster. Done here at the sled level, as a backup would.
fn copy_records(dir: &std::path::Path, from: &str, to: &str) {
    let db = sled::open(dir.join("db")).unwrap();
    // Every cluster's records are in one tree, under `{cluster}\0`.
    let records = db.open_tree("clusters").unwrap();
    let (source, target) = (format!("{from}\0"), format!("{to}\0"));
    for item in records.scan_prefix(source.as_bytes()) {
        let (k, v) = item.unwrap();
        let name = &k[source.len()..];
        records
            .insert([target.as_bytes(), name].concat(), v)
            .unwrap();
    }
    db.flush().unwrap();
}

#[test]
fn a_masked_object_goes_back_into_its_cluster_or_one_restored_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let (blob, sealed) = {
        let store = EngineStore::open(dir.path()).unwrap();
        let cluster = open(&store, "origin");
        activate_cluster(&cluster, "officer-password").unwrap();
        let cu = with_cu(&cluster);
        let key = cluster
            .generate_key(cu, KeySpec::Aes { bits: 256 }, secret())
            .unwrap();
        let sealed = cluster
            .encrypt(
                cu,
                key,
                cloudhsm_data_plane::Mechanism::AesGcm,
                b"kept",
                b"",
            )
            .unwrap();
        (cluster.extract_masked_object(cu, key).unwrap(), sealed)
    };
    copy_records(dir.path(), "origin", "restored");

    let store = EngineStore::open(dir.path()).unwrap();
    let restored = open(&store, "restored");
    assert!(restored.is_activated());
    let cu = cu_session(&restored);
    let handle = restored.insert_masked_object(cu, &blob).unwrap();
    assert_eq!(
        restored
            .decrypt(
                cu,
                handle,
                cloudhsm_data_plane::Mechanism::AesGcm,
                &sealed,
                b""
            )
            .unwrap(),
        b"kept"
    );

    // A cluster with its own records (its own masking key) refuses it.
    let stranger = open(&store, "stranger");
    activate_cluster(&stranger, "officer-password").unwrap();
    let cu = with_cu(&stranger);
    assert!(matches!(
        stranger.insert_masked_object(cu, &blob),
        Err(EngineError::MaskedObjectInvalid(_))
    ));
    assert_eq!(stranger.find_keys(cu, &[]).unwrap(), Vec::<u64>::new());
}

#[test]
fn inserting_a_masked_object_counts_against_capacity() {
    let cluster = Cluster::new(ClusterConfig {
        key_capacity: 2,
        ..Default::default()
    })
    .unwrap();
    activate_cluster(&cluster, "officer-password").unwrap();
    let cu = with_cu(&cluster);
    let first = cluster
        .generate_key(cu, KeySpec::Aes { bits: 128 }, secret())
        .unwrap();
    cluster
        .generate_key(cu, KeySpec::Aes { bits: 128 }, secret())
        .unwrap();
    let blob = cluster.extract_masked_object(cu, first).unwrap();
    assert_eq!(
        cluster.insert_masked_object(cu, &blob),
        Err(EngineError::CapacityExceeded { limit: 2 })
    );
    cluster.delete_key(cu, first).unwrap();
    cluster.insert_masked_object(cu, &blob).unwrap();
}

#[test]
fn ownership_is_sealed_at_rest_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // An RSA owner key here (the other tests use P-256): both sign challenges.
    let owner = PartitionOwner::generate_rsa().unwrap();
    {
        let store = EngineStore::open(dir.path()).unwrap();
        let cluster = open(&store, "chsm1");
        let login = cluster.login(Role::Preco, "admin", "password").unwrap();
        let s = cluster.open_session(login).unwrap();
        let csr = cluster.get_cert_req(s).unwrap();
        cluster
            .store_certificate(s, CERT_PO, owner.certificate_pem())
            .unwrap();
        // Not activated yet: the POAC comes after a reopen.
        drop(cluster);
        let cluster = open(&store, "chsm1");
        let login = cluster.login(Role::Preco, "admin", "password").unwrap();
        let s = cluster.open_session(login).unwrap();
        assert_eq!(cluster.get_cert_req(s).unwrap(), csr, "same partition key");
        cluster
            .store_certificate(s, CERT_POAC, &owner.sign_csr(&csr).unwrap())
            .unwrap();
        cluster
            .change_password(s, "admin", "officer-password")
            .unwrap();
    }
    // The owner's certificate is on disk only encrypted.
    let der_fragment = b"Partition Owner";
    let mut found = false;
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(entry).unwrap_or_default();
        found |= bytes.windows(der_fragment.len()).any(|w| w == der_fragment);
    }
    assert!(!found, "PO.crt is stored in clear");
    let store = EngineStore::open(dir.path()).unwrap();
    let cluster = open(&store, "chsm1");
    assert!(cluster.is_activated());
    let challenge = cluster.get_challenge("admin").unwrap();
    let wrong = PartitionOwner::generate_rsa().unwrap();
    assert_eq!(
        cluster.unlock_officer("admin", &wrong.sign_challenge(&challenge).unwrap(), None),
        Err(EngineError::SignatureInvalid)
    );
    let challenge = cluster.get_challenge("admin").unwrap();
    cluster
        .unlock_officer("admin", &owner.sign_challenge(&challenge).unwrap(), None)
        .unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn new_operations_are_audited_without_secrets() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let owner = activate_cluster(&cluster, "officer-password").unwrap();
    let cu = with_cu(&cluster);
    let key = cluster
        .generate_key(cu, KeySpec::Aes { bits: 256 }, secret())
        .unwrap();
    let blob = cluster.extract_masked_object(cu, key).unwrap();
    cluster.insert_masked_object(cu, &blob).unwrap();
    cluster
        .digest(cu, DigestAlgorithm::Sha256, b"data")
        .unwrap();
    cluster.generate_random(cu, 16).unwrap();
    let challenge = cluster.get_challenge("admin").unwrap();
    cluster
        .unlock_officer("admin", &owner.sign_challenge(&challenge).unwrap(), None)
        .unwrap();
    let events = cluster.audit_events();
    for name in [
        "CN_GET_CERT_REQ",
        "CN_STORE_CERT",
        "CN_CHANGE_PSWD",
        "CN_GET_CHALLENGE",
        "CN_UNLOCK_CO",
        "CN_EXTRACT_MASKED_OBJECT",
        "CN_INSERT_MASKED_OBJECT",
        "HASH_SINGLE_CALL",
        "CN_GENERATE_RANDOM",
    ] {
        let event = events
            .iter()
            .find(|e| e.operation_name == name)
            .unwrap_or_else(|| panic!("no {name} event"));
        assert_eq!(event.result_code, "0", "{name}");
        assert_ne!(event.opcode, 0xff, "{name} has an opcode");
    }
    let text = serde_json::to_string(&events).unwrap();
    for secret in ["admin", "cu1", "officer-password", &format!("\"{key}\"")] {
        assert!(!text.contains(secret), "audit log leaks {secret}");
    }
}
