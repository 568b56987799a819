//! The PKCS#11 module driven by unmodified clients against the emulator
//! binary: the `cryptoki` crate through every function and error path (in
//! this process: the module's state is per process, so one test walks it
//! in order), from many threads at once; then OpenSC's `pkcs11-tool` and
//! OpenSSL through libp11's engine, as separate processes.

use std::sync::Arc;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use cloudhsm_e2e_tests::{
    pkcs11::{cluster_config, module_path, over_the_network, USER_PIN},
    Emulator,
};
use cryptoki::{
    context::{CInitializeArgs, CInitializeFlags, Pkcs11},
    error::{Error, RvError},
    mechanism::{
        aead::GcmParams,
        rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams},
        Mechanism, MechanismType,
    },
    object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle},
    session::{Session, SessionState, UserType},
    types::AuthPin,
};

fn rv(result: Result<impl std::fmt::Debug, Error>) -> RvError {
    match result {
        Err(Error::Pkcs11(rv, _)) => rv,
        other => panic!("expected a PKCS#11 error, got {other:?}"),
    }
}

fn pin(text: &str) -> AuthPin {
    AuthPin::new(text.into())
}

const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const SECP256K1: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a];

fn rsa_pair(session: &Session, label: &str) -> (ObjectHandle, ObjectHandle) {
    session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[
                Attribute::ModulusBits(2048.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Verify(true),
                Attribute::Encrypt(true),
                Attribute::Token(true),
            ],
            &[
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(vec![0xab, 0x01]),
                Attribute::Sign(true),
                Attribute::Decrypt(true),
                Attribute::Sensitive(true),
            ],
        )
        .expect("RSA key pair")
}

fn ec_pair(session: &Session, params: &[u8], label: &str) -> (ObjectHandle, ObjectHandle) {
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::EcParams(params.to_vec()),
                Attribute::Verify(true),
            ],
            &[
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Sign(true),
            ],
        )
        .expect("EC key pair")
}

fn aes_key(session: &Session, label: &str) -> ObjectHandle {
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::ValueLen(32.into()),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Wrap(true),
                Attribute::Unwrap(true),
            ],
        )
        .expect("AES key")
}

fn bytes_of(session: &Session, key: ObjectHandle, kind: AttributeType) -> Vec<u8> {
    match session
        .get_attributes(key, &[kind])
        .expect("attribute")
        .pop()
    {
        Some(Attribute::Modulus(v))
        | Some(Attribute::PublicExponent(v))
        | Some(Attribute::EcPoint(v))
        | Some(Attribute::Id(v))
        | Some(Attribute::Label(v)) => v,
        other => panic!("unexpected {other:?}"),
    }
}

/// Slots, tokens, login, keys, every mechanism, attributes and their
/// rules, error codes, threads, finalize and implicit login.
#[test]
fn cryptoki_drives_the_module() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emu = runtime.block_on(Emulator::start());
    let config = runtime.block_on(cluster_config(&emu));
    std::env::set_var("AZCLOUDHSM_CLIENT_CONFIG", &config);
    std::env::remove_var("azcloudhsm_password");

    let pkcs11 = Pkcs11::new(module_path()).expect("loading the module");
    assert_eq!(rv(pkcs11.get_all_slots()), RvError::CryptokiNotInitialized);
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let info = pkcs11.get_library_info().unwrap();
    assert_eq!(info.cryptoki_version().major(), 3);

    // One slot for the configured cluster; stable label and serial.
    let slots = pkcs11.get_slots_with_token().unwrap();
    assert_eq!(slots.len(), 1);
    let slot = slots[0];
    let token = pkcs11.get_token_info(slot).unwrap();
    assert!(token.login_required() && token.rng() && token.token_initialized());
    assert!(token.user_pin_initialized());
    assert_eq!(
        token.label(),
        "chsm1",
        "the token is labelled with the cluster's name"
    );
    assert_eq!(token.serial_number().len(), 16);
    let mechanisms = pkcs11.get_mechanism_list(slot).unwrap();
    for m in [
        MechanismType::SHA256_RSA_PKCS,
        MechanismType::ECDSA,
        MechanismType::AES_GCM,
        MechanismType::RSA_PKCS_OAEP,
        MechanismType::AES_KEY_WRAP_PAD,
    ] {
        assert!(mechanisms.contains(&m), "{m} listed");
    }
    let gcm = pkcs11
        .get_mechanism_info(slot, MechanismType::AES_GCM)
        .unwrap();
    assert!(gcm.encrypt() && gcm.decrypt() && !gcm.sign());
    assert_eq!(
        rv(pkcs11.get_mechanism_info(slot, MechanismType::DES3_CBC)),
        RvError::MechanismInvalid
    );

    // Login: malformed and wrong PINs, then once for every session.
    let first = pkcs11.open_rw_session(slot).unwrap();
    assert_eq!(
        rv(first.login(UserType::User, Some(&pin("no-colon")))),
        RvError::PinIncorrect
    );
    assert_eq!(
        rv(first.login(UserType::User, Some(&pin("cu1:wrong-password")))),
        RvError::PinIncorrect
    );
    assert_eq!(
        rv(first
            .find_objects(&[])
            .map(|_| ())
            .and_then(|_| first.generate_random_vec(0).map(drop))
            .and_then(|_| first.sign_final())),
        RvError::OperationNotInitialized
    );
    assert_eq!(rv(aes_key_result(&first)), RvError::UserNotLoggedIn);
    first.login(UserType::User, Some(&pin(USER_PIN))).unwrap();
    let session = pkcs11.open_rw_session(slot).unwrap();
    assert_eq!(
        session.get_session_info().unwrap().session_state(),
        SessionState::RwUser
    );
    assert_eq!(
        rv(session.login(UserType::User, Some(&pin(USER_PIN)))),
        RvError::UserAlreadyLoggedIn
    );

    // RSA: hash-and-sign, prehashed DigestInfo, multi-part, PSS, OAEP.
    let (rsa_public, rsa_private) = rsa_pair(&session, "rsa-key");
    let message = b"signed through PKCS#11";
    let signature = session
        .sign(&Mechanism::Sha256RsaPkcs, rsa_private, message)
        .unwrap();
    session
        .verify(&Mechanism::Sha256RsaPkcs, rsa_public, message, &signature)
        .unwrap();
    assert_eq!(
        rv(session.verify(&Mechanism::Sha256RsaPkcs, rsa_public, b"other", &signature)),
        RvError::SignatureInvalid
    );
    let modulus = bytes_of(&session, rsa_private, AttributeType::Modulus);
    let exponent = bytes_of(&session, rsa_public, AttributeType::PublicExponent);
    assert_eq!(modulus.len(), 256);
    signature::RsaPublicKeyComponents {
        n: &modulus,
        e: &exponent,
    }
    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, &signature)
    .expect("the JDK-style check of the signature");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    digest_info.extend_from_slice(digest.as_ref());
    assert_eq!(
        session
            .sign(&Mechanism::RsaPkcs, rsa_private, &digest_info)
            .unwrap(),
        signature,
        "PKCS#1 v1.5 is deterministic"
    );
    session
        .sign_init(&Mechanism::Sha256RsaPkcs, rsa_private)
        .unwrap();
    session.sign_update(&message[..5]).unwrap();
    session.sign_update(&message[5..]).unwrap();
    assert_eq!(session.sign_final().unwrap(), signature);
    let pss = PkcsPssParams {
        hash_alg: MechanismType::SHA256,
        mgf: PkcsMgfType::MGF1_SHA256,
        s_len: 32.into(),
    };
    let pss_signature = session
        .sign(&Mechanism::Sha256RsaPkcsPss(pss), rsa_private, message)
        .unwrap();
    session
        .verify(
            &Mechanism::Sha256RsaPkcsPss(pss),
            rsa_public,
            message,
            &pss_signature,
        )
        .unwrap();
    session
        .verify(
            &Mechanism::RsaPkcsPss(pss),
            rsa_public,
            digest.as_ref(),
            &pss_signature,
        )
        .unwrap();
    let bad_pss = PkcsPssParams {
        s_len: 20.into(),
        ..pss
    };
    assert_eq!(
        rv(session.sign(&Mechanism::Sha256RsaPkcsPss(bad_pss), rsa_private, message)),
        RvError::MechanismParamInvalid
    );
    let oaep = PkcsOaepParams::new(
        MechanismType::SHA256,
        PkcsMgfType::MGF1_SHA256,
        PkcsOaepSource::empty(),
    );
    let sealed = session
        .encrypt(&Mechanism::RsaPkcsOaep(oaep), rsa_public, b"secret")
        .unwrap();
    assert_eq!(
        session
            .decrypt(&Mechanism::RsaPkcsOaep(oaep), rsa_private, &sealed)
            .unwrap(),
        b"secret"
    );

    // EC on the three curves: PKCS#11 r ‖ s signatures, checked by aws-lc-rs.
    for (params, fixed, size) in [
        (P256, Some(&signature::ECDSA_P256_SHA256_FIXED), 64),
        (P384, None, 96),
        (SECP256K1, Some(&signature::ECDSA_P256K1_SHA256_FIXED), 64),
    ] {
        let (public, private) = ec_pair(&session, params, "ec-key");
        let signature = session
            .sign(&Mechanism::EcdsaSha256, private, message)
            .unwrap();
        assert_eq!(signature.len(), size);
        let point = bytes_of(&session, public, AttributeType::EcPoint);
        assert_eq!(point[0], 0x04, "CKA_EC_POINT is a DER OCTET STRING");
        if let Some(fixed) = fixed {
            UnparsedPublicKey::new(fixed, &point[2..])
                .verify(message, &signature)
                .expect("ECDSA signature");
        }
        session
            .verify(&Mechanism::EcdsaSha256, public, message, &signature)
            .unwrap();
        let raw = session
            .sign(&Mechanism::Ecdsa, private, digest.as_ref())
            .unwrap();
        session
            .verify(&Mechanism::Ecdsa, public, digest.as_ref(), &raw)
            .unwrap();
        assert_eq!(
            rv(session.sign(&Mechanism::Sha256RsaPkcs, private, message)),
            RvError::KeyTypeInconsistent
        );
    }

    // AES: GCM (the HSM draws the IV and writes it back), CBC-PAD, key wrap.
    let aes = aes_key(&session, "aes-key");
    let mut iv = [0u8; 12];
    let ciphertext = session
        .encrypt(
            &Mechanism::AesGcm(GcmParams::new(&mut iv, b"aad", 128.into()).unwrap()),
            aes,
            b"plaintext",
        )
        .unwrap();
    assert_ne!(iv, [0u8; 12]);
    assert_eq!(ciphertext.len(), 9 + 16);
    let plain = session
        .decrypt(
            &Mechanism::AesGcm(GcmParams::new(&mut iv, b"aad", 128.into()).unwrap()),
            aes,
            &ciphertext,
        )
        .unwrap();
    assert_eq!(plain, b"plaintext");
    assert_eq!(
        rv(session.decrypt(
            &Mechanism::AesGcm(GcmParams::new(&mut iv, b"other", 128.into()).unwrap()),
            aes,
            &ciphertext
        )),
        RvError::EncryptedDataInvalid
    );
    let cbc = session
        .encrypt(&Mechanism::AesCbcPad([7u8; 16]), aes, b"sixteen bytes!!!")
        .unwrap();
    assert_eq!(cbc.len(), 32);
    assert_eq!(
        session
            .decrypt(&Mechanism::AesCbcPad([7u8; 16]), aes, &cbc)
            .unwrap(),
        b"sixteen bytes!!!"
    );
    let kek = aes_key(&session, "kek");
    let wrapped = session
        .wrap_key(&Mechanism::AesKeyWrapPad, kek, aes)
        .unwrap();
    let unwrapped = session
        .unwrap_key(
            &Mechanism::AesKeyWrapPad,
            kek,
            &wrapped,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Decrypt(true),
                Attribute::Label(b"unwrapped".to_vec()),
            ],
        )
        .unwrap();
    assert_eq!(
        session
            .decrypt(&Mechanism::AesCbcPad([7u8; 16]), unwrapped, &cbc)
            .unwrap(),
        b"sixteen bytes!!!"
    );

    // HMAC, digests and random.
    let hmac_key = session
        .generate_key(
            &Mechanism::GenericSecretKeyGen,
            &[
                Attribute::ValueLen(32.into()),
                Attribute::Sign(true),
                Attribute::Verify(true),
            ],
        )
        .unwrap();
    let mac = session
        .sign(&Mechanism::Sha256Hmac, hmac_key, message)
        .unwrap();
    assert_eq!(mac.len(), 32);
    session
        .verify(&Mechanism::Sha256Hmac, hmac_key, message, &mac)
        .unwrap();
    assert_eq!(
        session.digest(&Mechanism::Sha256, message).unwrap(),
        digest.as_ref()
    );
    assert_eq!(session.generate_random_vec(32).unwrap().len(), 32);

    // Attributes and the engine's rules.
    assert!(matches!(
        session
            .get_attribute_info(rsa_private, &[AttributeType::Value])
            .unwrap()[..],
        [cryptoki::object::AttributeInfo::Sensitive]
    ));
    assert_eq!(
        bytes_of(&session, rsa_private, AttributeType::Id),
        vec![0xab, 0x01]
    );
    assert_eq!(
        bytes_of(&session, rsa_private, AttributeType::Label),
        b"rsa-key"
    );
    session
        .update_attributes(aes, &[Attribute::Extractable(false)])
        .unwrap();
    assert_eq!(
        rv(session.update_attributes(aes, &[Attribute::Extractable(true)])),
        RvError::AttributeReadOnly
    );
    session
        .update_attributes(aes, &[Attribute::WrapWithTrusted(true)])
        .unwrap();
    assert_eq!(
        rv(session.update_attributes(aes, &[Attribute::WrapWithTrusted(false)])),
        RvError::AttributeReadOnly
    );
    assert_eq!(
        rv(session.update_attributes(aes, &[Attribute::Trusted(true)])),
        RvError::AttributeReadOnly
    );
    session
        .update_attributes(aes, &[Attribute::Label(b"renamed".to_vec())])
        .unwrap();
    let found = session
        .find_objects(&[
            Attribute::Label(b"rsa-key".to_vec()),
            Attribute::Class(ObjectClass::PRIVATE_KEY),
        ])
        .unwrap();
    assert_eq!(found, vec![rsa_private]);
    let secret_keys = session
        .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)])
        .unwrap();
    assert_eq!(secret_keys.len(), 4);

    // Certificates on the HSM (Azure's certificate storage): created,
    // found, read back, relabelled, copied and destroyed; keys are not copied.
    let der = {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["p11.example".to_string()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    };
    let (subject, issuer, serial) = certificate_names(&der);
    let certificate_template = |label: &str, subject: &[u8]| {
        vec![
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(CertificateType::X_509),
            Attribute::Token(true),
            Attribute::Value(der.clone()),
            Attribute::Subject(subject.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(vec![0xce, 0x01]),
        ]
    };
    let certificate = session
        .create_object(&certificate_template("p11-cert", &subject))
        .unwrap();
    assert_eq!(
        session
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Label(b"p11-cert".to_vec()),
            ])
            .unwrap(),
        vec![certificate]
    );
    match &session
        .get_attributes(
            certificate,
            &[
                AttributeType::Value,
                AttributeType::Subject,
                AttributeType::Issuer,
                AttributeType::SerialNumber,
                AttributeType::CertificateType,
                AttributeType::Id,
                AttributeType::Private,
            ],
        )
        .unwrap()[..]
    {
        [Attribute::Value(v), Attribute::Subject(s), Attribute::Issuer(i), Attribute::SerialNumber(n), Attribute::CertificateType(t), Attribute::Id(id), Attribute::Private(private)] =>
        {
            assert_eq!(v, &der);
            assert_eq!((s, i, n), (&subject, &issuer, &serial));
            assert_eq!(*t, CertificateType::X_509);
            assert_eq!(id, &[0xce, 0x01]);
            assert!(!private, "certificates are public objects");
        }
        other => panic!("certificate attributes: {other:?}"),
    }
    assert_eq!(
        rv(session.create_object(&certificate_template("wrong", b"\x30\x00"))),
        RvError::TemplateInconsistent,
        "a CKA_SUBJECT that is not the certificate's"
    );
    let mut garbage = certificate_template("garbage", &subject);
    garbage[3] = Attribute::Value(b"not a certificate".to_vec());
    assert_eq!(
        rv(session.create_object(&garbage)),
        RvError::AttributeValueInvalid
    );
    session
        .update_attributes(
            certificate,
            &[Attribute::Label(b"p11-cert-renamed".to_vec())],
        )
        .unwrap();
    assert_eq!(
        rv(session.update_attributes(certificate, &[Attribute::Value(der[1..].to_vec())])),
        RvError::AttributeReadOnly
    );
    let copy = session
        .copy_object(certificate, &[Attribute::Label(b"p11-cert-copy".to_vec())])
        .unwrap();
    assert_ne!(copy, certificate);
    assert_eq!(
        bytes_of(&session, copy, AttributeType::Label),
        b"p11-cert-copy"
    );
    assert_eq!(
        rv(session.copy_object(rsa_public, &[])),
        RvError::ActionProhibited,
        "keys are not CKA_COPYABLE"
    );
    assert_eq!(
        rv(session.sign(&Mechanism::Sha256RsaPkcs, certificate, message)),
        RvError::KeyTypeInconsistent
    );
    session.destroy_object(copy).unwrap();
    assert_eq!(
        session
            .find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
            .unwrap(),
        vec![certificate]
    );
    session.destroy_object(certificate).unwrap();
    assert!(session
        .find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
        .unwrap()
        .is_empty());

    // Wrong use.
    let missing = unsafe { ObjectHandle::new_from_raw(999_999) };
    assert_eq!(
        rv(session.sign(&Mechanism::Sha256RsaPkcs, missing, message)),
        RvError::KeyHandleInvalid
    );
    assert_eq!(rv(session.sign_final()), RvError::OperationNotInitialized);
    assert_eq!(
        rv(session.sign(&Mechanism::Sha256RsaPkcs, aes, message)),
        RvError::KeyTypeInconsistent
    );
    let read_only = pkcs11.open_ro_session(slot).unwrap();
    assert_eq!(rv(aes_key_result(&read_only)), RvError::SessionReadOnly);

    // Sixteen threads, a session each, signing and verifying at once.
    let pkcs11 = Arc::new(pkcs11);
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let pkcs11 = pkcs11.clone();
            std::thread::spawn(move || {
                let session = pkcs11.open_rw_session(slot).unwrap();
                for i in 0..10u8 {
                    let data = [i; 40];
                    let s = session
                        .sign(&Mechanism::Sha256RsaPkcs, rsa_private, &data)
                        .unwrap();
                    session
                        .verify(&Mechanism::Sha256RsaPkcs, rsa_public, &data, &s)
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a signing thread");
    }

    // Destroy, log out (for every session), finalize.
    session.destroy_object(unwrapped).unwrap();
    assert_eq!(
        rv(session.get_attributes(unwrapped, &[AttributeType::Label])),
        RvError::ObjectHandleInvalid
    );
    session.logout().unwrap();
    assert_eq!(
        first.get_session_info().unwrap().session_state(),
        SessionState::RwPublic
    );
    assert!(first.find_objects(&[]).unwrap().is_empty());
    assert_eq!(
        rv(first.sign(&Mechanism::Sha256RsaPkcs, rsa_private, message)),
        RvError::UserNotLoggedIn
    );
    drop((first, session, read_only));
    let pkcs11 = Arc::try_unwrap(pkcs11).ok().expect("the only reference");
    pkcs11.finalize().unwrap();

    // Implicit login from azcloudhsm_password, after a fresh C_Initialize.
    std::env::set_var("azcloudhsm_password", USER_PIN);
    let pkcs11 = Pkcs11::new(module_path()).unwrap();
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let session = pkcs11.open_ro_session(slot).unwrap();
    assert_eq!(
        session.get_session_info().unwrap().session_state(),
        SessionState::RoUser
    );
    let again = session
        .sign(&Mechanism::Sha256RsaPkcs, rsa_private, message)
        .unwrap();
    assert_eq!(again, signature);
    drop(session);
    pkcs11.finalize().unwrap();
    std::env::remove_var("azcloudhsm_password");
    drop(emu);
}

/// Subject, issuer and serial number (DER) of a certificate, read by
/// OpenSSL: the module must answer the same.
fn certificate_names(der: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.der"), der).unwrap();
    // `asn1parse` offsets of the TBS fields: serial, issuer, subject are the
    // TBS's 2nd, 4th and 6th children (after [0] version, before validity...).
    let parsed = run(std::process::Command::new("openssl")
        .args(["asn1parse", "-inform", "DER", "-in"])
        .arg(dir.path().join("c.der")));
    // depth-2 lines are the TBS's children: "off:d=2  hl=h l=len ..."
    let children: Vec<(usize, usize)> = parsed
        .lines()
        .filter(|l| l.contains("d=2"))
        .map(|l| {
            let offset: usize = l.split(':').next().unwrap().trim().parse().unwrap();
            let header: usize = l
                .split("hl=")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let length: usize = l
                .split(" l=")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            (offset, header + length)
        })
        .collect();
    let field = |n: usize| {
        let (offset, len) = children[n];
        der[offset..offset + len].to_vec()
    };
    // [0] version, serial, signature algorithm, issuer, validity, subject.
    (field(5), field(3), field(1))
}

fn aes_key_result(session: &Session) -> Result<ObjectHandle, Error> {
    session.generate_key(
        &Mechanism::AesKeyGen,
        &[Attribute::ValueLen(16.into()), Attribute::Encrypt(true)],
    )
}

/// Runs a tool; its output, or the test fails with what it said.
fn run(command: &mut std::process::Command) -> String {
    let output = command.output().expect("starting the tool");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

fn installed(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// OpenSC's pkcs11-tool and OpenSSL 3 through libp11's engine, unmodified,
/// with the module path swapped in (tests/run.sh installs both).
#[test]
fn pkcs11_tool_and_openssl_use_the_module() {
    if !installed("pkcs11-tool")
        || !std::path::Path::new("/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so").exists()
    {
        eprintln!("skipped: opensc and libengine-pkcs11-openssl are not installed (tests/run.sh installs them)");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emu = runtime.block_on(Emulator::start());
    let config = runtime.block_on(cluster_config(&emu));
    let module = module_path();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    let tool = || {
        let mut c = std::process::Command::new("pkcs11-tool");
        c.env("AZCLOUDHSM_CLIENT_CONFIG", &config)
            .env_remove("azcloudhsm_password")
            .arg("--module")
            .arg(&module);
        c
    };
    let slots = run(tool().arg("--list-slots"));
    assert!(
        slots.contains("token label") && slots.contains("login required"),
        "{slots}"
    );
    let mechanisms = run(tool().arg("--list-mechanisms"));
    assert!(
        mechanisms.contains("SHA256-RSA-PKCS") && mechanisms.contains("ECDSA"),
        "{mechanisms}"
    );
    run(tool().args([
        "--login",
        "--pin",
        USER_PIN,
        "--keypairgen",
        "--key-type",
        "rsa:2048",
        "--label",
        "tool-rsa",
        "--id",
        "01",
    ]));
    run(tool().args([
        "--login",
        "--pin",
        USER_PIN,
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "tool-ec",
        "--id",
        "02",
    ]));
    std::fs::write(file("data"), b"signed by pkcs11-tool\n").unwrap();
    for (id, mechanism) in [("01", "SHA256-RSA-PKCS"), ("02", "ECDSA-SHA256")] {
        run(tool()
            .args([
                "--login", "--pin", USER_PIN, "--sign", "-m", mechanism, "--id", id, "-i",
            ])
            .arg(file("data"))
            .arg("-o")
            .arg(file("sig")));
        let verified = run(tool()
            .args([
                "--login", "--pin", USER_PIN, "--verify", "-m", mechanism, "--id", id, "-i",
            ])
            .arg(file("data"))
            .arg("--signature-file")
            .arg(file("sig")));
        assert!(verified.contains("Signature is valid"), "{verified}");
    }
    // The public key read back, and the RSA signature checked by OpenSSL.
    run(tool()
        .args([
            "--login",
            "--pin",
            USER_PIN,
            "--sign",
            "-m",
            "SHA256-RSA-PKCS",
            "--id",
            "01",
            "-i",
        ])
        .arg(file("data"))
        .arg("-o")
        .arg(file("sig")));
    run(tool()
        .args([
            "--login",
            "--pin",
            USER_PIN,
            "--read-object",
            "--type",
            "pubkey",
            "--id",
            "01",
            "-o",
        ])
        .arg(file("public.der")));
    let verified = run(std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-keyform", "DER", "-verify"])
        .arg(file("public.der"))
        .arg("-signature")
        .arg(file("sig"))
        .arg(file("data")));
    assert!(verified.contains("Verified OK"), "{verified}");
    let objects = run(tool().args(["--login", "--pin", USER_PIN, "--list-objects"]));
    assert!(
        objects.contains("tool-rsa") && objects.contains("tool-ec"),
        "{objects}"
    );

    // OpenSSL through libp11's engine, logged in implicitly as the seed shows.
    let openssl = || {
        let mut c = std::process::Command::new("openssl");
        c.env("AZCLOUDHSM_CLIENT_CONFIG", &config)
            .env("PKCS11_MODULE_PATH", &module)
            .env("azcloudhsm_password", USER_PIN);
        c
    };
    let key = "pkcs11:object=tool-rsa;type=private";
    std::fs::write(
        file("hash"),
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"data").as_ref(),
    )
    .unwrap();
    run(openssl()
        .args([
            "pkeyutl",
            "-engine",
            "pkcs11",
            "-keyform",
            "engine",
            "-sign",
            "-pkeyopt",
            "digest:sha256",
            "-inkey",
            key,
            "-in",
        ])
        .arg(file("hash"))
        .arg("-out")
        .arg(file("pkeyutl.sig")));
    assert_eq!(std::fs::read(file("pkeyutl.sig")).unwrap().len(), 256);
    run(openssl()
        .args([
            "req",
            "-new",
            "-x509",
            "-engine",
            "pkcs11",
            "-keyform",
            "engine",
            "-key",
            key,
            "-subj",
            "/CN=pkcs11 test",
            "-days",
            "1",
            "-sha256",
            "-out",
        ])
        .arg(file("cert.pem")));
    let verified = run(std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(file("cert.pem"))
        .arg(file("cert.pem")));
    assert!(verified.contains("OK"), "{verified}");

    // The certificate onto the HSM next to its key (pkcs11-tool
    // --write-object), listed, read back unchanged, deleted.
    run(std::process::Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(file("cert.pem"))
        .arg("-out")
        .arg(file("cert.der")));
    run(tool()
        .args(["--login", "--pin", USER_PIN, "--write-object"])
        .arg(file("cert.der"))
        .args(["--type", "cert", "--id", "01", "--label", "tool-rsa"]));
    let certificates = run(tool().args([
        "--login",
        "--pin",
        USER_PIN,
        "--list-objects",
        "--type",
        "cert",
    ]));
    assert!(
        certificates.contains("Certificate Object") && certificates.contains("tool-rsa"),
        "{certificates}"
    );
    run(tool()
        .args([
            "--login",
            "--pin",
            USER_PIN,
            "--read-object",
            "--type",
            "cert",
            "--id",
            "01",
            "-o",
        ])
        .arg(file("back.der")));
    assert_eq!(
        std::fs::read(file("back.der")).unwrap(),
        std::fs::read(file("cert.der")).unwrap()
    );

    // OpenSSL 3's provider (Debian's pkcs11-provider, from bookworm-backports;
    // tests/run.sh installs it): the same key, the signature checked by
    // OpenSSL's default provider with the public key pkcs11-tool read.
    let provider = "/usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so";
    assert!(
        std::path::Path::new(provider).exists(),
        "{provider} is missing: tests/run.sh installs pkcs11-provider"
    );
    run(std::process::Command::new("openssl")
        .env("AZCLOUDHSM_CLIENT_CONFIG", &config)
        .env("PKCS11_PROVIDER_MODULE", &module)
        .env("azcloudhsm_password", USER_PIN)
        .args([
            "pkeyutl",
            "-provider",
            "pkcs11",
            "-provider",
            "default",
            "-sign",
            "-pkeyopt",
            "digest:sha256",
            "-inkey",
            key,
            "-in",
        ])
        .arg(file("hash"))
        .arg("-out")
        .arg(file("provider.sig")));
    let verified = run(std::process::Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-keyform",
            "DER",
            "-pkeyopt",
            "digest:sha256",
            "-inkey",
        ])
        .arg(file("public.der"))
        .arg("-in")
        .arg(file("hash"))
        .arg("-sigfile")
        .arg(file("provider.sig")));
    assert!(
        verified.contains("Signature Verified Successfully"),
        "{verified}"
    );
    run(tool().args([
        "--login",
        "--pin",
        USER_PIN,
        "--delete-object",
        "--type",
        "cert",
        "--id",
        "01",
    ]));
    let certificates = run(tool().args(["--login", "--pin", USER_PIN, "--list-objects"]));
    assert!(
        !certificates.contains("Certificate Object"),
        "{certificates}"
    );

    // pkcs11-tool's own self-test: reported, not a gate (it fails on
    // SoftHSMv2 too); the README explains what it reports.
    let report = tool()
        .args(["--login", "--pin", USER_PIN, "--test"])
        .output()
        .unwrap();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("pkcs11-tool-test.txt");
    let _ = std::fs::write(&target, [report.stdout, report.stderr].concat());
    eprintln!("pkcs11-tool --test report: {}", target.display());
    drop(emu);
}

/// Java's SunPKCS11 provider with a config file (`name`, `library`, `slot`):
/// a small program, compiled here, signs with RSA and EC keys it generates
/// on the token, and the JDK's own providers verify. The configuration has
/// no `localSocket`, as on another machine: the module's frames go over TCP
/// and TLS (the other PKCS#11 tests use the emulator's socket).
#[test]
fn java_sunpkcs11_signs_with_token_keys() {
    if !installed("javac") {
        eprintln!("skipped: no JDK (javac)");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emu = runtime.block_on(Emulator::start());
    let config = over_the_network(&runtime.block_on(cluster_config(&emu)));
    let dir = tempfile::tempdir().unwrap();
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pkcs11/SunPkcs11Check.java");
    run(std::process::Command::new("javac")
        .arg("-d")
        .arg(dir.path())
        .arg(&source));
    let java_config = dir.path().join("pkcs11.cfg");
    std::fs::write(
        &java_config,
        format!(
            // Generated keys are token keys (the usual SunPKCS11 line for an
            // HSM): KeyStore.setKeyEntry would otherwise copy a session key
            // into a token key with C_CopyObject, which HSM keys refuse.
            "name = AzureCloudHSM\nlibrary = {}\nslot = 0\nattributes(generate, *, *) = {{\n  CKA_TOKEN = true\n}}\n",
            module_path().display()
        ),
    )
    .unwrap();
    let output = run(std::process::Command::new("java")
        .env("AZCLOUDHSM_CLIENT_CONFIG", &config)
        .env("azcloudhsm_password", USER_PIN)
        .arg("-cp")
        .arg(dir.path())
        .arg("SunPkcs11Check")
        .arg(&java_config));
    assert!(output.contains("SunPKCS11 OK"), "{output}");
    assert!(output.contains("KeyStore aliases [java-rsa]"), "{output}");
    drop(emu);
}
