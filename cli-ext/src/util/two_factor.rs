//! The officer's half of a 2FA (or quorum-key) exchange, as
//! cloudhsm_mgmt_util runs it: the HSM's authdata is written to the file
//! `-2fa` names; the officer signs each `Digest` with the 2FA private key
//! elsewhere (`openssl dgst -sha256 -sign officer.key` over the decoded
//! digest), puts the base64 signatures in `Signature` (and, when the key is
//! being set, the PEM public key in `PublicKey`), and presses Enter; the
//! utility hands the file back.

use std::io::Write;

use cloudhsm_data_plane::engine::two_factor::AuthData;

use super::{
    crypto::{read, write},
    UtilError,
};

pub fn exchange(
    path: &str,
    request: &AuthData,
    needs_public_key: bool,
) -> Result<AuthData, UtilError> {
    let text = serde_json::to_string_pretty(request)
        .map_err(|e| UtilError::File(format!("{path}: {e}")))?;
    write(path, text.as_bytes())?;
    println!(
        "\n\tAuthdata written to {path}: sign each Digest with your 2FA private key, put the \
         base64 signatures in the Signature fields{}, then press Enter",
        if needs_public_key {
            " and your public key (PEM) in PublicKey"
        } else {
            ""
        }
    );
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let read_bytes = std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| UtilError::File(format!("stdin: {e}")))?;
    if read_bytes == 0 {
        return Err(UtilError::Usage(
            "-2fa: input ended before the signed authdata was confirmed (press Enter when it is signed)"
                .into(),
        ));
    }
    serde_json::from_slice(&read(path)?)
        .map_err(|e| UtilError::File(format!("{path}: not authdata JSON: {e}")))
}
