//! The backup hooks: a cluster's records are exported whole (including
//! records of features the backup code does not know) and restored into
//! another cluster under its own master keys; an activated cluster refuses.

use cloudhsm_data_plane::{
    engine::{backup_format, cluster::PRECO_USER, store::EngineStore},
    onboarding::activate_cluster,
    Cluster, ClusterConfig, EngineError, KeyAttributes, KeySpec, Role,
};

fn cluster(store: &EngineStore, name: &str) -> Cluster {
    Cluster::open(ClusterConfig::default(), store.cluster(name, 3).unwrap()).unwrap()
}

fn activate(cluster: &Cluster) {
    activate_cluster(cluster, "officer-pass1").unwrap();
}

#[test]
fn records_round_trip_through_an_envelope_including_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = EngineStore::open(dir.path()).unwrap();
    let source = cluster(&store, "src");
    activate(&source);
    let co = source
        .login(Role::CryptoOfficer, PRECO_USER, "officer-pass1")
        .unwrap();
    let s = source.open_session(co).unwrap();
    source
        .create_user(s, Role::CryptoUser, "cu1", "user1234")
        .unwrap();
    let cu = source
        .open_session(source.login(Role::CryptoUser, "cu1", "user1234").unwrap())
        .unwrap();
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
    target.replace_records(&opened).unwrap();
    drop(target);
    let restored = cluster(&store, "dst");
    assert!(restored.is_activated());
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
