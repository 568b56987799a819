//! Every data-plane route, tried with no credentials, with a login of each
//! HSM role (CO, CU, AU), with the emulator's admin credential (a token of
//! the well-known principal) and with another principal's token: each answer
//! (status and error code) is what the route's door says. Only the commands
//! `azcloudhsm_util` runs without a login (loginHSM, listUsers, getChallenge,
//! unlockCO with PO.key's signature) answer without one; the emulator's own
//! admin routes (HSM node faults, audit reads) answer only the admin.
//!
//! The table must name every route the data plane serves: the test reads
//! the routers' sources and fails for a route it does not walk.

use cloudhsm_data_plane::engine::keys::KeySpec;
use cloudhsm_e2e_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Who sends the request.
const CALLERS: [&str; 6] = ["none", "CO", "CU", "AU", "admin", "other-sp"];

struct Walk {
    method: Method,
    /// Under `/hsms/{hsm}`; `{h}` is a key of the CU's, `{s}` the caller's session.
    path: &'static str,
    /// The route as the router declares it.
    route: &'static str,
    body: Option<Value>,
    /// Per caller (in [`CALLERS`] order): `"200"` or `"403 CODE"`.
    expect: [&'static str; 6],
}

const NOT_LOGGED_IN: &str = "401 CKR_USER_NOT_LOGGED_IN";
const NO_ADMIN_HEADER: &str = "401 AuthenticationFailed";
/// An HSM login token is not a control-plane token.
const NOT_A_JWT: &str = "401 InvalidAuthenticationToken";
const NOT_THE_ADMIN: &str = "403 AuthorizationFailed";

/// A route that needs a login: the door refuses no credentials and
/// control-plane tokens alike; the roles get their engine's answers.
fn login(co: &'static str, cu: &'static str, au: &'static str) -> [&'static str; 6] {
    [NOT_LOGGED_IN, co, cu, au, NOT_LOGGED_IN, NOT_LOGGED_IN]
}

/// A route that needs no login: the same answer for everyone.
fn open(answer: &'static str) -> [&'static str; 6] {
    [answer; 6]
}

/// An emulator admin route.
fn admin(answer: &'static str) -> [&'static str; 6] {
    [
        NO_ADMIN_HEADER,
        NOT_A_JWT,
        NOT_A_JWT,
        NOT_A_JWT,
        answer,
        NOT_THE_ADMIN,
    ]
}

fn walks() -> Vec<Walk> {
    let w = |method: Method,
             path: &'static str,
             route: &'static str,
             body: Option<Value>,
             expect: [&'static str; 6]| Walk {
        method,
        path,
        route,
        body,
        expect,
    };
    use Method as M;
    let deny = "403 RET_OPERATION_NOT_PERMITTED";
    vec![
        w(
            M::POST,
            "/login",
            "/login",
            Some(json!({"user_type": "CU", "user": "cu1", "password": "user1234"})),
            open("200"),
        ),
        w(
            M::POST,
            "/sessions",
            "/sessions",
            None,
            login("200", "200", "200"),
        ),
        w(
            M::DELETE,
            "/sessions/999999",
            "/sessions/{session}",
            None,
            login(
                "404 CKR_SESSION_HANDLE_INVALID",
                "404 CKR_SESSION_HANDLE_INVALID",
                "404 CKR_SESSION_HANDLE_INVALID",
            ),
        ),
        w(M::GET, "/users", "/users", None, open("200")),
        w(
            M::POST,
            "/users",
            "/users",
            Some(json!({"user_type": "CU", "name": "walker", "password": "walker-pass"})),
            login("201", deny, deny),
        ),
        w(
            M::DELETE,
            "/users/nobody",
            "/users/{name}",
            None,
            login("404 RET_USER_NOT_FOUND", deny, deny),
        ),
        w(
            M::POST,
            "/users/nobody/password",
            "/users/{name}/password",
            Some(json!({"password": "whatever-123"})),
            login("404 RET_USER_NOT_FOUND", deny, deny),
        ),
        w(
            M::POST,
            "/users/nobody/unlock",
            "/users/{name}/unlock",
            None,
            login("404 RET_USER_NOT_FOUND", deny, deny),
        ),
        w(
            M::POST,
            "/users/nobody/sync",
            "/users/{name}/sync",
            None,
            login("404 RET_USER_NOT_FOUND", deny, deny),
        ),
        w(
            M::POST,
            "/keys",
            "/keys",
            Some(json!({"spec": {"Aes": {"bits": 128}}})),
            login(deny, "200", deny),
        ),
        w(
            M::POST,
            "/keypairs",
            "/keypairs",
            Some(json!({"spec": {"Ec": {"curve": "P256"}}})),
            login(deny, "200", deny),
        ),
        w(
            M::POST,
            "/keys/find",
            "/keys/find",
            Some(json!({"filter": []})),
            login(deny, "200", deny),
        ),
        w(
            M::DELETE,
            "/keys/999999",
            "/keys/{handle}",
            None,
            login(deny, "404 CKR_OBJECT_HANDLE_INVALID", deny),
        ),
        w(
            M::GET,
            "/keys/{h}/attributes/3",
            "/keys/{handle}/attributes/{id}",
            None,
            login(deny, "200", deny),
        ),
        w(
            M::PUT,
            "/keys/{h}/attributes/3",
            "/keys/{handle}/attributes/{id}",
            Some(json!({"value": {"Text": "walked"}})),
            login("204", "204", "404 CKR_OBJECT_HANDLE_INVALID"),
        ),
        w(
            M::POST,
            "/keys/{h}/share",
            "/keys/{handle}/share",
            Some(json!({"user": "nobody", "share": true})),
            login(deny, "404 RET_USER_NOT_FOUND", deny),
        ),
        w(
            M::GET,
            "/keys/{h}/public",
            "/keys/{handle}/public",
            None,
            login(deny, "403 CKR_KEY_UNEXTRACTABLE", deny),
        ),
        w(
            M::GET,
            "/keys/{h}/nodes",
            "/keys/{handle}/nodes",
            None,
            login("200", "200", "200"),
        ),
        w(
            M::POST,
            "/keys/{h}/wrap",
            "/keys/{handle}/wrap",
            Some(json!({"target": 999999, "mechanism": "AES_KEY_WRAP_PAD"})),
            login(deny, "403 CKR_KEY_FUNCTION_NOT_PERMITTED", deny),
        ),
        w(
            M::POST,
            "/keys/{h}/unwrap",
            "/keys/{handle}/unwrap",
            Some(
                json!({"mechanism": "AES_KEY_WRAP_PAD", "data": "AAAA", "spec": {"Aes": {"bits": 128}}}),
            ),
            login(deny, "403 CKR_KEY_FUNCTION_NOT_PERMITTED", deny),
        ),
        w(
            M::POST,
            "/keys/{h}/encrypt",
            "/keys/{handle}/{operation}",
            Some(json!({"mechanism": "AES_GCM", "data": "aGVsbG8="})),
            login(deny, "200", deny),
        ),
        w(M::GET, "/nodes", "/nodes", None, login("200", "200", "200")),
        w(
            M::GET,
            "/stream",
            "/stream",
            None,
            login(
                "426 RET_INVALID_REQUEST",
                "426 RET_INVALID_REQUEST",
                "426 RET_INVALID_REQUEST",
            ),
        ),
        // certificates.rs: certificate objects, and copies (certificates only)
        w(
            M::POST,
            "/certificates",
            "/certificates",
            Some(json!({"data": "AAAA", "attributes": []})),
            login(deny, "400 CKR_ATTRIBUTE_VALUE_INVALID", deny),
        ),
        w(
            M::POST,
            "/keys/{h}/copy",
            "/keys/{handle}/copy",
            Some(json!({"attributes": []})),
            // Keys are not copyable (the module answers CKR_ACTION_PROHIBITED).
            login(deny, deny, deny),
        ),
        // partition.rs
        w(
            M::GET,
            "/partition/csr",
            "/partition/csr",
            None,
            login("200", deny, deny),
        ),
        w(
            M::POST,
            "/partition/certificates",
            "/partition/certificates",
            Some(json!({"certificate_type": 4, "certificate": "not a certificate"})),
            login("409 RET_CERTIFICATE_EXISTS", deny, deny),
        ),
        w(
            M::POST,
            "/users/admin/challenge",
            "/users/{name}/challenge",
            None,
            open("200"),
        ),
        w(
            M::POST,
            "/users/nobody/unlock-co",
            "/users/{name}/unlock-co",
            Some(json!({"signature": "AAAA"})),
            open("404 RET_USER_NOT_FOUND"),
        ),
        w(
            M::POST,
            "/keys/{h}/masked",
            "/keys/{handle}/masked",
            None,
            login(deny, "200", deny),
        ),
        w(
            M::POST,
            "/keys/masked",
            "/keys/masked",
            Some(json!({"data": "AAAA"})),
            login(deny, "400 CKR_WRAPPED_KEY_INVALID", deny),
        ),
        w(
            M::POST,
            "/digest",
            "/digest",
            Some(json!({"mechanism": "SHA256", "data": "aGVsbG8="})),
            login("200", "200", "200"),
        ),
        w(
            M::POST,
            "/random",
            "/random",
            Some(json!({"length": 16})),
            login("200", "200", "200"),
        ),
        w(
            M::POST,
            "/users/nobody/attributes",
            "/users/{name}/attributes",
            Some(json!({"login_disabled": false})),
            login("404 RET_USER_NOT_FOUND", deny, deny),
        ),
        w(
            M::POST,
            "/users/nobody/disable-access",
            "/users/{name}/disable-access",
            None,
            login(deny, deny, deny),
        ),
        w(
            M::GET,
            "/keys/all",
            "/keys/all",
            None,
            login("200", "200", deny),
        ),
        // public_keys.rs
        w(
            M::POST,
            "/keys/public",
            "/keys/public",
            Some(json!({"spec": {"Ec": {"curve": "P256"}}, "data": "AAAA"})),
            login(deny, "400 CKR_DATA_INVALID", deny),
        ),
        // security.rs
        w(
            M::POST,
            "/2fa/login",
            "/2fa/login",
            Some(json!({"user_type": "CU", "user": "cu1", "password": "user1234"})),
            open("200"),
        ),
        w(
            M::POST,
            "/2fa/login/complete",
            "/2fa/login/complete",
            Some(json!({})),
            open("400 RET_INVALID_REQUEST"),
        ),
        w(
            M::POST,
            "/2fa/users",
            "/2fa/users",
            Some(json!({"user_type": "CO", "name": "co9", "password": "officer9-pass"})),
            login("409 RET_FEATURE_DISABLED", deny, deny),
        ),
        w(
            M::POST,
            "/2fa/users/nobody/password",
            "/2fa/users/{name}/password",
            Some(json!({"password": "whatever-123"})),
            login("409 RET_FEATURE_DISABLED", deny, deny),
        ),
        w(
            M::POST,
            "/2fa/complete",
            "/2fa/complete",
            Some(json!({})),
            login(
                "400 RET_INVALID_REQUEST",
                "400 RET_INVALID_REQUEST",
                "400 RET_INVALID_REQUEST",
            ),
        ),
        w(
            M::GET,
            "/security",
            "/security",
            None,
            login("200", "200", "200"),
        ),
        w(
            M::PUT,
            "/security",
            "/security",
            Some(json!({"two_factor": false})),
            login("200", deny, deny),
        ),
        w(
            M::POST,
            "/quorum/keys",
            "/quorum/keys",
            None,
            login("200", deny, deny),
        ),
        w(
            M::PUT,
            "/quorum/m/user",
            "/quorum/m/{service}",
            Some(json!({"m": 1})),
            login("400 CKR_DATA_INVALID", deny, deny),
        ),
        w(
            M::GET,
            "/quorum/tokens",
            "/quorum/tokens",
            None,
            login("200", deny, deny),
        ),
        w(
            M::POST,
            "/quorum/tokens",
            "/quorum/tokens",
            Some(json!({"service": "user"})),
            login("409 RET_FEATURE_DISABLED", deny, deny),
        ),
        w(
            M::DELETE,
            "/quorum/tokens/nope",
            "/quorum/tokens/{id}",
            None,
            login("404 RET_TOKEN_NOT_FOUND", deny, deny),
        ),
        w(
            M::POST,
            "/quorum/tokens/nope/approvals",
            "/quorum/tokens/{id}/approvals",
            Some(json!({"approvals": []})),
            login("400 CKR_DATA_INVALID", deny, deny),
        ),
        // admin.rs: the emulator's own
        w(
            M::POST,
            "/admin/nodes/2/start",
            "/admin/nodes/{node}/{action}",
            None,
            admin("204"),
        ),
        w(
            M::GET,
            "/admin/audit-events",
            "/admin/audit-events",
            None,
            admin("200"),
        ),
        // Last: it ends each caller's login.
        w(
            M::POST,
            "/logout",
            "/logout",
            None,
            login("204", "204", "204"),
        ),
    ]
}

/// Every `.route("/hsms/{hsm}...")` the data plane's routers declare.
fn declared_routes() -> Vec<String> {
    let sources = [
        include_str!("../data-plane/src/server/routes.rs"),
        include_str!("../data-plane/src/server/routes/partition.rs"),
        include_str!("../data-plane/src/server/routes/public_keys.rs"),
        include_str!("../data-plane/src/server/routes/security.rs"),
        include_str!("../data-plane/src/server/routes/admin.rs"),
        include_str!("../data-plane/src/server/routes/certificates.rs"),
    ];
    let mut routes = Vec::new();
    for source in sources {
        for piece in source.split("\"/hsms/{hsm}").skip(1) {
            if let Some(end) = piece.find('"') {
                routes.push(piece[..end].to_string());
            }
        }
    }
    routes
}

struct Caller {
    token: Option<String>,
    session: Option<u64>,
}

async fn hsm_login(
    emu: &Emulator,
    cluster: &Value,
    user_type: &str,
    user: &str,
    password: &str,
) -> Caller {
    let http = &emu.http;
    let login: Value = http
        .post(emu.hsm_url(cluster, "/login"))
        .json(&json!({"user_type": user_type, "user": user, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("login token").to_string();
    let session: Value = http
        .post(emu.hsm_url(cluster, "/sessions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Caller {
        token: Some(token),
        session: session["session"].as_u64(),
    }
}

#[tokio::test]
async fn every_data_plane_route_answers_as_its_door_says() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "doors").await;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    officer.create_user("CU", "cu1", "user1234").await.unwrap();
    officer
        .create_user("AU", "au1", "appliance-1")
        .await
        .unwrap();
    let cu = emu.hsm_client(&cluster);
    cu.login("CU", "cu1", "user1234").await.unwrap();
    // Encrypt, decrypt, extractable (for the masked object) and a label.
    let key = cu
        .generate_key(KeySpec::Aes { bits: 256 }, usage(&[0x104, 0x105, 0x162]))
        .await
        .unwrap();
    let other = emu.create_service_principal("not-the-admin").await;

    let callers = [
        Caller {
            token: None,
            session: None,
        },
        hsm_login(&emu, &cluster, "CO", "admin", "officer-password").await,
        hsm_login(&emu, &cluster, "CU", "cu1", "user1234").await,
        hsm_login(&emu, &cluster, "AU", "au1", "appliance-1").await,
        Caller {
            token: Some(emu.token().to_string()),
            session: None,
        },
        Caller {
            token: Some(other.token.clone()),
            session: None,
        },
    ];

    let walks = walks();
    let walked: Vec<&str> = walks.iter().map(|w| w.route).collect();
    let missing: Vec<String> = declared_routes()
        .into_iter()
        .filter(|r| !walked.contains(&r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes the walk does not try: {missing:?}"
    );

    let record = std::env::var("DOORS_RECORD").is_ok();
    let mut wrong = Vec::new();
    let mut answers = 0;
    for walk in &walks {
        let path = walk.path.replace("{h}", &key.to_string());
        for (index, caller) in callers.iter().enumerate() {
            let mut request = emu
                .http
                .request(walk.method.clone(), emu.hsm_url(&cluster, &path));
            if let Some(token) = &caller.token {
                request = request.bearer_auth(token);
            }
            if let Some(session) = caller.session {
                request = request.header("x-hsm-session", session.to_string());
            }
            if let Some(body) = &walk.body {
                request = request.json(body);
            }
            let response = request.send().await.expect("the data plane answers");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let got = if (200..300).contains(&status) {
                status.to_string()
            } else {
                // Every refusal carries the data plane's error body.
                let code = body["code"].as_str().unwrap_or("<no code>");
                let message = body["message"].as_str().unwrap_or("");
                if message.is_empty() {
                    wrong.push(format!(
                        "{} {} as {}: {status} without a message: {body}",
                        walk.method, walk.path, CALLERS[index]
                    ));
                }
                format!("{status} {code}")
            };
            answers += 1;
            if record {
                println!("{} {} as {}: {got}", walk.method, walk.path, CALLERS[index]);
            } else if got != walk.expect[index] {
                wrong.push(format!(
                    "{} {} as {}: expected {}, got {got} ({body})",
                    walk.method, walk.path, CALLERS[index], walk.expect[index]
                ));
            }
        }
    }
    println!(
        "walked {} routes x {} callers: {answers} answers",
        walks.len(),
        callers.len()
    );
    assert!(
        !record,
        "DOORS_RECORD prints the answers instead of checking them"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
