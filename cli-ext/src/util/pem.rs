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
}
