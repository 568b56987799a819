//! Rules that shape the next long-running operations of a resource type:
//! each takes the rule's time and/or fails with the rule's ARM error. The
//! decision is written into the operation's record when it starts, so an
//! operation keeps its fault across a restart.

use std::{sync::Mutex, time::Duration};

use serde::{Deserialize, Serialize};

use super::{format_duration, parse_duration};
use crate::arm::{
    error::ArmError,
    lro::{OperationKind, OperationRecord},
};

/// The resource types whose operations run as ARM long-running operations,
/// and the operation each kind is.
const TYPES: &[(&str, &[(&str, OperationKind)])] = &[
    (
        "Microsoft.HardwareSecurityModules/cloudHsmClusters",
        &[
            ("create", OperationKind::CreateCluster),
            ("update", OperationKind::UpdateCluster),
            ("delete", OperationKind::DeleteCluster),
        ],
    ),
    (
        "Microsoft.HardwareSecurityModules/cloudHsmClusters/privateEndpointConnections",
        &[("delete", OperationKind::DeletePrivateEndpointConnection)],
    ),
    (
        "Microsoft.Resources/resourceGroups",
        &[("delete", OperationKind::DeleteResourceGroup)],
    ),
];

/// How an operation a rule picked ends: its error and the status a
/// `Location` poll answers with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectedFailure {
    pub code: String,
    pub message: String,
    pub status: u16,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationFault {
    resource_type: String,
    operation: Option<String>,
    count: Option<u32>,
    error: Option<ErrorFault>,
    duration: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorFault {
    code: String,
    message: String,
    status: Option<u16>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    id: String,
    resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
    /// Operations still to be shaped.
    remaining: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<InjectedFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
    #[serde(skip)]
    kinds: Vec<OperationKind>,
    #[serde(skip)]
    takes: Option<Duration>,
}

#[derive(Default)]
pub struct OperationRules {
    rules: Mutex<Vec<Rule>>,
}

fn invalid(target: &str, message: String) -> ArmError {
    ArmError::BadRequest {
        code: "InvalidParameter",
        message,
        target: Some(target.into()),
    }
}

impl OperationRules {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, fault: OperationFault) -> Result<Rule, ArmError> {
        let (resource_type, operations) = TYPES
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(&fault.resource_type))
            .ok_or_else(|| ArmError::BadRequest {
                code: "InvalidResourceType",
                message: format!(
                    "The resource type '{}' has no long-running operations in the emulator; use one of {}.",
                    fault.resource_type,
                    TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
                ),
                target: Some("resourceType".into()),
            })?;
        let kinds = match &fault.operation {
            None => operations.iter().map(|(_, k)| *k).collect(),
            Some(name) => vec![operations
                .iter()
                .find(|(o, _)| o.eq_ignore_ascii_case(name))
                .map(|(_, k)| *k)
                .ok_or_else(|| {
                    invalid(
                        "operation",
                        format!(
                            "The operation '{name}' is not one of {} for {resource_type}.",
                            operations
                                .iter()
                                .map(|(o, _)| *o)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?],
        };
        let count = fault.count.unwrap_or(1);
        if !(1..=1000).contains(&count) {
            return Err(invalid(
                "count",
                format!("The count {count} is not between 1 and 1000."),
            ));
        }
        let error = match fault.error {
            None => None,
            Some(e) => {
                let status = e.status.unwrap_or(500);
                if !(400..=599).contains(&status) {
                    return Err(invalid(
                        "error.status",
                        format!("The status {status} is not an error status (400 to 599)."),
                    ));
                }
                if e.code.trim().is_empty() || e.message.trim().is_empty() {
                    return Err(invalid(
                        "error",
                        "An injected error needs a code and a message.".into(),
                    ));
                }
                Some(InjectedFailure {
                    code: e.code,
                    message: e.message,
                    status,
                })
            }
        };
        let takes = fault
            .duration
            .as_deref()
            .map(|d| parse_duration(d, "duration"))
            .transpose()?;
        if error.is_none() && takes.is_none() {
            return Err(invalid(
                "error",
                "Give an 'error' to fail with, a 'duration' to take, or both.".into(),
            ));
        }
        let rule = Rule {
            id: uuid::Uuid::new_v4().to_string(),
            resource_type: resource_type.to_string(),
            operation: fault.operation.map(|o| o.to_ascii_lowercase()),
            remaining: count,
            error,
            duration: takes.map(format_duration),
            kinds,
            takes,
        };
        self.lock().push(rule.clone());
        tracing::info!(rule = %rule.id, resource_type = %rule.resource_type, count, "fault injection: operation rule added");
        Ok(rule)
    }

    pub fn list(&self) -> Vec<Rule> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.lock();
        let before = rules.len();
        rules.retain(|r| !r.id.eq_ignore_ascii_case(id));
        rules.len() != before
    }

    /// Applies the first rule that matches the starting operation `op`
    /// (its time and its failure), and uses one of the rule's count up.
    pub fn shape(&self, op: &mut OperationRecord) {
        let mut rules = self.lock();
        let Some(index) = rules.iter().position(|r| r.kinds.contains(&op.kind)) else {
            return;
        };
        let rule = &mut rules[index];
        if let Some(takes) = rule.takes {
            op.due_at = op.start_time + chrono::Duration::from_std(takes).unwrap_or_default();
        }
        op.injected_failure = rule.error.clone();
        rule.remaining -= 1;
        tracing::info!(operation = %op.id, rule = %rule.id, "fault injection: operation shaped");
        if rule.remaining == 0 {
            rules.remove(index);
        }
    }
}
