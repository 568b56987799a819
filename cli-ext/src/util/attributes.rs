//! getAttribute, setAttribute and listAttributes, with key_mgmt_util's
//! attribute ids (`-a 3` is the label, `-a 512` all attributes).

use cloudhsm_data_plane::{
    engine::attributes::{self, ids},
    Attribute,
};

use super::{
    args::{flag, Parsed, Spec},
    context::Ctx,
    output,
    registry::Command,
    UtilError,
};

/// `-a 512`: every attribute.
const ALL: u32 = 512;

/// The attributes a key can be asked for, in getAttribute's order.
const KNOWN: &[u32] = &[
    ids::CLASS,
    ids::KEY_TYPE,
    ids::LABEL,
    ids::ID,
    ids::TOKEN,
    ids::PRIVATE,
    ids::SENSITIVE,
    ids::ENCRYPT,
    ids::DECRYPT,
    ids::WRAP,
    ids::UNWRAP,
    ids::SIGN,
    ids::VERIFY,
    ids::DERIVE,
    ids::EXTRACTABLE,
    ids::LOCAL,
    ids::NEVER_EXTRACTABLE,
    ids::ALWAYS_SENSITIVE,
    ids::TRUSTED,
    ids::WRAP_WITH_TRUSTED,
    ids::MODULUS_BITS,
    ids::VALUE_LEN,
    ids::EC_PARAMS,
];

pub const GET_ATTRIBUTE: Command = Command {
    spec: Spec {
        name: "getAttribute",
        summary: "read a key's attributes",
        flags: &[
            flag("-o", "key handle", "the key"),
            flag("-a", "attribute id", "see listAttributes; 512 = all"),
            flag(
                "-out",
                "file",
                "write the attributes to a file instead of the screen",
            ),
        ],
        positionals: &[],
        example: "getAttribute -o 7 -a 512 -out attributes.txt",
    },
    run: get_attribute,
};

fn get_attribute(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let handle: u64 = parsed.number("-o", "key handle")?;
    let id: u32 = parsed.number("-a", "attribute id")?;
    if id != ALL {
        attributes::name(id).map_err(|_| {
            UtilError::Usage(format!("-a {id}: unknown attribute (see listAttributes)"))
        })?;
    }
    let hsm = ctx.session()?;
    let mut text = String::new();
    if id == ALL {
        for &id in KNOWN {
            match hsm.run("Cfm3GetAttribute", hsm.client.get_attribute(handle, id)) {
                Ok(value) => push(&mut text, id, &value),
                // Attributes the key's kind does not have (a modulus on an
                // AES key) are left out, as the utility does.
                Err(UtilError::Hsm { error, .. }) if error.code == "CKR_ATTRIBUTE_TYPE_INVALID" => {
                }
                Err(e) => return Err(e),
            }
        }
    } else {
        let value = hsm.run("Cfm3GetAttribute", hsm.client.get_attribute(handle, id))?;
        push(&mut text, id, &value);
    }
    output::success("Cfm3GetAttribute");
    match parsed.get("-out") {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| UtilError::File(format!("{path}: {e}")))?;
            println!("\n\tAttributes written to {path}");
        }
        None => print!("\n{text}"),
    }
    Ok(())
}

fn push(text: &mut String, id: u32, value: &Attribute) {
    let name = attributes::name(id).unwrap_or("OBJ_ATTR_UNKNOWN");
    text.push_str(&format!("{name}\n{}\n", output::attribute_value(id, value)));
}

pub const SET_ATTRIBUTE: Command = Command {
    spec: Spec {
        name: "setAttribute",
        summary: "change one attribute of a key",
        flags: &[
            flag("-o", "key handle", "the key"),
            flag("-a", "attribute id", "see listAttributes"),
            flag(
                "-v",
                "value",
                "0 or 1 for flags; text for the label (3) and id (258)",
            ),
        ],
        positionals: &[],
        example: "setAttribute -o 7 -a 3 -v new-label",
    },
    run: set_attribute,
};

fn set_attribute(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let handle: u64 = parsed.number("-o", "key handle")?;
    let id: u32 = parsed.number("-a", "attribute id")?;
    let text = parsed.require(parsed.get("-v"), "-v <value>")?;
    attributes::name(id).map_err(|_| {
        UtilError::Usage(format!("-a {id}: unknown attribute (see listAttributes)"))
    })?;
    let value = match id {
        ids::LABEL | ids::ID => Attribute::Text(text.to_string()),
        _ => match text {
            "0" => Attribute::Bool(false),
            "1" => Attribute::Bool(true),
            other => {
                return Err(UtilError::Usage(format!(
                    "-v {other}: attribute {id} takes 0 or 1"
                )))
            }
        },
    };
    let hsm = ctx.session()?;
    hsm.run(
        "Cfm3SetAttributeValue",
        hsm.client.set_attribute(handle, id, value),
    )?;
    output::success("Cfm3SetAttributeValue");
    Ok(())
}

pub const LIST_ATTRIBUTES: Command = Command {
    spec: Spec {
        name: "listAttributes",
        summary: "list the attribute ids getAttribute and setAttribute take",
        flags: &[],
        positionals: &[],
        example: "listAttributes",
    },
    run: list_attributes,
};

fn list_attributes(_: &mut Ctx, _: &Parsed) -> Result<(), UtilError> {
    println!("Following are the possible attribute values for getAttribute:\n");
    let mut known = KNOWN.to_vec();
    known.sort_unstable();
    for id in known {
        if let Ok(name) = attributes::name(id) {
            println!("\t{name:<30} = {id}");
        }
    }
    println!("\t{:<30} = {ALL}", "ALL (getAttribute only)");
    Ok(())
}
