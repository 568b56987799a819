//! Wire types of api-version 2025-03-31, field by field as the spec names
//! them, and the stored record that wraps them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{arm::system_data::SystemData, store::Record};

pub const RESOURCE_TYPE: &str = "Microsoft.HardwareSecurityModules/cloudHsmClusters";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CloudHsmClusterSku {
    pub family: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i32>,
}

impl Default for CloudHsmClusterSku {
    /// What `az cloudhsm create` uses when no SKU is given.
    fn default() -> Self {
        Self {
            family: "B".into(),
            name: "Standard_B1".into(),
            capacity: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserAssignedIdentity {
    pub principal_id: String,
    pub client_id: String,
}

/// common-types v6 `ManagedServiceIdentity`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ManagedServiceIdentity {
    #[serde(rename = "type")]
    pub identity_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_assigned_identities: BTreeMap<String, UserAssignedIdentity>,
}

/// `CloudHsmProperties`: one HSM of the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CloudHsmProperties {
    pub fqdn: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_message: Option<String>,
}

impl CloudHsmClusterProperties {
    /// Whether the cluster's HSMs exist and serve: provisioned, and not being
    /// created or deleted. A cluster whose update failed is `Failed` and its
    /// HSMs still serve; one whose creation failed never had any.
    pub fn hsms_serve(&self) -> bool {
        match self.provisioning_state.as_str() {
            "Succeeded" | "Updating" => true,
            "Failed" => self.activation_state != "NotDefined",
            _ => false,
        }
    }
}

/// The private-link zone of the HSMs' names, as Azure's
/// `privatelink.cloudhsm.azure.net` under the emulator's domain.
pub const PRIVATE_LINK_ZONE: &str = "privatelink.cloudhsm.localhost";

/// An HSM's private-link name, from its public one: `hsm{n}.{host}.{location}.cloudhsm.localhost`
/// becomes `hsm{n}.{host}.privatelink.cloudhsm.localhost` (the location
/// label gives way to the zone, as Azure's private DNS zones do).
pub fn private_link_fqdn(public: &str) -> Option<String> {
    let mut labels = public.splitn(3, '.');
    let (hsm, host, _rest) = (labels.next()?, labels.next()?, labels.next()?);
    Some(format!("{hsm}.{host}.{PRIVATE_LINK_ZONE}"))
}

impl CloudHsmClusterProperties {
    /// Whether its HSMs answer on their public names.
    pub fn public_access(&self) -> bool {
        !self.public_network_access.eq_ignore_ascii_case("Disabled")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CloudHsmClusterProperties {
    pub activation_state: String,
    pub auto_generated_domain_name_label_scope: String,
    pub hsms: Vec<CloudHsmProperties>,
    pub private_endpoint_connections: Vec<Value>,
    pub provisioning_state: String,
    pub public_network_access: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

/// `CloudHsmCluster` as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CloudHsmCluster {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ManagedServiceIdentity>,
    pub sku: CloudHsmClusterSku,
    pub properties: CloudHsmClusterProperties,
    pub system_data: SystemData,
}

/// What the store keeps: the resource, its ETag, and the operation running
/// on it (writes are refused while one is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCluster {
    pub resource: CloudHsmCluster,
    pub etag: String,
    pub operation_id: Option<String>,
}

impl Record for StoredCluster {
    const KIND: &'static str = "cloudHsmCluster";
    const ADDRESSING: bool = true;
    const VERSION: u32 = 1;
}

/// Request bodies: only what a client may set; read-only properties are
/// dropped by deserialisation.
pub mod requests {
    use super::*;
    use crate::arm::schema::ValidatedBody;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct IdentityInput {
        #[serde(rename = "type")]
        pub identity_type: String,
        #[serde(default)]
        pub user_assigned_identities: BTreeMap<String, Option<Value>>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ClusterPutProperties {
        pub auto_generated_domain_name_label_scope: Option<String>,
        pub public_network_access: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    pub struct ClusterPut {
        pub location: String,
        pub tags: Option<BTreeMap<String, String>>,
        pub identity: Option<IdentityInput>,
        pub sku: Option<CloudHsmClusterSku>,
        pub properties: Option<ClusterPutProperties>,
    }
    impl ValidatedBody for ClusterPut {
        const SCHEMA: &'static str = "cloudHsmClusters.put";
    }

    #[derive(Debug, Deserialize)]
    pub struct ClusterPatch {
        pub tags: Option<BTreeMap<String, String>>,
        pub identity: Option<IdentityInput>,
    }
    impl ValidatedBody for ClusterPatch {
        const SCHEMA: &'static str = "cloudHsmClusters.patch";
    }
}
