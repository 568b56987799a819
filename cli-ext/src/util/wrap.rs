//! wrapKey / unWrapKey (key_mgmt_util's flags; AES key wrap with padding)
//! and exportPubKey / importPubKey (PEM).

use cloudhsm_data_plane::{
    engine::{
        attributes::{ids, Attribute},
        keys::Curve,
    },
    KeySpec,
};

use super::{
    args::{flag, Parsed, Spec},
    context::Ctx,
    crypto::{read, write},
    keys::{self, LABEL_FLAGS, TYPE_AES, TYPE_EC, TYPE_GENERIC_SECRET, TYPE_RSA},
    output, pem,
    registry::Command,
    UtilError,
};

/// key_mgmt_util's wrapping mechanism numbers; names pass through.
fn wrap_mechanism(text: Option<&str>) -> String {
    match text {
        // Without -m: AES key wrap with padding (RFC 5649), the one the
        // engine offers.
        None | Some("5") => "AES_KEY_WRAP_PAD",
        Some("0") => "CLOUDHSM_AES_KEY_WRAP_PKCS5_PAD",
        Some(other) => other,
    }
    .to_string()
}

const MECHANISM: super::args::Flag = flag(
    "-m",
    "mechanism",
    "5 = NIST AES key wrap with padding (default), or a mechanism name",
);

pub const WRAP_KEY: Command = Command {
    spec: Spec {
        name: "wrapKey",
        summary: "export a key encrypted under a wrapping key",
        flags: &[
            flag("-k", "key handle", "the key to wrap (must be extractable)"),
            flag("-w", "key handle", "the wrapping key"),
            flag("-out", "file", "where the wrapped key goes"),
            MECHANISM,
        ],
        positionals: &[],
        example: "wrapKey -k 7 -w 14 -out wrapped.key",
    },
    run: wrap_key,
};

fn wrap_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let target: u64 = parsed.number("-k", "key handle")?;
    let wrapping: u64 = parsed.number("-w", "wrapping key handle")?;
    let out = parsed.require(parsed.get("-out"), "-out <file>")?;
    let mechanism = wrap_mechanism(parsed.get("-m"));
    let hsm = ctx.session()?;
    let wrapped = hsm.run(
        "Cfm2WrapKey",
        hsm.client.wrap_key(wrapping, target, &mechanism),
    )?;
    write(out, &wrapped)?;
    output::success("Cfm2WrapKey");
    println!(
        "\n\tKey Wrapped.\n\n\tWrapped Key written to file \"{out}\" length {}",
        wrapped.len()
    );
    Ok(())
}

pub const UNWRAP_KEY: Command = Command {
    spec: Spec {
        name: "unWrapKey",
        summary: "import a wrapped key (also spelt unwrapKey)",
        flags: &[
            flag("-f", "file", "the wrapped key"),
            flag("-w", "key handle", "the unwrapping key"),
            flag(
                "-kt",
                "key type",
                "31 = AES (default), 16 = generic secret, 0 = RSA, 3 = EC",
            ),
            flag(
                "-s",
                "key size",
                "bytes of a secret key (default: from the wrapped length)",
            ),
            flag("-b", "modulus bits", "an RSA key's size (default 2048)"),
            flag("-i", "curve id", "an EC key's curve: 2, 14 or 16"),
            MECHANISM,
            LABEL_FLAGS[0],
            LABEL_FLAGS[1],
            LABEL_FLAGS[2],
            LABEL_FLAGS[3],
        ],
        positionals: &[],
        example: "unWrapKey -f wrapped.key -w 14 -l restored",
    },
    run: unwrap_key,
};

fn unwrap_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let wrapped = read(parsed.require(parsed.get("-f"), "-f <file>")?)?;
    let wrapping: u64 = parsed.number("-w", "unwrapping key handle")?;
    // AES key wrap adds 8 bytes and pads to 8: the key's size follows.
    let derived = wrapped.len().saturating_sub(8);
    let spec = match parsed.number_or("-kt", TYPE_AES)? {
        TYPE_AES => KeySpec::Aes {
            bits: (parsed.number_or("-s", derived)? * 8) as u32,
        },
        TYPE_GENERIC_SECRET => KeySpec::GenericSecret {
            bytes: parsed.number_or("-s", derived)?,
        },
        TYPE_RSA => KeySpec::Rsa {
            bits: parsed.number_or("-b", 2048)?,
        },
        TYPE_EC => KeySpec::Ec {
            curve: keys::curve(parsed.number("-i", "curve id")?)?,
        },
        other => {
            return Err(UtilError::Usage(format!(
                "unWrapKey -kt {other}: key types are 31, 16, 0 and 3"
            )))
        }
    };
    let attributes = keys::new_key_attributes(parsed)?;
    let mechanism = wrap_mechanism(parsed.get("-m"));
    let hsm = ctx.session()?;
    let handle = hsm.run(
        "Cfm3UnWrapKey",
        hsm.client
            .unwrap_key(wrapping, &wrapped, &mechanism, spec, attributes),
    )?;
    output::success("Cfm3UnWrapKey");
    println!("\n\tKey Unwrapped.  Key Handle: {handle}");
    Ok(())
}

pub const EXPORT_PUB_KEY: Command = Command {
    spec: Spec {
        name: "exportPubKey",
        summary: "write a public key to a PEM file",
        flags: &[
            flag("-k", "key handle", "the public key"),
            flag("-out", "file", "the PEM file"),
        ],
        positionals: &[],
        example: "exportPubKey -k 8 -out public.pem",
    },
    run: export_pub_key,
};

fn export_pub_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let handle: u64 = parsed.number("-k", "key handle")?;
    let out = parsed.require(parsed.get("-out"), "-out <file>")?;
    let hsm = ctx.session()?;
    let call = "Cfm3ExportPubKey";
    let bare = hsm.run(call, hsm.client.export_public_key(handle))?;
    let key_type = hsm.run(call, hsm.client.get_attribute(handle, ids::KEY_TYPE))?;
    let der = if key_type == Attribute::Number(TYPE_EC) {
        let params = hsm.run(call, hsm.client.get_attribute(handle, ids::EC_PARAMS))?;
        let oid = match &params {
            Attribute::Text(hex) => pem::hex_decode(hex),
            _ => None,
        }
        .ok_or_else(|| UtilError::File(format!("key {handle}: unreadable curve {params:?}")))?;
        pem::ec_spki(&oid, &bare)
    } else {
        pem::rsa_spki(&bare)
    };
    write(out, pem::public_key_pem(&der).as_bytes())?;
    output::success(call);
    println!("\n\tPEM formatted public key is written to {out}");
    Ok(())
}

pub const IMPORT_PUB_KEY: Command = Command {
    spec: Spec {
        name: "importPubKey",
        summary: "import an RSA or EC public key from a PEM file",
        flags: &[
            flag("-f", "file", "the PEM public key (SubjectPublicKeyInfo)"),
            LABEL_FLAGS[0],
            LABEL_FLAGS[1],
        ],
        positionals: &[],
        example: "importPubKey -f partner.pem -l partner-key",
    },
    run: import_pub_key,
};

fn import_pub_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let path = parsed.require(parsed.get("-f"), "-f <file>")?;
    let text = String::from_utf8(read(path)?)
        .map_err(|_| UtilError::File(format!("{path}: not a PEM text file")))?;
    let key =
        pem::parse_public_key_pem(&text).map_err(|e| UtilError::File(format!("{path}: {e}")))?;
    let (spec, bytes) = match key {
        pem::PublicKey::Rsa { pkcs1, bits } => (KeySpec::Rsa { bits }, pkcs1),
        pem::PublicKey::Ec { curve_oid, point } => {
            let curve = [Curve::P256, Curve::P384, Curve::Secp256k1]
                .into_iter()
                .find(|c| pem::hex_decode(c.oid_der_hex()).as_deref() == Some(&curve_oid[..]))
                .ok_or_else(|| {
                    UtilError::File(format!(
                        "{path}: the curve is not one the HSM offers (P-256, P-384, secp256k1)"
                    ))
                })?;
            (KeySpec::Ec { curve }, point)
        }
    };
    let attributes = keys::new_key_attributes(parsed)?;
    let hsm = ctx.session()?;
    let handle = hsm.run(
        "Cfm3CreatePublicKey",
        hsm.client.import_public_key(spec, &bytes, attributes),
    )?;
    output::success("Cfm3CreatePublicKey");
    println!("\n\tPublic Key Handle: {handle}");
    Ok(())
}
