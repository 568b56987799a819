//! Certificate storage through the engine's public API: a certificate is a
//! public object of the cluster (every crypto user reads it, only its
//! creator changes or destroys it), subject, issuer and serial are read
//! from its DER, copies are for certificates only, and it survives a reopen
//! of the store like a key.

use cloudhsm_data_plane::{
    engine::{attributes::ids, cluster::PRECO_USER, store::EngineStore},
    onboarding::activate_cluster,
    Attribute, Cluster, ClusterConfig, EngineError, KeyAttributes, KeySpec, Role,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn certificate() -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["cert.example".to_string()]).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from(vec![0x01, 0x02, 0x03]));
    params.self_signed(&key).unwrap().der().to_vec()
}

/// An activated cluster with crypto users cu1 and cu2: their sessions.
fn cluster_with_users(cluster: &Cluster) -> (u64, u64) {
    activate_cluster(cluster, "officer-password").unwrap();
    let co = cluster
        .login(Role::CryptoOfficer, PRECO_USER, "officer-password")
        .unwrap();
    let co = cluster.open_session(co).unwrap();
    for user in ["cu1", "cu2"] {
        cluster
            .create_user(co, Role::CryptoUser, user, "user1234")
            .unwrap();
    }
    let session = |user| {
        let login = cluster.login(Role::CryptoUser, user, "user1234").unwrap();
        cluster.open_session(login).unwrap()
    };
    (session("cu1"), session("cu2"))
}

#[test]
fn certificates_are_public_objects_with_their_own_rules() {
    let dir = tempfile::tempdir().unwrap();
    let der = certificate();
    let labelled = KeyAttributes {
        label: "web".into(),
        id: "c001".into(),
        sign: true, // asked for, never granted: a certificate does nothing
        ..Default::default()
    };
    let (handle, copy) = {
        let store = EngineStore::open(dir.path()).unwrap();
        let cluster =
            Cluster::open(ClusterConfig::default(), store.cluster("chsm1", 3).unwrap()).unwrap();
        let (cu1, cu2) = cluster_with_users(&cluster);
        let handle = cluster
            .create_certificate(cu1, der.clone(), labelled.clone())
            .unwrap();
        assert_eq!(
            cluster.get_attribute(cu1, handle, ids::CLASS).unwrap(),
            Attribute::Number(1)
        );
        assert_eq!(
            cluster.get_attribute(cu2, handle, ids::VALUE).unwrap(),
            Attribute::Text(hex(&der)),
            "another crypto user reads a public object"
        );
        assert_eq!(
            cluster
                .get_attribute(cu1, handle, ids::SERIAL_NUMBER)
                .unwrap(),
            Attribute::Text("0203010203".into())
        );
        let Attribute::Text(subject) = cluster.get_attribute(cu1, handle, ids::SUBJECT).unwrap()
        else {
            panic!("subject is hex text")
        };
        assert!(subject.starts_with("30") && hex(&der).contains(&subject));
        assert_eq!(
            cluster.get_attribute(cu1, handle, ids::SIGN).unwrap_err(),
            EngineError::AttributeTypeInvalid(ids::SIGN)
        );
        assert_eq!(
            cluster
                .get_attribute(cu1, handle, ids::MODULUS_BITS)
                .unwrap_err(),
            EngineError::AttributeTypeInvalid(ids::MODULUS_BITS)
        );
        assert!(cluster
            .find_keys(cu2, &[(ids::LABEL, Attribute::Text("web".into()))])
            .unwrap()
            .contains(&handle));

        // Only the creator relabels or destroys; only label and id change.
        assert!(matches!(
            cluster.set_attribute(cu2, handle, ids::LABEL, Attribute::Text("mine".into())),
            Err(EngineError::NotPermitted(_))
        ));
        cluster
            .set_attribute(cu1, handle, ids::LABEL, Attribute::Text("web-2025".into()))
            .unwrap();
        assert_eq!(
            cluster.set_attribute(cu1, handle, ids::TRUSTED, Attribute::Bool(true)),
            Err(EngineError::AttributeReadOnly(ids::TRUSTED))
        );
        assert!(matches!(
            cluster.delete_key(cu2, handle),
            Err(EngineError::NotPermitted(_))
        ));

        // Not a certificate, or too big: refused, nothing made.
        for bad in [b"not a certificate".to_vec(), vec![0u8; 40 * 1024]] {
            assert!(matches!(
                cluster.create_certificate(cu1, bad, labelled.clone()),
                Err(EngineError::AttributeValueInvalid(_))
            ));
        }

        // Copies: certificates yes (cu2's own copy), keys no.
        let copy = cluster
            .copy_object(
                cu2,
                handle,
                vec![(ids::LABEL, Attribute::Text("copy".into()))],
            )
            .unwrap();
        assert_ne!(copy, handle);
        assert_eq!(
            cluster.copy_object(
                cu2,
                handle,
                vec![(ids::VALUE, Attribute::Text("00".into()))]
            ),
            Err(EngineError::AttributeReadOnly(ids::VALUE))
        );
        let key = cluster
            .generate_key(cu1, KeySpec::Aes { bits: 256 }, KeyAttributes::default())
            .unwrap();
        assert!(matches!(
            cluster.copy_object(cu1, key, vec![]),
            Err(EngineError::NotPermitted(_))
        ));
        cluster.delete_key(cu2, copy).unwrap();
        (handle, copy)
    };

    // Reopened: the certificate is there on every node, the deleted copy is not.
    let store = EngineStore::open(dir.path()).unwrap();
    let cluster =
        Cluster::open(ClusterConfig::default(), store.cluster("chsm1", 3).unwrap()).unwrap();
    let login = cluster.login(Role::CryptoUser, "cu1", "user1234").unwrap();
    let cu1 = cluster.open_session(login).unwrap();
    assert_eq!(
        cluster.get_attribute(cu1, handle, ids::LABEL).unwrap(),
        Attribute::Text("web-2025".into())
    );
    assert_eq!(
        cluster.get_attribute(cu1, handle, ids::VALUE).unwrap(),
        Attribute::Text(hex(&der))
    );
    assert!(cluster.get_attribute(cu1, copy, ids::LABEL).is_err());
    assert_eq!(
        cluster
            .find_single_key(handle)
            .iter()
            .filter(|(_, has)| *has)
            .count(),
        3
    );
}
