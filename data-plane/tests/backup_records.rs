//! The backup hooks: a cluster's records are exported whole (including
//! records of features the backup code does not know) and restored into
//! another cluster under its own master keys; an activated cluster refuses.

use cloudhsm_data_plane::{
    engine::{backup_format, cluster::PRECO_USER, store::EngineStore},
    onboarding::activate_cluster,
    Cluster, ClusterConfig, EngineError, KeyAttributes, KeySpec, Role, SessionHandle,
};

fn cluster(store: &EngineStore, name: &str) -> Cluster {
    Cluster::open(ClusterConfig::default(), store.cluster(name, 3).unwrap()).unwrap()
}

fn activate(cluster: &Cluster) {
    activate_cluster(cluster, "officer-pass1").unwrap();
}

/// An activated cluster `name` with crypto users `users` (password
/// `user1234`), and a session of the first one.
fn activated_with_users(
    store: &EngineStore,
    name: &str,
    users: &[&str],
) -> (Cluster, SessionHandle) {
    let cluster = cluster(store, name);
    activate(&cluster);
    let co = cluster
        .login(Role::CryptoOfficer, PRECO_USER, "officer-pass1")
        .unwrap();
    let s = cluster.open_session(co).unwrap();
    for user in users {
        cluster
            .create_user(s, Role::CryptoUser, user, "user1234")
            .unwrap();
    }
    let cu = cluster
        .open_session(
            cluster
                .login(Role::CryptoUser, users[0], "user1234")
                .unwrap(),
        )
        .unwrap();
    (cluster, cu)
}

#[test]
fn records_round_trip_through_an_envelope_including_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = EngineStore::open(dir.path()).unwrap();
    let (source, cu) = activated_with_users(&store, "src", &["cu1"]);
    let key = source
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
    let mut records = source.export_records().unwrap();
    assert!(records.iter().all(|(name, _)| !name.starts_with("master/")));
    // A record another feature keeps (a masking key, say), unknown here.
    records.push(("masking-key".into(), b"opaque feature state".to_vec()));

    let blob = backup_format::seal(&[9u8; 32], "b1", "src", "t", &records).unwrap();
    let (_, opened) = backup_format::open(&[9u8; 32], &blob).unwrap();
    assert_eq!(opened, records);

    let target = cluster(&store, "dst");
    let loaded = target.replace_records(&opened).unwrap();
    drop(target);
    // What the restore hands back to serve from is what the store reads back.
    let served = Cluster::open_loaded(
        ClusterConfig::default(),
        store.cluster("dst", 3).unwrap(),
        loaded,
    )
    .unwrap();
    let restored = cluster(&store, "dst");
    assert!(served.is_activated());
    assert!(restored.is_activated());
    assert_eq!(served.node_listings(), restored.node_listings());
    assert_eq!(served.list_users().unwrap(), restored.list_users().unwrap());
    served.login(Role::CryptoUser, "cu1", "user1234").unwrap();
    drop(served);
    let mut again = restored.export_records().unwrap();
    again.sort();
    let mut expected = records.clone();
    expected.sort();
    assert_eq!(
        again, expected,
        "every record, the unknown one too, is carried"
    );
    let cu = restored
        .open_session(restored.login(Role::CryptoUser, "cu1", "user1234").unwrap())
        .unwrap();
    assert!(restored
        .get_attribute(
            cu,
            key,
            cloudhsm_data_plane::engine::attributes::ids::ENCRYPT
        )
        .is_ok());

    // An activated cluster takes no restore.
    assert!(matches!(
        restored.replace_records(&opened),
        Err(EngineError::NotPermitted(_))
    ));
}

/// A restore lands as a snapshot; what happens afterwards (a key deleted, a
/// key changed, a key and a user added, a user deleted) is written on top,
/// and all of it is what the cluster holds after a reopen and what its next
/// backup carries. A second restore replaces all of it.
#[test]
fn changes_after_a_restore_survive_a_reopen_and_a_second_restore_replaces_them() {
    use cloudhsm_data_plane::engine::attributes::{ids, Attribute};
    let dir = tempfile::tempdir().unwrap();
    let store = EngineStore::open(dir.path()).unwrap();
    let (source, cu) = activated_with_users(&store, "src", &["cu1", "cu2"]);
    let aes = || KeySpec::Aes { bits: 256 };
    let keys: Vec<_> = (0..3)
        .map(|_| {
            source
                .generate_key(cu, aes(), KeyAttributes::default())
                .unwrap()
        })
        .collect();
    let backup = source.export_records().unwrap();

    let target = cluster(&store, "dst");
    target.replace_records(&backup).unwrap();
    drop(target);
    let restored = cluster(&store, "dst");
    let co = restored
        .open_session(
            restored
                .login(Role::CryptoOfficer, PRECO_USER, "officer-pass1")
                .unwrap(),
        )
        .unwrap();
    restored.delete_user(co, "cu2").unwrap();
    let cu = restored
        .open_session(restored.login(Role::CryptoUser, "cu1", "user1234").unwrap())
        .unwrap();
    restored.delete_key(cu, keys[0]).unwrap();
    restored
        .set_attribute(cu, keys[1], ids::LABEL, Attribute::Text("changed".into()))
        .unwrap();
    let added = restored
        .generate_key(cu, aes(), KeyAttributes::default())
        .unwrap();
    let before_reopen = {
        let mut records = restored.export_records().unwrap();
        records.sort();
        records
    };
    drop(restored);

    let reopened = cluster(&store, "dst");
    let users: Vec<String> = reopened
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.0)
        .collect();
    assert!(users.contains(&"cu1".to_string()));
    assert!(
        !users.contains(&"cu2".to_string()),
        "the deleted user stays deleted: {users:?}"
    );
    let cu = reopened
        .open_session(reopened.login(Role::CryptoUser, "cu1", "user1234").unwrap())
        .unwrap();
    assert!(matches!(
        reopened.get_attribute(cu, keys[0], ids::LABEL),
        Err(EngineError::KeyNotFound(_))
    ));
    assert_eq!(
        reopened.get_attribute(cu, keys[1], ids::LABEL).unwrap(),
        Attribute::Text("changed".into())
    );
    assert!(reopened.get_attribute(cu, keys[2], ids::LABEL).is_ok());
    assert!(reopened.get_attribute(cu, added, ids::LABEL).is_ok());
    let mut after_reopen = reopened.export_records().unwrap();
    after_reopen.sort();
    assert_eq!(
        after_reopen, before_reopen,
        "a backup carries the same records"
    );
    assert!(
        after_reopen.iter().all(|(_, value)| !value.is_empty()),
        "removals are not carried as records"
    );
    for node in reopened.node_listings() {
        assert_eq!(node.keys, 3, "every node holds the same keys: {node:?}");
    }

    // A cluster restored from a backup of a cluster never activated can be
    // restored again: the second restore replaces the first's snapshot and
    // everything written on top of it.
    let blank = cluster(&store, "blank").export_records().unwrap();
    let twice = cluster(&store, "twice");
    twice.replace_records(&blank).unwrap();
    drop(twice);
    let twice = cluster(&store, "twice");
    assert!(!twice.is_activated());
    twice.replace_records(&backup).unwrap();
    drop(twice);
    let twice = cluster(&store, "twice");
    assert!(twice.is_activated());
    let mut records = twice.export_records().unwrap();
    records.sort();
    let mut expected = backup.clone();
    expected.sort();
    assert_eq!(records, expected);
}
