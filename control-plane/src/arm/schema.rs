//! Request bodies validated against the JSON Schemas in `schemas/` (embedded
//! at build time, so the binary needs nothing beside it).

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ArmError;
use crate::state::AppState;

/// Definitions the other schemas `$ref` (tags, managed identity).
const COMMON: (&str, &str) = (
    "https://cloudhsm-emulator.local/schemas/common.json",
    include_str!("../../../schemas/common.json"),
);

/// `(name, schema text)`; `name` is what a body type names in [`ValidatedBody::SCHEMA`].
const SCHEMAS: &[(&str, &str)] = &[
    (
        "cloudHsmClusters.put",
        include_str!("../../../schemas/cloudHsmClusters.put.json"),
    ),
    (
        "cloudHsmClusters.patch",
        include_str!("../../../schemas/cloudHsmClusters.patch.json"),
    ),
    (
        "userAssignedIdentities.put",
        include_str!("../../../schemas/userAssignedIdentities.put.json"),
    ),
    (
        "userAssignedIdentities.patch",
        include_str!("../../../schemas/userAssignedIdentities.patch.json"),
    ),
    (
        "roleAssignments.put",
        include_str!("../../../schemas/roleAssignments.put.json"),
    ),
    (
        "cloudHsmClusters.backup",
        include_str!("../../../schemas/cloudHsmClusters.backup.json"),
    ),
    (
        "cloudHsmClusters.restore",
        include_str!("../../../schemas/cloudHsmClusters.restore.json"),
    ),
    (
        "resourceGroups.put",
        include_str!("../../../schemas/resourceGroups.put.json"),
    ),
    (
        "resourceGroups.patch",
        include_str!("../../../schemas/resourceGroups.patch.json"),
    ),
    (
        "privateEndpointConnections.put",
        include_str!("../../../schemas/privateEndpointConnections.put.json"),
    ),
    (
        "privateEndpoints.put",
        include_str!("../../../schemas/privateEndpoints.put.json"),
    ),
    (
        "eventHubNamespaces.put",
        include_str!("../../../schemas/eventHubNamespaces.put.json"),
    ),
    (
        "eventHubs.put",
        include_str!("../../../schemas/eventHubs.put.json"),
    ),
    (
        "eventHubConsumerGroups.put",
        include_str!("../../../schemas/eventHubConsumerGroups.put.json"),
    ),
    (
        "eventHubAuthorizationRules.put",
        include_str!("../../../schemas/eventHubAuthorizationRules.put.json"),
    ),
    (
        "eventHubAuthorizationRules.regenerateKeys",
        include_str!("../../../schemas/eventHubAuthorizationRules.regenerateKeys.json"),
    ),
    (
        "diagnosticSettings.put",
        include_str!("../../../schemas/diagnosticSettings.put.json"),
    ),
];

pub struct SchemaRegistry {
    validators: HashMap<&'static str, jsonschema::Validator>,
}

impl SchemaRegistry {
    /// The names [`validate`](Self::validate) knows (for the fuzz targets).
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.validators.keys().copied().collect();
        names.sort_unstable();
        names
    }

    pub fn load() -> Result<Self, String> {
        let common: Value =
            serde_json::from_str(COMMON.1).map_err(|e| format!("schema common.json: {e}"))?;
        let common = jsonschema::Resource::from_contents(common)
            .map_err(|e| format!("schema common.json: {e}"))?;
        let options = jsonschema::options().with_resource(COMMON.0, common);
        let mut validators = HashMap::new();
        for (name, text) in SCHEMAS {
            let schema: Value =
                serde_json::from_str(text).map_err(|e| format!("schema {name}: {e}"))?;
            let validator = options
                .build(&schema)
                .map_err(|e| format!("schema {name}: {e}"))?;
            validators.insert(*name, validator);
        }
        Ok(Self { validators })
    }

    /// The first violation, with its location as a dotted path
    /// (`sku.name`, `tags`, `identity.userAssignedIdentities`).
    pub fn validate(&self, name: &str, body: &Value) -> Result<(), ArmError> {
        let validator = self
            .validators
            .get(name)
            .ok_or_else(|| ArmError::Internal(format!("no schema named {name}")))?;
        match validator.iter_errors(body).next() {
            None => Ok(()),
            Some(error) => {
                let path = dotted_path(&error.instance_path.to_string());
                let at = if path.is_empty() {
                    "the request body".to_string()
                } else {
                    format!("'{path}'")
                };
                Err(ArmError::invalid_content(
                    format!("The request content is invalid at {at}: {error}."),
                    Some(if path.is_empty() {
                        "body".to_string()
                    } else {
                        path
                    }),
                ))
            }
        }
    }
}

/// `/sku/name` → `sku.name`; `/a/0/b` → `a[0].b`; JSON Pointer escapes undone.
pub fn dotted_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// A request body type and the schema that guards it.
pub trait ValidatedBody: DeserializeOwned + Send {
    const SCHEMA: &'static str;
}

/// Extractor: the body parsed as JSON, validated, then deserialised. Every
/// failure is a 400 ARM error, never a 500.
pub struct ArmJson<T>(pub T);

impl<T: ValidatedBody> FromRequest<AppState> for ArmJson<T> {
    type Rejection = ArmError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ArmError> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            ArmError::invalid_content(format!("The request content could not be read: {e}"), None)
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ArmError::invalid_content(
                "The request content was invalid and could not be deserialized: the request body is required.",
                None,
            ));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ArmError::invalid_content(
                format!("The request content was invalid and could not be deserialized: {e}."),
                None,
            )
        })?;
        state.schemas.validate(T::SCHEMA, &value)?;
        serde_json::from_value(value).map(ArmJson).map_err(|e| {
            ArmError::invalid_content(
                format!("The request content was invalid and could not be deserialized: {e}."),
                None,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_compiles() {
        SchemaRegistry::load().unwrap();
    }

    #[test]
    fn pointers_become_dotted_paths() {
        assert_eq!(dotted_path(""), "");
        assert_eq!(dotted_path("/sku/name"), "sku.name");
        assert_eq!(dotted_path("/a/0/b"), "a[0].b");
        assert_eq!(dotted_path("/tags/x~1y"), "tags.x/y");
    }
}
