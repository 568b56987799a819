//! A real Azurite (blob service only) for backup and restore tests: the
//! pinned npm package `tests/run.sh` installs into `.tooling/azurite`,
//! started on loopback on a free port, in a temp folder, with HTTPS from a
//! certificate the emulator's CA issued and OAuth (`--oauth basic`), so the
//! managed identity's bearer token is what gets the backup in. Stopped when
//! dropped.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{identity_id, Emulator, IDENTITY_HEADER};

/// Azurite's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// The blob API version the emulator's client pins (Azurite 3.35 knows up to it).
pub const BLOB_API_VERSION: &str = "2025-11-05";

pub fn azurite_binary() -> PathBuf {
    if let Ok(path) = std::env::var("AZURITE_BLOB_BIN") {
        return PathBuf::from(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.tooling/azurite/node_modules/.bin/azurite-blob");
    assert!(
        path.exists(),
        "Azurite is not installed at {}: run tests/run.sh once (it installs the pinned azurite into .tooling/azurite), or set AZURITE_BLOB_BIN",
        path.display()
    );
    path
}

/// A free loopback port (bound, then released for Azurite to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Azurite {
    child: Option<Child>,
    pub port: u16,
    _dir: tempfile::TempDir,
    /// The HTTP client Azurite is reached with (trusts the emulator's CA).
    http: reqwest::Client,
}

impl Azurite {
    /// Starts Azurite with a certificate from `emulator`'s CA.
    pub async fn start(emulator: &Emulator) -> Self {
        Self::start_on(emulator, free_port()).await
    }

    /// Starts Azurite on `port` (to restart it where it was).
    pub async fn start_on(emulator: &Emulator, port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tls = emulator.data_dir().join("tls");
        // The emulator's server certificate is issued by its CA for 127.0.0.1;
        // copied, because the emulator re-issues it at every start.
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::copy(tls.join("server.pem"), &cert).expect("copying the certificate");
        std::fs::copy(tls.join("server.key"), &key).expect("copying the key");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("Azurite data dir");
        let child = Command::new(azurite_binary())
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(&data)
            .args(["--disableTelemetry", "--silent", "--oauth", "basic"])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting azurite-blob");
        let azurite = Self {
            child: Some(child),
            port,
            _dir: dir,
            http: emulator.http.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Azurite did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        azurite
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `https://127.0.0.1:{port}/devstoreaccount1/{container}`.
    pub fn container_uri(&self, container: &str) -> String {
        format!("https://127.0.0.1:{}/{ACCOUNT}/{container}", self.port)
    }

    async fn send(
        &self,
        token: &str,
        method: Method,
        url: String,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Vec<u8>) {
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .header("x-ms-version", BLOB_API_VERSION)
            .header("x-ms-date", httpdate_now());
        if let Some(body) = body {
            request = request.header("x-ms-blob-type", "BlockBlob").body(body);
        }
        let response = request.send().await.expect("Azurite request");
        let status = response.status();
        (
            status,
            response.bytes().await.expect("Azurite body").to_vec(),
        )
    }

    /// A GET of any URL of the account (a listing, say).
    pub async fn raw_get(&self, token: &str, url: String) -> (StatusCode, Vec<u8>) {
        self.send(token, Method::GET, url, None).await
    }

    /// Creates a container, as a user would with their own credentials.
    pub async fn create_container(&self, token: &str, container: &str) {
        let (status, body) = self
            .send(
                token,
                Method::PUT,
                format!("{}?restype=container", self.container_uri(container)),
                None,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "creating the container: {}",
            String::from_utf8_lossy(&body)
        );
    }

    pub async fn get_blob(
        &self,
        token: &str,
        container: &str,
        blob: &str,
    ) -> (StatusCode, Vec<u8>) {
        self.send(
            token,
            Method::GET,
            format!("{}/{blob}", self.container_uri(container)),
            None,
        )
        .await
    }

    pub async fn put_blob(&self, token: &str, container: &str, blob: &str, bytes: Vec<u8>) {
        let (status, body) = self
            .send(
                token,
                Method::PUT,
                format!("{}/{blob}", self.container_uri(container)),
                Some(bytes),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "writing a blob: {}",
            String::from_utf8_lossy(&body)
        );
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        self.stop();
    }
}

fn httpdate_now() -> String {
    // RFC 1123, as x-ms-date wants it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = now.div_euclid(86_400);
    let secs = now.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    format!(
        "{weekday}, {d:02} {month} {y} {:02}:{:02}:{:02} GMT",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

/// Storage token for a user-assigned identity, from the emulator's
/// managed-identity endpoint (what a user's own tooling would present).
pub async fn storage_token(emulator: &Emulator, identity: &Value) -> String {
    let client_id = identity["properties"]["clientId"]
        .as_str()
        .expect("clientId");
    let response = emulator
        .http
        .get(emulator.url("/msi/token"))
        .query(&[
            ("api-version", "2019-08-01"),
            ("resource", "https://storage.azure.com"),
            ("client_id", client_id),
        ])
        .header("X-IDENTITY-HEADER", IDENTITY_HEADER)
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// `Storage Blob Data Contributor`.
pub const BLOB_DATA_CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/// Grants `principal_id` a built-in role on Azurite's account (scoped to a
/// storage-account id in `group`, as a user would name it); returns the reply.
pub async fn assign_role(
    emulator: &Emulator,
    group: &str,
    principal_id: &str,
    role: &str,
) -> crate::Reply {
    let sub = crate::SUB;
    let scope = format!("/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}");
    let name = uuid::Uuid::new_v4();
    emulator
        .call(
            Method::PUT,
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"),
            Some(serde_json::json!({
                "properties": {
                    "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                    "principalId": principal_id,
                    "principalType": "ServicePrincipal",
                }
            })),
        )
        .await
}

/// An identity, a cluster using it, and the role on Azurite's account:
/// what every backup test starts from. Returns `(identity, cluster)`.
pub async fn cluster_with_identity(
    emulator: &Emulator,
    group: &str,
    name: &str,
    identity: &str,
) -> (Value, Value) {
    let id = emulator.put_identity(group, identity).await;
    let mut body = crate::cluster_body();
    body["identity"] = serde_json::json!({
        "type": "UserAssigned",
        "userAssignedIdentities": { identity_id(group, identity): {} }
    });
    let reply = emulator
        .call(Method::PUT, &crate::cluster_path(group, name), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let op = reply
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    let status = emulator.wait_async_operation(&op).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let cluster = emulator
        .call(Method::GET, &crate::cluster_path(group, name), None)
        .await
        .body;
    (id, cluster)
}
