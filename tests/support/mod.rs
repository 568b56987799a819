//! Shared by every end-to-end test: start the real `cloudhsm-emulator`
//! binary on a free port with its own data dir, authenticate like a client
//! does, and speak HTTPS to it.

pub mod azurite;
pub mod backup_jobs;
pub mod diagnostics;
pub mod event_hubs;
pub mod faults;
pub mod pkcs11;
pub mod rbac;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub const HSM_API: &str = "2025-03-31";
pub const RG_API: &str = "2025-04-01";
pub const IDENTITY_API: &str = "2023-01-31";
pub const NETWORK_API: &str = "2024-05-01";
pub const EVENTHUB_API: &str = "2024-01-01";
/// What az 2.91's `monitor diagnostic-settings` sends.
pub const INSIGHTS_API: &str = "2021-05-01-preview";
/// The emulator's default `X-IDENTITY-HEADER` secret.
pub const IDENTITY_HEADER: &str = "CloudHsmEmulator~WellKnownIdentityHeader";

/// The workspace's `target/debug` (or `$CARGO_TARGET_DIR`), where the emulator is built.
pub fn emulator_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(path) = std::env::var("CLOUDHSM_EMULATOR_BIN") {
            return PathBuf::from(path);
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace.join("target"));
        // Build it if the test run did not (cargo test builds only this
        // crate's dependencies), in the profile these tests were built in, so
        // `cargo bench` measures an optimised emulator.
        let release = !cfg!(debug_assertions);
        let mut build = Command::new(env!("CARGO"));
        build.args([
            "build",
            "-q",
            "-p",
            "cloudhsm-control-plane",
            "--bin",
            "cloudhsm-emulator",
        ]);
        if release {
            build.arg("--release");
        }
        let status = build
            .current_dir(&workspace)
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building cloudhsm-emulator failed");
        target
            .join(if release { "release" } else { "debug" })
            .join("cloudhsm-emulator")
    })
    .clone()
}

#[derive(Debug, Clone)]
pub struct Endpoints {
    pub resource_manager: String,
    pub authority: String,
    pub tenant_id: String,
    pub subscription_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub ca_certificate: Option<String>,
    /// `sb://host:port/` of the Event Hubs AMQP listener.
    pub event_hubs_amqp: Option<String>,
    /// `https://host:port` of the Event Hubs REST send API.
    pub event_hubs_rest: Option<String>,
}

pub struct Emulator {
    child: Option<Child>,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    args: Vec<String>,
    /// `CLOUDHSM_LOG` filter and file for the emulator's log, when a test
    /// reads it (see [`Emulator::start_logging`]).
    log: Option<(String, PathBuf)>,
    pub endpoints: Endpoints,
    pub http: reqwest::Client,
    token: String,
}

impl Emulator {
    /// A fresh emulator with a short provisioning delay.
    pub async fn start() -> Self {
        Self::start_with(&["--provisioning-delay", "200ms"]).await
    }

    pub async fn start_with(args: &[&str]) -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let data_dir = temp.path().to_path_buf();
        let mut emulator =
            Self::launch(data_dir, args.iter().map(|s| s.to_string()).collect(), None).await;
        emulator._temp = Some(temp);
        emulator
    }

    /// Like [`start_with`](Self::start_with), with the emulator's log at
    /// `filter` (a `CLOUDHSM_LOG` value) appended to `log` (stdout and stderr).
    pub async fn start_logging(args: &[&str], filter: &str, log: &Path) -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut emulator = Self::launch(
            temp.path().to_path_buf(),
            args.iter().map(|s| s.to_string()).collect(),
            Some((filter.to_string(), log.to_path_buf())),
        )
        .await;
        emulator._temp = Some(temp);
        emulator
    }

    async fn launch(data_dir: PathBuf, args: Vec<String>, log: Option<(String, PathBuf)>) -> Self {
        let endpoints_file = data_dir.join("endpoints.json");
        let _ = std::fs::remove_file(&endpoints_file);
        let mut command = Command::new(emulator_binary());
        if let Some((filter, path)) = &log {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("log file");
            command
                .env("CLOUDHSM_LOG", filter)
                .stdout(file.try_clone().expect("log file"))
                .stderr(file);
        } else {
            command.stdout(Stdio::null()).stderr(
                // `CLOUDHSM_LOG=info cargo bench ...` shows the emulator's log
                // (its filter variable is inherited), e.g. backup job timings.
                if std::env::var_os("CLOUDHSM_LOG").is_some() {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                },
            );
        }
        let child = command
            .arg("--data-dir")
            .arg(&data_dir)
            .args([
                "--port",
                "0",
                "--data-plane-port",
                "0",
                "--event-hubs-port",
                "0",
                "--event-hubs-rest-port",
                "0",
            ])
            .args(&args)
            .spawn()
            .expect("starting cloudhsm-emulator");
        let deadline = Instant::now() + Duration::from_secs(30);
        let text = loop {
            if let Ok(text) = std::fs::read_to_string(&endpoints_file) {
                break text;
            }
            assert!(
                Instant::now() < deadline,
                "emulator did not write endpoints.json"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let v: Value = serde_json::from_str(&text).expect("endpoints.json is JSON");
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let endpoints = Endpoints {
            resource_manager: s("resourceManager"),
            authority: s("authority"),
            tenant_id: s("tenantId"),
            subscription_id: s("subscriptionId"),
            client_id: s("clientId"),
            client_secret: s("clientSecret"),
            ca_certificate: v["caCertificate"].as_str().map(str::to_string),
            event_hubs_amqp: v["eventHubs"]["amqp"].as_str().map(str::to_string),
            event_hubs_rest: v["eventHubs"]["rest"].as_str().map(str::to_string),
        };
        let http = client_for(&endpoints);
        let mut emulator = Self {
            child: Some(child),
            data_dir,
            _temp: None,
            args,
            log,
            endpoints,
            http,
            token: String::new(),
        };
        emulator.token = emulator.fetch_token().await;
        emulator
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A data-plane client for a cluster's HSMs (from its ARM resource).
    pub fn hsm_client(&self, cluster: &Value) -> cloudhsm_data_plane::client::HsmClient {
        let file = std::fs::read_to_string(self.data_dir.join("data-plane.json"))
            .expect("data-plane.json");
        let v: Value = serde_json::from_str(&file).expect("data-plane.json is JSON");
        let hsm_addresses = cluster["properties"]["hsms"]
            .as_array()
            .expect("hsms")
            .iter()
            .map(|h| h["fqdn"].as_str().expect("fqdn").to_string())
            .collect();
        let ca_pem = v["caCertificate"]
            .as_str()
            .map(|p| std::fs::read(p).expect("CA file"));
        cloudhsm_data_plane::client::HsmClient::new(cloudhsm_data_plane::client::ClientConfig {
            endpoint: v["endpoint"].as_str().expect("endpoint").to_string(),
            hsm_addresses,
            ca_pem,
            local_socket: v["localSocket"].as_str().map(Into::into),
        })
        .expect("HSM client")
    }

    /// Activates a new cluster the way its owner does (the onboarding flow
    /// with a freshly generated PO key: `getCertReq`, `storeCert` PO.crt and
    /// POAC, `changePswd PRECO admin <password>`); `admin` is then a crypto
    /// officer with `password`. Returns the owner, whose key signs `unlockCO`
    /// challenges.
    pub async fn activate(
        &self,
        cluster: &Value,
        password: &str,
    ) -> cloudhsm_data_plane::onboarding::PartitionOwner {
        self.hsm_client(cluster)
            .activate_with_new_owner(password)
            .await
            .expect("activate the cluster")
    }

    /// The network-API URL of `path` on a cluster's first HSM, for raw
    /// requests through [`Emulator::http`] (same CA).
    pub fn hsm_url(&self, cluster: &Value, path: &str) -> String {
        let file = std::fs::read_to_string(self.data_dir.join("data-plane.json"))
            .expect("data-plane.json");
        let v: Value = serde_json::from_str(&file).expect("data-plane.json is JSON");
        let endpoint = v["endpoint"].as_str().expect("endpoint");
        let hsm = cluster["properties"]["hsms"][0]["fqdn"]
            .as_str()
            .expect("fqdn");
        format!("{}/hsms/{hsm}{path}", endpoint.trim_end_matches('/'))
    }

    /// The emulator's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The emulator's resident memory (`VmRSS` of `/proc/<pid>/status`), KiB.
    pub fn rss_kib(&self) -> u64 {
        self.pid().map_or(0, rss_kib_of)
    }

    /// See [`anon_kib_of`].
    pub fn anon_kib(&self) -> u64 {
        self.pid().map_or(0, anon_kib_of)
    }

    /// Resident memory once the emulator has been idle a moment, KiB: the
    /// allocator returns freed pages half a second after they are freed
    /// (see control-plane/src/memory.rs), and background flushes settle.
    pub async fn settled_rss_kib(&self) -> u64 {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        self.rss_kib()
    }

    /// `kill -9`: no chance to flush or clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("emulator is running");
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().expect("waiting for the emulator") {
                return status;
            }
            assert!(Instant::now() < deadline, "emulator ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts again on the same data dir (after [`kill`](Self::kill) or [`terminate`](Self::terminate)).
    pub async fn restart(mut self) -> Self {
        self.kill();
        let temp = self._temp.take();
        let mut next =
            Self::launch(self.data_dir.clone(), self.args.clone(), self.log.clone()).await;
        next._temp = temp;
        next
    }

    pub async fn fetch_token(&self) -> String {
        self.token_for_scope("https://management.azure.com/.default")
            .await
    }

    /// A client-credentials token of the well-known client for `scope`
    /// (`{resource}/.default`), from the tenant's v2 endpoint.
    pub async fn token_for_scope(&self, scope: &str) -> String {
        let response = self
            .http
            .post(format!(
                "{}{}/oauth2/v2.0/token",
                self.endpoints.authority, self.endpoints.tenant_id
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.endpoints.client_id.as_str()),
                ("client_secret", self.endpoints.client_secret.as_str()),
                ("scope", scope),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK, "token endpoint refused");
        let body: Value = response.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// A Microsoft Graph request (`path` like `/v1.0/servicePrincipals`) to
    /// the emulator's base URL, with `token` when there is one.
    pub async fn graph_call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.expect("Graph request sent")).await
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// `path` is relative to the resource manager (`/subscriptions/...`);
    /// absolute URLs (operation links) are used as they are.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!(
                "{}{}",
                self.endpoints.resource_manager.trim_end_matches('/'),
                path
            )
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    /// Sends an authenticated request and returns status, headers and JSON body
    /// (`Value::Null` when empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.expect("request sent")).await
    }

    /// The status a GET of `path` answers with.
    pub async fn status_of(&self, path: &str) -> StatusCode {
        self.call(Method::GET, path, None).await.status
    }

    pub async fn put_group(&self, group: &str) {
        let reply = self
            .call(
                Method::PUT,
                &group_path(group),
                Some(serde_json::json!({"location": "eastus2"})),
            )
            .await;
        assert!(
            reply.status.is_success(),
            "creating group {group}: {reply:?}"
        );
    }

    /// Polls a GET of `url` until it answers `status` (a status monitor
    /// until it is forgotten, say); returns that answer.
    pub async fn wait_for_status(&self, url: &str, status: StatusCode) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let reply = self.call(Method::GET, url, None).await;
            if reply.status == status {
                return reply;
            }
            assert!(
                Instant::now() < deadline,
                "no {status} after 15 s: {reply:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls an `Azure-AsyncOperation` URL until the operation ends; returns its final body.
    pub async fn wait_async_operation(&self, url: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let reply = self.call(Method::GET, url, None).await;
            assert_eq!(reply.status, StatusCode::OK, "operation status: {reply:?}");
            if reply.body["status"] != "InProgress" {
                return reply.body;
            }
            assert!(Instant::now() < deadline, "operation never finished: {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// PUTs a deployment (the path is a deployment's: a group's or the
    /// subscription's) and follows its `Azure-AsyncOperation` until it ends;
    /// returns the deployment as GET shows it then.
    pub async fn deploy(&self, path: &str, body: Value) -> Value {
        let reply = self.call(Method::PUT, path, Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        assert_eq!(reply.body["properties"]["provisioningState"], "Accepted");
        let status_url = reply
            .header("azure-asyncoperation")
            .expect("Azure-AsyncOperation");
        self.wait_deployment_status(&status_url).await;
        self.call(Method::GET, path, None).await.body
    }

    /// Polls a deployment's status URL until it is no longer Accepted or Running.
    pub async fn wait_deployment_status(&self, url: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let reply = self.call(Method::GET, url, None).await;
            assert_eq!(reply.status, StatusCode::OK, "deployment status: {reply:?}");
            if !matches!(reply.body["status"].as_str(), Some("Accepted" | "Running")) {
                return reply.body;
            }
            assert!(
                Instant::now() < deadline,
                "deployment never finished: {url}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Polls a `Location` URL until it stops answering 202; returns that reply.
    pub async fn wait_location(&self, url: &str) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let reply = self.call(Method::GET, url, None).await;
            if reply.status != StatusCode::ACCEPTED {
                return reply;
            }
            assert!(
                reply.header("retry-after").is_some(),
                "202 without Retry-After"
            );
            assert!(Instant::now() < deadline, "operation never finished: {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a user-assigned identity; returns it.
    pub async fn put_identity(&self, group: &str, name: &str) -> Value {
        let reply = self
            .call(
                Method::PUT,
                &identity_path(group, name),
                Some(serde_json::json!({"location": "eastus2"})),
            )
            .await;
        assert!(
            reply.status.is_success(),
            "creating identity {name}: {reply:?}"
        );
        reply.body
    }

    /// Creates an Event Hubs namespace of `sku` (`Basic`, `Standard`,
    /// `Premium`) in eastus2; returns it.
    pub async fn put_namespace(&self, group: &str, name: &str, sku: &str) -> Value {
        let reply = self
            .call(
                Method::PUT,
                &eventhubs_path(group, name, ""),
                Some(serde_json::json!({"location": "eastus2", "sku": {"name": sku, "tier": sku}})),
            )
            .await;
        assert!(
            reply.status.is_success(),
            "creating namespace {name}: {reply:?}"
        );
        reply.body
    }

    /// Every page of a list from `first` on, following `nextLink`s; each
    /// page must answer 200.
    pub async fn list_pages(&self, first: &str) -> Vec<Value> {
        let mut pages = Vec::new();
        let mut next = Some(first.to_string());
        while let Some(url) = next {
            let page = self.call(Method::GET, &url, None).await;
            assert_eq!(page.status, StatusCode::OK, "{url}: {page:?}");
            next = page.body["nextLink"].as_str().map(str::to_string);
            pages.push(page.body);
        }
        pages
    }

    /// Creates a cluster and waits until it is provisioned.
    pub async fn create_cluster(&self, group: &str, name: &str) -> Value {
        let reply = self
            .call(
                Method::PUT,
                &cluster_path(group, name),
                Some(cluster_body()),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        let op = reply
            .header("azure-asyncoperation")
            .expect("Azure-AsyncOperation");
        let status = self.wait_async_operation(&op).await;
        assert_eq!(status["status"], "Succeeded", "{status}");
        self.call(Method::GET, &cluster_path(group, name), None)
            .await
            .body
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A process's resident memory (`VmRSS` of `/proc/<pid>/status`), KiB; 0
/// when it cannot be read.
pub fn rss_kib_of(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// Resident anonymous memory (heap, stacks), KiB: the resident memory
/// without the pages of the binary and libraries, which are bounded by
/// their size and which the kernel can drop and read again.
pub fn anon_kib_of(pid: u32) -> u64 {
    status_kib(pid, "RssAnon:")
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

pub fn client_for(endpoints: &Endpoints) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some(ca) = &endpoints.ca_certificate {
        let pem = std::fs::read(ca).expect("reading the emulator CA");
        let cert = reqwest::Certificate::from_pem(&pem).expect("CA is PEM");
        builder = builder
            .add_root_certificate(cert)
            .tls_built_in_root_certs(false);
    }
    builder.build().expect("HTTP client")
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("response body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Asserts a Microsoft Graph error (`error.code`, `error.message`,
    /// `error.innerError`) with this status and code; returns the error object.
    pub fn expect_graph_error(&self, status: StatusCode, code: &str) -> &Value {
        let error = self.expect_error(status, code);
        assert!(error["innerError"]["request-id"].is_string(), "{self:?}");
        assert!(error["innerError"]["date"].is_string(), "{self:?}");
        error
    }

    /// Asserts an ARM error with this status and code; returns the error object.
    pub fn expect_error(&self, status: StatusCode, code: &str) -> &Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["error"]["code"], code, "{self:?}");
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        &self.body["error"]
    }
}

pub const DEPLOYMENTS_API: &str = "2025-04-01";

/// A deployment at resource-group scope.
pub fn deployment_path(group: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Resources/deployments/{name}?api-version={DEPLOYMENTS_API}")
}

/// One of the ARM templates users deploy, from `bicep/templates/`.
pub fn shipped_template(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bicep/templates")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("template is JSON")
}

pub fn group_path(group: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}?api-version={RG_API}")
}

pub fn cluster_path(group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{name}?api-version={HSM_API}"
    )
}

/// The resource id of a cluster (no query).
pub fn cluster_id(group: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{name}")
}

/// A path under a cluster's `Microsoft.Insights` extension: `rest` is
/// `diagnosticSettings`, `diagnosticSettings/{name}`,
/// `diagnosticSettingsCategories`, ...
pub fn insights_path(group: &str, cluster: &str, rest: &str) -> String {
    format!(
        "{}/providers/Microsoft.Insights/{rest}?api-version={INSIGHTS_API}",
        cluster_id(group, cluster)
    )
}

pub fn identity_path(group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}?api-version={IDENTITY_API}"
    )
}

/// The resource id of an identity (what clusters reference).
pub fn identity_id(group: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")
}

/// A path in an Event Hubs namespace: `rest` is what follows the namespace
/// (`""`, `/eventhubs/orders`, `/authorizationRules/send/listKeys`).
pub fn eventhubs_path(group: &str, namespace: &str, rest: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.EventHub/namespaces/{namespace}{rest}?api-version={EVENTHUB_API}")
}

/// The resource id of an Event Hubs namespace.
pub fn namespace_id(group: &str, namespace: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.EventHub/namespaces/{namespace}")
}

pub fn endpoint_path(group: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/privateEndpoints/{name}?api-version={NETWORK_API}")
}

/// A private endpoint to a cluster: its one connection automatic or
/// `manual`, to the given group ids (a cluster's is `cloudHsm`).
pub fn endpoint_body(cluster_id: &str, manual: bool, group_ids: Value) -> Value {
    let connection = serde_json::json!({
        "name": "to-hsm",
        "properties": {
            "privateLinkServiceId": cluster_id,
            "groupIds": group_ids,
            "requestMessage": "please approve",
        }
    });
    let (automatic, manual_list) = if manual {
        (serde_json::json!([]), serde_json::json!([connection]))
    } else {
        (serde_json::json!([connection]), serde_json::json!([]))
    };
    serde_json::json!({
        "location": "eastus2",
        "properties": {
            "subnet": {"id": format!("/subscriptions/{SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe")},
            "privateLinkServiceConnections": automatic,
            "manualPrivateLinkServiceConnections": manual_list,
        }
    })
}

pub fn cluster_body() -> Value {
    serde_json::json!({
        "location": "eastus2",
        "sku": { "family": "B", "name": "Standard_B1" },
        "tags": { "Dept": "hsm" },
        "properties": { "publicNetworkAccess": "Disabled" }
    })
}

/// Key attributes that turn the given usages on (`usage(&[ids::ENCRYPT,
/// ids::DECRYPT])`), as `genSymKey -attest` users list them.
pub fn usage(flags: &[u32]) -> Vec<(u32, cloudhsm_data_plane::engine::attributes::Attribute)> {
    flags
        .iter()
        .map(|&id| {
            (
                id,
                cloudhsm_data_plane::engine::attributes::Attribute::Bool(true),
            )
        })
        .collect()
}
