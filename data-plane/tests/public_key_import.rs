//! `importPubKey` through the engine's public API: the imported key does a
//! public key's work, and only real public keys of the claimed kind get in.

use cloudhsm_data_plane::{
    engine::{attributes::ids, cluster::PRECO_USER, keys::Curve},
    onboarding::activate_cluster,
    Attribute, Cluster, ClusterConfig, EngineError, KeyAttributes, KeySpec, Mechanism, Role,
};

#[test]
fn imported_public_keys_verify_and_bad_ones_are_refused() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    activate_cluster(&cluster, "officer-password").unwrap();
    let co = cluster
        .login(Role::CryptoOfficer, PRECO_USER, "officer-password")
        .unwrap();
    let co = cluster.open_session(co).unwrap();
    cluster
        .create_user(co, Role::CryptoUser, "cu1", "user1234")
        .unwrap();
    let cu = cluster.login(Role::CryptoUser, "cu1", "user1234").unwrap();
    let cu = cluster.open_session(cu).unwrap();
    let usable = KeyAttributes {
        sign: true,
        verify: true,
        ..Default::default()
    };

    for (spec, mechanism) in [
        (KeySpec::Rsa { bits: 2048 }, Mechanism::RsaPkcs1Sha256),
        (KeySpec::Ec { curve: Curve::P384 }, Mechanism::Ecdsa),
    ] {
        let (public, private) = cluster.generate_key_pair(cu, spec, usable.clone()).unwrap();
        let bytes = cluster.export_public_key(cu, public).unwrap();
        let imported = cluster
            .import_public_key(cu, spec, bytes.clone(), usable.clone())
            .unwrap();
        let signature = cluster.sign(cu, private, mechanism, b"data").unwrap();
        cluster
            .verify(cu, imported, mechanism, b"data", &signature)
            .unwrap();
        // A public key never signs, and came from outside the HSM.
        assert!(cluster.sign(cu, imported, mechanism, b"data").is_err());
        assert_eq!(
            cluster.get_attribute(cu, imported, ids::LOCAL).unwrap(),
            Attribute::Bool(false)
        );
        assert_eq!(
            cluster.get_attribute(cu, imported, ids::CLASS).unwrap(),
            Attribute::Number(2)
        );
        // Claimed as something else: refused.
        let wrong = match spec {
            KeySpec::Rsa { .. } => KeySpec::Rsa { bits: 3072 },
            _ => KeySpec::Ec { curve: Curve::P256 },
        };
        assert!(matches!(
            cluster.import_public_key(cu, wrong, bytes, usable.clone()),
            Err(EngineError::DataInvalid(_))
        ));
    }

    let mut off_curve = vec![4u8];
    off_curve.extend([1u8; 64]);
    assert!(matches!(
        cluster.import_public_key(
            cu,
            KeySpec::Ec { curve: Curve::P256 },
            off_curve,
            usable.clone()
        ),
        Err(EngineError::DataInvalid(_))
    ));
    assert!(matches!(
        cluster.import_public_key(cu, KeySpec::Aes { bits: 256 }, vec![0; 32], usable.clone()),
        Err(EngineError::KeySpecInvalid(_))
    ));
    // Officers do not own keys.
    assert!(matches!(
        cluster.import_public_key(co, KeySpec::Rsa { bits: 2048 }, vec![], usable),
        Err(EngineError::NotPermitted(_))
    ));
}
