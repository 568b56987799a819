//! Settings the emulator runs with, and its well-known defaults.
//!
//! Like Azurite's well-known storage account key, the default tenant,
//! subscription and service principal are fixed and public: they exist so that
//! tools work against a fresh emulator without set-up. Override them by flag.

use std::{path::PathBuf, time::Duration};

pub const WELL_KNOWN_TENANT_ID: &str = "00000000-0000-0000-0000-00000000c10d";
/// The spec's examples use this subscription, so they run unchanged.
pub const WELL_KNOWN_SUBSCRIPTION_ID: &str = "00000000-0000-0000-0000-000000000000";
pub const WELL_KNOWN_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000c11e7";
pub const WELL_KNOWN_CLIENT_SECRET: &str = "CloudHsmEmulator~WellKnownSecret~DoNotUseInProduction";

/// The secret a caller of the managed-identity endpoint shows in
/// `X-IDENTITY-HEADER` (App Service sets `IDENTITY_HEADER` to it).
pub const WELL_KNOWN_IDENTITY_HEADER: &str = "CloudHsmEmulator~WellKnownIdentityHeader";

/// Blob Storage's audience: managed identities get tokens for it to reach
/// Azurite.
pub const STORAGE_AUDIENCE: &str = "https://storage.azure.com/";

/// The public Resource Manager audience; tokens for it are accepted as well as
/// tokens for the emulator's own URL, so tools can keep their usual scope.
pub const PUBLIC_ARM_AUDIENCES: &[&str] = &[
    "https://management.azure.com/",
    "https://management.core.windows.net/",
];

/// Microsoft Graph's public audience. The emulator serves the few Graph calls
/// `az role assignment` and `az ad sp show` make (see `identity::graph`) and
/// accepts tokens for this audience there, as well as for its own URL (what
/// its cloud metadata advertises as `microsoftGraphResourceId`).
pub const PUBLIC_GRAPH_AUDIENCE: &str = "https://graph.microsoft.com/";

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub data_dir: PathBuf,
    /// Base URL of the resource manager and of the token service, no trailing slash.
    pub base_url: String,
    pub tenant_id: String,
    pub subscription_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub identity_header: String,
    /// Simulated time a cluster create or delete takes.
    pub provisioning_delay: Duration,
    /// Items per page of a list before ARM hands out a `nextLink`.
    pub page_size: usize,
    /// The well-known principal is Owner of the default subscription without
    /// a role assignment (`--no-default-owner` turns that off).
    pub default_owner: bool,
    /// How long an ended operation's status and result URLs answer (see
    /// [`crate::arm::lro::retention`]).
    pub operation_retention: Duration,
}

impl EmulatorConfig {
    /// Audiences a management token may carry.
    pub fn arm_audiences(&self) -> Vec<String> {
        let mut audiences = vec![format!("{}/", self.base_url)];
        audiences.extend(PUBLIC_ARM_AUDIENCES.iter().map(|a| a.to_string()));
        audiences
    }

    /// Audiences a Microsoft Graph token may carry.
    pub fn graph_audiences(&self) -> Vec<String> {
        vec![
            format!("{}/", self.base_url),
            PUBLIC_GRAPH_AUDIENCE.to_string(),
        ]
    }

    /// Every audience the token service issues client-credentials tokens for.
    pub fn token_audiences(&self) -> Vec<String> {
        let mut audiences = self.arm_audiences();
        for graph in self.graph_audiences() {
            if !audiences.contains(&graph) {
                audiences.push(graph);
            }
        }
        audiences
    }

    /// Object id of the well-known service principal: stable across restarts.
    pub fn client_object_id(&self) -> String {
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, self.client_id.as_bytes()).to_string()
    }
}
