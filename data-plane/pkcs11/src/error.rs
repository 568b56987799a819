//! Every PKCS#11 return code the module gives comes from here: the core
//! returns `CkResult`, the data plane's error codes are mapped in one place.

use cloudhsm_data_plane::client::ClientError;
use cryptoki_sys::*;

/// The error is the `CKR_*` value returned to the application.
pub type CkResult<T> = Result<T, CK_RV>;

/// The `CKR_*` value for an error of the data-plane client. The engine
/// already names most of its errors after PKCS#11; the `RET_*` codes of the
/// utility are mapped to their PKCS#11 meaning.
pub fn from_client(error: &ClientError) -> CK_RV {
    match error.code.as_str() {
        "RET_USER_LOGIN_FAILURE" | "RET_USER_NOT_FOUND" | "RET_INVALID_USER_NAME" => {
            CKR_PIN_INCORRECT
        }
        "RET_USER_LOCKED" => CKR_PIN_LOCKED,
        "CKR_PIN_LEN_RANGE" => CKR_PIN_LEN_RANGE,
        "RET_2FA_REQUIRED" | "RET_2FA_VERIFICATION_FAILED" => CKR_PIN_INCORRECT,
        "CKR_USER_NOT_LOGGED_IN" => CKR_USER_NOT_LOGGED_IN,
        "CKR_USER_ALREADY_LOGGED_IN" => CKR_USER_ALREADY_LOGGED_IN,
        "RET_OPERATION_NOT_PERMITTED" => CKR_ACTION_PROHIBITED,
        "CKR_OBJECT_HANDLE_INVALID" => CKR_OBJECT_HANDLE_INVALID,
        "CKR_SESSION_HANDLE_INVALID" => CKR_USER_NOT_LOGGED_IN,
        "CKR_OPERATION_ACTIVE" => CKR_OPERATION_ACTIVE,
        "CKR_ATTRIBUTE_READ_ONLY" => CKR_ATTRIBUTE_READ_ONLY,
        "CKR_ATTRIBUTE_VALUE_INVALID" => CKR_ATTRIBUTE_VALUE_INVALID,
        "CKR_ATTRIBUTE_TYPE_INVALID" => CKR_ATTRIBUTE_TYPE_INVALID,
        "CKR_MECHANISM_INVALID" => CKR_KEY_TYPE_INCONSISTENT,
        "CKR_KEY_FUNCTION_NOT_PERMITTED" => CKR_KEY_FUNCTION_NOT_PERMITTED,
        "CKR_KEY_UNEXTRACTABLE" => CKR_KEY_UNEXTRACTABLE,
        "CKR_KEY_SIZE_RANGE" => CKR_KEY_SIZE_RANGE,
        "RET_OBJECT_LIMIT_REACHED" => CKR_DEVICE_MEMORY,
        "CKR_DATA_INVALID" => CKR_DATA_INVALID,
        "CKR_SIGNATURE_INVALID" => CKR_SIGNATURE_INVALID,
        "CKR_ENCRYPTED_DATA_INVALID" => CKR_ENCRYPTED_DATA_INVALID,
        "CKR_WRAPPED_KEY_INVALID" => CKR_WRAPPED_KEY_INVALID,
        "RET_NO_HSM_AVAILABLE" => CKR_DEVICE_ERROR,
        "CKR_DEVICE_ERROR" => CKR_DEVICE_ERROR,
        "RET_QUORUM_APPROVAL_REQUIRED" => CKR_FUNCTION_REJECTED,
        "RET_PARTITION_NOT_INITIALIZED" => CKR_TOKEN_NOT_RECOGNIZED,
        _ if error.status == 0 => CKR_DEVICE_ERROR,
        _ => CKR_FUNCTION_FAILED,
    }
}
