//! Where the CLI keeps its login: the profile (subscriptions, the emulator's
//! endpoints, the service principal) and the token cache, both in the user's
//! config folder — `$AZURE_CONFIG_DIR` as the Azure CLI honours it, else
//! `~/.azure`. The files carry their own names so they never clash with a
//! real Azure CLI's.

use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{CliError, CliResult};

const PROFILE_FILE: &str = "cloudhsmEmulatorProfile.json";
const TOKEN_FILE: &str = "cloudhsmEmulatorTokens.json";

/// What `endpoints.json` says (the emulator writes it at start).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub resource_manager: String,
    pub authority: String,
    pub tenant_id: String,
    #[serde(default)]
    pub subscription_id: Option<String>,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub ca_certificate: Option<String>,
}

impl Endpoints {
    /// `--endpoints`, then `$CLOUDHSM_EMULATOR_ENDPOINTS`, then the emulator's
    /// default data dir below the current directory.
    pub fn locate(flag: Option<&Path>) -> CliResult<PathBuf> {
        if let Some(p) = flag {
            return Ok(p.to_path_buf());
        }
        if let Ok(p) = std::env::var("CLOUDHSM_EMULATOR_ENDPOINTS") {
            if !p.is_empty() {
                return Ok(PathBuf::from(p));
            }
        }
        Ok(PathBuf::from(".cloudhsm-emulator").join("endpoints.json"))
    }

    pub fn read(path: &Path) -> CliResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::client(format!(
                "cannot read the emulator's endpoints file '{}': {e}. Start the emulator, or pass --endpoints <file>.",
                path.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            CliError::client(format!(
                "'{}' is not an endpoints.json: {e}",
                path.display()
            ))
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub name: String,
    pub state: String,
    pub tenant_id: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub endpoints: Endpoints,
    /// The service principal's secret: kept (owner-only file) so expired
    /// tokens renew without a new login, as the Azure CLI keeps it.
    pub client_secret: String,
    pub subscriptions: Vec<Subscription>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedToken {
    pub access_token: String,
    /// Unix seconds.
    pub expires_on: u64,
}

pub fn config_dir() -> CliResult<PathBuf> {
    if let Ok(dir) = std::env::var("AZURE_CONFIG_DIR") {
        if !dir.is_empty() {
            return Ok(PathBuf::from(dir));
        }
    }
    std::env::var("HOME")
        .map(|h| PathBuf::from(h).join(".azure"))
        .map_err(|_| CliError::client("set AZURE_CONFIG_DIR or HOME: no config folder"))
}

fn write_private(path: &Path, value: &impl Serialize) -> CliResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_vec_pretty(value).map_err(|e| CliError::client(e.to_string()))?;
    // Write then rename, so a crash never leaves half a profile.
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn not_logged_in() -> CliError {
    CliError::client("Please run 'az-cloudhsm login' to setup account.")
}

impl Profile {
    pub fn load() -> CliResult<Self> {
        let path = config_dir()?.join(PROFILE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_logged_in()),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_str(&text).map_err(|e| {
            CliError::client(format!(
                "'{}' is damaged ({e}); run 'az-cloudhsm login' again",
                path.display()
            ))
        })
    }

    pub fn save(&self) -> CliResult<()> {
        write_private(&config_dir()?.join(PROFILE_FILE), self)
    }

    pub fn remove() -> CliResult<bool> {
        let dir = config_dir()?;
        let mut removed = false;
        for f in [PROFILE_FILE, TOKEN_FILE] {
            match std::fs::remove_file(dir.join(f)) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(removed)
    }

    /// `--subscription` (id or name), else the default one.
    pub fn subscription(&self, selector: Option<&str>) -> CliResult<&Subscription> {
        match selector {
            Some(s) => self
                .subscriptions
                .iter()
                .find(|sub| sub.id.eq_ignore_ascii_case(s) || sub.name.eq_ignore_ascii_case(s))
                .ok_or_else(|| {
                    CliError::client(format!(
                        "Subscription '{s}' not found. Check the spelling and casing and try again."
                    ))
                }),
            None => self
                .subscriptions
                .iter()
                .find(|s| s.is_default)
                .or_else(|| self.subscriptions.first())
                .ok_or_else(not_logged_in),
        }
    }

    /// The subscription as `az account show` prints it.
    pub fn account_json(&self, sub: &Subscription) -> Value {
        serde_json::json!({
            "environmentName": "CloudHsmEmulator",
            "homeTenantId": sub.tenant_id,
            "id": sub.id,
            "isDefault": sub.is_default,
            "managedByTenants": [],
            "name": sub.name,
            "state": sub.state,
            "tenantId": sub.tenant_id,
            "user": { "name": self.endpoints.client_id, "type": "servicePrincipal" },
        })
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn load_token() -> Option<CachedToken> {
    let text = std::fs::read_to_string(config_dir().ok()?.join(TOKEN_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn save_token(token: &CachedToken) -> CliResult<()> {
    write_private(&config_dir()?.join(TOKEN_FILE), token)
}
