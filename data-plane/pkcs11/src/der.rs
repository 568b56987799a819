//! The little DER the module needs: RSA public keys, EC points,
//! SubjectPublicKeyInfo, ECDSA signatures (DER ↔ PKCS#11's r ‖ s).

fn length(len: usize, out: &mut Vec<u8>) {
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
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    length(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// Reads one TLV: (tag, body, rest).
fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

pub fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn integer(unsigned: &[u8]) -> Vec<u8> {
    let value = strip_zeros(unsigned);
    let mut body = Vec::with_capacity(value.len() + 1);
    if value.first().is_none_or(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(value);
    tlv(0x02, &body)
}

/// (modulus, public exponent) of a PKCS#1 RSAPublicKey, unsigned big-endian.
pub fn rsa_public_key(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (0x30, body, _) = read(der)? else {
        return None;
    };
    let (0x02, n, rest) = read(body)? else {
        return None;
    };
    let (0x02, e, _) = read(rest)? else {
        return None;
    };
    Some((strip_zeros(n).to_vec(), strip_zeros(e).to_vec()))
}

pub fn rsa_public_key_der(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let mut body = integer(modulus);
    body.extend(integer(exponent));
    tlv(0x30, &body)
}

pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

pub fn unwrap_octet_string(der: &[u8]) -> Option<&[u8]> {
    match read(der)? {
        (0x04, body, []) => Some(body),
        _ => None,
    }
}

fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(key);
    let mut body = tlv(0x30, algorithm);
    body.extend(tlv(0x03, &bits));
    tlv(0x30, &body)
}

pub fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    // rsaEncryption, NULL parameters.
    const ALGORITHM: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    spki(ALGORITHM, pkcs1)
}

pub fn ec_spki(curve_oid: &[u8], point: &[u8]) -> Vec<u8> {
    // id-ecPublicKey, then the curve.
    let mut algorithm = vec![0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    algorithm.extend_from_slice(curve_oid);
    spki(&algorithm, point)
}

/// An ECDSA-Sig-Value as PKCS#11's r ‖ s, each `half` bytes.
pub fn ecdsa_to_raw(der: &[u8], half: usize) -> Option<Vec<u8>> {
    let (0x30, body, _) = read(der)? else {
        return None;
    };
    let (0x02, r, rest) = read(body)? else {
        return None;
    };
    let (0x02, s, _) = read(rest)? else {
        return None;
    };
    let mut out = vec![0u8; 2 * half];
    for (i, v) in [strip_zeros(r), strip_zeros(s)].into_iter().enumerate() {
        if v.len() > half {
            return None;
        }
        out[(i + 1) * half - v.len()..(i + 1) * half].copy_from_slice(v);
    }
    Some(out)
}

pub fn ecdsa_to_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = integer(r);
    body.extend(integer(s));
    tlv(0x30, &body)
}

/// The content octets of a DER INTEGER.
pub fn integer_content(der: &[u8]) -> Option<&[u8]> {
    match der {
        [0x02, len, rest @ ..] if (*len as usize) < 0x80 && rest.len() == *len as usize => {
            Some(rest)
        }
        [0x02, 0x81, len, rest @ ..] if rest.len() == *len as usize => Some(rest),
        _ => None,
    }
}
