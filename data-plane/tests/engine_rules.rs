//! The engine's rules, through its public API.

use cloudhsm_data_plane::onboarding::activate_cluster;
use cloudhsm_data_plane::{
    engine::{attributes::ids, cluster::PRECO_USER, keys::Curve},
    Attribute, Cluster, ClusterConfig, EngineError, KeyAttributes, KeySpec, Mechanism, Role,
    SessionHandle,
};

/// An activated cluster with officer `co1` and crypto users `cu1`, `cu2`.
fn activated(config: ClusterConfig) -> (Cluster, SessionHandle) {
    let cluster = Cluster::new(config).unwrap();
    assert!(!cluster.is_activated());
    activate_cluster(&cluster, "officer-password").unwrap();
    assert!(cluster.is_activated());
    let co = cluster
        .login(Role::CryptoOfficer, PRECO_USER, "officer-password")
        .unwrap();
    let co_session = cluster.open_session(co).unwrap();
    for cu in ["cu1", "cu2"] {
        cluster
            .create_user(co_session, Role::CryptoUser, cu, "user1234")
            .unwrap();
    }
    (cluster, co_session)
}

fn cu_session(cluster: &Cluster, user: &str) -> SessionHandle {
    let login = cluster.login(Role::CryptoUser, user, "user1234").unwrap();
    cluster.open_session(login).unwrap()
}

fn signing() -> KeyAttributes {
    KeyAttributes {
        sign: true,
        verify: true,
        ..Default::default()
    }
}

#[test]
fn activation_roles_and_permissions() {
    let (cluster, co) = activated(ClusterConfig::default());
    let users = cluster.list_users().unwrap();
    assert!(users.contains(&("admin".to_string(), Role::CryptoOfficer)));
    assert!(users.contains(&("cu1".to_string(), Role::CryptoUser)));

    let cu = cu_session(&cluster, "cu1");
    // Crypto users do not manage users; officers do not use keys.
    assert!(matches!(
        cluster.create_user(cu, Role::CryptoUser, "cu9", "user1234"),
        Err(EngineError::NotPermitted(_))
    ));
    assert!(matches!(
        cluster.generate_key(co, KeySpec::Aes { bits: 256 }, KeyAttributes::default()),
        Err(EngineError::NotPermitted(_))
    ));
    assert_eq!(
        cluster.create_user(co, Role::CryptoUser, "cu1", "user1234"),
        Err(EngineError::UserExists("cu1".into()))
    );
    assert!(matches!(
        cluster.create_user(co, Role::CryptoUser, "cu3", "short"),
        Err(EngineError::InvalidPassword(_))
    ));
    assert!(matches!(
        cluster.create_user(co, Role::Preco, "p2", "user12345"),
        Err(EngineError::NotPermitted(_))
    ));

    // A user changes its own password, not someone else's.
    cluster
        .change_password(cu, "cu1", "new-password-1")
        .unwrap();
    assert!(matches!(
        cluster.change_password(cu, "cu2", "new-password-2"),
        Err(EngineError::NotPermitted(_))
    ));
    assert!(cluster
        .login(Role::CryptoUser, "cu1", "new-password-1")
        .is_ok());
    assert_eq!(
        cluster.login(Role::CryptoUser, "cu1", "user1234").err(),
        Some(EngineError::LoginFailed)
    );
}

#[test]
fn lockout_after_failed_logins_until_an_officer_unlocks() {
    let (cluster, co) = activated(ClusterConfig {
        max_failed_logins: 3,
        ..Default::default()
    });
    for _ in 0..3 {
        assert_eq!(
            cluster
                .login(Role::CryptoUser, "cu2", "wrong-password")
                .err(),
            Some(EngineError::LoginFailed)
        );
    }
    assert_eq!(
        cluster.login(Role::CryptoUser, "cu2", "user1234").err(),
        Some(EngineError::UserLocked("cu2".into()))
    );
    cluster.unlock_user(co, "cu2").unwrap();
    assert!(cluster.login(Role::CryptoUser, "cu2", "user1234").is_ok());
    // The wrong role is a failed login too, never a hint.
    assert_eq!(
        cluster.login(Role::CryptoOfficer, "cu2", "user1234").err(),
        Some(EngineError::LoginFailed)
    );
}

#[test]
fn keys_sign_verify_encrypt_with_the_supported_mechanisms() {
    let (cluster, _) = activated(ClusterConfig::default());
    let cu = cu_session(&cluster, "cu1");
    let data = b"message to sign";

    let (rsa_pub, rsa_priv) = cluster
        .generate_key_pair(cu, KeySpec::Rsa { bits: 2048 }, signing())
        .unwrap();
    for mechanism in [
        Mechanism::RsaPkcs1Sha256,
        Mechanism::RsaPkcs1Sha512,
        Mechanism::RsaPssSha256,
        Mechanism::RsaPssSha384,
    ] {
        let signature = cluster.sign(cu, rsa_priv, mechanism, data).unwrap();
        cluster
            .verify(cu, rsa_pub, mechanism, data, &signature)
            .unwrap();
        assert_eq!(
            cluster.verify(cu, rsa_pub, mechanism, b"other", &signature),
            Err(EngineError::SignatureInvalid)
        );
    }
    // The exported public key verifies outside the HSM.
    let public = cluster.export_public_key(cu, rsa_pub).unwrap();
    let signature = cluster
        .sign(cu, rsa_priv, Mechanism::RsaPkcs1Sha256, data)
        .unwrap();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        &public,
    )
    .verify(data, &signature)
    .unwrap();
    assert_eq!(
        cluster.export_public_key(cu, rsa_priv),
        Err(EngineError::KeyUnextractable)
    );

    for curve in [Curve::P256, Curve::P384, Curve::Secp256k1] {
        let (public, private) = cluster
            .generate_key_pair(cu, KeySpec::Ec { curve }, signing())
            .unwrap();
        let signature = cluster.sign(cu, private, Mechanism::Ecdsa, data).unwrap();
        cluster
            .verify(cu, public, Mechanism::Ecdsa, data, &signature)
            .unwrap();
    }

    let aes = cluster
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
        .encrypt(cu, aes, Mechanism::AesGcm, b"secret", b"aad")
        .unwrap();
    assert_eq!(
        cluster
            .decrypt(cu, aes, Mechanism::AesGcm, &sealed, b"aad")
            .unwrap(),
        b"secret"
    );
    let mut tampered = sealed.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert_eq!(
        cluster.decrypt(cu, aes, Mechanism::AesGcm, &tampered, b"aad"),
        Err(EngineError::DecryptFailed)
    );

    let hmac = cluster
        .generate_key(cu, KeySpec::GenericSecret { bytes: 32 }, signing())
        .unwrap();
    let tag = cluster.sign(cu, hmac, Mechanism::HmacSha256, data).unwrap();
    cluster
        .verify(cu, hmac, Mechanism::HmacSha256, data, &tag)
        .unwrap();

    // Wrong mechanism for the key, a key without SIGN, sizes the service lacks.
    assert!(matches!(
        cluster.sign(cu, rsa_priv, Mechanism::Ecdsa, data),
        Err(EngineError::MechanismInvalid(_))
    ));
    assert!(matches!(
        cluster.sign(cu, aes, Mechanism::HmacSha256, data),
        Err(EngineError::KeyFunctionNotPermitted(_))
    ));
    assert!(matches!(
        cluster.generate_key(cu, KeySpec::Aes { bits: 100 }, KeyAttributes::default()),
        Err(EngineError::KeySpecInvalid(_))
    ));
    assert!(matches!(
        cluster.generate_key_pair(cu, KeySpec::Rsa { bits: 1024 }, signing()),
        Err(EngineError::KeySpecInvalid(_))
    ));
    assert!(Mechanism::parse("ROT13").is_err());
}

#[test]
fn sharing_ownership_attributes_and_find() {
    let (cluster, co) = activated(ClusterConfig::default());
    let cu1 = cu_session(&cluster, "cu1");
    let cu2 = cu_session(&cluster, "cu2");
    let mut attributes = signing();
    attributes.label = "payments".into();
    let (public, private) = cluster
        .generate_key_pair(cu1, KeySpec::Ec { curve: Curve::P256 }, attributes)
        .unwrap();

    // cu2 sees nothing until the owner shares; then it may use, not delete.
    assert_eq!(
        cluster.sign(cu2, private, Mechanism::Ecdsa, b"x"),
        Err(EngineError::KeyNotFound(private))
    );
    assert!(cluster.find_keys(cu2, &[]).unwrap().is_empty());
    cluster.share_key(cu1, private, "cu2", true).unwrap();
    assert!(cluster.sign(cu2, private, Mechanism::Ecdsa, b"x").is_ok());
    assert!(matches!(
        cluster.delete_key(cu2, private),
        Err(EngineError::NotPermitted(_))
    ));
    assert!(matches!(
        cluster.share_key(cu2, private, "cu1", true),
        Err(EngineError::NotPermitted(_))
    ));
    assert!(matches!(
        cluster.set_attribute(cu2, private, ids::LABEL, Attribute::Text("mine".into())),
        Err(EngineError::NotPermitted(_))
    ));
    assert_eq!(
        cluster.share_key(cu1, private, "nobody", true),
        Err(EngineError::UserNotFound("nobody".into()))
    );

    let found = cluster
        .find_keys(cu1, &[(ids::LABEL, Attribute::Text("payments".into()))])
        .unwrap();
    assert_eq!(found, vec![public, private]);
    let signers = cluster
        .find_keys(cu1, &[(ids::SIGN, Attribute::Bool(true))])
        .unwrap();
    assert_eq!(signers, vec![private]);

    // EXTRACTABLE goes 1 -> 0 only; TRUSTED is the officer's.
    cluster
        .set_attribute(cu1, private, ids::EXTRACTABLE, Attribute::Bool(false))
        .unwrap();
    assert_eq!(
        cluster.set_attribute(cu1, private, ids::EXTRACTABLE, Attribute::Bool(true)),
        Err(EngineError::AttributeReadOnly(ids::EXTRACTABLE))
    );
    assert_eq!(
        cluster
            .get_attribute(cu1, private, ids::EXTRACTABLE)
            .unwrap(),
        Attribute::Bool(false)
    );
    assert!(cluster
        .set_attribute(cu1, public, ids::TRUSTED, Attribute::Bool(true))
        .is_err());
    cluster
        .set_attribute(co, public, ids::TRUSTED, Attribute::Bool(true))
        .unwrap();
    assert_eq!(
        cluster.get_attribute(cu1, public, ids::TRUSTED).unwrap(),
        Attribute::Bool(true)
    );
    assert_eq!(
        cluster.get_attribute(cu1, private, ids::CLASS).unwrap(),
        Attribute::Number(3)
    );

    cluster.share_key(cu1, private, "cu2", false).unwrap();
    assert_eq!(
        cluster.sign(cu2, private, Mechanism::Ecdsa, b"x"),
        Err(EngineError::KeyNotFound(private))
    );
    // An owner of keys cannot be deleted; after deleting them, it can.
    assert!(matches!(
        cluster.delete_user(co, "cu1"),
        Err(EngineError::NotPermitted(_))
    ));
    cluster.delete_key(cu1, private).unwrap();
    cluster.delete_key(cu1, public).unwrap();
    cluster.delete_user(co, "cu1").unwrap();
    assert_eq!(
        cluster.sign(cu1, private, Mechanism::Ecdsa, b"x").err(),
        Some(EngineError::SessionNotFound(cu1))
    );
}

#[test]
fn capacity_counts_key_pairs_twice() {
    let (cluster, _) = activated(ClusterConfig {
        key_capacity: 3,
        ..Default::default()
    });
    let cu = cu_session(&cluster, "cu1");
    cluster
        .generate_key_pair(cu, KeySpec::Ec { curve: Curve::P256 }, signing())
        .unwrap();
    let aes = cluster
        .generate_key(cu, KeySpec::Aes { bits: 128 }, KeyAttributes::default())
        .unwrap();
    assert_eq!(
        cluster.generate_key(cu, KeySpec::Aes { bits: 128 }, KeyAttributes::default()),
        Err(EngineError::CapacityExceeded { limit: 3 })
    );
    cluster.delete_key(cu, aes).unwrap();
    assert!(matches!(
        cluster.generate_key_pair(cu, KeySpec::Ec { curve: Curve::P256 }, signing()),
        Err(EngineError::CapacityExceeded { .. })
    ));
    assert!(cluster
        .generate_key(cu, KeySpec::Aes { bits: 128 }, KeyAttributes::default())
        .is_ok());
}

#[test]
fn keys_resynchronise_users_wait_for_sync_user() {
    let (cluster, co) = activated(ClusterConfig::default());
    let cu = cu_session(&cluster, "cu1");
    cluster.stop_node(2).unwrap();
    cluster
        .create_user(co, Role::CryptoUser, "cu3", "user1234")
        .unwrap();
    let key = cluster
        .generate_key(cu, KeySpec::Aes { bits: 256 }, KeyAttributes::default())
        .unwrap();
    assert_eq!(
        cluster.find_single_key(key),
        vec![(0, true), (1, true), (2, false)]
    );

    cluster.start_node(2).unwrap();
    // Keys caught up ...
    assert_eq!(
        cluster.find_single_key(key),
        vec![(0, true), (1, true), (2, true)]
    );
    // ... users did not: the listing shows the divergence.
    let listings = cluster.node_listings();
    assert_eq!(listings[0].users, listings[2].users + 1);
    assert_ne!(listings[0].digest, listings[2].digest);
    assert_eq!(listings[0].keys, listings[2].keys);
    cluster.sync_user(co, "cu3").unwrap();
    let listings = cluster.node_listings();
    assert_eq!(listings[0].digest, listings[2].digest);
    assert_eq!(listings[1].digest, listings[2].digest);

    // With every node down nothing is served; one back, work goes on.
    for n in 0..3 {
        cluster.stop_node(n).unwrap();
    }
    assert_eq!(
        cluster.login(Role::CryptoUser, "cu1", "user1234").err(),
        Some(EngineError::NoNodeAvailable)
    );
    cluster.start_node(1).unwrap();
    assert!(cluster.login(Role::CryptoUser, "cu3", "user1234").is_ok());
    assert_eq!(cluster.stop_node(7), Err(EngineError::NodeNotFound(7)));
}

#[test]
fn audit_events_name_operations_never_secrets() {
    let (cluster, _) = activated(ClusterConfig::default());
    let cu = cu_session(&cluster, "cu1");
    let mut attributes = signing();
    attributes.label = "very-secret-label".into();
    let key = cluster
        .generate_key(cu, KeySpec::GenericSecret { bytes: 32 }, attributes)
        .unwrap();
    let _ = cluster.login(Role::CryptoUser, "cu2", "wrong-password");
    let events = cluster.audit_events();
    let names: Vec<&str> = events.iter().map(|e| e.operation_name).collect();
    assert!(
        names.contains(&"CN_LOGIN")
            && names.contains(&"CN_CREATE_USER")
            && names.contains(&"CN_GENERATE_KEY")
    );
    assert!(events
        .iter()
        .any(|e| e.operation_name == "CN_LOGIN" && e.result_code == "RET_USER_LOGIN_FAILURE"));
    let text = serde_json::to_string(&events).unwrap();
    for secret in [
        "very-secret-label",
        "cu1",
        "cu2",
        "user1234",
        "wrong-password",
        &format!("\"{key}\""),
    ] {
        assert!(!text.contains(secret), "audit log leaks {secret}");
    }
    assert!(text.contains("\"OperationName\":\"CN_GENERATE_KEY\""));
}

#[test]
fn wrapping_respects_extractable_and_wrap_with_trusted() {
    let (cluster, co) = activated(ClusterConfig::default());
    let cu = cu_session(&cluster, "cu1");
    let kek = cluster
        .generate_key(
            cu,
            KeySpec::Aes { bits: 256 },
            KeyAttributes {
                wrap: true,
                unwrap: true,
                ..Default::default()
            },
        )
        .unwrap();
    let data_key = cluster
        .generate_key(
            cu,
            KeySpec::Aes { bits: 128 },
            KeyAttributes {
                encrypt: true,
                decrypt: true,
                ..Default::default()
            },
        )
        .unwrap();
    let wrap = Mechanism::parse("AES_KEY_WRAP_PAD").unwrap();

    // Wrap, unwrap as a new key: it decrypts what the original encrypted.
    let wrapped = cluster.wrap_key(cu, kek, data_key, wrap).unwrap();
    let usable = KeyAttributes {
        encrypt: true,
        decrypt: true,
        ..Default::default()
    };
    let copy = cluster
        .unwrap_key(
            cu,
            kek,
            &wrapped,
            wrap,
            KeySpec::Aes { bits: 128 },
            usable.clone(),
        )
        .unwrap();
    let sealed = cluster
        .encrypt(cu, data_key, Mechanism::AesGcm, b"msg", b"")
        .unwrap();
    assert_eq!(
        cluster
            .decrypt(cu, copy, Mechanism::AesGcm, &sealed, b"")
            .unwrap(),
        b"msg"
    );
    assert_eq!(
        cluster.get_attribute(cu, copy, ids::LOCAL).unwrap(),
        Attribute::Bool(false)
    );

    // A private key travels as PKCS#8 and still signs.
    let (public, private) = cluster
        .generate_key_pair(cu, KeySpec::Ec { curve: Curve::P384 }, signing())
        .unwrap();
    let wrapped_private = cluster.wrap_key(cu, kek, private, wrap).unwrap();
    let imported = cluster
        .unwrap_key(
            cu,
            kek,
            &wrapped_private,
            wrap,
            KeySpec::Ec { curve: Curve::P384 },
            signing(),
        )
        .unwrap();
    let signature = cluster.sign(cu, imported, Mechanism::Ecdsa, b"m").unwrap();
    cluster
        .verify(cu, public, Mechanism::Ecdsa, b"m", &signature)
        .unwrap();

    // Tampered or mislabelled wrapped keys are refused; nothing is created.
    let before = cluster.find_keys(cu, &[]).unwrap().len();
    let mut tampered = wrapped.clone();
    tampered[3] ^= 1;
    assert_eq!(
        cluster.unwrap_key(
            cu,
            kek,
            &tampered,
            wrap,
            KeySpec::Aes { bits: 128 },
            usable.clone()
        ),
        Err(EngineError::DecryptFailed)
    );
    assert!(matches!(
        cluster.unwrap_key(
            cu,
            kek,
            &wrapped,
            wrap,
            KeySpec::Aes { bits: 256 },
            usable.clone()
        ),
        Err(EngineError::DataInvalid(_))
    ));
    assert_eq!(cluster.find_keys(cu, &[]).unwrap().len(), before);

    // WRAP_WITH_TRUSTED: only a TRUSTED key wraps it, and only officers set TRUSTED.
    cluster
        .set_attribute(cu, data_key, ids::WRAP_WITH_TRUSTED, Attribute::Bool(true))
        .unwrap();
    assert!(matches!(
        cluster.wrap_key(cu, kek, data_key, wrap),
        Err(EngineError::NotPermitted(_))
    ));
    cluster
        .set_attribute(co, kek, ids::TRUSTED, Attribute::Bool(true))
        .unwrap();
    assert!(cluster.wrap_key(cu, kek, data_key, wrap).is_ok());

    // A non-extractable key never leaves.
    cluster
        .set_attribute(cu, data_key, ids::EXTRACTABLE, Attribute::Bool(false))
        .unwrap();
    assert_eq!(
        cluster.wrap_key(cu, kek, data_key, wrap),
        Err(EngineError::KeyUnextractable)
    );

    // Only the owner wraps; the wrapping key must allow WRAP; mechanisms must fit.
    cluster.share_key(cu, copy, "cu2", true).unwrap();
    cluster.share_key(cu, kek, "cu2", true).unwrap();
    let cu2 = cu_session(&cluster, "cu2");
    assert!(matches!(
        cluster.wrap_key(cu2, kek, copy, wrap),
        Err(EngineError::NotPermitted(_))
    ));
    assert!(matches!(
        cluster.wrap_key(cu, copy, kek, wrap),
        Err(EngineError::KeyFunctionNotPermitted(_))
    ));
    assert!(matches!(
        cluster.wrap_key(cu, kek, copy, Mechanism::AesGcm),
        Err(EngineError::MechanismInvalid(_))
    ));
}

#[test]
fn rsa_oaep_and_aes_cbc_pad() {
    let (cluster, _) = activated(ClusterConfig::default());
    let cu = cu_session(&cluster, "cu1");
    let all = KeyAttributes {
        sign: true,
        verify: true,
        encrypt: true,
        decrypt: true,
        ..Default::default()
    };
    let (public, private) = cluster
        .generate_key_pair(cu, KeySpec::Rsa { bits: 2048 }, all.clone())
        .unwrap();
    let oaep = Mechanism::parse("RSA_PKCS_OAEP").unwrap();

    let sealed = cluster
        .encrypt(cu, public, oaep, b"session key", b"")
        .unwrap();
    assert_eq!(sealed.len(), 256);
    assert_eq!(
        cluster.decrypt(cu, private, oaep, &sealed, b"").unwrap(),
        b"session key"
    );
    // One key serves several mechanisms (each keeps its own parsed form).
    let signature = cluster
        .sign(cu, private, Mechanism::RsaPkcs1Sha256, b"m")
        .unwrap();
    cluster
        .verify(cu, public, Mechanism::RsaPkcs1Sha256, b"m", &signature)
        .unwrap();
    assert_eq!(
        cluster.decrypt(cu, private, oaep, &sealed, b"").unwrap(),
        b"session key"
    );
    // The private half never encrypts (its ENCRYPT is off); wrong sizes and
    // altered input are refused.
    assert!(matches!(
        cluster.encrypt(cu, private, oaep, b"x", b""),
        Err(EngineError::KeyFunctionNotPermitted(_))
    ));
    assert!(matches!(
        cluster.encrypt(cu, public, oaep, &[0u8; 300], b""),
        Err(EngineError::DataInvalid(_))
    ));
    let mut altered = sealed.clone();
    altered[10] ^= 1;
    assert_eq!(
        cluster.decrypt(cu, private, oaep, &altered, b""),
        Err(EngineError::DecryptFailed)
    );

    let cbc = Mechanism::parse("AES_CBC_PAD").unwrap();
    for bits in [128, 192, 256] {
        let aes = cluster
            .generate_key(cu, KeySpec::Aes { bits }, all.clone())
            .unwrap();
        let sealed = cluster
            .encrypt(cu, aes, cbc, b"seventeen bytes!!", b"")
            .unwrap();
        assert_eq!(sealed.len(), 16 + 32, "IV and two padded blocks");
        assert_eq!(
            cluster.decrypt(cu, aes, cbc, &sealed, b"").unwrap(),
            b"seventeen bytes!!"
        );
        // GCM and CBC with the same key.
        let gcm = cluster
            .encrypt(cu, aes, Mechanism::AesGcm, b"g", b"")
            .unwrap();
        assert_eq!(
            cluster
                .decrypt(cu, aes, Mechanism::AesGcm, &gcm, b"")
                .unwrap(),
            b"g"
        );
        assert!(matches!(
            cluster.decrypt(cu, aes, cbc, &sealed[..40], b""),
            Err(EngineError::DataInvalid(_))
        ));
    }
}
