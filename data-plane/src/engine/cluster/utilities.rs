//! Operations that use no key: digest and random.

use super::{Cluster, EngineError, SessionHandle};
use crate::engine::mechanisms::digest::DigestAlgorithm;

/// The most random bytes one call returns (the HSM's message size).
pub const MAX_RANDOM: usize = 16 * 1024;

impl Cluster {
    /// `C_Digest` in one call. Any logged-in user may hash.
    pub fn digest(
        &self,
        session: SessionHandle,
        algorithm: DigestAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        self.audited("HASH_SINGLE_CALL", || {
            let _in_use = self.enter(session)?;
            Ok(algorithm.digest(data))
        })
    }

    /// `C_GenerateRandom`: `len` bytes from the HSM's generator.
    pub fn generate_random(
        &self,
        session: SessionHandle,
        len: usize,
    ) -> Result<Vec<u8>, EngineError> {
        self.audited("CN_GENERATE_RANDOM", || {
            let _in_use = self.enter(session)?;
            if len == 0 || len > MAX_RANDOM {
                return Err(EngineError::DataInvalid(format!(
                    "{len} random bytes asked; 1 to {MAX_RANDOM} per call"
                )));
            }
            crate::engine::partition::random(len)
        })
    }
}
