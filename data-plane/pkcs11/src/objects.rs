//! The cluster's keys as PKCS#11 objects: their attributes (the engine's
//! where it keeps them, derived from the public key for CKA_MODULUS,
//! CKA_PUBLIC_EXPONENT, CKA_EC_POINT), templates for find, generate and
//! create, and the engine's rules for changing them.

use cloudhsm_data_plane::engine::{
    attributes::{ids, Attribute},
    keys::{Curve, KeySpec},
};
use cryptoki_sys::*;

use crate::{
    error::{from_client, CkResult},
    state::{Module, Slot},
};

/// What never changes about a key: fetched once per handle.
#[derive(Debug, Clone, Copy)]
pub struct KeyInfo {
    pub class: CK_OBJECT_CLASS,
    pub key_type: CK_KEY_TYPE,
    /// RSA modulus bits, EC curve, secret bytes.
    pub spec: KeySpec,
}

impl KeyInfo {
    /// The length of an ECDSA signature's r and s, or of an RSA signature.
    pub fn signature_half(&self) -> usize {
        match self.spec {
            KeySpec::Ec { curve: Curve::P384 } => 48,
            KeySpec::Ec { .. } => 32,
            KeySpec::Rsa { bits } => bits as usize / 8,
            _ => 0,
        }
    }
}

/// A template as the application gave it: (type, value bytes).
pub type Template = Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>;

pub fn ulong(value: &[u8]) -> CkResult<CK_ULONG> {
    let bytes: [u8; std::mem::size_of::<CK_ULONG>()] =
        value.try_into().map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?;
    Ok(CK_ULONG::from_ne_bytes(bytes))
}

pub fn boolean(value: &[u8]) -> CkResult<bool> {
    match value {
        [b] => Ok(*b != 0),
        _ => Err(CKR_ATTRIBUTE_VALUE_INVALID),
    }
}

pub fn find_in(template: &Template, kind: CK_ATTRIBUTE_TYPE) -> Option<&[u8]> {
    template
        .iter()
        .find(|(t, _)| *t == kind)
        .map(|(_, v)| v.as_slice())
}

fn encode_ulong(v: CK_ULONG) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// CKA_ID is bytes; the engine keeps text. Bytes are kept as hex, and text
/// set by the utility reads back as its bytes unless it is hex.
fn id_to_engine(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn id_from_engine(text: &str) -> Vec<u8> {
    let hex = text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if hex {
        (0..text.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect()
    } else {
        text.as_bytes().to_vec()
    }
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The engine's boolean attributes, by the same ids as PKCS#11's.
const FLAGS: &[CK_ATTRIBUTE_TYPE] = &[
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_SENSITIVE,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_DERIVE,
    CKA_EXTRACTABLE,
    CKA_TRUSTED,
    CKA_WRAP_WITH_TRUSTED,
    CKA_LOCAL,
    CKA_NEVER_EXTRACTABLE,
    CKA_ALWAYS_SENSITIVE,
];

fn engine_id(kind: CK_ATTRIBUTE_TYPE) -> u32 {
    kind as u32
}

pub fn curve_from_params(params: &[u8]) -> CkResult<Curve> {
    let hex: String = params.iter().map(|b| format!("{b:02x}")).collect();
    for curve in [Curve::P256, Curve::P384, Curve::Secp256k1] {
        if curve.oid_der_hex() == hex {
            return Ok(curve);
        }
    }
    // Some applications pass the curve's name as a printable string.
    let text = match params {
        [0x13, n, rest @ ..] if *n as usize == rest.len() => rest,
        other => other,
    };
    std::str::from_utf8(text)
        .ok()
        .and_then(|name| Curve::parse(name).ok())
        .ok_or(CKR_CURVE_NOT_SUPPORTED)
}

impl Module {
    /// Class, key type and size of a key, fetched once.
    pub fn key_info(&self, slot: &Slot, handle: CK_OBJECT_HANDLE) -> CkResult<KeyInfo> {
        if handle == CK_INVALID_HANDLE {
            return Err(CKR_OBJECT_HANDLE_INVALID);
        }
        if let Some(info) = slot
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&handle)
        {
            return Ok(*info);
        }
        let client = self.client(slot);
        let number = |id: u32| -> CkResult<u64> {
            match self.block(client.get_attribute(handle, id)) {
                Ok(Attribute::Number(n)) => Ok(n),
                Ok(_) => Err(CKR_GENERAL_ERROR),
                Err(e) if e.code == "CKR_USER_NOT_LOGGED_IN" => Err(CKR_OBJECT_HANDLE_INVALID),
                Err(e) => Err(from_client(&e)),
            }
        };
        let class = number(ids::CLASS)? as CK_OBJECT_CLASS;
        if class == CKO_CERTIFICATE {
            // No key type; the spec is unused (no mechanism takes a certificate).
            let info = KeyInfo {
                class,
                key_type: CK_UNAVAILABLE_INFORMATION,
                spec: KeySpec::GenericSecret { bytes: 0 },
            };
            slot.keys
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(handle, info);
            return Ok(info);
        }
        let key_type = number(ids::KEY_TYPE)? as CK_KEY_TYPE;
        let spec = match key_type {
            CKK_RSA => KeySpec::Rsa {
                bits: number(ids::MODULUS_BITS)? as u32,
            },
            CKK_EC => {
                let text = match self.block(client.get_attribute(handle, ids::EC_PARAMS)) {
                    Ok(Attribute::Text(t)) => t,
                    Ok(_) => return Err(CKR_GENERAL_ERROR),
                    Err(e) => return Err(from_client(&e)),
                };
                KeySpec::Ec {
                    curve: curve_from_params(&hex_bytes(&text))?,
                }
            }
            CKK_AES => KeySpec::Aes {
                bits: number(ids::VALUE_LEN)? as u32 * 8,
            },
            _ => KeySpec::GenericSecret {
                bytes: number(ids::VALUE_LEN)? as usize,
            },
        };
        let info = KeyInfo {
            class,
            key_type,
            spec,
        };
        slot.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(handle, info);
        Ok(info)
    }

    /// The public key bytes of a key (its own, or its pair's for a private
    /// key): RSA PKCS#1 RSAPublicKey DER, or the EC uncompressed point.
    fn public_bytes(
        &self,
        slot: &Slot,
        handle: CK_OBJECT_HANDLE,
        info: &KeyInfo,
    ) -> CkResult<Vec<u8>> {
        let public = if info.class == CKO_PUBLIC_KEY {
            Some(handle)
        } else {
            self.public_half(slot, handle, info)
        };
        let public = public.ok_or(CKR_ATTRIBUTE_TYPE_INVALID)?;
        self.block(self.client(slot).export_public_key(public))
            .map_err(|e| from_client(&e))
    }

    /// The public key of a private key's pair: the one this process made
    /// with it, else the public key with the same label and id.
    fn public_half(
        &self,
        slot: &Slot,
        private: CK_OBJECT_HANDLE,
        info: &KeyInfo,
    ) -> Option<CK_OBJECT_HANDLE> {
        if let Some(public) = slot
            .pairs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&private)
        {
            return Some(*public);
        }
        let label = self
            .block(self.client(slot).get_attribute(private, ids::LABEL))
            .ok()?;
        let id = self
            .block(self.client(slot).get_attribute(private, ids::ID))
            .ok()?;
        let candidates = self
            .block(
                self.client(slot)
                    .find_keys(vec![(ids::LABEL, label), (ids::ID, id)]),
            )
            .ok()?;
        let found = candidates.into_iter().find(|h| {
            self.key_info(slot, *h)
                .map(|k| k.class == CKO_PUBLIC_KEY && k.spec == info.spec)
                .unwrap_or(false)
        })?;
        slot.pairs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(private, found);
        Some(found)
    }

    /// One attribute's value, or the `CKR_*` that C_GetAttributeValue
    /// reports for it.
    pub fn attribute(
        &self,
        slot: &Slot,
        handle: CK_OBJECT_HANDLE,
        kind: CK_ATTRIBUTE_TYPE,
    ) -> CkResult<Vec<u8>> {
        let info = self.key_info(slot, handle)?;
        let engine = |id: u32| {
            self.block(self.client(slot).get_attribute(handle, id))
                .map_err(|e| match from_client(&e) {
                    CKR_KEY_TYPE_INCONSISTENT => CKR_ATTRIBUTE_TYPE_INVALID,
                    other => other,
                })
        };
        let yes = |b: bool| vec![CK_BBOOL::from(b)];
        if info.class == CKO_CERTIFICATE {
            return certificate_attribute(kind, &engine);
        }
        Ok(match kind {
            CKA_CLASS => encode_ulong(info.class),
            CKA_KEY_TYPE => encode_ulong(info.key_type),
            CKA_LABEL => match engine(ids::LABEL)? {
                Attribute::Text(t) => t.into_bytes(),
                _ => Vec::new(),
            },
            CKA_ID => match engine(ids::ID)? {
                Attribute::Text(t) => id_from_engine(&t),
                _ => Vec::new(),
            },
            k if FLAGS.contains(&k) => match engine(engine_id(k))? {
                Attribute::Bool(b) => yes(b),
                Attribute::Number(n) => yes(n != 0),
                _ => return Err(CKR_GENERAL_ERROR),
            },
            CKA_MODIFIABLE | CKA_DESTROYABLE => yes(true),
            CKA_COPYABLE | CKA_ALWAYS_AUTHENTICATE | CKA_SIGN_RECOVER | CKA_VERIFY_RECOVER => {
                yes(false)
            }
            CKA_START_DATE | CKA_END_DATE | CKA_SUBJECT => Vec::new(),
            CKA_KEY_GEN_MECHANISM => encode_ulong(match info.spec {
                KeySpec::Rsa { .. } => CKM_RSA_PKCS_KEY_PAIR_GEN,
                KeySpec::Ec { .. } => CKM_EC_KEY_PAIR_GEN,
                KeySpec::Aes { .. } => CKM_AES_KEY_GEN,
                KeySpec::GenericSecret { .. } => CKM_GENERIC_SECRET_KEY_GEN,
            }),
            CKA_MODULUS_BITS => match info.spec {
                KeySpec::Rsa { bits } => encode_ulong(bits as CK_ULONG),
                _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
            },
            CKA_VALUE_LEN => match info.spec {
                KeySpec::Aes { bits } => encode_ulong(bits as CK_ULONG / 8),
                KeySpec::GenericSecret { bytes } => encode_ulong(bytes as CK_ULONG),
                _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
            },
            CKA_EC_PARAMS => match info.spec {
                KeySpec::Ec { curve } => hex_bytes(curve.oid_der_hex()),
                _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
            },
            CKA_MODULUS | CKA_PUBLIC_EXPONENT if info.key_type == CKK_RSA => {
                let der = self.public_bytes(slot, handle, &info)?;
                let (modulus, exponent) =
                    crate::der::rsa_public_key(&der).ok_or(CKR_GENERAL_ERROR)?;
                if kind == CKA_MODULUS {
                    modulus
                } else {
                    exponent
                }
            }
            CKA_EC_POINT if info.key_type == CKK_EC => {
                crate::der::octet_string(&self.public_bytes(slot, handle, &info)?)
            }
            CKA_PUBLIC_KEY_INFO if info.class != CKO_SECRET_KEY => {
                let bytes = self.public_bytes(slot, handle, &info)?;
                match info.spec {
                    KeySpec::Rsa { .. } => crate::der::rsa_spki(&bytes),
                    KeySpec::Ec { curve } => {
                        crate::der::ec_spki(&hex_bytes(curve.oid_der_hex()), &bytes)
                    }
                    _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
                }
            }
            // Secret and private values never leave the HSM in the clear.
            CKA_VALUE | CKA_PRIVATE_EXPONENT | CKA_PRIME_1 | CKA_PRIME_2 | CKA_EXPONENT_1
            | CKA_EXPONENT_2 | CKA_COEFFICIENT
                if info.class != CKO_PUBLIC_KEY =>
            {
                return Err(CKR_ATTRIBUTE_SENSITIVE)
            }
            _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
        })
    }

    pub fn set_attribute(
        &self,
        slot: &Slot,
        handle: CK_OBJECT_HANDLE,
        kind: CK_ATTRIBUTE_TYPE,
        value: &[u8],
    ) -> CkResult<()> {
        let info = self.key_info(slot, handle)?;
        if info.class == CKO_CERTIFICATE && !matches!(kind, CKA_LABEL | CKA_ID) {
            return Err(CKR_ATTRIBUTE_READ_ONLY);
        }
        let attribute = match kind {
            CKA_LABEL => Attribute::Text(
                String::from_utf8(value.to_vec()).map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?,
            ),
            CKA_ID => Attribute::Text(id_to_engine(value)),
            k if FLAGS.contains(&k) => Attribute::Bool(boolean(value)?),
            CKA_CLASS | CKA_KEY_TYPE | CKA_MODULUS | CKA_MODULUS_BITS | CKA_PUBLIC_EXPONENT
            | CKA_EC_PARAMS | CKA_EC_POINT | CKA_VALUE_LEN | CKA_VALUE => {
                return Err(CKR_ATTRIBUTE_READ_ONLY)
            }
            _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
        };
        self.block(
            self.client(slot)
                .set_attribute(handle, engine_id(kind), attribute),
        )
        .map_err(|e| match e.code.as_str() {
            // TRUSTED by a crypto user, usage flags by an officer.
            "RET_OPERATION_NOT_PERMITTED" => CKR_ATTRIBUTE_READ_ONLY,
            _ => from_client(&e),
        })
    }

    /// The handles matching a template: what the engine can filter by is
    /// sent to it, the rest compared here.
    pub fn find(&self, slot: &Slot, template: &Template) -> CkResult<Vec<CK_OBJECT_HANDLE>> {
        let mut filter = Vec::new();
        let mut local = Vec::new();
        for (kind, value) in template {
            match *kind {
                CKA_LABEL => match String::from_utf8(value.clone()) {
                    Ok(text) => filter.push((ids::LABEL, Attribute::Text(text))),
                    Err(_) => return Ok(Vec::new()),
                },
                CKA_ID => local.push((*kind, value.clone())),
                k if FLAGS.contains(&k) && value.len() == 1 => {
                    filter.push((engine_id(k), Attribute::Bool(value[0] != 0)))
                }
                _ => local.push((*kind, value.clone())),
            }
        }
        let handles = match self.block(self.client(slot).find_keys(filter)) {
            Ok(handles) => handles,
            // Without a login there are no objects to see.
            Err(e) if e.code == "CKR_USER_NOT_LOGGED_IN" => Vec::new(),
            Err(e) => return Err(from_client(&e)),
        };
        Ok(handles
            .into_iter()
            .filter(|h| {
                local.iter().all(|(kind, value)| {
                    self.attribute(slot, *h, *kind).ok().as_ref() == Some(value)
                })
            })
            .collect())
    }
}

/// The engine attributes a generation or creation template asks for. The
/// engine's defaults are PKCS#11's for HSM keys (token, private,
/// sensitive); a template may not weaken them.
pub fn engine_attributes(templates: &[&Template]) -> CkResult<Vec<(u32, Attribute)>> {
    let mut out: Vec<(u32, Attribute)> = Vec::new();
    let mut put = |id: u32, value: Attribute| {
        out.retain(|(i, _)| *i != id);
        out.push((id, value));
    };
    for template in templates {
        for (kind, value) in template.iter() {
            match *kind {
                CKA_LABEL => put(
                    ids::LABEL,
                    Attribute::Text(
                        String::from_utf8(value.clone())
                            .map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?,
                    ),
                ),
                CKA_ID => put(ids::ID, Attribute::Text(id_to_engine(value))),
                CKA_ENCRYPT | CKA_DECRYPT | CKA_WRAP | CKA_UNWRAP | CKA_SIGN | CKA_VERIFY
                | CKA_DERIVE => {
                    if boolean(value)? {
                        put(engine_id(*kind), Attribute::Bool(true));
                    }
                }
                CKA_EXTRACTABLE => {
                    if !boolean(value)? {
                        put(ids::EXTRACTABLE, Attribute::Bool(false));
                    }
                }
                CKA_WRAP_WITH_TRUSTED => {
                    if boolean(value)? {
                        put(ids::WRAP_WITH_TRUSTED, Attribute::Bool(true));
                    }
                }
                CKA_SENSITIVE => {
                    if !boolean(value)? {
                        return Err(CKR_ATTRIBUTE_VALUE_INVALID);
                    }
                }
                CKA_TRUSTED => {
                    if boolean(value)? {
                        return Err(CKR_ATTRIBUTE_READ_ONLY);
                    }
                }
                // Token and private are the HSM's; session objects are
                // token keys destroyed with their session.
                CKA_TOKEN
                | CKA_PRIVATE
                | CKA_CLASS
                | CKA_KEY_TYPE
                | CKA_MODULUS_BITS
                | CKA_PUBLIC_EXPONENT
                | CKA_EC_PARAMS
                | CKA_VALUE_LEN
                | CKA_MODIFIABLE
                | CKA_COPYABLE
                | CKA_DESTROYABLE
                | CKA_SUBJECT
                | CKA_START_DATE
                | CKA_END_DATE
                | CKA_SIGN_RECOVER
                | CKA_VERIFY_RECOVER
                | CKA_MODULUS
                | CKA_EC_POINT
                | CKA_VALUE
                | CKA_ALWAYS_AUTHENTICATE => {}
                _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
            }
        }
    }
    Ok(out)
}

/// Usages a template leaves unsaid default to what the key type does (the
/// standard leaves the defaults to the token; SoftHSMv2 and SunPKCS11, which
/// leaves CKA_SIGN out, expect this): appended to the engine attributes.
pub fn default_usages(
    attributes: &mut Vec<(u32, Attribute)>,
    templates: &[&Template],
    spec: KeySpec,
) {
    let said = |kind: CK_ATTRIBUTE_TYPE| templates.iter().any(|t| find_in(t, kind).is_some());
    let usages: &[CK_ATTRIBUTE_TYPE] = match spec {
        KeySpec::Rsa { .. } => &[CKA_SIGN, CKA_VERIFY, CKA_ENCRYPT, CKA_DECRYPT],
        KeySpec::Ec { .. } => &[CKA_SIGN, CKA_VERIFY],
        KeySpec::Aes { .. } => &[CKA_ENCRYPT, CKA_DECRYPT],
        KeySpec::GenericSecret { .. } => &[CKA_SIGN, CKA_VERIFY],
    };
    for usage in usages {
        if !said(*usage) {
            attributes.push((engine_id(*usage), Attribute::Bool(true)));
        }
    }
}

/// Whether a template asks for a session object (CKA_TOKEN false).
pub fn is_session_object(template: &Template) -> bool {
    find_in(template, CKA_TOKEN)
        .map(|v| v == [0])
        .unwrap_or(false)
}

/// The key spec of C_GenerateKey / C_UnwrapKey from the mechanism or the
/// template's key type and CKA_VALUE_LEN.
pub fn secret_spec(
    key_type: CK_KEY_TYPE,
    template: &Template,
    inferred_len: Option<usize>,
) -> CkResult<KeySpec> {
    let len = match find_in(template, CKA_VALUE_LEN) {
        Some(v) => ulong(v)? as usize,
        None => inferred_len.ok_or(CKR_TEMPLATE_INCOMPLETE)?,
    };
    let spec = match key_type {
        CKK_AES => KeySpec::Aes {
            bits: (len * 8) as u32,
        },
        CKK_GENERIC_SECRET => KeySpec::GenericSecret { bytes: len },
        _ => return Err(CKR_TEMPLATE_INCONSISTENT),
    };
    spec.check().map_err(|_| CKR_KEY_SIZE_RANGE)?;
    Ok(spec)
}

/// Creates a public key from CKA_MODULUS/CKA_PUBLIC_EXPONENT or
/// CKA_EC_PARAMS/CKA_EC_POINT (C_CreateObject).
pub fn import_public(
    module: &Module,
    slot: &Slot,
    template: &Template,
) -> CkResult<CK_OBJECT_HANDLE> {
    let key_type = ulong(find_in(template, CKA_KEY_TYPE).ok_or(CKR_TEMPLATE_INCOMPLETE)?)?;
    let (spec, bytes) = match key_type {
        CKK_RSA => {
            let modulus = find_in(template, CKA_MODULUS).ok_or(CKR_TEMPLATE_INCOMPLETE)?;
            let exponent = find_in(template, CKA_PUBLIC_EXPONENT).ok_or(CKR_TEMPLATE_INCOMPLETE)?;
            let modulus = crate::der::strip_zeros(modulus);
            let bits = (modulus.len() * 8) as u32;
            (
                KeySpec::Rsa { bits },
                crate::der::rsa_public_key_der(modulus, exponent),
            )
        }
        CKK_EC => {
            let curve = curve_from_params(
                find_in(template, CKA_EC_PARAMS).ok_or(CKR_TEMPLATE_INCOMPLETE)?,
            )?;
            let point = find_in(template, CKA_EC_POINT).ok_or(CKR_TEMPLATE_INCOMPLETE)?;
            let point = crate::der::unwrap_octet_string(point).unwrap_or(point);
            (KeySpec::Ec { curve }, point.to_vec())
        }
        _ => return Err(CKR_ATTRIBUTE_VALUE_INVALID),
    };
    let attributes = engine_attributes(&[template])?;
    module
        .block(
            module
                .client(slot)
                .import_public_key(spec, &bytes, attributes),
        )
        .map_err(|e| match e.code.as_str() {
            "RET_INVALID_PUBLIC_KEY" | "CKR_KEY_SIZE_RANGE" => CKR_ATTRIBUTE_VALUE_INVALID,
            _ => from_client(&e),
        })
}

/// A certificate's attribute: what the engine keeps (value, subject, issuer
/// and serial read from the certificate, label, id), and PKCS#11's fixed
/// answers for a public token object.
fn certificate_attribute(
    kind: CK_ATTRIBUTE_TYPE,
    engine: &dyn Fn(u32) -> CkResult<Attribute>,
) -> CkResult<Vec<u8>> {
    let yes = |b: bool| vec![CK_BBOOL::from(b)];
    let hex_of = |id: u32| match engine(id)? {
        Attribute::Text(t) => Ok(hex_bytes(&t)),
        _ => Err(CKR_GENERAL_ERROR),
    };
    Ok(match kind {
        CKA_CLASS => encode_ulong(CKO_CERTIFICATE),
        CKA_CERTIFICATE_TYPE => encode_ulong(CKC_X_509),
        CKA_CERTIFICATE_CATEGORY => encode_ulong(CK_CERTIFICATE_CATEGORY_UNSPECIFIED),
        CKA_VALUE => hex_of(ids::VALUE)?,
        CKA_SUBJECT => hex_of(ids::SUBJECT)?,
        CKA_ISSUER => hex_of(ids::ISSUER)?,
        CKA_SERIAL_NUMBER => hex_of(ids::SERIAL_NUMBER)?,
        // The first three bytes of the value's SHA-1, as the standard defines it.
        CKA_CHECK_VALUE => {
            let value = hex_of(ids::VALUE)?;
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &value).as_ref()
                [..3]
                .to_vec()
        }
        CKA_LABEL => match engine(ids::LABEL)? {
            Attribute::Text(t) => t.into_bytes(),
            _ => Vec::new(),
        },
        CKA_ID => match engine(ids::ID)? {
            Attribute::Text(t) => id_from_engine(&t),
            _ => Vec::new(),
        },
        CKA_TOKEN | CKA_MODIFIABLE | CKA_COPYABLE | CKA_DESTROYABLE => yes(true),
        CKA_PRIVATE | CKA_TRUSTED => yes(false),
        CKA_JAVA_MIDP_SECURITY_DOMAIN => encode_ulong(CK_SECURITY_DOMAIN_UNSPECIFIED),
        CKA_START_DATE
        | CKA_END_DATE
        | CKA_URL
        | CKA_HASH_OF_SUBJECT_PUBLIC_KEY
        | CKA_HASH_OF_ISSUER_PUBLIC_KEY => Vec::new(),
        _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
    })
}

/// C_CreateObject of an X.509 certificate: CKA_VALUE is the DER; subject,
/// issuer and serial number are read from it (values given for them must
/// be the certificate's).
pub fn create_certificate(
    module: &Module,
    slot: &Slot,
    template: &Template,
) -> CkResult<CK_OBJECT_HANDLE> {
    match find_in(template, CKA_CERTIFICATE_TYPE) {
        None => return Err(CKR_TEMPLATE_INCOMPLETE),
        Some(v) if ulong(v)? != CKC_X_509 => return Err(CKR_ATTRIBUTE_VALUE_INVALID),
        Some(_) => {}
    }
    let der = find_in(template, CKA_VALUE).ok_or(CKR_TEMPLATE_INCOMPLETE)?;
    let mut attributes = Vec::new();
    for (kind, value) in template {
        match *kind {
            CKA_LABEL => attributes.push((
                ids::LABEL,
                Attribute::Text(
                    String::from_utf8(value.clone()).map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?,
                ),
            )),
            CKA_ID => attributes.push((ids::ID, Attribute::Text(id_to_engine(value)))),
            // Certificates are public objects and never trusted here.
            CKA_PRIVATE if boolean(value)? => return Err(CKR_ATTRIBUTE_VALUE_INVALID),
            CKA_TRUSTED if boolean(value)? => return Err(CKR_ATTRIBUTE_READ_ONLY),
            CKA_CERTIFICATE_CATEGORY if ulong(value)? != CK_CERTIFICATE_CATEGORY_UNSPECIFIED => {
                return Err(CKR_ATTRIBUTE_VALUE_INVALID)
            }
            CKA_CLASS
            | CKA_CERTIFICATE_TYPE
            | CKA_VALUE
            | CKA_TOKEN
            | CKA_PRIVATE
            | CKA_TRUSTED
            | CKA_MODIFIABLE
            | CKA_COPYABLE
            | CKA_DESTROYABLE
            | CKA_CERTIFICATE_CATEGORY
            | CKA_SUBJECT
            | CKA_ISSUER
            | CKA_SERIAL_NUMBER
            | CKA_START_DATE
            | CKA_END_DATE
            | CKA_CHECK_VALUE
            | CKA_URL
            | CKA_JAVA_MIDP_SECURITY_DOMAIN
            | CKA_HASH_OF_SUBJECT_PUBLIC_KEY
            | CKA_HASH_OF_ISSUER_PUBLIC_KEY
            | CKA_PUBLIC_KEY_INFO => {}
            _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
        }
    }
    let handle = module
        .block(module.client(slot).create_certificate(der, attributes))
        .map_err(|e| from_client(&e))?;
    // What the application said of the certificate must be what it is.
    for kind in [CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER] {
        if let Some(claimed) = find_in(template, kind) {
            let actual = module.attribute(slot, handle, kind)?;
            // The serial is a DER INTEGER; SunPKCS11 gives its content only.
            let same = actual == claimed
                || (kind == CKA_SERIAL_NUMBER
                    && crate::der::integer_content(&actual) == Some(claimed));
            if !same {
                let _ = module.block(module.client(slot).delete_key(handle));
                return Err(CKR_TEMPLATE_INCONSISTENT);
            }
        }
    }
    Ok(handle)
}

/// The changes C_CopyObject's template asks of a certificate's copy.
pub fn copy_changes(template: &Template) -> CkResult<Vec<(u32, Attribute)>> {
    let mut changes = Vec::new();
    for (kind, value) in template {
        match *kind {
            CKA_LABEL => changes.push((
                ids::LABEL,
                Attribute::Text(
                    String::from_utf8(value.clone()).map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?,
                ),
            )),
            CKA_ID => changes.push((ids::ID, Attribute::Text(id_to_engine(value)))),
            CKA_TOKEN => {
                boolean(value)?;
            }
            CKA_PRIVATE if !boolean(value)? => {}
            _ => return Err(CKR_ATTRIBUTE_READ_ONLY),
        }
    }
    Ok(changes)
}
