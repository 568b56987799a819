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
use crate::commands::{error::CliError, http::Http, paths, profile::Endpoints};

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

    /// Asks the control plane as the emulator's service principal (the
    /// same token request and cluster GET as `az-cloudhsm cloudhsm show`).
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
        let config_error = |e: CliError| UtilError::Config(e.to_string());
        let endpoints = Endpoints::read(&endpoints_path).map_err(config_error)?;
        let missing = |key: &str| {
            UtilError::Config(format!("{}: '{key}' is missing", endpoints_path.display()))
        };
        let secret = endpoints
            .client_secret
            .clone()
            .ok_or_else(|| missing("clientSecret"))?;
        let subscription = endpoints
            .subscription_id
            .clone()
            .ok_or_else(|| missing("subscriptionId"))?;
        // A relative CA path in endpoints.json is relative to the file.
        let ca_path = endpoints
            .ca_certificate
            .as_deref()
            .map(|path| relative_to(&endpoints_path, path));
        let ca_pem = ca_path.as_deref().map(read_file).transpose()?;
        let http = Http::new(
            ca_path.as_deref().map(|p| p.to_string_lossy()).as_deref(),
            false,
        )
        .map_err(config_error)?;
        let failed =
            |what: &'static str| move |e: CliError| UtilError::Config(format!("{what}: {e}"));
        let token = http
            .client_credentials(&endpoints, &secret)
            .await
            .map_err(failed("token service"))?;
        let url = format!(
            "{}{}",
            endpoints.resource_manager.trim_end_matches('/'),
            paths::cluster(&subscription, group, name)
        );
        let cluster = http
            .get(&url, &token.access_token)
            .await
            .map_err(failed("resource manager"))?
            .body;
        let mut hsms = cluster["properties"]["hsms"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|h| h["fqdn"].as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        // A cluster closed to the public network is reached through its
        // approved private endpoint: the names its DNS configuration lists.
        if cluster["properties"]["publicNetworkAccess"] == "Disabled" {
            let private = private_addresses(&http, &endpoints, &token.access_token, &cluster)
                .await
                .map_err(failed("private endpoint"))?;
            if !private.is_empty() {
                hsms = private;
            }
        }
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
            local_socket: data_plane["localSocket"].as_str().map(PathBuf::from),
        })
    }
}

/// The private-link names (`customDnsConfigs[].fqdn`) of the private
/// endpoints whose connection to `cluster` is approved.
async fn private_addresses(
    http: &Http,
    endpoints: &Endpoints,
    token: &str,
    cluster: &Value,
) -> Result<Vec<String>, CliError> {
    let approved = cluster["properties"]["privateEndpointConnections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved")
        .filter_map(|c| c["properties"]["privateEndpoint"]["id"].as_str());
    let mut addresses = Vec::new();
    for endpoint_id in approved {
        let url = format!(
            "{}{}",
            endpoints.resource_manager.trim_end_matches('/'),
            paths::network_resource(endpoint_id)
        );
        let endpoint = http.get(&url, token).await?.body;
        for dns in endpoint["properties"]["customDnsConfigs"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(fqdn) = dns["fqdn"].as_str() {
                if !addresses.iter().any(|a| a == fqdn) {
                    addresses.push(fqdn.to_string());
                }
            }
        }
    }
    Ok(addresses)
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
        local_socket: config["localSocket"]
            .as_str()
            .map(|socket| relative_to(path, socket)),
    })
}

/// The JSON of a configuration file for `config` (what `saveConfig` writes).
pub fn config_json(config: &ClientConfig, ca_path: Option<&Path>) -> Value {
    let mut json = serde_json::json!({
        "endpoint": config.endpoint,
        "caCertificate": ca_path.map(|p| p.display().to_string()),
        "hsms": config.hsm_addresses,
    });
    // The emulator's socket for clients on this machine, when it serves one.
    if let Some(socket) = &config.local_socket {
        json["localSocket"] = Value::String(socket.display().to_string());
    }
    json
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
