//! The engine's one error type. Codes are stable and named after the
//! PKCS#11 / CloudHSM return values tools already know.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("login failed: wrong user name or password")]
    LoginFailed,
    #[error("user '{0}' is locked after too many failed logins; a crypto officer must unlock it")]
    UserLocked(String),
    #[error("not logged in")]
    NotLoggedIn,
    #[error("already logged in as '{0}'; log out first")]
    AlreadyLoggedIn(String),
    #[error("operation not permitted: {0}")]
    NotPermitted(String),
    #[error("user '{0}' already exists")]
    UserExists(String),
    #[error("user '{0}' not found")]
    UserNotFound(String),
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    #[error("invalid user name: {0}")]
    InvalidUserName(String),
    #[error("key handle {0} not found")]
    KeyNotFound(u64),
    #[error("session {0} not found")]
    SessionNotFound(u64),
    #[error("session {0} is in use by another thread: a session serves one thread at a time")]
    SessionBusy(u64),
    #[error("attribute {0} is read-only")]
    AttributeReadOnly(u32),
    #[error("attribute value invalid: {0}")]
    AttributeValueInvalid(String),
    #[error("attribute {0} is unknown")]
    AttributeTypeInvalid(u32),
    #[error("mechanism {0} is not supported for this key or operation")]
    MechanismInvalid(String),
    #[error("the key does not permit {0}")]
    KeyFunctionNotPermitted(&'static str),
    #[error("the key is not extractable")]
    KeyUnextractable,
    #[error("key type or size not supported: {0}")]
    KeySpecInvalid(String),
    #[error("the cluster holds {limit} key handles, its capacity; delete keys first")]
    CapacityExceeded { limit: usize },
    #[error("input is invalid: {0}")]
    DataInvalid(String),
    #[error("signature is invalid")]
    SignatureInvalid,
    #[error("decryption failed: wrong key, or the data was altered")]
    DecryptFailed,
    #[error("no HSM node of the cluster is available")]
    NoNodeAvailable,
    #[error("HSM node {0} does not exist")]
    NodeNotFound(usize),
    #[error("crypto provider failure: {0}")]
    Crypto(String),
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("certificate rejected: {0}")]
    CertificateInvalid(String),
    #[error("{0}")]
    CertificateExists(String),
    #[error("the partition is not ready to activate: {0}")]
    ActivationIncomplete(String),
    #[error("masked object rejected: {0}")]
    MaskedObjectInvalid(String),
    #[error("user '{0}' has two-factor authentication: log in with -2fa and sign the authdata")]
    TwoFactorRequired(String),
    #[error("two-factor authentication failed: {0}")]
    TwoFactorFailed(String),
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    #[error("not enabled: {0}")]
    FeatureDisabled(String),
    #[error("quorum approval required: {0}")]
    QuorumRequired(String),
    #[error("quorum token not found")]
    TokenNotFound,
    #[error("the quorum token has expired; get a new one")]
    TokenExpired,
    #[error("{0}")]
    TokenExists(String),
}

impl EngineError {
    /// The stable code a client sees.
    pub fn code(&self) -> &'static str {
        match self {
            Self::LoginFailed => "RET_USER_LOGIN_FAILURE",
            Self::UserLocked(_) => "RET_USER_LOCKED",
            Self::NotLoggedIn => "CKR_USER_NOT_LOGGED_IN",
            Self::AlreadyLoggedIn(_) => "CKR_USER_ALREADY_LOGGED_IN",
            Self::NotPermitted(_) => "RET_OPERATION_NOT_PERMITTED",
            Self::UserExists(_) => "RET_USER_EXISTS",
            Self::UserNotFound(_) => "RET_USER_NOT_FOUND",
            Self::InvalidPassword(_) => "CKR_PIN_LEN_RANGE",
            Self::InvalidUserName(_) => "RET_INVALID_USER_NAME",
            Self::KeyNotFound(_) => "CKR_OBJECT_HANDLE_INVALID",
            Self::SessionNotFound(_) => "CKR_SESSION_HANDLE_INVALID",
            Self::SessionBusy(_) => "CKR_OPERATION_ACTIVE",
            Self::AttributeReadOnly(_) => "CKR_ATTRIBUTE_READ_ONLY",
            Self::AttributeValueInvalid(_) => "CKR_ATTRIBUTE_VALUE_INVALID",
            Self::AttributeTypeInvalid(_) => "CKR_ATTRIBUTE_TYPE_INVALID",
            Self::MechanismInvalid(_) => "CKR_MECHANISM_INVALID",
            Self::KeyFunctionNotPermitted(_) => "CKR_KEY_FUNCTION_NOT_PERMITTED",
            Self::KeyUnextractable => "CKR_KEY_UNEXTRACTABLE",
            Self::KeySpecInvalid(_) => "CKR_KEY_SIZE_RANGE",
            Self::CapacityExceeded { .. } => "RET_OBJECT_LIMIT_REACHED",
            Self::DataInvalid(_) => "CKR_DATA_INVALID",
            Self::SignatureInvalid => "CKR_SIGNATURE_INVALID",
            Self::DecryptFailed => "CKR_ENCRYPTED_DATA_INVALID",
            Self::NoNodeAvailable => "RET_NO_HSM_AVAILABLE",
            Self::NodeNotFound(_) => "RET_INVALID_NODE",
            Self::Crypto(_) => "CKR_FUNCTION_FAILED",
            Self::Storage(_) => "CKR_DEVICE_ERROR",
            Self::CertificateInvalid(_) => "RET_INVALID_CERTIFICATE",
            Self::CertificateExists(_) => "RET_CERTIFICATE_EXISTS",
            Self::ActivationIncomplete(_) => "RET_PARTITION_NOT_INITIALIZED",
            Self::MaskedObjectInvalid(_) => "CKR_WRAPPED_KEY_INVALID",
            Self::TwoFactorRequired(_) => "RET_2FA_REQUIRED",
            Self::TwoFactorFailed(_) => "RET_2FA_VERIFICATION_FAILED",
            Self::InvalidPublicKey(_) => "RET_INVALID_PUBLIC_KEY",
            Self::FeatureDisabled(_) => "RET_FEATURE_DISABLED",
            Self::QuorumRequired(_) => "RET_QUORUM_APPROVAL_REQUIRED",
            Self::TokenNotFound => "RET_TOKEN_NOT_FOUND",
            Self::TokenExpired => "RET_TOKEN_EXPIRED",
            Self::TokenExists(_) => "RET_TOKEN_EXISTS",
        }
    }
}
