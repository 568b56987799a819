//! What the utility prints, in key_mgmt_util's shape so admins' scripts
//! can grep it: a `Cfm3... returned: 0x.. : HSM Return: ...` status line per
//! HSM call, then the result (`Key Handle: 7`).

use cloudhsm_data_plane::client::ClientError;

/// A successful HSM call.
pub fn success(call: &str) {
    println!("\n\t{call} returned: 0x00 : HSM Return: SUCCESS");
}

/// A failed HSM call: the status line on stdout as the utility prints it,
/// and the code and message on stderr.
pub fn failure(call: &str, error: &ClientError) {
    println!(
        "\n\t{call} returned: 0x{:02x} : HSM Error: {}",
        status_value(&error.code),
        error.code
    );
    eprintln!("ERROR: {}: {}", error.code, error.message);
}

/// The numeric status a code stands for: PKCS#11's `CKR_*` values, and for
/// the service's own `RET_*` codes values from the vendor range, so scripts
/// testing for non-zero work either way.
pub fn status_value(code: &str) -> u32 {
    match code {
        "CKR_FUNCTION_FAILED" => 0x06,
        "CKR_ATTRIBUTE_READ_ONLY" => 0x10,
        "CKR_ATTRIBUTE_TYPE_INVALID" => 0x12,
        "CKR_ATTRIBUTE_VALUE_INVALID" => 0x13,
        "CKR_DATA_INVALID" => 0x20,
        "CKR_DEVICE_ERROR" => 0x30,
        "CKR_ENCRYPTED_DATA_INVALID" => 0x40,
        "CKR_KEY_SIZE_RANGE" => 0x62,
        "CKR_KEY_FUNCTION_NOT_PERMITTED" => 0x68,
        "CKR_KEY_UNEXTRACTABLE" => 0x6a,
        "CKR_MECHANISM_INVALID" => 0x70,
        "CKR_OBJECT_HANDLE_INVALID" => 0x82,
        "CKR_OPERATION_ACTIVE" => 0x90,
        "RET_USER_LOGIN_FAILURE" => 0xa0, // CKR_PIN_INCORRECT
        "CKR_PIN_LEN_RANGE" => 0xa2,
        "RET_USER_LOCKED" => 0xa4, // CKR_PIN_LOCKED
        "CKR_SESSION_HANDLE_INVALID" => 0xb3,
        "CKR_SIGNATURE_INVALID" => 0xc0,
        "CKR_USER_ALREADY_LOGGED_IN" => 0x100,
        "CKR_USER_NOT_LOGGED_IN" => 0x101,
        "RET_OPERATION_NOT_PERMITTED" => 0x8000_0001,
        "RET_USER_EXISTS" => 0x8000_0002,
        "RET_USER_NOT_FOUND" => 0x8000_0003,
        "RET_INVALID_USER_NAME" => 0x8000_0004,
        "RET_OBJECT_LIMIT_REACHED" => 0x8000_0005,
        // A closed network path leaves the client no HSM to reach.
        "RET_NO_HSM_AVAILABLE" | "RET_HSM_UNAVAILABLE" | "RET_NETWORK_ACCESS_DENIED" => 0x8000_0006,
        _ => 0x8000_00ff,
    }
}

/// Attribute values as getAttribute prints them: booleans and small
/// enumerations as one hex byte, sizes as four.
pub fn attribute_value(id: u32, value: &cloudhsm_data_plane::Attribute) -> String {
    use cloudhsm_data_plane::{engine::attributes::ids, Attribute};
    match value {
        Attribute::Bool(b) => format!("0x{:02x}", u8::from(*b)),
        Attribute::Number(n) if matches!(id, ids::CLASS | ids::KEY_TYPE) => format!("0x{n:02x}"),
        Attribute::Number(n) => format!("0x{n:08x}"),
        Attribute::Text(t) => t.clone(),
    }
}
