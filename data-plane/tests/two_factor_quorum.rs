//! Opt-in 2FA for crypto officers and M-of-N quorum for user management,
//! through the engine's public API (rules from seed 004 and AWS CloudHSM's
//! quorum commands).

use cloudhsm_data_plane::{
    client::TwoFactorKey,
    onboarding::activate_cluster,
    engine::{
        cluster::{SecurityChange, PRECO_USER},
        quorum::{Approval, Service},
        store::EngineStore,
    },
    Cluster, ClusterConfig, EngineError, Role, SessionHandle,
};

/// An activated cluster with officer `admin`; answers a session of it.
fn activate(cluster: &Cluster) -> SessionHandle {
    activate_cluster(cluster, "officer-password").unwrap();
    officer(cluster, PRECO_USER, "officer-password")
}

fn officer(cluster: &Cluster, name: &str, password: &str) -> SessionHandle {
    let login = cluster.login(Role::CryptoOfficer, name, password).unwrap();
    cluster.open_session(login).unwrap()
}

fn two_factor_login(
    cluster: &Cluster,
    name: &str,
    password: &str,
    key: &TwoFactorKey,
) -> Result<SessionHandle, EngineError> {
    let request = cluster.login_two_factor_begin(Role::CryptoOfficer, name, password)?;
    let login = cluster.login_two_factor_complete(&key.sign_authdata(&request).unwrap())?;
    cluster.open_session(login)
}

fn enable_two_factor(cluster: &Cluster, session: SessionHandle) {
    cluster
        .set_security(
            session,
            SecurityChange {
                two_factor: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
}

/// Creates CO `name` with 2FA under `key`.
fn create_two_factor_officer(
    cluster: &Cluster,
    session: SessionHandle,
    name: &str,
    key: &TwoFactorKey,
) -> Result<(), EngineError> {
    let request = cluster.create_user_two_factor_begin(
        session,
        Role::CryptoOfficer,
        name,
        "officer2-pass",
    )?;
    cluster.complete_two_factor(session, &key.sign_authdata_with_key(&request).unwrap())
}

fn register(cluster: &Cluster, session: SessionHandle, key: &TwoFactorKey) {
    let request = cluster.register_quorum_key_begin(session).unwrap();
    cluster
        .complete_two_factor(session, &key.sign_authdata_with_key(&request).unwrap())
        .unwrap();
}

#[test]
fn two_factor_is_off_until_an_officer_turns_it_on() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let admin = activate(&cluster);
    assert!(!cluster.security().unwrap().two_factor);
    assert!(!cluster.security().unwrap().quorum);
    let key = TwoFactorKey::generate().unwrap();
    assert!(matches!(
        create_two_factor_officer(&cluster, admin, "co2", &key),
        Err(EngineError::FeatureDisabled(_))
    ));

    cluster
        .create_user(admin, Role::CryptoUser, "cu1", "user1234")
        .unwrap();
    let cu = cluster
        .open_session(cluster.login(Role::CryptoUser, "cu1", "user1234").unwrap())
        .unwrap();
    let on = SecurityChange {
        two_factor: Some(true),
        ..Default::default()
    };
    assert!(matches!(
        cluster.set_security(cu, on.clone()),
        Err(EngineError::NotPermitted(_))
    ));
    assert!(cluster.set_security(admin, on).unwrap().two_factor);
    // 2FA is for officers only.
    assert!(matches!(
        cluster.create_user_two_factor_begin(admin, Role::CryptoUser, "cu2", "user1234"),
        Err(EngineError::NotPermitted(_))
    ));
    assert!(matches!(
        cluster.change_password_two_factor_begin(admin, "cu1", "user12345"),
        Err(EngineError::NotPermitted(_))
    ));
}

#[test]
fn two_factor_officers_create_login_rotate_and_remove() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let admin = activate(&cluster);
    enable_two_factor(&cluster, admin);
    let key = TwoFactorKey::generate().unwrap();
    let other = TwoFactorKey::generate().unwrap();

    // createUser CO co2 -2fa: one digest per HSM; a wrong signature creates nobody.
    let request = cluster
        .create_user_two_factor_begin(admin, Role::CryptoOfficer, "co2", "officer2-pass")
        .unwrap();
    assert_eq!(request.version, "1.0");
    let hsms: Vec<&str> = request.data.iter().map(|e| e.hsm_id.as_str()).collect();
    assert_eq!(hsms, ["hsm1", "hsm2", "hsm3"]);
    let mut forged = other.sign_authdata(&request).unwrap();
    forged.public_key = Some(key.public_key_pem().unwrap());
    assert!(matches!(
        cluster.complete_two_factor(admin, &forged),
        Err(EngineError::TwoFactorFailed(_))
    ));
    assert!(!cluster
        .list_users()
        .unwrap()
        .iter()
        .any(|(n, _)| n == "co2"));
    // Without the public key.
    let request = cluster
        .create_user_two_factor_begin(admin, Role::CryptoOfficer, "co2", "officer2-pass")
        .unwrap();
    assert!(matches!(
        cluster.complete_two_factor(admin, &key.sign_authdata(&request).unwrap()),
        Err(EngineError::InvalidPublicKey(_))
    ));
    create_two_factor_officer(&cluster, admin, "co2", &key).unwrap();
    let view = cluster.security().unwrap();
    assert_eq!(view.two_factor_officers, ["co2"]);
    assert_eq!(
        view.quorum_officers,
        ["co2"],
        "a 2FA officer is a quorum approver"
    );

    // The password alone no longer logs co2 in.
    assert_eq!(
        cluster.login(Role::CryptoOfficer, "co2", "officer2-pass"),
        Err(EngineError::TwoFactorRequired("co2".into()))
    );
    assert_eq!(
        cluster.login_two_factor_begin(Role::CryptoOfficer, "co2", "wrong-password"),
        Err(EngineError::LoginFailed)
    );
    // The wrong key, a missing signature, a replay.
    assert!(matches!(
        two_factor_login(&cluster, "co2", "officer2-pass", &other),
        Err(EngineError::TwoFactorFailed(_))
    ));
    let request = cluster
        .login_two_factor_begin(Role::CryptoOfficer, "co2", "officer2-pass")
        .unwrap();
    let mut unsigned = key.sign_authdata(&request).unwrap();
    unsigned.data[1].signature.clear();
    assert!(matches!(
        cluster.login_two_factor_complete(&unsigned),
        Err(EngineError::TwoFactorFailed(_))
    ));
    let request = cluster
        .login_two_factor_begin(Role::CryptoOfficer, "co2", "officer2-pass")
        .unwrap();
    let signed = key.sign_authdata(&request).unwrap();
    let login = cluster.login_two_factor_complete(&signed).unwrap();
    assert!(matches!(
        cluster.login_two_factor_complete(&signed),
        Err(EngineError::TwoFactorFailed(_))
    ));
    let co2 = cluster.open_session(login).unwrap();
    cluster
        .create_user(co2, Role::CryptoUser, "cu1", "user1234")
        .unwrap();

    // -2fa for a user without 2FA: asked for, and ignored.
    let request = cluster
        .login_two_factor_begin(Role::CryptoOfficer, PRECO_USER, "officer-password")
        .unwrap();
    cluster.login_two_factor_complete(&request).unwrap();

    // Rotate the key (and the password): the old key stops working and the
    // quorum registration is dropped (seed 004).
    let rotated = TwoFactorKey::generate().unwrap();
    let request = cluster
        .change_password_two_factor_begin(co2, "co2", "officer2-new")
        .unwrap();
    cluster
        .complete_two_factor(co2, &rotated.sign_authdata_with_key(&request).unwrap())
        .unwrap();
    assert!(two_factor_login(&cluster, "co2", "officer2-new", &key).is_err());
    two_factor_login(&cluster, "co2", "officer2-new", &rotated).unwrap();
    let view = cluster.security().unwrap();
    assert_eq!(view.two_factor_officers, ["co2"]);
    assert!(view.quorum_officers.is_empty());

    // Another officer's authdata cannot be answered by this one.
    let request = cluster
        .change_password_two_factor_begin(co2, "co2", "officer2-next")
        .unwrap();
    assert!(matches!(
        cluster.complete_two_factor(admin, &rotated.sign_authdata_with_key(&request).unwrap()),
        Err(EngineError::TwoFactorFailed(_))
    ));

    // A plain changePswd removes 2FA; 2FA cannot be turned off while in use.
    assert!(matches!(
        cluster.set_security(
            admin,
            SecurityChange {
                two_factor: Some(false),
                ..Default::default()
            }
        ),
        Err(EngineError::NotPermitted(_))
    ));
    cluster
        .change_password(admin, "co2", "officer2-plain")
        .unwrap();
    officer(&cluster, "co2", "officer2-plain");
    assert!(cluster.security().unwrap().two_factor_officers.is_empty());
}

#[test]
fn failed_second_factors_lock_the_officer() {
    let cluster = Cluster::new(ClusterConfig {
        max_failed_logins: 2,
        ..Default::default()
    })
    .unwrap();
    let admin = activate(&cluster);
    enable_two_factor(&cluster, admin);
    let key = TwoFactorKey::generate().unwrap();
    create_two_factor_officer(&cluster, admin, "co2", &key).unwrap();
    let wrong = TwoFactorKey::generate().unwrap();
    for _ in 0..2 {
        assert!(two_factor_login(&cluster, "co2", "officer2-pass", &wrong).is_err());
    }
    assert_eq!(
        two_factor_login(&cluster, "co2", "officer2-pass", &key),
        Err(EngineError::UserLocked("co2".into()))
    );
}

/// Officers `admin` (registered with `keys[0]`) and `co2` (2FA, `keys[1]`),
/// with quorum on and M = 2.
fn quorum_cluster(cluster: &Cluster) -> (SessionHandle, SessionHandle, [TwoFactorKey; 2]) {
    let admin = activate(cluster);
    enable_two_factor(cluster, admin);
    let keys = [
        TwoFactorKey::generate().unwrap(),
        TwoFactorKey::generate().unwrap(),
    ];
    let quorum_on = SecurityChange {
        quorum: Some(true),
        ..Default::default()
    };
    create_two_factor_officer(cluster, admin, "co2", &keys[1]).unwrap();
    // One registered officer is fewer than M = 2.
    assert!(matches!(
        cluster.set_security(admin, quorum_on.clone()),
        Err(EngineError::NotPermitted(_))
    ));
    register(cluster, admin, &keys[0]);
    assert!(cluster.set_security(admin, quorum_on).unwrap().quorum);
    let co2 = two_factor_login(cluster, "co2", "officer2-pass", &keys[1]).unwrap();
    (admin, co2, keys)
}

#[test]
fn quorum_needs_m_approvals_from_registered_officers_once() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let (admin, _co2, keys) = quorum_cluster(&cluster);

    let refused = cluster.create_user(admin, Role::CryptoUser, "cu1", "user1234");
    assert!(matches!(refused, Err(EngineError::QuorumRequired(_))));
    let token = cluster.get_token(admin, Service::User).unwrap();
    assert!(matches!(
        cluster.get_token(admin, Service::User),
        Err(EngineError::TokenExists(_))
    ));
    assert_eq!(cluster.list_tokens(admin).unwrap(), vec![token.clone()]);

    // Bad signature, an unregistered approver, a forged approval: nothing recorded.
    let stranger = TwoFactorKey::generate().unwrap();
    let forged = Approval {
        user: "co2".into(),
        signature: stranger.sign_digest(&token.digest).unwrap(),
    };
    assert!(matches!(
        cluster.approve_token(
            admin,
            &token.id,
            &[keys[0].approve("admin", &token).unwrap(), forged]
        ),
        Err(EngineError::TwoFactorFailed(_))
    ));
    assert!(matches!(
        cluster.approve_token(
            admin,
            &token.id,
            &[stranger.approve("nobody", &token).unwrap()]
        ),
        Err(EngineError::QuorumRequired(_))
    ));
    assert!(matches!(
        cluster.approve_token(
            admin,
            &token.id,
            &[Approval {
                user: "admin".into(),
                signature: "!!".into()
            }]
        ),
        Err(EngineError::TwoFactorFailed(_))
    ));

    // Too few approvals: refused, token kept.
    assert_eq!(
        cluster
            .approve_token(
                admin,
                &token.id,
                &[keys[0].approve("admin", &token).unwrap()]
            )
            .unwrap(),
        1
    );
    assert!(matches!(
        cluster.create_user(admin, Role::CryptoUser, "cu1", "user1234"),
        Err(EngineError::QuorumRequired(_))
    ));
    assert_eq!(
        cluster
            .approve_token(admin, &token.id, &[keys[1].approve("co2", &token).unwrap()])
            .unwrap(),
        2
    );
    cluster
        .create_user(admin, Role::CryptoUser, "cu1", "user1234")
        .unwrap();
    // Consumed: the next user-management operation needs a new token.
    assert!(cluster.list_tokens(admin).unwrap().is_empty());
    assert!(matches!(
        cluster.delete_user(admin, "cu1"),
        Err(EngineError::QuorumRequired(_))
    ));
    assert_eq!(
        cluster.approve_token(admin, &token.id, &[keys[1].approve("co2", &token).unwrap()]),
        Err(EngineError::TokenNotFound)
    );
    // Changing one's own password is not user management.
    cluster
        .change_password(admin, PRECO_USER, "officer-password2")
        .unwrap();

    // Turning quorum off is itself quorum-controlled (service `quorum`).
    let off = SecurityChange {
        quorum: Some(false),
        ..Default::default()
    };
    assert!(matches!(
        cluster.set_security(admin, off.clone()),
        Err(EngineError::QuorumRequired(_))
    ));
    let user_token = cluster.get_token(admin, Service::User).unwrap();
    cluster
        .approve_token(
            admin,
            &user_token.id,
            &[
                keys[0].approve("admin", &user_token).unwrap(),
                keys[1].approve("co2", &user_token).unwrap(),
            ],
        )
        .unwrap();
    assert!(
        matches!(
            cluster.set_security(admin, off.clone()),
            Err(EngineError::QuorumRequired(_))
        ),
        "a user-service token does not authorise a quorum change"
    );
    cluster.delete_token(admin, &user_token.id).unwrap();
    let token = cluster.get_token(admin, Service::Quorum).unwrap();
    let approvals = [
        keys[0].approve("admin", &token).unwrap(),
        keys[1].approve("co2", &token).unwrap(),
    ];
    cluster.approve_token(admin, &token.id, &approvals).unwrap();
    assert!(!cluster.set_security(admin, off).unwrap().quorum);
    cluster.delete_user(admin, "cu1").unwrap();
}

#[test]
fn approvals_and_m_follow_registrations() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let (admin, co2, keys) = quorum_cluster(&cluster);
    // M cannot exceed the registered officers, and needs a quorum token.
    assert!(matches!(
        cluster.set_m_value(admin, Service::User, 3),
        Err(EngineError::NotPermitted(_))
    ));
    assert!(matches!(
        cluster.set_m_value(admin, Service::User, 9),
        Err(EngineError::DataInvalid(_))
    ));
    assert!(matches!(
        cluster.set_m_value(admin, Service::User, 2),
        Err(EngineError::QuorumRequired(_))
    ));

    // An approval stops counting when its officer's registration goes:
    // co2 rotates its 2FA key, which drops its quorum registration.
    let token = cluster.get_token(admin, Service::User).unwrap();
    cluster
        .approve_token(
            admin,
            &token.id,
            &[
                keys[0].approve("admin", &token).unwrap(),
                keys[1].approve("co2", &token).unwrap(),
            ],
        )
        .unwrap();
    let rotated = TwoFactorKey::generate().unwrap();
    let request = cluster
        .change_password_two_factor_begin(co2, "co2", "officer2-pass")
        .unwrap();
    cluster
        .complete_two_factor(co2, &rotated.sign_authdata_with_key(&request).unwrap())
        .unwrap();
    assert!(matches!(
        cluster.create_user(admin, Role::CryptoUser, "cu1", "user1234"),
        Err(EngineError::QuorumRequired(_))
    ));
    // Registering again must use the 2FA key: one key for both.
    let request = cluster.register_quorum_key_begin(co2).unwrap();
    assert!(matches!(
        cluster.complete_two_factor(co2, &keys[1].sign_authdata_with_key(&request).unwrap()),
        Err(EngineError::NotPermitted(_))
    ));
    register(&cluster, co2, &rotated);
    // Registered again, co2's approval counts again.
    cluster
        .create_user(admin, Role::CryptoUser, "cu1", "user1234")
        .unwrap();
}

#[test]
fn settings_keys_and_tokens_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let store = EngineStore::open(dir.path()).unwrap();
        Cluster::open(ClusterConfig::default(), store.cluster("chsm1", 3).unwrap()).unwrap()
    };
    let (token, keys) = {
        let cluster = open();
        let (admin, _, keys) = quorum_cluster(&cluster);
        let token = cluster.get_token(admin, Service::User).unwrap();
        cluster
            .approve_token(
                admin,
                &token.id,
                &[keys[0].approve("admin", &token).unwrap()],
            )
            .unwrap();
        (token, keys)
    };
    let cluster = open();
    let view = cluster.security().unwrap();
    assert!(view.two_factor && view.quorum);
    assert_eq!(view.quorum_officers, ["admin", "co2"]);
    let admin = officer(&cluster, PRECO_USER, "officer-password");
    let listed = cluster.list_tokens(admin).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].approvals.len(), 1);
    cluster
        .approve_token(admin, &token.id, &[keys[1].approve("co2", &token).unwrap()])
        .unwrap();
    cluster
        .create_user(admin, Role::CryptoUser, "cu1", "user1234")
        .unwrap();
    two_factor_login(&cluster, "co2", "officer2-pass", &keys[1]).unwrap();
}

#[test]
fn adding_two_factor_registers_for_quorum_with_the_same_key() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let admin = activate(&cluster);
    enable_two_factor(&cluster, admin);
    let quorum_key = TwoFactorKey::generate().unwrap();
    register(&cluster, admin, &quorum_key);
    assert_eq!(cluster.security().unwrap().quorum_officers, ["admin"]);

    // A quorum officer adds 2FA with its quorum key only.
    let other = TwoFactorKey::generate().unwrap();
    let request = cluster
        .change_password_two_factor_begin(admin, PRECO_USER, "officer-password2")
        .unwrap();
    assert!(matches!(
        cluster.complete_two_factor(admin, &other.sign_authdata_with_key(&request).unwrap()),
        Err(EngineError::NotPermitted(_))
    ));
    officer(&cluster, PRECO_USER, "officer-password"); // nothing changed
    let request = cluster
        .change_password_two_factor_begin(admin, PRECO_USER, "officer-password2")
        .unwrap();
    cluster
        .complete_two_factor(admin, &quorum_key.sign_authdata_with_key(&request).unwrap())
        .unwrap();
    let view = cluster.security().unwrap();
    assert_eq!(view.two_factor_officers, ["admin"]);
    assert_eq!(view.quorum_officers, ["admin"]);

    // An officer with neither adds 2FA and becomes a quorum approver.
    cluster
        .create_user(admin, Role::CryptoOfficer, "co3", "officer3-pass")
        .unwrap();
    let co3 = officer(&cluster, "co3", "officer3-pass");
    let key = TwoFactorKey::generate().unwrap();
    let request = cluster
        .change_password_two_factor_begin(co3, "co3", "officer3-pass")
        .unwrap();
    cluster
        .complete_two_factor(co3, &key.sign_authdata_with_key(&request).unwrap())
        .unwrap();
    assert_eq!(
        cluster.security().unwrap().quorum_officers,
        ["admin", "co3"]
    );
    two_factor_login(&cluster, "co3", "officer3-pass", &key).unwrap();
}

#[test]
fn audit_events_name_operations_without_secrets_or_identifiers() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let (admin, _, keys) = quorum_cluster(&cluster);
    let token = cluster.get_token(admin, Service::User).unwrap();
    cluster
        .approve_token(
            admin,
            &token.id,
            &[keys[0].approve("admin", &token).unwrap()],
        )
        .unwrap();
    let _ = cluster.create_user(admin, Role::CryptoUser, "cu-audit-name", "user1234");
    let events = serde_json::to_string(&cluster.audit_events()).unwrap();
    for op in [
        "CN_SET_POLICY",
        "CN_REGISTER_QUORUM_PUBKEY",
        "CN_GET_TOKEN",
        "CN_APPROVE_TOKEN",
        "RET_QUORUM_APPROVAL_REQUIRED",
        "CN_LOGIN",
    ] {
        assert!(events.contains(op), "{op} missing from {events}");
    }
    let pem = keys[0].public_key_pem().unwrap();
    for secret in [
        token.id.as_str(),
        token.digest.as_str(),
        "co2",
        "cu-audit-name",
        &pem[30..60],
    ] {
        assert!(!events.contains(secret), "audit events carry '{secret}'");
    }
}

/// Gets a token of `service` for `session` approved by every `(user, key)`.
fn approved_token(
    cluster: &Cluster,
    session: SessionHandle,
    service: Service,
    approvers: &[(&str, &TwoFactorKey)],
) -> String {
    let token = cluster.get_token(session, service).unwrap();
    let approvals: Vec<Approval> = approvers
        .iter()
        .map(|(user, key)| key.approve(user, &token).unwrap())
        .collect();
    cluster
        .approve_token(session, &token.id, &approvals)
        .unwrap();
    token.id
}

#[test]
fn m_is_raised_with_quorum_approval_and_then_applies() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let (admin, _co2, keys) = quorum_cluster(&cluster);
    let two = [("admin", &keys[0]), ("co2", &keys[1])];

    approved_token(&cluster, admin, Service::User, &two);
    cluster
        .create_user(admin, Role::CryptoOfficer, "co3", "officer3-pass")
        .unwrap();
    let co3 = officer(&cluster, "co3", "officer3-pass");
    let key3 = TwoFactorKey::generate().unwrap();
    register(&cluster, co3, &key3);

    assert!(matches!(
        cluster.set_m_value(admin, Service::User, 3),
        Err(EngineError::QuorumRequired(_))
    ));
    approved_token(&cluster, admin, Service::Quorum, &two);
    cluster.set_m_value(admin, Service::User, 3).unwrap();
    assert_eq!(cluster.security().unwrap().m_user, 3);

    let id = approved_token(&cluster, admin, Service::User, &two);
    assert!(matches!(
        cluster.create_user(admin, Role::CryptoUser, "cu1", "user1234"),
        Err(EngineError::QuorumRequired(_))
    ));
    let token = cluster
        .list_tokens(admin)
        .unwrap()
        .into_iter()
        .find(|t| t.id == id)
        .unwrap();
    cluster
        .approve_token(admin, &id, &[key3.approve("co3", &token).unwrap()])
        .unwrap();
    cluster
        .create_user(admin, Role::CryptoUser, "cu1", "user1234")
        .unwrap();
}

#[test]
fn authdata_has_one_digest_per_hsm_that_is_up() {
    let cluster = Cluster::new(ClusterConfig::default()).unwrap();
    let admin = activate(&cluster);
    enable_two_factor(&cluster, admin);
    let key = TwoFactorKey::generate().unwrap();
    create_two_factor_officer(&cluster, admin, "co2", &key).unwrap();
    cluster.stop_node(1).unwrap();
    let request = cluster
        .login_two_factor_begin(Role::CryptoOfficer, "co2", "officer2-pass")
        .unwrap();
    let hsms: Vec<&str> = request.data.iter().map(|e| e.hsm_id.as_str()).collect();
    assert_eq!(hsms, ["hsm1", "hsm3"]);
    // The node comes back while the login is pending: the document still
    // holds the digests it was issued with.
    cluster.start_node(1).unwrap();
    cluster
        .login_two_factor_complete(&key.sign_authdata(&request).unwrap())
        .unwrap();
}
