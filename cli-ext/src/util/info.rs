//! The cluster itself: getHSMInfo (each HSM's state, user and key counts
//! and content digest, so divergence shows), findSingleKey (is a key on
//! every HSM?), and saveConfig (write the client configuration file for a
//! cluster found through the control plane).

use std::path::Path;

use cloudhsm_data_plane::client::ClientError;

use super::{
    args::{flag, Parsed, Spec},
    context::Ctx,
    locate, output,
    registry::Command,
    UtilError,
};

pub const GET_HSM_INFO: Command = Command {
    spec: Spec {
        name: "getHSMInfo",
        summary: "show the cluster's HSMs: state, users, keys, content digest",
        flags: &[],
        positionals: &[],
        example: "getHSMInfo",
    },
    run: get_hsm_info,
};

fn get_hsm_info(ctx: &mut Ctx, _: &Parsed) -> Result<(), UtilError> {
    let config = ctx.config()?;
    let hsm = ctx.session()?;
    let nodes = hsm.run("Cfm3GetHSMInfo", hsm.client.node_listings())?;
    output::success("Cfm3GetHSMInfo");
    println!("\n\tData-plane endpoint: {}", config.endpoint);
    println!("\tNumber of HSMs: {}\n", nodes.len());
    println!(
        "\t{:<6}{:<54}{:<8}{:<7}{:<6}Digest",
        "Node", "Address", "State", "Users", "Keys"
    );
    for node in &nodes {
        let address = config
            .hsm_addresses
            .get(node.node)
            .map(String::as_str)
            .unwrap_or("-");
        println!(
            "\t{:<6}{:<54}{:<8}{:<7}{:<6}{}",
            node.node,
            address,
            if node.up { "UP" } else { "DOWN" },
            node.users,
            node.keys,
            node.digest
        );
    }
    let up: Vec<_> = nodes.iter().filter(|n| n.up).collect();
    let in_sync = up.windows(2).all(|w| w[0].digest == w[1].digest);
    println!(
        "\n\tHSMs in sync: {}",
        if in_sync {
            "yes"
        } else {
            "NO (run syncUser for missing users)"
        }
    );
    Ok(())
}

pub const FIND_SINGLE_KEY: Command = Command {
    spec: Spec {
        name: "findSingleKey",
        summary: "check that a key is on every HSM of the cluster",
        flags: &[flag("-k", "key handle", "the key")],
        positionals: &[],
        example: "findSingleKey -k 7",
    },
    run: find_single_key,
};

fn find_single_key(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let handle: u64 = parsed.number("-k", "key handle")?;
    let hsm = ctx.session()?;
    let call = "Cfm3FindSingleKey";
    let presence = hsm.run(call, hsm.client.find_single_key(handle))?;
    println!("\n\tCluster Error Status");
    let mut missing = Vec::new();
    for (node, present) in &presence {
        if *present {
            println!("\tNode id {node} and err state 0x00000000 : HSM Return: SUCCESS");
        } else {
            println!(
                "\tNode id {node} and err state 0x{:08x} : HSM Error: CKR_OBJECT_HANDLE_INVALID",
                output::status_value("CKR_OBJECT_HANDLE_INVALID")
            );
            missing.push(node.to_string());
        }
    }
    if missing.is_empty() {
        output::success(call);
        Ok(())
    } else {
        Err(UtilError::Hsm {
            call,
            error: ClientError {
                status: 404,
                code: "CKR_OBJECT_HANDLE_INVALID".into(),
                message: format!(
                    "key {handle} is missing on HSM node(s) {}",
                    missing.join(", ")
                ),
            },
        })
    }
}

pub const SAVE_CONFIG: Command = Command {
    spec: Spec {
        name: "saveConfig",
        summary: "write the client configuration file for this cluster (and its CA next to it)",
        flags: &[flag("-out", "file", "the configuration file to write")],
        positionals: &[],
        example: "saveConfig -out azcloudhsm_client.json",
    },
    run: save_config,
};

fn save_config(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let out = Path::new(parsed.require(parsed.get("-out"), "-out <file>")?);
    let config = ctx.config()?;
    let file_error = |p: &Path, e: std::io::Error| UtilError::File(format!("{}: {e}", p.display()));
    let ca_name = match &config.ca_pem {
        Some(pem) => {
            let name = format!(
                "{}.ca.pem",
                out.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            let path = out.with_file_name(&name);
            std::fs::write(&path, pem).map_err(|e| file_error(&path, e))?;
            Some(name)
        }
        None => None,
    };
    let json = locate::config_json(&config, ca_name.as_deref().map(Path::new));
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    std::fs::write(out, text + "\n").map_err(|e| file_error(out, e))?;
    println!("\tClient configuration written to {}", out.display());
    Ok(())
}
