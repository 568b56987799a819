//! The partition's ownership and masked objects: getCertReq and storeCert
//! (the activation steps before `changePswd PRECO admin`), getChallenge and
//! unlockCO (the owner's PO.key unlocks a crypto officer), and
//! extractMaskedObject / insertMaskedObject (a key as a blob only this
//! cluster, or one restored from its backup, takes back).
//!
//! PO.key never comes near the utility: the owner signs the CSR and the
//! challenge elsewhere (OpenSSL on an offline machine) and brings back
//! files.

use cloudhsm_data_plane::engine::partition::{CERT_PO, CERT_POAC};

use super::{
    args::{flag, Parsed, Spec},
    context::Ctx,
    crypto::{read, write},
    output,
    registry::Command,
    UtilError,
};

pub const GET_CERT_REQ: Command = Command {
    spec: Spec {
        name: "getCertReq",
        summary: "write the partition's certificate signing request (PRECO, before activation)",
        flags: &[flag("-f", "file", "where the CSR (PEM) goes")],
        positionals: &[],
        example: "getCertReq -f partition.csr",
    },
    run: get_cert_req,
};

fn get_cert_req(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let out = parsed.require(parsed.get("-f"), "-f <file>")?;
    let hsm = ctx.session()?;
    let csr = hsm.run("Cfm3GetCertReq", hsm.client.get_cert_req())?;
    write(out, csr.as_bytes())?;
    output::success("Cfm3GetCertReq");
    println!("\n\tPartition CSR written to {out}; sign it with PO.key into the POAC");
    Ok(())
}

pub const STORE_CERT: Command = Command {
    spec: Spec {
        name: "storeCert",
        summary: "store the owner's certificate (type 4, PO.crt) or the signed partition certificate (type 8, POAC)",
        flags: &[
            flag("-fPath", "file", "the certificate, PEM"),
            flag("-f", "file", "same as -fPath"),
            flag("-type", "type", "4 = PO.crt, 8 = POAC"),
            flag("-t", "type", "same as -type"),
        ],
        positionals: &[],
        example: "storeCert -fPath PO.crt -type 4",
    },
    run: store_cert,
};

fn store_cert(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let path = parsed.require(
        parsed.get("-fPath").or_else(|| parsed.get("-f")),
        "-fPath <file>",
    )?;
    let kind_text = parsed.require(
        parsed.get("-type").or_else(|| parsed.get("-t")),
        "-type <4|8>",
    )?;
    let kind: u32 = super::args::parse_number(kind_text, "-type")?;
    if kind != CERT_PO && kind != CERT_POAC {
        return Err(UtilError::Usage(format!(
            "storeCert -type {kind}: 4 (PO.crt) or 8 (POAC)"
        )));
    }
    let pem = String::from_utf8(read(path)?)
        .map_err(|_| UtilError::File(format!("{path}: not a PEM text file")))?;
    let hsm = ctx.session()?;
    hsm.run("Cfm3StoreCert", hsm.client.store_certificate(kind, &pem))?;
    output::success("Cfm3StoreCert");
    Ok(())
}

pub const GET_CHALLENGE: Command = Command {
    spec: Spec {
        name: "getChallenge",
        summary:
            "write the challenge PO.key must sign to unlock a crypto officer (no login needed)",
        flags: &[
            flag("-s", "officer", "the crypto officer to unlock"),
            flag("-out", "file", "where the challenge goes"),
        ],
        positionals: &[],
        example: "getChallenge -s admin -out challenge.bin",
    },
    run: get_challenge,
};

fn get_challenge(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let user = parsed.require(parsed.get("-s"), "-s <officer>")?;
    let out = parsed.require(parsed.get("-out"), "-out <file>")?;
    let hsm = ctx.connect()?;
    let challenge = hsm.run("Cfm3GetChallenge", hsm.client.get_challenge(user))?;
    write(out, &challenge)?;
    output::success("Cfm3GetChallenge");
    println!("\n\tChallenge written to {out}; sign it with PO.key (SHA-256)");
    Ok(())
}

pub const UNLOCK_CO: Command = Command {
    spec: Spec {
        name: "unlockCO",
        summary: "unlock a crypto officer (and reset its password) with PO.key's signature over its challenge",
        flags: &[
            flag("-s", "officer", "the crypto officer"),
            flag("-f", "file", "PO.key's signature over the challenge"),
            flag("-p", "new password", "a new password for the officer"),
        ],
        positionals: &[],
        example: "unlockCO -s admin -f challenge.sig -p new-officer-password",
    },
    run: unlock_co,
};

fn unlock_co(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let user = parsed.require(parsed.get("-s"), "-s <officer>")?;
    let signature = read(parsed.require(parsed.get("-f"), "-f <signature file>")?)?;
    let password = parsed.get("-p");
    let hsm = ctx.connect()?;
    hsm.run(
        "Cfm3UnlockCO",
        hsm.client.unlock_officer(user, &signature, password),
    )?;
    output::success("Cfm3UnlockCO");
    Ok(())
}

pub const EXTRACT_MASKED_OBJECT: Command = Command {
    spec: Spec {
        name: "extractMaskedObject",
        summary: "export a key as a masked object only this cluster takes back",
        flags: &[
            flag("-o", "key handle", "the key"),
            flag("-out", "file", "where the masked object goes"),
        ],
        positionals: &[],
        example: "extractMaskedObject -o 7 -out key7.mask",
    },
    run: extract_masked_object,
};

fn extract_masked_object(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let handle: u64 = parsed.number("-o", "key handle")?;
    let out = parsed.require(parsed.get("-out"), "-out <file>")?;
    let hsm = ctx.session()?;
    let blob = hsm.run(
        "Cfm3ExtractMaskedObject",
        hsm.client.extract_masked_object(handle),
    )?;
    write(out, &blob)?;
    output::success("Cfm3ExtractMaskedObject");
    println!("\n\tObject was masked and written to file \"{out}\"");
    Ok(())
}

pub const INSERT_MASKED_OBJECT: Command = Command {
    spec: Spec {
        name: "insertMaskedObject",
        summary: "import a masked object extractMaskedObject wrote",
        flags: &[flag("-f", "file", "the masked object")],
        positionals: &[],
        example: "insertMaskedObject -f key7.mask",
    },
    run: insert_masked_object,
};

fn insert_masked_object(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let blob = read(parsed.require(parsed.get("-f"), "-f <file>")?)?;
    let hsm = ctx.session()?;
    let handle = hsm.run(
        "Cfm3InsertMaskedObject",
        hsm.client.insert_masked_object(&blob),
    )?;
    output::success("Cfm3InsertMaskedObject");
    println!("\n\tNew Key Handle: {handle}");
    Ok(())
}
