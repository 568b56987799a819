//! sign and verify (key_mgmt_util's `-f -k -m -out` / `-s`), and encrypt /
//! decrypt for the engine's ciphers (AES-GCM, AES-CBC-PAD, RSA-OAEP), and
//! the keyless digest and getRandom.

use super::{
    args::{flag, Parsed, Spec},
    context::Ctx,
    output,
    registry::Command,
    UtilError,
};

/// key_mgmt_util's signing mechanism numbers, to the engine's names; a name
/// (`SHA256_RSA_PKCS`, `ECDSA`, `SHA256_HMAC`) is passed on as given and the
/// HSM answers CKR_MECHANISM_INVALID for what it does not offer.
fn sign_mechanism(text: &str) -> String {
    match text {
        "1" => "SHA256_RSA_PKCS",
        "2" => "SHA384_RSA_PKCS",
        "3" => "SHA512_RSA_PKCS",
        "6" => "SHA256_RSA_PKCS_PSS",
        "7" => "SHA384_RSA_PKCS_PSS",
        "8" => "SHA512_RSA_PKCS_PSS",
        // The engine's ECDSA hashes with the curve's own hash (SHA-256 on
        // P-256 and secp256k1, SHA-384 on P-384).
        "17" | "18" => "ECDSA",
        other => other,
    }
    .to_string()
}

pub fn read(path: &str) -> Result<Vec<u8>, UtilError> {
    std::fs::read(path).map_err(|e| UtilError::File(format!("{path}: {e}")))
}

pub fn write(path: &str, bytes: &[u8]) -> Result<(), UtilError> {
    std::fs::write(path, bytes).map_err(|e| UtilError::File(format!("{path}: {e}")))
}

const MECHANISM_HELP: &str =
    "1 SHA256_RSA_PKCS, 2 SHA384_RSA_PKCS, 3 SHA512_RSA_PKCS, 6/7/8 SHA256/384/512_RSA_PKCS_PSS, \
     17 ECDSA (P-256, secp256k1), 18 ECDSA (P-384), or a name such as SHA256_HMAC";

pub const SIGN: Command = Command {
    spec: Spec {
        name: "sign",
        summary: "sign a file with a private (or HMAC) key",
        flags: &[
            flag("-f", "file", "the data to sign"),
            flag("-k", "key handle", "the private key"),
            flag("-m", "mechanism", MECHANISM_HELP),
            flag("-out", "file", "where the signature goes"),
        ],
        positionals: &[],
        example: "sign -f message.txt -k 9 -m 1 -out message.sig",
    },
    run: sign,
};

fn sign(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let data = read(parsed.require(parsed.get("-f"), "-f <file>")?)?;
    let handle: u64 = parsed.number("-k", "key handle")?;
    let mechanism = sign_mechanism(parsed.require(parsed.get("-m"), "-m <mechanism>")?);
    let out = parsed.require(parsed.get("-out"), "-out <file>")?;
    let hsm = ctx.session()?;
    let signature = hsm.run("Cfm3Sign", hsm.client.sign(handle, &mechanism, &data))?;
    write(out, &signature)?;
    output::success("Cfm3Sign");
    println!("\n\tsignature is written to file {out}");
    Ok(())
}

pub const VERIFY: Command = Command {
    spec: Spec {
        name: "verify",
        summary: "verify a signature with a public (or HMAC) key",
        flags: &[
            flag("-f", "file", "the signed data"),
            flag("-s", "file", "the signature"),
            flag("-k", "key handle", "the public key"),
            flag("-m", "mechanism", MECHANISM_HELP),
        ],
        positionals: &[],
        example: "verify -f message.txt -s message.sig -k 8 -m 1",
    },
    run: verify,
};

fn verify(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let data = read(parsed.require(parsed.get("-f"), "-f <file>")?)?;
    let signature = read(parsed.require(parsed.get("-s"), "-s <signature file>")?)?;
    let handle: u64 = parsed.number("-k", "key handle")?;
    let mechanism = sign_mechanism(parsed.require(parsed.get("-m"), "-m <mechanism>")?);
    let hsm = ctx.session()?;
    hsm.run(
        "Cfm3Verify",
        hsm.client.verify(handle, &mechanism, &data, &signature),
    )?;
    output::success("Cfm3Verify");
    println!("\n\tSignature verification successful");
    Ok(())
}

const CIPHER_FLAGS: &[super::args::Flag] = &[
    flag("-k", "key handle", "the key"),
    flag(
        "-m",
        "mechanism",
        "AES_GCM, AES_CBC_PAD or RSA_OAEP (SHA-256)",
    ),
    flag("-f", "file", "the input"),
    flag("-out", "file", "the output"),
    flag("-aad", "file", "AES-GCM additional authenticated data"),
];

pub const ENCRYPT: Command = Command {
    spec: Spec {
        name: "encrypt",
        summary: "encrypt a file (the IV the HSM draws comes first in the output)",
        flags: CIPHER_FLAGS,
        positionals: &[],
        example: "encrypt -k 7 -m AES_GCM -f plain.txt -out sealed.bin",
    },
    run: |ctx, parsed| cipher(ctx, parsed, true),
};

pub const DECRYPT: Command = Command {
    spec: Spec {
        name: "decrypt",
        summary: "decrypt a file encrypt wrote",
        flags: CIPHER_FLAGS,
        positionals: &[],
        example: "decrypt -k 7 -m AES_GCM -f sealed.bin -out plain.txt",
    },
    run: |ctx, parsed| cipher(ctx, parsed, false),
};

fn cipher(ctx: &mut Ctx, parsed: &Parsed, encrypt: bool) -> Result<(), UtilError> {
    let handle: u64 = parsed.number("-k", "key handle")?;
    let mechanism = parsed.require(parsed.get("-m"), "-m <mechanism>")?;
    let data = read(parsed.require(parsed.get("-f"), "-f <file>")?)?;
    let out = parsed.require(parsed.get("-out"), "-out <file>")?;
    let aad = match parsed.get("-aad") {
        Some(path) => read(path)?,
        None => Vec::new(),
    };
    let hsm = ctx.session()?;
    let (call, result) = if encrypt {
        let r = hsm.run(
            "Cfm3Encrypt",
            hsm.client.encrypt(handle, mechanism, &data, &aad),
        );
        ("Cfm3Encrypt", r)
    } else {
        let r = hsm.run(
            "Cfm3Decrypt",
            hsm.client.decrypt(handle, mechanism, &data, &aad),
        );
        ("Cfm3Decrypt", r)
    };
    let bytes = result?;
    write(out, &bytes)?;
    output::success(call);
    println!("\n\t{} bytes written to {out}", bytes.len());
    Ok(())
}

pub const DIGEST: Command = Command {
    spec: Spec {
        name: "digest",
        summary: "hash a file on the HSM (C_Digest); prints the digest in hex",
        flags: &[
            flag("-f", "file", "the data"),
            flag("-m", "mechanism", "SHA256, SHA384 or SHA512"),
            flag("-out", "file", "also write the raw digest to a file"),
        ],
        positionals: &[],
        example: "digest -f message.txt -m SHA256",
    },
    run: digest,
};

fn digest(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let data = read(parsed.require(parsed.get("-f"), "-f <file>")?)?;
    let mechanism = parsed.require(parsed.get("-m"), "-m <mechanism>")?;
    let hsm = ctx.session()?;
    let digest = hsm.run("Cfm3Digest", hsm.client.digest(mechanism, &data))?;
    if let Some(out) = parsed.get("-out") {
        write(out, &digest)?;
    }
    output::success("Cfm3Digest");
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    println!("\n\tDigest: {hex}");
    Ok(())
}

pub const GET_RANDOM: Command = Command {
    spec: Spec {
        name: "getRandom",
        summary: "random bytes from the HSM (C_GenerateRandom)",
        flags: &[
            flag("-n", "bytes", "how many (1 to 16384)"),
            flag("-out", "file", "where they go"),
        ],
        positionals: &[],
        example: "getRandom -n 32 -out seed.bin",
    },
    run: get_random,
};

fn get_random(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let length: usize = parsed.number("-n", "bytes")?;
    let out = parsed.require(parsed.get("-out"), "-out <file>")?;
    let hsm = ctx.session()?;
    let bytes = hsm.run("Cfm3GenerateRandom", hsm.client.generate_random(length))?;
    write(out, &bytes)?;
    output::success("Cfm3GenerateRandom");
    println!("\n\t{} random bytes written to {out}", bytes.len());
    Ok(())
}
