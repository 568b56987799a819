//! The cluster's opt-in security policy and M-of-N quorum, with
//! cloudhsm_mgmt_util's command names: getPolicy / setPolicy (2FA and
//! quorum on or off), registerQuorumPubKey, setMValue, getToken,
//! approveToken, listTokens, delToken.
//!
//! A quorum token travels as a JSON file: getToken writes it; each
//! approver signs its `digest` with their quorum key (as for 2FA) and adds
//! `{"user": "<officer>", "signature": "<base64>"}` to its `signatures`
//! list; approveToken hands those in.

use cloudhsm_data_plane::engine::{cluster::SecurityChange, quorum::Approval};
use serde_json::Value;

use super::{
    args::{flag, parse_number, Parsed, Spec},
    context::Ctx,
    crypto::{read, write},
    output,
    registry::Command,
    two_factor, UtilError,
};

pub const GET_POLICY: Command = Command {
    spec: Spec {
        name: "getPolicy",
        summary: "show whether 2FA and quorum are on, the M values and who is registered",
        flags: &[],
        positionals: &[],
        example: "getPolicy",
    },
    run: get_policy,
};

fn print_policy(view: &cloudhsm_data_plane::engine::cluster::SecurityView) {
    let on = |b: bool| if b { "on" } else { "off" };
    println!("\n\tTwo-factor authentication: {}", on(view.two_factor));
    println!("\tQuorum authentication:     {}", on(view.quorum));
    println!("\tM value (user service):    {}", view.m_user);
    println!("\tM value (quorum service):  {}", view.m_quorum);
    println!("\tToken lifetime (seconds):  {}", view.token_ttl_seconds);
    println!(
        "\t2FA officers:              {}",
        view.two_factor_officers.join(", ")
    );
    println!(
        "\tQuorum approvers:           {}",
        view.quorum_officers.join(", ")
    );
}

fn get_policy(ctx: &mut Ctx, _: &Parsed) -> Result<(), UtilError> {
    let hsm = ctx.session()?;
    let view = hsm.run("Cfm3GetPolicy", hsm.client.security())?;
    output::success("Cfm3GetPolicy");
    print_policy(&view);
    Ok(())
}

pub const SET_POLICY: Command = Command {
    spec: Spec {
        name: "setPolicy",
        summary: "turn 2FA or quorum on (1) or off (0) for the cluster (crypto officers)",
        flags: &[
            flag(
                "-2fa",
                "0|1",
                "two-factor authentication for crypto officers",
            ),
            flag("-quorum", "0|1", "M-of-N approval of user management"),
            flag("-ttl", "seconds", "how long a quorum token lives"),
        ],
        positionals: &[],
        example: "setPolicy -2fa 1",
    },
    run: set_policy,
};

fn switch_value(parsed: &Parsed, name: &str) -> Result<Option<bool>, UtilError> {
    match parsed.get(name) {
        None => Ok(None),
        Some("1") => Ok(Some(true)),
        Some("0") => Ok(Some(false)),
        Some(other) => Err(UtilError::Usage(format!("{name} {other}: 0 or 1"))),
    }
}

fn set_policy(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let change = SecurityChange {
        two_factor: switch_value(parsed, "-2fa")?,
        quorum: switch_value(parsed, "-quorum")?,
        token_ttl_seconds: parsed
            .get("-ttl")
            .map(|t| parse_number(t, "-ttl"))
            .transpose()?,
    };
    if change == SecurityChange::default() {
        return Err(UtilError::Usage(
            "setPolicy: give -2fa, -quorum or -ttl".into(),
        ));
    }
    let hsm = ctx.session()?;
    let view = hsm.run("Cfm3SetPolicy", hsm.client.set_security(change))?;
    output::success("Cfm3SetPolicy");
    print_policy(&view);
    Ok(())
}

pub const REGISTER_QUORUM_PUB_KEY: Command = Command {
    spec: Spec {
        name: "registerQuorumPubKey",
        summary: "register your quorum key, to approve tokens (crypto officers)",
        flags: &[flag(
            "-f",
            "authdata file",
            "where the authdata to sign goes",
        )],
        positionals: &[],
        example: "registerQuorumPubKey -f quorum-authdata.json",
    },
    run: register_quorum_pub_key,
};

fn register_quorum_pub_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let path = parsed
        .require(parsed.get("-f"), "-f <authdata file>")?
        .to_string();
    let call = "Cfm3RegisterQuorumPubKey";
    let hsm = ctx.session()?;
    let request = hsm.run(call, hsm.client.register_quorum_key_begin())?;
    let signed = two_factor::exchange(&path, &request, true)?;
    hsm.run(call, hsm.client.complete_two_factor(&signed))?;
    output::success(call);
    Ok(())
}

pub const SET_M_VALUE: Command = Command {
    spec: Spec {
        name: "setMValue",
        summary: "how many approvals a service's tokens need (crypto officers)",
        flags: &[
            flag("-s", "service", "user or quorum"),
            flag("-m", "M", "approvals needed"),
        ],
        positionals: &[],
        example: "setMValue -s user -m 2",
    },
    run: set_m_value,
};

fn set_m_value(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let service = parsed.require(parsed.get("-s"), "-s <service>")?;
    let m: u8 = parsed.number("-m", "M")?;
    let hsm = ctx.session()?;
    hsm.run("Cfm3SetMValue", hsm.client.set_m_value(service, m))?;
    output::success("Cfm3SetMValue");
    Ok(())
}

pub const GET_TOKEN: Command = Command {
    spec: Spec {
        name: "getToken",
        summary: "get a quorum token for a service and write it to a file for approvers",
        flags: &[
            flag(
                "-s",
                "service",
                "user (user management) or quorum (policy changes)",
            ),
            flag("-out", "file", "where the token goes"),
        ],
        positionals: &[],
        example: "getToken -s user -out token.json",
    },
    run: get_token,
};

fn get_token(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let service = parsed.require(parsed.get("-s"), "-s <service>")?;
    let out = parsed.require(parsed.get("-out"), "-out <file>")?;
    let hsm = ctx.session()?;
    let token = hsm.run("Cfm3GetToken", hsm.client.get_token(service))?;
    let mut file =
        serde_json::to_value(&token).map_err(|e| UtilError::File(format!("{out}: {e}")))?;
    file["signatures"] = Value::Array(Vec::new());
    let text = serde_json::to_string_pretty(&file).unwrap_or_default();
    write(out, text.as_bytes())?;
    output::success("Cfm3GetToken");
    println!(
        "\n\tToken {} written to {out}; approvers sign its digest",
        token.id
    );
    Ok(())
}

pub const APPROVE_TOKEN: Command = Command {
    spec: Spec {
        name: "approveToken",
        summary: "hand in the approvers' signatures of a token file",
        flags: &[flag("-f", "file", "the token file with its signatures")],
        positionals: &[],
        example: "approveToken -f token.json",
    },
    run: approve_token,
};

fn approve_token(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let path = parsed.require(parsed.get("-f"), "-f <file>")?;
    let file: Value = serde_json::from_slice(&read(path)?)
        .map_err(|e| UtilError::File(format!("{path}: not a token file: {e}")))?;
    let id = file["id"]
        .as_str()
        .ok_or_else(|| UtilError::File(format!("{path}: no token id")))?
        .to_string();
    let approvals: Vec<Approval> =
        serde_json::from_value(file["signatures"].clone()).map_err(|e| {
            UtilError::File(format!(
                "{path}: 'signatures' must list {{\"user\", \"signature\"}}: {e}"
            ))
        })?;
    if approvals.is_empty() {
        return Err(UtilError::Usage(format!(
            "approveToken: {path} holds no signatures yet"
        )));
    }
    let hsm = ctx.session()?;
    let count = hsm.run("Cfm3ApproveToken", hsm.client.approve_token(&id, approvals))?;
    output::success("Cfm3ApproveToken");
    println!("\n\tToken {id} has {count} approval(s)");
    Ok(())
}

pub const LIST_TOKENS: Command = Command {
    spec: Spec {
        name: "listTokens",
        summary: "list the quorum tokens and their approvals",
        flags: &[],
        positionals: &[],
        example: "listTokens",
    },
    run: list_tokens,
};

fn list_tokens(ctx: &mut Ctx, _: &Parsed) -> Result<(), UtilError> {
    let hsm = ctx.session()?;
    let tokens = hsm.run("Cfm3ListTokens", hsm.client.list_tokens())?;
    output::success("Cfm3ListTokens");
    println!("\n\tNumber of tokens: {}", tokens.len());
    for token in &tokens {
        println!(
            "\t{}  owner {}  service {:?}  approvals {} ({})",
            token.id,
            token.owner,
            token.service,
            token.approvals.len(),
            token
                .approvals
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

pub const DEL_TOKEN: Command = Command {
    spec: Spec {
        name: "delToken",
        summary: "delete a quorum token",
        flags: &[flag("-i", "token id", "the token")],
        positionals: &[],
        example: "delToken -i 3f0c...",
    },
    run: del_token,
};

fn del_token(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let id = parsed
        .require(parsed.get("-i"), "-i <token id>")?
        .to_string();
    let hsm = ctx.session()?;
    hsm.run("Cfm3DelToken", hsm.client.delete_token(&id))?;
    output::success("Cfm3DelToken");
    Ok(())
}
