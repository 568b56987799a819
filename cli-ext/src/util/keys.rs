//! Key commands with key_mgmt_util's names and flags: genSymKey,
//! genRSAKeyPair, genECCKeyPair, findKey, deleteKey, and the management
//! utility's shareKey.

use cloudhsm_data_plane::{
    engine::{
        attributes::{ids, Attribute},
        keys::Curve,
    },
    KeySpec,
};

use super::{
    args::{flag, switch, Flag, Parsed, Spec},
    context::Ctx,
    output,
    registry::Command,
    UtilError,
};

/// key_mgmt_util's key type numbers (`-t`, `-kt`).
pub const TYPE_RSA: u64 = 0;
pub const TYPE_EC: u64 = 3;
pub const TYPE_GENERIC_SECRET: u64 = 16;
pub const TYPE_AES: u64 = 31;

/// The attributes every generating command takes.
pub const LABEL_FLAGS: [Flag; 4] = [
    flag("-l", "label", "the key's label"),
    flag("-id", "id", "the key's id"),
    switch(
        "-nex",
        "not extractable: the key can never leave the HSM, even wrapped",
    ),
    switch(
        "-sess",
        "a session key (not emulated: keys are always token keys)",
    ),
];

/// Attributes for a new key. Like key_mgmt_util, a new key may do what its
/// type allows (encrypt, decrypt, sign, verify, wrap, unwrap); the engine
/// keeps each half of a pair to its own uses. Narrow them with setAttribute.
pub fn new_key_attributes(parsed: &Parsed) -> Result<Vec<(u32, Attribute)>, UtilError> {
    if parsed.has("-sess") {
        return Err(UtilError::Usage(
            "-sess: session keys are not emulated; keys persist until deleteKey".into(),
        ));
    }
    let label = parsed.require(parsed.get("-l"), "-l <label>")?;
    let mut attributes = vec![(ids::LABEL, Attribute::Text(label.to_string()))];
    if let Some(id) = parsed.get("-id") {
        attributes.push((ids::ID, Attribute::Text(id.to_string())));
    }
    for id in [
        ids::ENCRYPT,
        ids::DECRYPT,
        ids::SIGN,
        ids::VERIFY,
        ids::WRAP,
        ids::UNWRAP,
    ] {
        attributes.push((id, Attribute::Bool(true)));
    }
    if parsed.has("-nex") {
        attributes.push((ids::EXTRACTABLE, Attribute::Bool(false)));
    }
    Ok(attributes)
}

pub const GEN_SYM_KEY: Command = Command {
    spec: Spec {
        name: "genSymKey",
        summary: "generate a symmetric key",
        flags: &[
            flag("-t", "key type", "31 = AES, 16 = generic secret (HMAC)"),
            flag(
                "-s",
                "key size",
                "in bytes: AES 16, 24 or 32; generic secret 16-800",
            ),
            LABEL_FLAGS[0],
            LABEL_FLAGS[1],
            LABEL_FLAGS[2],
            LABEL_FLAGS[3],
        ],
        positionals: &[],
        example: "genSymKey -t 31 -s 32 -l aes256",
    },
    run: gen_sym_key,
};

fn gen_sym_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let size: usize = parsed.number("-s", "key size")?;
    let spec = match parsed.number::<u64>("-t", "key type")? {
        TYPE_AES => KeySpec::Aes {
            bits: (size * 8) as u32,
        },
        TYPE_GENERIC_SECRET => KeySpec::GenericSecret { bytes: size },
        other => {
            return Err(UtilError::Usage(format!(
                "genSymKey -t {other}: key types are 31 (AES) and 16 (generic secret)"
            )))
        }
    };
    let attributes = new_key_attributes(parsed)?;
    let hsm = ctx.session()?;
    let handle = hsm.run_reported(
        "Cfm3GenerateSymmetricKey",
        hsm.client.generate_key(spec, attributes),
    )?;
    println!("\n\tSymmetric Key Created.  Key Handle: {handle}");
    Ok(())
}

pub const GEN_RSA_KEY_PAIR: Command = Command {
    spec: Spec {
        name: "genRSAKeyPair",
        summary: "generate an RSA key pair",
        flags: &[
            flag("-m", "modulus length", "bits: 2048, 3072 or 4096"),
            flag("-e", "public exponent", "65537 (the only one offered)"),
            LABEL_FLAGS[0],
            LABEL_FLAGS[1],
            LABEL_FLAGS[2],
            LABEL_FLAGS[3],
        ],
        positionals: &[],
        example: "genRSAKeyPair -m 2048 -e 65537 -l rsa-signing",
    },
    run: gen_rsa_key_pair,
};

fn gen_rsa_key_pair(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let bits: u32 = parsed.number("-m", "modulus length")?;
    let exponent: u64 = parsed.number("-e", "public exponent")?;
    if exponent != 65537 {
        return Err(UtilError::Usage(format!(
            "genRSAKeyPair -e {exponent}: the public exponent must be 65537"
        )));
    }
    let attributes = new_key_attributes(parsed)?;
    generate_pair(ctx, KeySpec::Rsa { bits }, attributes)
}

pub const GEN_ECC_KEY_PAIR: Command = Command {
    spec: Spec {
        name: "genECCKeyPair",
        summary: "generate an elliptic-curve key pair",
        flags: &[
            flag(
                "-i",
                "curve id",
                "2 = P-256 (prime256v1), 14 = P-384 (secp384r1), 16 = secp256k1",
            ),
            LABEL_FLAGS[0],
            LABEL_FLAGS[1],
            LABEL_FLAGS[2],
            LABEL_FLAGS[3],
        ],
        positionals: &[],
        example: "genECCKeyPair -i 2 -l ec-signing",
    },
    run: gen_ecc_key_pair,
};

/// key_mgmt_util's curve ids.
pub fn curve(id: u64) -> Result<Curve, UtilError> {
    match id {
        2 => Ok(Curve::P256),
        14 => Ok(Curve::P384),
        16 => Ok(Curve::Secp256k1),
        other => Err(UtilError::Usage(format!(
            "-i {other}: curves are 2 (P-256), 14 (P-384) and 16 (secp256k1)"
        ))),
    }
}

fn gen_ecc_key_pair(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let curve = curve(parsed.number("-i", "curve id")?)?;
    let attributes = new_key_attributes(parsed)?;
    generate_pair(ctx, KeySpec::Ec { curve }, attributes)
}

fn generate_pair(
    ctx: &mut Ctx,
    spec: KeySpec,
    attributes: Vec<(u32, Attribute)>,
) -> Result<(), UtilError> {
    let hsm = ctx.session()?;
    let (public, private) = hsm.run_reported(
        "Cfm3GenerateKeyPair",
        hsm.client.generate_key_pair(spec, attributes),
    )?;
    println!(
        "\n\tCfm3GenerateKeyPair:    public key handle: {public}    private key handle: {private}"
    );
    Ok(())
}

pub const FIND_KEY: Command = Command {
    spec: Spec {
        name: "findKey",
        summary: "find the keys you can use, by attributes",
        flags: &[
            flag("-c", "key class", "2 = public, 3 = private, 4 = secret"),
            flag(
                "-t",
                "key type",
                "0 = RSA, 3 = EC, 16 = generic secret, 31 = AES",
            ),
            flag("-l", "label", "the key's label"),
            flag("-id", "id", "the key's id"),
        ],
        positionals: &[],
        example: "findKey -l aes256",
    },
    run: find_key,
};

fn find_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let mut filter = Vec::new();
    if let Some(label) = parsed.get("-l") {
        filter.push((ids::LABEL, Attribute::Text(label.into())));
    }
    if let Some(id) = parsed.get("-id") {
        filter.push((ids::ID, Attribute::Text(id.into())));
    }
    // Class and type are properties of the key, not searchable attributes
    // of the engine's filter: checked per key.
    let mut wanted = Vec::new();
    for (flag, id) in [("-c", ids::CLASS), ("-t", ids::KEY_TYPE)] {
        if let Some(text) = parsed.get(flag) {
            wanted.push((
                id,
                Attribute::Number(super::args::parse_number(text, flag)?),
            ));
        }
    }
    let hsm = ctx.session()?;
    let mut handles = hsm.run("Cfm3FindKey", hsm.client.find_keys(filter))?;
    if !wanted.is_empty() {
        let mut kept = Vec::new();
        for handle in handles {
            let mut all = true;
            for (id, value) in &wanted {
                let actual = hsm.run("Cfm3FindKey", hsm.client.get_attribute(handle, *id))?;
                all &= actual == *value;
            }
            if all {
                kept.push(handle);
            }
        }
        handles = kept;
    }
    println!("\n\tTotal number of keys present: {}", handles.len());
    println!(
        "\n\tnumber of keys matched from start index 0::{}",
        handles.len()
    );
    println!(
        "{}",
        handles
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    output::success("Cfm3FindKey");
    Ok(())
}

pub const DELETE_KEY: Command = Command {
    spec: Spec {
        name: "deleteKey",
        summary: "delete a key you own",
        flags: &[flag("-k", "key handle", "the key")],
        positionals: &[],
        example: "deleteKey -k 7",
    },
    run: delete_key,
};

fn delete_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let handle: u64 = parsed.number("-k", "key handle")?;
    let hsm = ctx.session()?;
    hsm.run_reported("Cfm3DeleteKey", hsm.client.delete_key(handle))?;
    println!("\n\tKey handle {handle} deleted");
    Ok(())
}

pub const SHARE_KEY: Command = Command {
    spec: Spec {
        name: "shareKey",
        summary: "share a key you own with other crypto users, or stop sharing (1 / 0)",
        flags: &[],
        positionals: &["key handle", "key owner", "users", "1 share | 0 unshare"],
        example: "shareKey 8 cu1 cu2,cu3 1",
    },
    run: share_key,
};

fn share_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let usage = "shareKey <key handle> <key owner> <user[,user...]> <1|0>";
    let [handle, owner, users, share] = [0, 1, 2, 3].map(|i| parsed.positional(i));
    let (Some(handle), Some(owner), Some(users), Some(share)) = (handle, owner, users, share)
    else {
        return Err(UtilError::Usage(format!("usage: {usage}")));
    };
    let handle: u64 = super::args::parse_number(handle, "key handle")?;
    let share = match share {
        "1" => true,
        "0" => false,
        other => {
            return Err(UtilError::Usage(format!(
                "shareKey: '{other}' is not 1 or 0"
            )))
        }
    };
    // The management utility names the owner; only the owner may share,
    // so the owner must be whoever is logged in.
    ctx.session()?;
    match &ctx.logged_in {
        Some((_, me)) if me == owner => {}
        Some((_, me)) => {
            return Err(UtilError::Usage(format!(
            "shareKey: '{owner}' is not the logged-in user ('{me}'); only a key's owner shares it"
        )))
        }
        None => {}
    }
    let hsm = ctx.session()?;
    // One call per user: if one fails, the ones done are undone, so the
    // command applies to all the users or to none.
    let mut done = Vec::new();
    for user in users.split(',').filter(|u| !u.is_empty()) {
        if let Err(e) = hsm.run("Cfm3ShareKey", hsm.client.share_key(handle, user, share)) {
            for undo in done {
                let _ = hsm.run("Cfm3ShareKey", hsm.client.share_key(handle, undo, !share));
            }
            return Err(e);
        }
        done.push(user);
    }
    output::success("Cfm3ShareKey");
    println!(
        "\n\tKey {handle} of {owner} {} {users}",
        if share {
            "shared with"
        } else {
            "no longer shared with"
        }
    );
    Ok(())
}

pub const FIND_ALL_KEYS: Command = Command {
    spec: Spec {
        name: "findAllKeys",
        summary: "list keys with their owners and shares (officers: every key, or one user's)",
        flags: &[flag(
            "-u",
            "user name",
            "only the keys this user owns or shares",
        )],
        positionals: &["user name"],
        example: "findAllKeys cu1",
    },
    run: find_all_keys,
};

fn find_all_keys(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    parsed.one_form("findAllKeys", &["-u"])?;
    let user = parsed.either("-u", 0).map(str::to_string);
    let hsm = ctx.session()?;
    let keys = hsm.run_reported("Cfm3FindAllKeys", hsm.client.find_all_keys(user.as_deref()))?;
    println!("\n\tNumber of keys found {}\n", keys.len());
    println!("\t{:<12}{:<20}Shared with", "Handle", "Owner");
    for key in &keys {
        println!(
            "\t{:<12}{:<20}{}",
            key.handle,
            key.owner,
            key.shared_with.join(", ")
        );
    }
    Ok(())
}

pub const GET_KEY_INFO: Command = Command {
    spec: Spec {
        name: "getKeyInfo",
        summary: "show a key's owner and the users it is shared with",
        flags: &[flag("-k", "key handle", "the key")],
        positionals: &[],
        example: "getKeyInfo -k 7",
    },
    run: get_key_info,
};

fn get_key_info(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let handle: u64 = parsed.number("-k", "key handle")?;
    let call = "Cfm3GetKey";
    let hsm = ctx.session()?;
    let key = hsm
        .run(call, hsm.client.find_all_keys(None))?
        .into_iter()
        .find(|k| k.handle == handle)
        .ok_or_else(|| UtilError::Hsm {
            call,
            error: cloudhsm_data_plane::client::ClientError {
                status: 404,
                code: "CKR_OBJECT_HANDLE_INVALID".into(),
                message: format!("key handle {handle} not found"),
            },
        })?;
    output::success(call);
    println!(
        "\n\tKey Info:\n\tToken/Flash Key,\n\tOwned by user {}",
        key.owner
    );
    if !key.shared_with.is_empty() {
        println!(
            "\n\talso, shared to following {} user(s):\n\t\t{}",
            key.shared_with.len(),
            key.shared_with.join("\n\t\t")
        );
    }
    Ok(())
}
