//! Finding the cluster: a client configuration file (what
//! `azcloudhsm_client.cfg` is to the real client), or the control plane,
//! asked for the cluster by resource group and name.
//!
//! The configuration file is JSON:
//! `{"endpoint": "https://127.0.0.1:2225", "caCertificate": "tls/ca.pem",
//!   "hsms": ["hsm1.chsm1-....cloudhsm.localhost", ...]}`
//! (`caCertificate` may be relative to the file, or null for plain HTTP).

use std::path::{Path, PathBuf};

use cloudhsm_data_plane::client::ClientConfig;
use serde_json::Value;

use super::UtilError;

const HSM_API_VERSION: &str = "2025-03-31";
/// The default configuration file, in the working directory.
pub const DEFAULT_CONFIG: &str = "azcloudhsm_client.json";
/// The emulator's `endpoints.json` under its default data dir.
const DEFAULT_ENDPOINTS: &str = ".cloudhsm-emulator/endpoints.json";

/// The utility's own options, given before `singlecmd`.
#[derive(Debug, Default)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub endpoints: Option<PathBuf>,
    pub data_plane: Option<PathBuf>,
    pub group: Option<String>,
    pub name: Option<String>,
}

impl Options {
    /// Splits the options off the front of the arguments.
    pub fn parse(args: &[String]) -> Result<(Self, Vec<String>), UtilError> {
        let mut options = Self::default();
        let mut i = 0;
        while i < args.len() {
            let slot = match args[i].as_str() {
                "--config" => 0,
                "--endpoints" => 1,
                "--data-plane" => 2,
                "-g" | "--resource-group" => 3,
                "-n" | "--name" => 4,
                _ => break,
            };
            let value = args
                .get(i + 1)
                .cloned()
                .ok_or_else(|| UtilError::Usage(format!("{} needs a value", args[i])))?;
            match slot {
                0 => options.config = Some(value.into()),
                1 => options.endpoints = Some(value.into()),
                2 => options.data_plane = Some(value.into()),
                3 => options.group = Some(value),
                _ => options.name = Some(value),
            }
            i += 2;
        }
        Ok((options, args[i..].to_vec()))
    }

    /// Where the cluster is. `-g`/`-n` ask the control plane (with
    /// `--endpoints`, the emulator's `endpoints.json`); otherwise the
    /// configuration file: `--config`, `$AZCLOUDHSM_CLIENT_CONFIG`, or
    /// `./azcloudhsm_client.json`.
    pub async fn resolve(&self) -> Result<ClientConfig, UtilError> {
        match (&self.group, &self.name) {
            (Some(group), Some(name)) => self.ask_control_plane(group, name).await,
            (None, None) => {
                let path = self
                    .config
                    .clone()
                    .or_else(|| std::env::var_os("AZCLOUDHSM_CLIENT_CONFIG").map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
                from_config_file(&path)
            }
            _ => Err(UtilError::Usage(
                "give both -g <resource group> and -n <cluster name>".into(),
            )),
        }
    }

    async fn ask_control_plane(&self, group: &str, name: &str) -> Result<ClientConfig, UtilError> {
        // Without --endpoints: the emulator's default data dir, as started
        // from the same directory.
        let endpoints_path = self
            .endpoints
            .clone()
            .or_else(|| {
                let default = PathBuf::from(DEFAULT_ENDPOINTS);
                default.exists().then_some(default)
            })
            .ok_or_else(|| {
                UtilError::Usage(format!(
                    "-g/-n need --endpoints <endpoints.json> (the emulator writes it to its data \
                     dir; {DEFAULT_ENDPOINTS} is not here)"
                ))
            })?;
        let endpoints = read_json(&endpoints_path)?;
        let field = |key: &str| {
            endpoints[key].as_str().map(str::to_string).ok_or_else(|| {
                UtilError::Config(format!("{}: '{key}' is missing", endpoints_path.display()))
            })
        };
        let ca_pem = match endpoints["caCertificate"].as_str() {
            Some(path) => Some(read_file(&relative_to(&endpoints_path, path))?),
            None => None,
        };
        let http = http_client(ca_pem.as_deref())?;
        let authority = field("authority")?;
        let token: Value = send(
            http.post(format!(
                "{}/{}/oauth2/v2.0/token",
                authority.trim_end_matches('/'),
                field("tenantId")?
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &field("clientId")?),
                ("client_secret", &field("clientSecret")?),
                ("scope", "https://management.azure.com/.default"),
            ]),
            "token service",
        )
        .await?;
        let token = token["access_token"].as_str().ok_or_else(|| {
            UtilError::Config("the token service returned no access_token".into())
        })?;
        let cluster: Value = send(
            http.get(format!(
                "{}/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{name}?api-version={HSM_API_VERSION}",
                field("resourceManager")?.trim_end_matches('/'),
                field("subscriptionId")?
            ))
            .bearer_auth(token),
            "resource manager",
        )
        .await?;
        let hsms = cluster["properties"]["hsms"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|h| h["fqdn"].as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if hsms.is_empty() {
            return Err(UtilError::Config(format!(
                "cluster '{name}' has no HSMs yet (is it still provisioning?)"
            )));
        }
        // The data-plane endpoint: `data-plane.json`, next to endpoints.json
        // unless given.
        let data_plane_path = self.data_plane.clone().unwrap_or_else(|| {
            endpoints_path
                .parent()
                .unwrap_or(Path::new("."))
                .join("data-plane.json")
        });
        let data_plane = read_json(&data_plane_path)?;
        let endpoint = data_plane["endpoint"].as_str().ok_or_else(|| {
            UtilError::Config(format!(
                "{}: 'endpoint' is missing",
                data_plane_path.display()
            ))
        })?;
        Ok(ClientConfig {
            endpoint: endpoint.to_string(),
            hsm_addresses: hsms,
            ca_pem,
        })
    }
}

/// Reads a client configuration file.
pub fn from_config_file(path: &Path) -> Result<ClientConfig, UtilError> {
    if !path.exists() {
        return Err(UtilError::Config(format!(
            "no configuration file '{}': give --config <file>, set AZCLOUDHSM_CLIENT_CONFIG, \
             or find the cluster with --endpoints <endpoints.json> -g <group> -n <name>",
            path.display()
        )));
    }
    let config = read_json(path)?;
    let endpoint = config["endpoint"]
        .as_str()
        .ok_or_else(|| UtilError::Config(format!("{}: 'endpoint' is missing", path.display())))?;
    let hsms: Vec<String> = config["hsms"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|h| h.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if hsms.is_empty() {
        return Err(UtilError::Config(format!(
            "{}: 'hsms' must list the cluster's HSM addresses",
            path.display()
        )));
    }
    let ca_pem = match config["caCertificate"].as_str() {
        Some(ca) => Some(read_file(&relative_to(path, ca))?),
        None => None,
    };
    Ok(ClientConfig {
        endpoint: endpoint.to_string(),
        hsm_addresses: hsms,
        ca_pem,
    })
}

/// The JSON of a configuration file for `config` (what `saveConfig` writes).
pub fn config_json(config: &ClientConfig, ca_path: Option<&Path>) -> Value {
    serde_json::json!({
        "endpoint": config.endpoint,
        "caCertificate": ca_path.map(|p| p.display().to_string()),
        "hsms": config.hsm_addresses,
    })
}

fn relative_to(file: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, UtilError> {
    std::fs::read(path).map_err(|e| UtilError::Config(format!("{}: {e}", path.display())))
}

fn read_json(path: &Path) -> Result<Value, UtilError> {
    serde_json::from_slice(&read_file(path)?)
        .map_err(|e| UtilError::Config(format!("{}: not JSON: {e}", path.display())))
}

fn http_client(ca_pem: Option<&[u8]>) -> Result<reqwest::Client, UtilError> {
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30));
    if let Some(pem) = ca_pem {
        let ca = reqwest::Certificate::from_pem(pem)
            .map_err(|e| UtilError::Config(format!("CA certificate: {e}")))?;
        builder = builder
            .add_root_certificate(ca)
            .tls_built_in_root_certs(false);
    }
    builder
        .build()
        .map_err(|e| UtilError::Config(e.to_string()))
}

/// Sends a control-plane request; ARM and OAuth errors come back with
/// their code and message.
async fn send(request: reqwest::RequestBuilder, what: &str) -> Result<Value, UtilError> {
    let response = request
        .send()
        .await
        .map_err(|e| UtilError::Config(format!("{what}: {e}")))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let (code, message) = match &body["error"] {
        Value::Object(e) => (
            e.get("code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        Value::String(code) => (
            code.clone(),
            body["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        _ => (status.to_string(), String::new()),
    };
    Err(UtilError::Config(format!("{what}: ({code}) {message}")))
}
