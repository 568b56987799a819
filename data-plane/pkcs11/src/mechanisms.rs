//! The mechanisms, under their PKCS#11 names and parameters, as the
//! engine's: one table answers C_GetMechanismList/Info, and each operation
//! becomes one engine call at its final step (multi-part data is hashed
//! here where the mechanism hashes, else kept until the final call).

use aws_lc_rs::digest;
use cloudhsm_data_plane::engine::keys::KeySpec;
use cryptoki_sys::*;

use crate::{error::CkResult, objects::KeyInfo};

/// (mechanism, min, max key size, flags): what works, and nothing else.
pub const TABLE: &[(CK_MECHANISM_TYPE, CK_ULONG, CK_ULONG, CK_FLAGS)] = &[
    (CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096, CKF_GENERATE_KEY_PAIR),
    (
        CKM_EC_KEY_PAIR_GEN,
        256,
        384,
        CKF_GENERATE_KEY_PAIR | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS,
    ),
    (CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE),
    (CKM_GENERIC_SECRET_KEY_GEN, 16, 800, CKF_GENERATE),
    (CKM_RSA_PKCS, 2048, 4096, CKF_SIGN | CKF_VERIFY),
    (CKM_SHA256_RSA_PKCS, 2048, 4096, CKF_SIGN | CKF_VERIFY),
    (CKM_SHA384_RSA_PKCS, 2048, 4096, CKF_SIGN | CKF_VERIFY),
    (CKM_SHA512_RSA_PKCS, 2048, 4096, CKF_SIGN | CKF_VERIFY),
    (CKM_RSA_PKCS_PSS, 2048, 4096, CKF_SIGN | CKF_VERIFY),
    (CKM_SHA256_RSA_PKCS_PSS, 2048, 4096, CKF_SIGN | CKF_VERIFY),
    (CKM_SHA384_RSA_PKCS_PSS, 2048, 4096, CKF_SIGN | CKF_VERIFY),
    (CKM_SHA512_RSA_PKCS_PSS, 2048, 4096, CKF_SIGN | CKF_VERIFY),
    (
        CKM_RSA_PKCS_OAEP,
        2048,
        4096,
        CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP,
    ),
    (
        CKM_ECDSA,
        256,
        384,
        CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS,
    ),
    (
        CKM_ECDSA_SHA1,
        256,
        384,
        CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS,
    ),
    (
        CKM_ECDSA_SHA224,
        256,
        384,
        CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS,
    ),
    (
        CKM_ECDSA_SHA256,
        256,
        384,
        CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS,
    ),
    (
        CKM_ECDSA_SHA384,
        256,
        384,
        CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS,
    ),
    (
        CKM_ECDSA_SHA512,
        256,
        384,
        CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS,
    ),
    (CKM_SHA256_HMAC, 16, 800, CKF_SIGN | CKF_VERIFY),
    (CKM_SHA384_HMAC, 16, 800, CKF_SIGN | CKF_VERIFY),
    (CKM_SHA512_HMAC, 16, 800, CKF_SIGN | CKF_VERIFY),
    (CKM_AES_GCM, 16, 32, CKF_ENCRYPT | CKF_DECRYPT),
    (CKM_AES_CBC_PAD, 16, 32, CKF_ENCRYPT | CKF_DECRYPT),
    (CKM_AES_KEY_WRAP_KWP, 16, 32, CKF_WRAP | CKF_UNWRAP),
    (CKM_AES_KEY_WRAP_PAD, 16, 32, CKF_WRAP | CKF_UNWRAP),
    (CKM_SHA_1, 0, 0, CKF_DIGEST),
    (CKM_SHA224, 0, 0, CKF_DIGEST),
    (CKM_SHA256, 0, 0, CKF_DIGEST),
    (CKM_SHA384, 0, 0, CKF_DIGEST),
    (CKM_SHA512, 0, 0, CKF_DIGEST),
];

/// The mechanism as the application passed it.
pub struct Mechanism<'a> {
    pub kind: CK_MECHANISM_TYPE,
    pub parameter: &'a [u8],
}

impl Mechanism<'_> {
    /// The parameter as a C struct, checked for size.
    fn parameter<T: Copy>(&self) -> CkResult<T> {
        if self.parameter.len() != std::mem::size_of::<T>() {
            return Err(CKR_MECHANISM_PARAM_INVALID);
        }
        // SAFETY: the size matches and T is a plain C struct; read_unaligned
        // copes with any alignment of the application's buffer.
        Ok(unsafe { std::ptr::read_unaligned(self.parameter.as_ptr() as *const T) })
    }
}

pub fn digest_algorithm(kind: CK_MECHANISM_TYPE) -> Option<&'static digest::Algorithm> {
    Some(match kind {
        CKM_SHA_1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        CKM_SHA224 => &digest::SHA224,
        CKM_SHA256 => &digest::SHA256,
        CKM_SHA384 => &digest::SHA384,
        CKM_SHA512 => &digest::SHA512,
        _ => return None,
    })
}

fn pss_engine_name(hash: CK_MECHANISM_TYPE) -> Option<&'static str> {
    Some(match hash {
        CKM_SHA256 => "RSA_PSS_SHA256_PREHASHED",
        CKM_SHA384 => "RSA_PSS_SHA384_PREHASHED",
        CKM_SHA512 => "RSA_PSS_SHA512_PREHASHED",
        _ => return None,
    })
}

fn mgf_of(hash: CK_MECHANISM_TYPE) -> CK_ULONG {
    match hash {
        CKM_SHA384 => CKG_MGF1_SHA384,
        CKM_SHA512 => CKG_MGF1_SHA512,
        CKM_SHA224 => CKG_MGF1_SHA224,
        CKM_SHA_1 => CKG_MGF1_SHA1,
        _ => CKG_MGF1_SHA256,
    }
}

/// DigestInfo prefix for a hash (RSA PKCS#1 v1.5 signing).
fn digest_info(hash: CK_MECHANISM_TYPE, value: &[u8]) -> Vec<u8> {
    let oid_last = match hash {
        CKM_SHA384 => 2u8,
        CKM_SHA512 => 3,
        _ => 1,
    };
    let mut out = vec![
        0x30,
        (17 + value.len()) as u8,
        0x30,
        0x0d,
        0x06,
        0x09,
        0x60,
        0x86,
        0x48,
        0x01,
        0x65,
        0x03,
        0x04,
        0x02,
        oid_last,
        0x05,
        0x00,
        0x04,
        value.len() as u8,
    ];
    out.extend_from_slice(value);
    out
}

pub enum Input {
    Buffer(Vec<u8>),
    Hashing(digest::Context),
}

impl Input {
    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Buffer(b) => b.extend_from_slice(data),
            Self::Hashing(c) => c.update(data),
        }
    }

    fn finish(&mut self) -> Vec<u8> {
        match std::mem::replace(self, Self::Buffer(Vec::new())) {
            Self::Buffer(b) => b,
            Self::Hashing(c) => c.finish().as_ref().to_vec(),
        }
    }
}

enum SignKind {
    /// RSA PKCS#1 v1.5; the DigestInfo is made from `hash` (None: the input is one).
    RsaPkcs1 {
        hash: Option<CK_MECHANISM_TYPE>,
    },
    RsaPss {
        hash: CK_MECHANISM_TYPE,
    },
    Ecdsa,
    Hmac(&'static str),
}

/// A sign or verify operation in progress.
pub struct SignOp {
    pub key: CK_OBJECT_HANDLE,
    info: KeyInfo,
    kind: SignKind,
    input: Input,
    pub multipart: bool,
    /// The signature, once made: a size query keeps it for the next call.
    pub result: Option<Vec<u8>>,
}

impl SignOp {
    pub fn new(
        mechanism: &Mechanism,
        key: CK_OBJECT_HANDLE,
        info: KeyInfo,
        signing: bool,
    ) -> CkResult<Self> {
        let private_or_public = if signing {
            CKO_PRIVATE_KEY
        } else {
            CKO_PUBLIC_KEY
        };
        let want = |key_type: CK_KEY_TYPE, class: CK_OBJECT_CLASS| {
            if info.key_type == key_type && info.class == class {
                Ok(())
            } else {
                Err(CKR_KEY_TYPE_INCONSISTENT)
            }
        };
        let hashing = |kind: CK_MECHANISM_TYPE| {
            Input::Hashing(digest::Context::new(
                digest_algorithm(kind).unwrap_or(&digest::SHA256),
            ))
        };
        let (kind, input) = match mechanism.kind {
            CKM_RSA_PKCS => {
                want(CKK_RSA, private_or_public)?;
                (SignKind::RsaPkcs1 { hash: None }, Input::Buffer(Vec::new()))
            }
            CKM_SHA256_RSA_PKCS | CKM_SHA384_RSA_PKCS | CKM_SHA512_RSA_PKCS => {
                want(CKK_RSA, private_or_public)?;
                let hash = match mechanism.kind {
                    CKM_SHA384_RSA_PKCS => CKM_SHA384,
                    CKM_SHA512_RSA_PKCS => CKM_SHA512,
                    _ => CKM_SHA256,
                };
                (SignKind::RsaPkcs1 { hash: Some(hash) }, hashing(hash))
            }
            CKM_RSA_PKCS_PSS
            | CKM_SHA256_RSA_PKCS_PSS
            | CKM_SHA384_RSA_PKCS_PSS
            | CKM_SHA512_RSA_PKCS_PSS => {
                want(CKK_RSA, private_or_public)?;
                let params: CK_RSA_PKCS_PSS_PARAMS = mechanism.parameter()?;
                let expected = match mechanism.kind {
                    CKM_SHA256_RSA_PKCS_PSS => Some(CKM_SHA256),
                    CKM_SHA384_RSA_PKCS_PSS => Some(CKM_SHA384),
                    CKM_SHA512_RSA_PKCS_PSS => Some(CKM_SHA512),
                    _ => None,
                };
                let hash_len = digest_algorithm(params.hashAlg).map(|a| a.output_len());
                // The engine's PSS: salt as long as the hash, MGF1 of the same hash.
                if pss_engine_name(params.hashAlg).is_none()
                    || expected.is_some_and(|e| e != params.hashAlg)
                    || params.mgf != mgf_of(params.hashAlg)
                    || Some(params.sLen as usize) != hash_len
                {
                    return Err(CKR_MECHANISM_PARAM_INVALID);
                }
                let input = if expected.is_some() {
                    hashing(params.hashAlg)
                } else {
                    Input::Buffer(Vec::new())
                };
                (
                    SignKind::RsaPss {
                        hash: params.hashAlg,
                    },
                    input,
                )
            }
            CKM_ECDSA => {
                want(CKK_EC, private_or_public)?;
                (SignKind::Ecdsa, Input::Buffer(Vec::new()))
            }
            CKM_ECDSA_SHA1 | CKM_ECDSA_SHA224 | CKM_ECDSA_SHA256 | CKM_ECDSA_SHA384
            | CKM_ECDSA_SHA512 => {
                want(CKK_EC, private_or_public)?;
                let hash = match mechanism.kind {
                    CKM_ECDSA_SHA1 => CKM_SHA_1,
                    CKM_ECDSA_SHA224 => CKM_SHA224,
                    CKM_ECDSA_SHA384 => CKM_SHA384,
                    CKM_ECDSA_SHA512 => CKM_SHA512,
                    _ => CKM_SHA256,
                };
                (SignKind::Ecdsa, hashing(hash))
            }
            CKM_SHA256_HMAC | CKM_SHA384_HMAC | CKM_SHA512_HMAC => {
                if info.class != CKO_SECRET_KEY {
                    return Err(CKR_KEY_TYPE_INCONSISTENT);
                }
                let name = match mechanism.kind {
                    CKM_SHA384_HMAC => "SHA384_HMAC",
                    CKM_SHA512_HMAC => "SHA512_HMAC",
                    _ => "SHA256_HMAC",
                };
                (SignKind::Hmac(name), Input::Buffer(Vec::new()))
            }
            _ => return Err(CKR_MECHANISM_INVALID),
        };
        Ok(Self {
            key,
            info,
            kind,
            input,
            multipart: false,
            result: None,
        })
    }

    pub fn update(&mut self, data: &[u8]) {
        self.input.update(data);
    }

    /// The signature's length, known without making it.
    pub fn signature_len(&self) -> usize {
        match self.kind {
            SignKind::Ecdsa => 2 * self.info.signature_half(),
            SignKind::Hmac(name) => match name {
                "SHA384_HMAC" => 48,
                "SHA512_HMAC" => 64,
                _ => 32,
            },
            _ => self.info.signature_half(),
        }
    }

    /// The engine mechanism and the bytes it signs.
    pub fn engine_input(&mut self) -> CkResult<(&'static str, Vec<u8>)> {
        let data = self.input.finish();
        Ok(match self.kind {
            SignKind::RsaPkcs1 { hash: Some(hash) } => {
                ("RSA_PKCS1_PREHASHED", digest_info(hash, &data))
            }
            SignKind::RsaPkcs1 { hash: None } => ("RSA_PKCS1_PREHASHED", data),
            SignKind::RsaPss { hash } => {
                (pss_engine_name(hash).ok_or(CKR_MECHANISM_INVALID)?, data)
            }
            SignKind::Ecdsa => {
                // ECDSA uses the hash's leftmost bits, as many as the curve's
                // order has; a shorter hash is the same integer padded.
                let half = self.info.signature_half();
                let mut hash = vec![0u8; half];
                if data.len() >= half {
                    hash.copy_from_slice(&data[..half]);
                } else {
                    hash[half - data.len()..].copy_from_slice(&data);
                }
                ("ECDSA_PREHASHED", hash)
            }
            SignKind::Hmac(name) => (name, data),
        })
    }

    /// The engine's signature as PKCS#11 gives it.
    pub fn signature_out(&self, engine: Vec<u8>) -> CkResult<Vec<u8>> {
        match self.kind {
            SignKind::Ecdsa => crate::der::ecdsa_to_raw(&engine, self.info.signature_half())
                .ok_or(CKR_FUNCTION_FAILED),
            _ => Ok(engine),
        }
    }

    /// A PKCS#11 signature as the engine checks it.
    pub fn signature_in(&self, signature: &[u8]) -> CkResult<Vec<u8>> {
        match self.kind {
            SignKind::Ecdsa => {
                if signature.len() != 2 * self.info.signature_half() {
                    return Err(CKR_SIGNATURE_LEN_RANGE);
                }
                Ok(crate::der::ecdsa_to_der(signature))
            }
            _ => {
                if signature.len() != self.signature_len() {
                    return Err(CKR_SIGNATURE_LEN_RANGE);
                }
                Ok(signature.to_vec())
            }
        }
    }
}

pub enum CipherKind {
    /// The HSM draws the IV (as Azure's and AWS's HSMs do for AES-GCM) and
    /// it is written back to the application's CK_GCM_PARAMS.pIv.
    AesGcm {
        iv: usize,
        aad: Vec<u8>,
    },
    AesCbcPad {
        iv: [u8; 16],
    },
    RsaOaep,
}

/// An encrypt or decrypt operation in progress: the data is kept until the
/// final call, where the engine does it in one piece.
pub struct CipherOp {
    pub key: CK_OBJECT_HANDLE,
    pub kind: CipherKind,
    pub data: Vec<u8>,
    pub multipart: bool,
    pub result: Option<Vec<u8>>,
}

// SAFETY: the IV pointer is only written by the thread that owns the
// session's operation, during the call the application made with it valid.
unsafe impl Send for CipherOp {}

impl CipherOp {
    pub fn new(
        mechanism: &Mechanism,
        key: CK_OBJECT_HANDLE,
        info: KeyInfo,
        encrypting: bool,
    ) -> CkResult<Self> {
        let kind = match mechanism.kind {
            CKM_AES_GCM => {
                if info.key_type != CKK_AES {
                    return Err(CKR_KEY_TYPE_INCONSISTENT);
                }
                let params: CK_GCM_PARAMS = mechanism.parameter()?;
                if params.ulIvLen != 12 || params.pIv.is_null() || params.ulTagBits != 128 {
                    return Err(CKR_MECHANISM_PARAM_INVALID);
                }
                let aad = if params.ulAADLen == 0 {
                    Vec::new()
                } else if params.pAAD.is_null() {
                    return Err(CKR_MECHANISM_PARAM_INVALID);
                } else {
                    // SAFETY: the application passes ulAADLen readable bytes.
                    unsafe { std::slice::from_raw_parts(params.pAAD, params.ulAADLen as usize) }
                        .to_vec()
                };
                CipherKind::AesGcm {
                    iv: params.pIv as usize,
                    aad,
                }
            }
            CKM_AES_CBC_PAD => {
                if info.key_type != CKK_AES {
                    return Err(CKR_KEY_TYPE_INCONSISTENT);
                }
                let iv: [u8; 16] = mechanism
                    .parameter
                    .try_into()
                    .map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
                CipherKind::AesCbcPad { iv }
            }
            CKM_RSA_PKCS_OAEP => {
                let class = if encrypting {
                    CKO_PUBLIC_KEY
                } else {
                    CKO_PRIVATE_KEY
                };
                if info.key_type != CKK_RSA || info.class != class {
                    return Err(CKR_KEY_TYPE_INCONSISTENT);
                }
                check_oaep(mechanism)?;
                CipherKind::RsaOaep
            }
            _ => return Err(CKR_MECHANISM_INVALID),
        };
        if !matches!(info.spec, KeySpec::Aes { .. } | KeySpec::Rsa { .. }) {
            return Err(CKR_KEY_TYPE_INCONSISTENT);
        }
        Ok(Self {
            key,
            kind,
            data: Vec::new(),
            multipart: false,
            result: None,
        })
    }
}

/// The engine's OAEP: SHA-256, MGF1-SHA-256, no label.
pub fn check_oaep(mechanism: &Mechanism) -> CkResult<()> {
    let params: CK_RSA_PKCS_OAEP_PARAMS = mechanism.parameter()?;
    if params.hashAlg != CKM_SHA256
        || params.mgf != CKG_MGF1_SHA256
        || (params.ulSourceDataLen != 0 && params.source == CKZ_DATA_SPECIFIED)
    {
        return Err(CKR_MECHANISM_PARAM_INVALID);
    }
    Ok(())
}

pub struct DigestOp {
    pub context: digest::Context,
    pub multipart: bool,
    pub result: Option<Vec<u8>>,
}
