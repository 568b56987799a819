//! The framed stream for sign, verify, encrypt and decrypt, through the
//! emulator binary: the client uses it with the HTTP API's rules and error
//! codes, many requests of many sessions are in flight on one connection,
//! bad frames are answered or end the connection, and a stopped HSM makes the
//! client fail over and come back to the stream.

use std::time::Duration;

use cloudhsm_data_plane::{
    engine::{
        attributes::{ids, Attribute},
        keys::Curve,
    },
    server::frames::{self, RequestFrame, PROTOCOL},
    KeySpec,
};
use cloudhsm_e2e_tests::{cluster_path, usage, Emulator};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn key_usage() -> Vec<(u32, Attribute)> {
    usage(&[ids::SIGN, ids::VERIFY, ids::ENCRYPT, ids::DECRYPT])
}

/// An activated cluster with crypto users `cu1` and `cu2`.
async fn cluster_with_users(emu: &Emulator) -> Value {
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "chsm1").await;
    emu.activate(&cluster, "officer-password").await;
    let officer = officer_of(emu, &cluster).await;
    officer.create_user("CU", "cu1", "user1234").await.unwrap();
    officer.create_user("CU", "cu2", "user1234").await.unwrap();
    cluster
}

/// The data-plane endpoint and its CA, as `data-plane.json` has them.
fn data_plane(emu: &Emulator) -> (String, Vec<u8>) {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(emu.data_dir().join("data-plane.json")).unwrap(),
    )
    .unwrap();
    let ca = std::fs::read(v["caCertificate"].as_str().unwrap()).unwrap();
    (v["endpoint"].as_str().unwrap().to_string(), ca)
}

fn http1(ca: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap()
}

/// A login and `sessions` sessions over the HTTP API: (token, sessions).
/// The cluster's crypto officer, logged in.
async fn officer_of(emu: &Emulator, cluster: &Value) -> cloudhsm_data_plane::client::HsmClient {
    let officer = emu.hsm_client(cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    officer
}

async fn raw_login(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    sessions: usize,
) -> (String, Vec<u64>) {
    let login: Value = http
        .post(format!("{base}/login"))
        .json(&json!({"user_type": "CU", "user": user, "password": "user1234"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let mut handles = Vec::new();
    for _ in 0..sessions {
        let session: Value = http
            .post(format!("{base}/sessions"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        handles.push(session["session"].as_u64().unwrap());
    }
    (token, handles)
}

async fn upgrade(http: &reqwest::Client, base: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = http
        .get(format!("{base}/stream"))
        .header("connection", "upgrade")
        .header("upgrade", PROTOCOL);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Reads one response frame: (id, status, output or code).
async fn read_response(io: &mut reqwest::Upgraded) -> (u32, u16, Vec<u8>) {
    let mut body = Vec::new();
    frames::read_frame(io, &mut body)
        .await
        .unwrap()
        .expect("a response frame");
    let frame = frames::decode_response(&body).expect("a well-formed response");
    match frame.result {
        Ok(out) => (frame.id, 200, out),
        Err((status, code, _)) => (frame.id, status, code.into_bytes()),
    }
}

#[tokio::test]
async fn the_client_signs_and_encrypts_over_the_stream_with_the_apis_rules() {
    let emu = Emulator::start().await;
    let cluster = cluster_with_users(&emu).await;
    let cu = emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let (public, private) = cu
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, key_usage())
        .await
        .unwrap();
    // No SIGN: HMAC with it is refused below.
    let aes = cu
        .generate_key(
            KeySpec::Aes { bits: 256 },
            usage(&[ids::ENCRYPT, ids::DECRYPT]),
        )
        .await
        .unwrap();
    assert_eq!(cu.streamed_operations(), 0);

    let signature = cu.sign(private, "ECDSA", b"payload").await.unwrap();
    cu.verify(public, "ECDSA", b"payload", &signature)
        .await
        .unwrap();
    let der = cu.export_public_key(public).await.unwrap();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
        &der,
    )
    .verify(b"payload", &signature)
    .unwrap();
    let sealed = cu
        .encrypt(aes, "AES_GCM", &[5u8; 4096], b"aad")
        .await
        .unwrap();
    assert_eq!(
        cu.decrypt(aes, "AES_GCM", &sealed, b"aad").await.unwrap(),
        vec![5u8; 4096]
    );
    assert_eq!(cu.streamed_operations(), 4, "all four went over the stream");

    // Audited as over HTTP: named, with the caller's address, also for an
    // RSA sign (which runs on a blocking thread).
    let (_, rsa) = cu
        .generate_key_pair(KeySpec::Rsa { bits: 2048 }, key_usage())
        .await
        .unwrap();
    cu.sign(rsa, "SHA256_RSA_PKCS", b"payload").await.unwrap();
    assert_eq!(cu.streamed_operations(), 5);
    let events = cu.audit_events(emu.token()).await.unwrap();
    for name in ["CN_SIGN", "CN_VERIFY", "CN_ENCRYPT", "CN_DECRYPT"] {
        let named: Vec<_> = events
            .iter()
            .filter(|e| e["OperationName"] == name)
            .collect();
        assert!(!named.is_empty(), "no {name} event");
        for event in named {
            assert_eq!(event["CallerIpAddress"], "127.0.0.1", "{name}");
        }
    }
    assert_eq!(
        events
            .iter()
            .filter(|e| e["OperationName"] == "CN_SIGN")
            .count(),
        2
    );

    // The same errors as over HTTP, answered by the stream.
    let cases: Vec<(u64, &str, Vec<u8>, u16, &str)> = vec![
        (
            private,
            "ROT13",
            b"x".to_vec(),
            400,
            "CKR_MECHANISM_INVALID",
        ),
        (
            aes,
            "SHA256_HMAC",
            b"x".to_vec(),
            403,
            "CKR_KEY_FUNCTION_NOT_PERMITTED",
        ),
        (private, "ECDSA", vec![0u8; 20_000], 400, "CKR_DATA_INVALID"),
        (
            999_999,
            "ECDSA",
            b"x".to_vec(),
            404,
            "CKR_OBJECT_HANDLE_INVALID",
        ),
    ];
    for (handle, mechanism, data, status, code) in cases {
        let e = cu.sign(handle, mechanism, &data).await.unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (status, code), "{mechanism}");
    }
    let forged = cu
        .verify(public, "ECDSA", b"other payload", &signature)
        .await
        .unwrap_err();
    assert_eq!(forged.code, "CKR_SIGNATURE_INVALID");
    assert_eq!(cu.streamed_operations(), 10);

    // Another user sharing the connection cannot use cu1's key.
    let other = emu.hsm_client(&cluster);
    other.login("CU", "cu2", "user1234").await.unwrap();
    let e = other.sign(private, "ECDSA", b"x").await.unwrap_err();
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "CKR_OBJECT_HANDLE_INVALID")
    );
    assert_eq!(other.streamed_operations(), 1);

    // A client told not to stream sends HTTPS+JSON, with the same results.
    let json_only = emu.hsm_client(&cluster).without_stream();
    json_only.login("CU", "cu1", "user1234").await.unwrap();
    let signature = json_only.sign(private, "ECDSA", b"json").await.unwrap();
    json_only
        .verify(public, "ECDSA", b"json", &signature)
        .await
        .unwrap();
    let e = json_only.sign(private, "ROT13", b"x").await.unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (400, "CKR_MECHANISM_INVALID"));
    assert_eq!(json_only.streamed_operations(), 0);

    // After logout the client holds no login and says so, as before.
    cu.logout().await.unwrap();
    let e = cu.sign(private, "ECDSA", b"x").await.unwrap_err();
    assert_eq!(e.code, "CKR_USER_NOT_LOGGED_IN");
}

#[tokio::test]
async fn many_sessions_share_one_connection_and_bad_frames_are_refused() {
    let emu = Emulator::start().await;
    let cluster = cluster_with_users(&emu).await;
    let owner = emu.hsm_client(&cluster);
    owner.login("CU", "cu1", "user1234").await.unwrap();
    let (public, private) = owner
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, key_usage())
        .await
        .unwrap();
    let der = owner.export_public_key(public).await.unwrap();

    let (endpoint, ca) = data_plane(&emu);
    let hsm = cluster["properties"]["hsms"][0]["fqdn"].as_str().unwrap();
    let base = format!("{endpoint}/hsms/{hsm}");
    let http = http1(&ca);
    let (token, sessions) = raw_login(&http, &base, "cu1", 8).await;
    let (other_token, _) = raw_login(&http, &base, "cu2", 1).await;

    // No login, or no Upgrade: refused in the API's error shape.
    let anonymous = upgrade(&http, &base, None).await;
    assert_eq!(anonymous.status(), 401);
    let plain = http
        .get(format!("{base}/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 426);
    let body: Value = plain.json().await.unwrap();
    assert_eq!(body["code"], "RET_INVALID_REQUEST");

    let response = upgrade(&http, &base, Some(&token)).await;
    assert_eq!(response.status(), 101);
    let mut io = response.upgrade().await.unwrap();

    // An ECDSA frame for the key, and the check of its answer.
    let frame = |id, op, session, token: &str, data: &[u8], out: &mut Vec<u8>| {
        frames::encode_request(
            &RequestFrame {
                id,
                op,
                session,
                handle: private,
                token,
                mechanism: "ECDSA",
                data,
                signature: &[],
                aad: &[],
            },
            out,
        )
    };
    let verify = |message: &str, signature: &[u8]| {
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            &der,
        )
        .verify(message.as_bytes(), signature)
        .unwrap()
    };

    // Eight sessions' signs written at once, answered by id.
    let mut batch = Vec::new();
    for (i, session) in sessions.iter().enumerate() {
        let message = format!("message {i}");
        frame(
            100 + i as u32,
            1,
            *session,
            &token,
            message.as_bytes(),
            &mut batch,
        );
    }
    io.write_all(&batch).await.unwrap();
    let mut answered = Vec::new();
    for _ in &sessions {
        let (id, status, signature) = read_response(&mut io).await;
        assert_eq!(status, 200, "frame {id}");
        verify(&format!("message {}", id - 100), &signature);
        answered.push(id);
    }
    answered.sort();
    assert_eq!(answered, (100..108).collect::<Vec<_>>());

    // A lone caller's frames (op's high bit set: the server watches for the
    // next one) are answered as any other, also when the next comes only
    // after the server has stopped watching and gone to sleep.
    for (i, pause) in [0u64, 0, 20, 0].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let message = format!("lone {i}");
        let mut lone = Vec::new();
        let id = 200 + i as u32;
        frame(
            id,
            1 | frames::LONE_CALLER,
            sessions[0],
            &token,
            message.as_bytes(),
            &mut lone,
        );
        io.write_all(&lone).await.unwrap();
        let (answered, status, signature) = read_response(&mut io).await;
        assert_eq!((answered, status), (id, 200));
        verify(&message, &signature);
    }

    // Each frame is authorised on its own: a token that is no login, a
    // session of another login, an unknown operation, a malformed frame.
    let refusals: [(u32, u8, &str, u16, &[u8]); 4] = [
        (1, 1, "not-a-token", 401, b"CKR_USER_NOT_LOGGED_IN"),
        (2, 1, &other_token, 404, b"CKR_SESSION_HANDLE_INVALID"),
        (3, 9, &token, 400, b"RET_INVALID_REQUEST"),
        (
            4,
            9 | frames::LONE_CALLER,
            &token,
            400,
            b"RET_INVALID_REQUEST",
        ),
    ];
    for (id, op, token, status, code) in refusals {
        let mut bad = Vec::new();
        frame(id, op, sessions[0], token, b"x", &mut bad);
        io.write_all(&bad).await.unwrap();
        assert_eq!(read_response(&mut io).await, (id, status, code.to_vec()));
    }
    let mut garbage = 6u32.to_be_bytes().to_vec();
    garbage.extend_from_slice(&4u32.to_be_bytes());
    garbage.extend_from_slice(&[0xff, 0xff]);
    io.write_all(&garbage).await.unwrap();
    assert_eq!(
        read_response(&mut io).await,
        (4, 400, b"RET_INVALID_REQUEST".to_vec())
    );

    // The connection still works after refusals...
    let mut good = Vec::new();
    frame(5, 1, sessions[0], &token, b"x", &mut good);
    io.write_all(&good).await.unwrap();
    assert_eq!(read_response(&mut io).await.1, 200);

    // ...but a frame longer than any request ends it.
    io.write_all(&(frames::MAX_FRAME as u32 + 1).to_be_bytes())
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = io.read_to_end(&mut rest).await;
    assert!(
        read.is_err() || rest.is_empty(),
        "the server closed the stream"
    );
}

#[tokio::test]
async fn a_stopped_hsm_sends_the_client_to_the_next_and_back_to_the_stream() {
    let emu = Emulator::start().await;
    let cluster = cluster_with_users(&emu).await;
    let officer = officer_of(&emu, &cluster).await;
    let cu = emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let (public, private) = cu
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, key_usage())
        .await
        .unwrap();
    cu.sign(private, "ECDSA", b"before").await.unwrap();
    assert_eq!(cu.streamed_operations(), 1);

    // HSM 1 stops: its stream answers 503, the client fails over over
    // HTTP to HSM 2, and from then on streams to HSM 2.
    officer.admin_node(emu.token(), 0, "stop").await.unwrap();
    let signature = cu.sign(private, "ECDSA", b"during").await.unwrap();
    assert_eq!(cu.streamed_operations(), 1, "the failover went over HTTP");
    cu.verify(public, "ECDSA", b"during", &signature)
        .await
        .unwrap();
    assert_eq!(cu.streamed_operations(), 2, "then the stream to HSM 2");

    // Deleting the cluster ends it for a stream already open, too: from the
    // moment the deletion is accepted, not only once it has finished.
    let deleted = emu
        .call(Method::DELETE, &cluster_path("rg", "chsm1"), None)
        .await;
    assert_eq!(deleted.status, 202);
    let gone = cu.sign(private, "ECDSA", b"deleting").await.unwrap_err();
    assert_eq!((gone.status, gone.code.as_str()), (404, "RET_UNKNOWN_HSM"));
    emu.wait_location(&deleted.header("location").unwrap())
        .await;
    let gone = cu.sign(private, "ECDSA", b"after").await.unwrap_err();
    assert_eq!((gone.status, gone.code.as_str()), (404, "RET_UNKNOWN_HSM"));
}

/// The calling thread's own connection (what the PKCS#11 module uses): it
/// answers as the shared stream does, lets a lone caller watch its socket,
/// and stands aside (`None`) whenever the async path must answer instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calling_threads_connection_answers_and_stands_aside_when_it_must() {
    use cloudhsm_data_plane::server::CryptoOp;
    use std::sync::Arc;
    let emu = Emulator::start().await;
    let cluster = cluster_with_users(&emu).await;
    let officer = officer_of(&emu, &cluster).await;
    let cu = Arc::new(emu.hsm_client(&cluster));
    // Not logged in: nothing to send with.
    let blocking = |cu: &Arc<cloudhsm_data_plane::client::HsmClient>,
                    handle: u64,
                    op: CryptoOp,
                    data: Vec<u8>,
                    signature: Vec<u8>| {
        let cu = cu.clone();
        tokio::task::spawn_blocking(move || {
            cu.crypto_blocking(cloudhsm_data_plane::client::CryptoInput {
                signature: &signature,
                ..cloudhsm_data_plane::client::CryptoInput::new(handle, op, "ECDSA", &data)
            })
        })
    };
    assert!(blocking(&cu, 1, CryptoOp::Sign, b"x".to_vec(), vec![])
        .await
        .unwrap()
        .is_none());
    cu.login("CU", "cu1", "user1234").await.unwrap();
    let (public, private) = cu
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, key_usage())
        .await
        .unwrap();

    let mut signatures = Vec::new();
    for i in 0..50u8 {
        let signature = blocking(&cu, private, CryptoOp::Sign, vec![i; 32], vec![])
            .await
            .unwrap()
            .expect("answered on the calling thread")
            .expect("signed");
        signatures.push(signature);
    }
    assert_eq!(cu.streamed_operations(), 50);
    let der = cu.export_public_key(public).await.unwrap();
    for (i, signature) in signatures.iter().enumerate() {
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            &der,
        )
        .verify(&[i as u8; 32], signature)
        .unwrap();
    }
    let verified = blocking(
        &cu,
        public,
        CryptoOp::Verify,
        vec![0; 32],
        signatures[0].clone(),
    )
    .await
    .unwrap();
    assert!(matches!(verified, Some(Ok(_))), "{verified:?}");
    // The API's errors come back as answers.
    let missing = blocking(&cu, 999_999, CryptoOp::Sign, b"x".to_vec(), vec![])
        .await
        .unwrap()
        .expect("answered")
        .unwrap_err();
    assert_eq!(
        (missing.status, missing.code.as_str()),
        (404, "CKR_OBJECT_HANDLE_INVALID")
    );

    // HSM 1 stops: the calling thread's path stands aside, the async path
    // fails over, and the operation is done once.
    officer.admin_node(emu.token(), 0, "stop").await.unwrap();
    let before = cu.streamed_operations();
    let aside = blocking(&cu, private, CryptoOp::Sign, b"down".to_vec(), vec![])
        .await
        .unwrap();
    assert!(aside.is_none(), "{aside:?}");
    assert_eq!(cu.streamed_operations(), before);
    cu.sign(private, "ECDSA", b"down").await.unwrap();
}

/// The emulator serves the data plane on `localSocket` (0600, named in
/// `data-plane.json`) with the same router and rules; a client whose
/// configuration names it sends its calling thread's frames there, and one
/// whose socket is gone uses the endpoint. `--no-local-socket` serves none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_socket_serves_the_same_api_and_clients_fall_back_from_it() {
    use cloudhsm_data_plane::{
        client::{ClientConfig, CryptoInput, HsmClient},
        server::CryptoOp,
    };
    use std::{
        os::unix::fs::PermissionsExt,
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
    };
    let emu = Emulator::start().await;
    let cluster = cluster_with_users(&emu).await;
    let hsm = cluster["properties"]["hsms"][0]["fqdn"]
        .as_str()
        .unwrap()
        .to_string();
    let described: Value = serde_json::from_str(
        &std::fs::read_to_string(emu.data_dir().join("data-plane.json")).unwrap(),
    )
    .unwrap();
    let socket = std::path::PathBuf::from(described["localSocket"].as_str().expect("localSocket"));
    assert_eq!(socket, emu.data_dir().join("data-plane.sock"));
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only the emulator's user may connect");

    // The same API: a stream without a login is refused with its error body.
    let mut raw = tokio::net::UnixStream::connect(&socket).await.unwrap();
    raw.write_all(
        format!(
            "GET /hsms/{hsm}/stream HTTP/1.1\r\nHost: localhost\r\nConnection: upgrade\r\nUpgrade: {PROTOCOL}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // The head and the JSON body, however many reads they take.
    let mut answer = Vec::new();
    while !answer.ends_with(b"}") {
        let mut chunk = [0u8; 4096];
        let read = raw.read(&mut chunk).await.unwrap();
        assert!(read > 0, "closed after {answer:?}");
        answer.extend_from_slice(&chunk[..read]);
    }
    let head = String::from_utf8_lossy(&answer).to_string();
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(head.contains("CKR_USER_NOT_LOGGED_IN"), "{head}");

    // A relay in front of the socket counts what the client sends through it.
    let dir = tempfile::tempdir().unwrap();
    let relay_path = dir.path().join("relay.sock");
    let relay = tokio::net::UnixListener::bind(&relay_path).unwrap();
    let relayed = Arc::new(AtomicUsize::new(0));
    let counted = relayed.clone();
    let target = socket.clone();
    let relaying = tokio::spawn(async move {
        while let Ok((mut client, _)) = relay.accept().await {
            let mut server = tokio::net::UnixStream::connect(&target).await.unwrap();
            let counted = counted.clone();
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.split();
                let (mut server_read, mut server_write) = server.split();
                let up = async {
                    let mut buffer = vec![0u8; 64 * 1024];
                    loop {
                        let n = client_read.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 || server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                        counted.fetch_add(n, Ordering::SeqCst);
                    }
                };
                let down = tokio::io::copy(&mut server_read, &mut client_write);
                let _ = tokio::join!(up, down);
            });
        }
    });
    let endpoint = described["endpoint"].as_str().unwrap().to_string();
    let ca = std::fs::read(described["caCertificate"].as_str().unwrap()).unwrap();
    let client_with = |local_socket: std::path::PathBuf| {
        Arc::new(
            HsmClient::new(ClientConfig {
                endpoint: endpoint.clone(),
                hsm_addresses: vec![hsm.clone()],
                ca_pem: Some(ca.clone()),
                local_socket: Some(local_socket),
            })
            .unwrap(),
        )
    };
    let sign_blocking = |cu: Arc<HsmClient>, handle: u64, message: Vec<u8>| {
        tokio::task::spawn_blocking(move || {
            cu.crypto_blocking(CryptoInput::new(handle, CryptoOp::Sign, "ECDSA", &message))
        })
    };
    let through_relay = client_with(relay_path.clone());
    through_relay.login("CU", "cu1", "user1234").await.unwrap();
    let (public, private) = through_relay
        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, key_usage())
        .await
        .unwrap();
    let der = through_relay.export_public_key(public).await.unwrap();
    for i in 0..20u8 {
        let signature = sign_blocking(through_relay.clone(), private, vec![i; 32])
            .await
            .unwrap()
            .expect("answered on the calling thread")
            .expect("signed");
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            &der,
        )
        .verify(&[i; 32], &signature)
        .unwrap();
    }
    // The upgrade and 20 frames of at least 32 bytes each went through it.
    assert!(
        relayed.load(Ordering::SeqCst) > 20 * 32,
        "{} bytes relayed",
        relayed.load(Ordering::SeqCst)
    );
    // A thread of the emulator's own serves that stream (see local.rs).
    let threads = std::fs::read_dir(format!("/proc/{}/task", emu.pid().expect("pid")))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .collect::<Vec<_>>();
    assert!(
        threads
            .iter()
            .any(|name| name.starts_with("hsm-local-strea")),
        "{threads:?}"
    );
    relaying.abort();

    // A configured socket that does not exist leaves the endpoint.
    let elsewhere = client_with(dir.path().join("no-emulator-here.sock"));
    elsewhere.login("CU", "cu1", "user1234").await.unwrap();
    let answered = sign_blocking(elsewhere.clone(), private, vec![7; 32])
        .await
        .unwrap();
    assert!(matches!(answered, Some(Ok(_))), "{answered:?}");

    // Killed, the emulator leaves its socket file behind; started again on
    // the same data dir, it replaces it and serves there again.
    let emu = emu.restart().await;
    assert!(socket.exists());
    // (Its TCP port is a new one: the client reads data-plane.json again.)
    let again = Arc::new(emu.hsm_client(&cluster));
    again.login("CU", "cu1", "user1234").await.unwrap();
    let answered = sign_blocking(again.clone(), private, vec![8; 32])
        .await
        .unwrap();
    assert!(matches!(answered, Some(Ok(_))), "{answered:?}");
    assert_eq!(again.streamed_operations(), 1);
    drop(emu);

    let without =
        Emulator::start_with(&["--provisioning-delay", "200ms", "--no-local-socket"]).await;
    let described: Value = serde_json::from_str(
        &std::fs::read_to_string(without.data_dir().join("data-plane.json")).unwrap(),
    )
    .unwrap();
    assert!(described["localSocket"].is_null(), "{described}");
    assert!(!without.data_dir().join("data-plane.sock").exists());
}
