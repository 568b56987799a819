//! The officer's half of a 2FA (or quorum-key) exchange, as
//! cloudhsm_mgmt_util runs it: the HSM's authdata is written to the file
//! `-2fa` names; the officer signs each `Digest` with the 2FA private key
//! elsewhere (`openssl dgst -sha256 -sign officer.key` over the decoded
//! digest), puts the base64 signatures in `Signature` (and, when the key is
//! being set, the PEM public key in `PublicKey`), and presses Enter; the
//! utility hands the file back.

use std::{future::Future, io::Write};

use cloudhsm_data_plane::{client::ClientError, engine::two_factor::AuthData};

use super::{
    context::Hsm,
    crypto::{read, write},
    UtilError,
};

/// createUser, changePswd and registerQuorumPubKey with 2FA: `begin` asks
/// the HSM for the authdata, the officer signs it (and adds its public key)
/// in `path`, and the signed file completes the command. Every step reports
/// under the command's own status name `call`.
pub fn officer_exchange(
    hsm: &Hsm<'_>,
    call: &'static str,
    path: &str,
    begin: impl Future<Output = Result<AuthData, ClientError>>,
) -> Result<(), UtilError> {
    let request = hsm.run(call, begin)?;
    let signed = exchange(path, &request, true)?;
    hsm.run(call, hsm.client.complete_two_factor(&signed))
}

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
