//! Certificate storage, as Azure Cloud HSM's PKCS#11 library offers it: X.509
//! certificates kept on the HSM as public objects (created, found, read,
//! relabelled, copied and destroyed like keys, replicated and backed up with
//! them). Their handles come from the keys' counter, so one handle names one
//! object of either kind. Subject, issuer and serial number are read from
//! the certificate itself.

use x509_parser::{certificate::X509Certificate, public_key::PublicKey};

use super::{
    Attribute, Cluster, EngineError, KeyAttributes, KeyClass, KeyHandle, KeyMaterial, KeyObject,
    KeySpec, SessionHandle,
};
use crate::engine::{attributes::ids, keys::Curve};

/// Azure's limit for CKA_VALUE of a certificate.
const MAX_CERTIFICATE: usize = 32 * 1024;

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, EngineError> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((&[], certificate)) => Ok(certificate),
        _ => Err(EngineError::AttributeValueInvalid(
            "CKA_VALUE is not a DER X.509 certificate".into(),
        )),
    }
}

/// The spec of the certified key: RSA of any size, or EC on a curve the
/// engine knows.
fn certified_spec(certificate: &X509Certificate) -> Result<KeySpec, EngineError> {
    let spki = certificate.public_key();
    let unsupported = || {
        EngineError::AttributeValueInvalid(
            "only certificates of RSA and EC (P-256, P-384, secp256k1) keys are stored".into(),
        )
    };
    match spki.parsed().map_err(|_| unsupported())? {
        PublicKey::RSA(rsa) => Ok(KeySpec::Rsa {
            bits: rsa.key_size() as u32,
        }),
        PublicKey::EC(_) => {
            let oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or_else(unsupported)?;
            let content = oid.as_bytes();
            let der: String = [0x06, content.len() as u8]
                .iter()
                .chain(content)
                .map(|b| format!("{b:02x}"))
                .collect();
            [Curve::P256, Curve::P384, Curve::Secp256k1]
                .into_iter()
                .find(|c| c.oid_der_hex() == der)
                .map(|curve| KeySpec::Ec { curve })
                .ok_or_else(unsupported)
        }
        _ => Err(unsupported()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A certificate's attribute, byte strings as hex text (as EC_PARAMS).
pub(super) fn attribute(key: &KeyObject, id: u32) -> Result<Attribute, EngineError> {
    let KeyMaterial::Certificate(der) = &key.material else {
        return Err(EngineError::AttributeTypeInvalid(id));
    };
    match id {
        ids::CERTIFICATE_TYPE => Ok(Attribute::Number(0)), // CKC_X_509
        ids::VALUE => Ok(Attribute::Text(hex(der))),
        ids::SUBJECT | ids::ISSUER | ids::SERIAL_NUMBER => {
            let certificate = parse(der)?;
            let tbs = &certificate.tbs_certificate;
            Ok(Attribute::Text(match id {
                ids::SUBJECT => hex(tbs.subject.as_raw()),
                ids::ISSUER => hex(tbs.issuer.as_raw()),
                // The DER INTEGER, as PKCS#11 gives CKA_SERIAL_NUMBER.
                _ => {
                    let serial = tbs.raw_serial();
                    let mut integer = vec![0x02];
                    integer.extend(der_length(serial.len()));
                    integer.extend_from_slice(serial);
                    hex(&integer)
                }
            }))
        }
        ids::LABEL | ids::ID | ids::TOKEN | ids::PRIVATE | ids::TRUSTED => key.attributes.get(id),
        _ => Err(EngineError::AttributeTypeInvalid(id)),
    }
}

fn der_length(len: usize) -> Vec<u8> {
    match len {
        0..=0x7f => vec![len as u8],
        0x80..=0xff => vec![0x81, len as u8],
        _ => vec![0x82, (len >> 8) as u8, len as u8],
    }
}

/// What a certificate is, whatever the creator asked: a public, modifiable
/// token object that does nothing cryptographic.
fn certificate_attributes(mut attributes: KeyAttributes) -> KeyAttributes {
    attributes.private = false;
    attributes.sensitive = false;
    attributes.extractable = true;
    attributes.local = false;
    attributes.never_extractable = false;
    attributes.always_sensitive = false;
    attributes.trusted = false;
    attributes.wrap_with_trusted = false;
    attributes.encrypt = false;
    attributes.decrypt = false;
    attributes.wrap = false;
    attributes.unwrap = false;
    attributes.sign = false;
    attributes.verify = false;
    attributes.derive = false;
    attributes
}

impl Cluster {
    /// `C_CreateObject` of a CKO_CERTIFICATE: the caller owns it (only the
    /// owner relabels or destroys it); every crypto user sees it.
    pub fn create_certificate(
        &self,
        session: SessionHandle,
        der: Vec<u8>,
        attributes: KeyAttributes,
    ) -> Result<KeyHandle, EngineError> {
        self.audited("CN_CREATE_OBJECT", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            if der.len() > MAX_CERTIFICATE {
                return Err(EngineError::AttributeValueInvalid(format!(
                    "a certificate is at most {MAX_CERTIFICATE} bytes"
                )));
            }
            let spec = certified_spec(&parse(&der)?)?;
            let mut state = self.lock();
            let handle = self.allocate_handle(&mut state)?;
            state.put_key(KeyObject {
                handle,
                class: KeyClass::Certificate,
                spec,
                owner: caller.user,
                shared_with: Default::default(),
                attributes: certificate_attributes(attributes),
                material: KeyMaterial::Certificate(der),
                pair: None,
                prepared: Default::default(),
            });
            Ok(handle)
        })
    }

    /// `C_CopyObject`: certificates only (Azure copies certificate objects;
    /// keys are not CKA_COPYABLE). The copy, owned by the caller, may get
    /// another label and id.
    pub fn copy_object(
        &self,
        session: SessionHandle,
        handle: KeyHandle,
        changes: Vec<(u32, Attribute)>,
    ) -> Result<KeyHandle, EngineError> {
        self.audited("CN_COPY_OBJECT", || {
            let (caller, _in_use) = self.crypto_user(session)?;
            let original = self.usable_key(&caller, handle)?;
            if original.class != KeyClass::Certificate {
                return Err(EngineError::NotPermitted(
                    "keys are not copyable (CKA_COPYABLE is false); certificates are".into(),
                ));
            }
            let mut copy = (*original).clone();
            for (id, value) in &changes {
                if !matches!(*id, ids::LABEL | ids::ID) {
                    return Err(EngineError::AttributeReadOnly(*id));
                }
                copy.attributes.set(*id, value, caller.role)?;
            }
            let mut state = self.lock();
            let copied = self.allocate_handle(&mut state)?;
            copy.handle = copied;
            copy.owner = caller.user;
            copy.shared_with = Default::default();
            copy.prepared = Default::default();
            state.put_key(copy);
            Ok(copied)
        })
    }
}
