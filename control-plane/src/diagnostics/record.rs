//! Resource-log records as Azure Monitor writes them for Cloud HSM (category
//! `HsmServiceOperations`, table `CloudHsmServiceOperationAuditLogs`): the
//! common resource-log schema (`time`, `resourceId` in upper case,
//! `category`, `operationName`, `resultType`, ...) with the service's
//! columns in `properties`. Built only from an [`AuditEvent`], which holds no
//! key handle, label, user name, session or secret, so no record can.

use cloudhsm_data_plane::engine::audit::AuditEvent;

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

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    time: &'a str,
    resource_id: &'a str,
    category: &'static str,
    operation_name: &'a str,
    operation_version: &'static str,
    result_type: &'static str,
    result_signature: &'a str,
    result_description: &'a str,
    duration_ms: u64,
    caller_ip_address: &'a str,
    correlation_id: String,
    level: &'static str,
    location: &'a str,
    properties: Properties<'a>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Properties<'a> {
    hsm_instance: String,
    member_id: String,
    cluster_type: &'static str,
    sku: &'a str,
    opcode: String,
    operation_name: &'a str,
    duration_ms: u64,
    caller_ip_address: &'a str,
    result_type: &'static str,
}

/// A unique id per record, cheaply (no random number per operation): a
/// random prefix per process and a counter, in a UUID's shape.
fn correlation_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    uuid::Uuid::from_u64_pair(prefix, n).to_string()
}

/// One record as one line of JSON (no newline).
pub fn render(context: &RecordContext, event: &AuditEvent) -> String {
    let success = event.result_code == "0";
    let result_type = if success { "Success" } else { "Failure" };
    let record = Record {
        time: &event.time_generated,
        resource_id: &context.resource_id,
        category: CATEGORY,
        operation_name: event.operation_name,
        operation_version: "1.0",
        result_type,
        result_signature: &event.result_code,
        result_description: if success {
            "SUCCESS"
        } else {
            &event.result_code
        },
        duration_ms: event.duration_ms,
        caller_ip_address: &event.caller_ip_address,
        correlation_id: correlation_id(),
        level: if success { "Informational" } else { "Error" },
        location: &context.location,
        properties: Properties {
            hsm_instance: event.member_id.to_string(),
            member_id: event.member_id.to_string(),
            cluster_type: "CloudHsm",
            sku: &context.sku,
            opcode: format!("0x{:x}", event.opcode),
            operation_name: event.operation_name,
            duration_ms: event.duration_ms,
            caller_ip_address: &event.caller_ip_address,
            result_type,
        },
    };
    serde_json::to_string(&record).unwrap_or_default()
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
        assert_ne!(
            record["correlationId"],
            serde_json::from_str::<serde_json::Value>(&render(&context, &event)).unwrap()
                ["correlationId"]
        );
    }
}
