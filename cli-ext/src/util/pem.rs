//! Public keys as exportPubKey writes them: PEM SubjectPublicKeyInfo, what
//! OpenSSL and every SDK read. The HSM answers the bare key (an RSA
//! PKCS#1 RSAPublicKey, an EC point); this wraps it.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};

/// rsaEncryption, with its NULL parameters.
const RSA_ALGORITHM: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
/// id-ecPublicKey; the named curve follows.
const EC_ALGORITHM: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8]; // no unused bits
    bits.extend_from_slice(key);
    let mut body = der(0x30, algorithm);
    body.extend(der(0x03, &bits));
    der(0x30, &body)
}

pub fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    spki(RSA_ALGORITHM, pkcs1)
}

/// `curve_oid` is the DER-encoded OID (OBJ_ATTR_EC_PARAMS).
pub fn ec_spki(curve_oid: &[u8], point: &[u8]) -> Vec<u8> {
    let mut algorithm = EC_ALGORITHM.to_vec();
    algorithm.extend_from_slice(curve_oid);
    spki(&algorithm, point)
}

pub fn public_key_pem(der: &[u8]) -> String {
    let text = B64.encode(der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in text.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A public key read from a PEM SubjectPublicKeyInfo: what importPubKey
/// sends the HSM.
#[derive(Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// The PKCS#1 RSAPublicKey and its modulus size.
    Rsa { pkcs1: Vec<u8>, bits: u32 },
    /// The named curve's DER OID and the uncompressed point.
    Ec { curve_oid: Vec<u8>, point: Vec<u8> },
}

/// One DER element at the start of `input`: `(tag, content, rest)`.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((tag, content, rest))
}

/// Parses a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) for RSA or EC.
pub fn parse_public_key_pem(text: &str) -> Result<PublicKey, String> {
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN PUBLIC KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if body.is_empty() {
        return Err("not a PEM public key (-----BEGIN PUBLIC KEY-----)".into());
    }
    let der = B64
        .decode(body.trim())
        .map_err(|_| "the PEM body is not base64".to_string())?;
    let invalid = || "not a SubjectPublicKeyInfo".to_string();
    let (0x30, spki, _) = element(&der).ok_or_else(invalid)? else {
        return Err(invalid());
    };
    let (0x30, algorithm, rest) = element(spki).ok_or_else(invalid)? else {
        return Err(invalid());
    };
    let (0x03, bits, _) = element(rest).ok_or_else(invalid)? else {
        return Err(invalid());
    };
    let key = bits
        .get(1..)
        .filter(|_| bits.first() == Some(&0))
        .ok_or_else(invalid)?;
    let (0x06, oid, parameters) = element(algorithm).ok_or_else(invalid)? else {
        return Err(invalid());
    };
    if oid == &RSA_ALGORITHM[2..11] {
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
        let (0x30, fields, _) = element(key).ok_or_else(invalid)? else {
            return Err(invalid());
        };
        let (0x02, modulus, _) = element(fields).ok_or_else(invalid)? else {
            return Err(invalid());
        };
        let significant = modulus.iter().skip_while(|b| **b == 0).count();
        Ok(PublicKey::Rsa {
            pkcs1: key.to_vec(),
            bits: (significant * 8) as u32,
        })
    } else if oid == &EC_ALGORITHM[2..] {
        let (0x06, _, _) = element(parameters).ok_or_else(invalid)? else {
            return Err("an EC key without a named curve".into());
        };
        Ok(PublicKey::Ec {
            curve_oid: parameters.to_vec(),
            point: key.to_vec(),
        })
    } else {
        Err("only RSA and EC public keys are supported".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_and_pem_lines() {
        assert_eq!(der(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        let long = der(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let pem = public_key_pem(&[0u8; 100]);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(hex_decode("06052b"), Some(vec![6, 5, 0x2b]));
        assert_eq!(hex_decode("0"), None);
    }

    #[test]
    fn public_keys_round_trip_through_pem() {
        let mut pkcs1 = vec![0x30, 0x0a, 0x02, 0x05, 0x00, 0xc1, 0x02, 0x03, 0x04];
        pkcs1.extend([0x02, 0x01, 0x03]);
        let pem = public_key_pem(&rsa_spki(&pkcs1));
        assert_eq!(
            parse_public_key_pem(&pem),
            Ok(PublicKey::Rsa { pkcs1, bits: 32 })
        );
        let oid = hex_decode("06082a8648ce3d030107").unwrap();
        let point = vec![4u8; 65];
        let pem = public_key_pem(&ec_spki(&oid, &point));
        assert_eq!(
            parse_public_key_pem(&pem),
            Ok(PublicKey::Ec {
                curve_oid: oid,
                point
            })
        );
        assert!(parse_public_key_pem("junk").is_err());
        assert!(parse_public_key_pem(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
        )
        .is_err());
    }
}
