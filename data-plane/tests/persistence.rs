//! Engine state on disk: it survives a reopen, key material is encrypted,
//! and destroying a cluster destroys its keys.

use cloudhsm_data_plane::onboarding::activate_cluster;
use cloudhsm_data_plane::{
    engine::{
        cluster::{PRECO_DEFAULT_PASSWORD, PRECO_USER},
        keys::Curve,
        store::EngineStore,
    },
    Cluster, ClusterConfig, EngineError, KeyAttributes, KeySpec, Mechanism, Role,
};

fn open(dir: &std::path::Path) -> Cluster {
    let store = EngineStore::open(dir).unwrap();
    Cluster::open(ClusterConfig::default(), store.cluster("chsm1", 3).unwrap()).unwrap()
}

fn files_contain(dir: &std::path::Path, needle: &[u8]) -> bool {
    fn walk(dir: &std::path::Path, needle: &[u8]) -> bool {
        std::fs::read_dir(dir).unwrap().flatten().any(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, needle)
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                bytes.windows(needle.len()).any(|w| w == needle)
            }
        })
    }
    walk(dir, needle)
}

#[test]
fn state_survives_reopen_encrypted_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (public, private, signature) = {
        let cluster = open(dir.path());
        // Promotion takes effect at the next login, as on the service.
        activate_cluster(&cluster, "officer-password").unwrap();
        let co = cluster
            .login(Role::CryptoOfficer, PRECO_USER, "officer-password")
            .unwrap();
        let s = cluster.open_session(co).unwrap();
        cluster
            .create_user(s, Role::CryptoUser, "cu-name-not-on-disk", "user1234")
            .unwrap();
        cluster.stop_node(2).unwrap();
        let cu = cluster
            .open_session(
                cluster
                    .login(Role::CryptoUser, "cu-name-not-on-disk", "user1234")
                    .unwrap(),
            )
            .unwrap();
        let attributes = KeyAttributes {
            sign: true,
            verify: true,
            label: "label-that-must-not-leak".into(),
            ..Default::default()
        };
        let (public, private) = cluster
            .generate_key_pair(cu, KeySpec::Ec { curve: Curve::P256 }, attributes)
            .unwrap();
        let signature = cluster
            .sign(cu, private, Mechanism::Ecdsa, b"data")
            .unwrap();
        (public, private, signature)
        // dropped without any shutdown step, as after kill -9
    };

    assert!(
        !files_contain(dir.path(), b"label-that-must-not-leak"),
        "key records are encrypted at rest"
    );
    assert!(
        !files_contain(dir.path(), b"cu-name-not-on-disk"),
        "user records are encrypted at rest"
    );

    let cluster = open(dir.path());
    assert!(cluster.is_activated());
    let cu = cluster
        .open_session(
            cluster
                .login(Role::CryptoUser, "cu-name-not-on-disk", "user1234")
                .unwrap(),
        )
        .unwrap();
    // Same handles, same key: the old signature verifies and new ones are made.
    cluster
        .verify(cu, public, Mechanism::Ecdsa, b"data", &signature)
        .unwrap();
    cluster
        .sign(cu, private, Mechanism::Ecdsa, b"more")
        .unwrap();
    // Node 2 is still down and never got the key; handles keep counting up.
    assert_eq!(
        cluster.find_single_key(private),
        vec![(0, true), (1, true), (2, false)]
    );
    let next = cluster
        .generate_key(cu, KeySpec::Aes { bits: 128 }, KeyAttributes::default())
        .unwrap();
    assert!(next > private);
    assert_eq!(
        cluster
            .login(Role::CryptoUser, "cu-name-not-on-disk", "wrong-pass")
            .err(),
        Some(EngineError::LoginFailed)
    );
}

#[test]
fn destroying_a_cluster_destroys_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cluster = open(dir.path());
        activate_cluster(&cluster, "officer-password").unwrap();
    }
    let store = EngineStore::open(dir.path()).unwrap();
    assert_eq!(store.cluster_ids(), vec!["chsm1".to_string()]);
    store.destroy("chsm1").unwrap();
    assert!(store.cluster_ids().is_empty());
    drop(store);
    // A cluster of the same name starts over: not activated, default PRECO.
    let cluster = open(dir.path());
    assert!(!cluster.is_activated());
    assert!(cluster
        .login(Role::Preco, PRECO_USER, PRECO_DEFAULT_PASSWORD)
        .is_ok());
}

/// Stores written when each cluster had a sled tree of its own
/// (`cluster/{id}`) open with everything in place, moved into the shared
/// tree, and the old trees are gone.
#[test]
fn a_store_with_a_tree_per_cluster_is_moved_into_the_shared_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (key, sealed) = {
        let cluster = open(dir.path());
        activate_cluster(&cluster, "officer-password").unwrap();
        let co = cluster
            .login(Role::CryptoOfficer, "admin", "officer-password")
            .unwrap();
        let co = cluster.open_session(co).unwrap();
        cluster
            .create_user(co, Role::CryptoUser, "cu1", "user-pass1")
            .unwrap();
        let cu = cluster
            .login(Role::CryptoUser, "cu1", "user-pass1")
            .unwrap();
        let cu = cluster.open_session(cu).unwrap();
        let key = cluster
            .generate_key(
                cu,
                KeySpec::Aes { bits: 256 },
                KeyAttributes {
                    encrypt: true,
                    decrypt: true,
                    ..Default::default()
                },
            )
            .unwrap();
        let sealed = cluster
            .encrypt(cu, key, Mechanism::AesGcm, b"moved", b"")
            .unwrap();
        (key, sealed)
    };
    // Rewrite the store in the earlier layout: the same values, in a tree
    // of the cluster's own, under their bare record names.
    {
        let db = sled::open(dir.path().join("db")).unwrap();
        let shared = db.open_tree("clusters").unwrap();
        let legacy = db.open_tree("cluster/chsm1").unwrap();
        for item in shared.scan_prefix(b"chsm1\0") {
            let (k, v) = item.unwrap();
            legacy.insert(&k[b"chsm1\0".len()..], v).unwrap();
            shared.remove(k).unwrap();
        }
        db.flush().unwrap();
    }
    let store = EngineStore::open(dir.path()).unwrap();
    assert_eq!(store.cluster_ids(), vec!["chsm1".to_string()]);
    let cluster =
        Cluster::open(ClusterConfig::default(), store.cluster("chsm1", 3).unwrap()).unwrap();
    assert!(cluster.is_activated());
    let cu = cluster
        .login(Role::CryptoUser, "cu1", "user-pass1")
        .unwrap();
    let cu = cluster.open_session(cu).unwrap();
    assert_eq!(
        cluster
            .decrypt(cu, key, Mechanism::AesGcm, &sealed, b"")
            .unwrap(),
        b"moved"
    );
    drop(cluster);
    drop(store);
    let db = sled::open(dir.path().join("db")).unwrap();
    assert!(
        !db.tree_names().iter().any(|n| n.starts_with(b"cluster/")),
        "the old tree is dropped"
    );
}
