//! Resource-log records as Azure Monitor writes them for Cloud HSM (category
//! `HsmServiceOperations`, table `CloudHsmServiceOperationAuditLogs`): the
//! common resource-log schema (`time`, `resourceId` in upper case,
//! `category`, `operationName`, `resultType`, ...) with the service's
//! columns in `properties`. Built only from an [`AuditEvent`], which holds no
//! key handle, label, user name, session or secret, so no record can.

use cloudhsm_data_plane::engine::audit::AuditEvent;
use serde_json::json;

pub const CATEGORY: &str = "HsmServiceOperations";

/// What every record of one cluster shares.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordContext {
    /// The cluster's id in upper case, as Azure Monitor writes `resourceId`.
    pub resource_id: String,
    pub location: String,
    pub sku: String,
}

impl RecordContext {
    pub fn new(cluster_id: &str, location: &str, sku: &str) -> Self {
        Self {
            resource_id: cluster_id.to_ascii_uppercase(),
            location: location.to_string(),
            sku: sku.to_string(),
        }
    }
}

/// One record as one line of JSON (no newline).
pub fn render(context: &RecordContext, event: &AuditEvent) -> String {
    let success = event.result_code == "0";
    json!({
        "time": event.time_generated,
        "resourceId": context.resource_id,
        "category": CATEGORY,
        "operationName": event.operation_name,
        "operationVersion": "1.0",
        "resultType": if success { "Success" } else { "Failure" },
        "resultSignature": event.result_code,
        "resultDescription": if success { "SUCCESS" } else { event.result_code.as_str() },
        "durationMs": event.duration_ms,
        "callerIpAddress": event.caller_ip_address,
        "correlationId": uuid::Uuid::new_v4().to_string(),
        "level": if success { "Informational" } else { "Error" },
        "location": context.location,
        "properties": {
            "HsmInstance": event.member_id.to_string(),
            "MemberId": event.member_id.to_string(),
            "ClusterType": "CloudHsm",
            "Sku": context.sku,
            "Opcode": format!("0x{:x}", event.opcode),
            "OperationName": event.operation_name,
            "DurationMs": event.duration_ms,
            "CallerIpAddress": event.caller_ip_address,
            "ResultType": if success { "Success" } else { "Failure" },
        },
    })
    .to_string()
}

/// `time` of a rendered record, for the hour blob it belongs to.
pub fn time_of(line: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    chrono::DateTime::parse_from_rfc3339(value["time"].as_str()?)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_has_the_common_schema_and_the_service_columns() {
        let context = RecordContext::new(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/c1",
            "uksouth",
            "Standard_B1",
        );
        let event = cloudhsm_data_plane::engine::audit::event(
            "CN_SIGN",
            1,
            "10.0.0.7",
            std::time::Duration::from_millis(3),
            "0",
        );
        let record: serde_json::Value = serde_json::from_str(&render(&context, &event)).unwrap();
        assert_eq!(
            record["resourceId"],
            "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.HARDWARESECURITYMODULES/CLOUDHSMCLUSTERS/C1"
        );
        assert_eq!(record["category"], "HsmServiceOperations");
        assert_eq!(record["operationName"], "CN_SIGN");
        assert_eq!(record["resultType"], "Success");
        assert_eq!(record["properties"]["Opcode"], "0x29");
        assert_eq!(record["callerIpAddress"], "10.0.0.7");
        assert!(time_of(&render(&context, &event)).is_some());
    }
}
