//! Audit events shaped like Azure's `CloudHsmServiceOperationAuditLogs`.
//! They name the operation and its outcome, never key handles, labels, user
//! names or session ids.

use std::time::Duration;

use serde::Serialize;

tokio::task_local! {
    /// The address of the client an operation is done for. The network
    /// layer sets it around a request; the engine only reads it (plain
    /// engine use has none).
    static CALLER_IP: String;
}

/// Runs `f` (synchronous engine work) on behalf of the client at `ip`.
pub fn with_caller_ip<T>(ip: String, f: impl FnOnce() -> T) -> T {
    CALLER_IP.sync_scope(ip, f)
}

/// Runs a future (a request's handling) on behalf of the client at `ip`.
pub async fn scope_caller_ip<F: std::future::Future>(ip: String, future: F) -> F::Output {
    CALLER_IP.scope(ip, future).await
}

/// The current client's address, or `""` outside a request.
pub fn caller_ip() -> String {
    CALLER_IP.try_with(Clone::clone).unwrap_or_default()
}

/// Where a cluster hands each audit event as it happens (the control
/// plane's diagnostic settings). Called synchronously before the operation
/// returns, so an implementation that queues the event durably makes it part
/// of the acknowledgement; an `Err` fails the operation as a storage error
/// would. Implementations must be cheap when nothing listens.
pub trait AuditSink: Send + Sync {
    fn record(&self, event: &AuditEvent) -> Result<(), String>;
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AuditEvent {
    pub operation_name: &'static str,
    pub opcode: u32,
    /// The HSM node that served the operation.
    pub member_id: usize,
    pub caller_ip_address: String,
    pub duration_ms: u64,
    pub time_generated: String,
    /// `0` on success, else the error code.
    pub result_code: String,
}

/// Opcodes of the operations the engine audits, as the service logs them.
pub fn opcode(operation: &str) -> u32 {
    match operation {
        "CN_LOGIN" => 0x0d,
        "CN_LOGOUT" => 0x0e,
        "CN_CREATE_USER" => 0x03,
        "CN_DELETE_USER" => 0x04,
        "CN_CHANGE_PSWD" => 0x05,
        "CN_GENERATE_KEY" => 0x11,
        "CN_GENERATE_KEY_PAIR" => 0x12,
        "CN_SHARE_OBJECT" => 0x1b,
        "CN_TOMBSTONE_OBJECT" => 0x1c,
        "CN_FIND_OBJECTS_USING_COUNT" => 0x20,
        "CN_SET_ATTRIBUTE_VALUE" => 0x22,
        "CN_SIGN" => 0x29,
        "CN_VERIFY" => 0x2a,
        "CN_ENCRYPT" => 0x2b,
        "CN_DECRYPT" => 0x2c,
        "CN_UNLOCK_USER" => 0x36,
        "CN_WRAP_KEY" => 0x25,
        "CN_UNWRAP_KEY" => 0x26,
        "CN_GET_CERT_REQ" => 0x40,
        "CN_STORE_CERT" => 0x41,
        "CN_GET_CHALLENGE" => 0x42,
        "CN_UNLOCK_CO" => 0x43,
        "CN_EXTRACT_MASKED_OBJECT" => 0x44,
        "CN_INSERT_MASKED_OBJECT" => 0x45,
        "HASH_SINGLE_CALL" => 0x46,
        "CN_GENERATE_RANDOM" => 0x47,
        // Quorum and 2FA management (emulator numbering, past the others).
        "CN_SET_POLICY" => 0x60,
        "CN_SET_M_VALUE" => 0x61,
        "CN_GET_TOKEN" => 0x62,
        "CN_APPROVE_TOKEN" => 0x63,
        "CN_LIST_TOKENS" => 0x64,
        "CN_DELETE_TOKEN" => 0x65,
        "CN_REGISTER_QUORUM_PUBKEY" => 0x66,
        "CN_SET_USER_ATTRIBUTES" => 0x48,
        "CN_DISABLE_USER_ACCESS" => 0x49,
        "CN_FIND_ALL_KEYS" => 0x4a,
        "CN_COPY_OBJECT" => 0x4b,
        _ => 0xff,
    }
}

pub fn event(
    operation_name: &'static str,
    member_id: usize,
    caller_ip_address: &str,
    took: Duration,
    result_code: &str,
) -> AuditEvent {
    AuditEvent {
        operation_name,
        opcode: opcode(operation_name),
        member_id,
        caller_ip_address: caller_ip_address.to_string(),
        duration_ms: took.as_millis() as u64,
        time_generated: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        result_code: result_code.to_string(),
    }
}
