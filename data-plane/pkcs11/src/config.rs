//! Where the clusters are: the client configuration file the utility's
//! `saveConfig` writes (`{"endpoint", "caCertificate", "hsms"}`), found as
//! the utility finds it: `$AZCLOUDHSM_CLIENT_CONFIG`, else
//! `./azcloudhsm_client.json`, else [`DEFAULT_PATH`]. The file describes one
//! cluster, or holds `{"clusters": [ ... ]}` for several: one slot each.

use std::path::{Path, PathBuf};

use cloudhsm_data_plane::client::ClientConfig;
use serde_json::Value;

/// Where Azure's SDK installs its client configuration.
pub const DEFAULT_PATH: &str = "/opt/azurecloudhsm/bin/azcloudhsm_client.json";

/// One configured cluster: what the client needs, and the token's label.
pub struct Cluster {
    pub client: ClientConfig,
    pub label: String,
}

pub fn path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AZCLOUDHSM_CLIENT_CONFIG") {
        return Some(PathBuf::from(path));
    }
    [Path::new("azcloudhsm_client.json"), Path::new(DEFAULT_PATH)]
        .into_iter()
        .find(|p| p.exists())
        .map(Path::to_path_buf)
}

/// The configured clusters; `Err` says what is wrong with the file.
pub fn load() -> Result<Vec<Cluster>, String> {
    let path = path().ok_or_else(|| {
        format!(
            "no client configuration: set AZCLOUDHSM_CLIENT_CONFIG, or write ./azcloudhsm_client.json or {DEFAULT_PATH} with the utility's saveConfig"
        )
    })?;
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    match json.get("clusters").and_then(Value::as_array) {
        Some(list) => list.iter().map(|c| cluster(&path, c)).collect(),
        None => Ok(vec![cluster(&path, &json)?]),
    }
}

fn cluster(file: &Path, json: &Value) -> Result<Cluster, String> {
    let endpoint = json["endpoint"]
        .as_str()
        .ok_or_else(|| format!("{}: 'endpoint' is missing", file.display()))?;
    let hsm_addresses: Vec<String> = json["hsms"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|h| h.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let first = hsm_addresses
        .first()
        .ok_or_else(|| format!("{}: 'hsms' lists no HSM", file.display()))?;
    let ca_pem = match json["caCertificate"].as_str() {
        Some(ca) => {
            let ca = relative_to(file, ca);
            Some(std::fs::read(&ca).map_err(|e| format!("{}: {e}", ca.display()))?)
        }
        None => None,
    };
    let local_socket = json["localSocket"]
        .as_str()
        .map(|socket| relative_to(file, socket));
    let label = json["label"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| cluster_name(first));
    Ok(Cluster {
        client: ClientConfig {
            endpoint: endpoint.to_string(),
            hsm_addresses,
            ca_pem,
            local_socket,
        },
        label,
    })
}

/// `path` as the configuration file at `file` means it: relative paths
/// are relative to the file.
fn relative_to(file: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

/// The cluster's name from an HSM's address,
/// `hsm{n}.{name}-{12 hex}.{location}...` as the control plane makes them;
/// another address gives its first label.
fn cluster_name(address: &str) -> String {
    let mut labels = address.split('.');
    let first = labels.next().unwrap_or(address);
    let numbered_hsm = first
        .strip_prefix("hsm")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    match labels.next() {
        Some(host) if numbered_hsm => match host.rsplit_once('-') {
            Some((name, suffix))
                if !name.is_empty()
                    && suffix.len() == 12
                    && suffix.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                name.to_string()
            }
            _ => host.to_string(),
        },
        _ => first.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::cluster_name;

    #[test]
    fn the_token_label_is_the_clusters_name() {
        assert_eq!(
            cluster_name("hsm1.chsm-py-0123456789ab.eastus2.cloudhsm.localhost"),
            "chsm-py"
        );
        assert_eq!(cluster_name("hsm2.plain.eastus2.example"), "plain");
        assert_eq!(cluster_name("10.0.0.4"), "10");
        assert_eq!(cluster_name("myhsm.example.net"), "myhsm");
    }
}
