//! `cloudhsm private-link-resource list` and
//! `cloudhsm private-endpoint-connection list/show/approve/reject/delete`.

use reqwest::Method;
use serde_json::{json, Value};

use super::{
    cli::{
        ClusterArgs, ConnectionArgs, PrivateEndpointConnectionCommand, PrivateLinkResourceCommand,
    },
    error::CliResult,
    http::Arm,
    lro::{self, FinalState},
    output::Row,
    paths, Ctx, Outcome,
};

fn resource_row(r: &Value) -> Row {
    vec![
        ("Name", r["name"].clone()),
        ("GroupId", r["properties"]["groupId"].clone()),
        (
            "RequiredMembers",
            Value::String(join(&r["properties"]["requiredMembers"])),
        ),
        (
            "RequiredZoneNames",
            Value::String(join(&r["properties"]["requiredZoneNames"])),
        ),
    ]
}

fn join(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn connection_row(c: &Value) -> Row {
    let state = &c["properties"]["privateLinkServiceConnectionState"];
    vec![
        ("Name", c["name"].clone()),
        ("Status", state["status"].clone()),
        ("Description", state["description"].clone()),
        (
            "ProvisioningState",
            c["properties"]["provisioningState"].clone(),
        ),
        (
            "PrivateEndpoint",
            c["properties"]["privateEndpoint"]["id"].clone(),
        ),
    ]
}

fn child(arm: &Arm, cluster: &ClusterArgs, child: &str) -> String {
    paths::cluster_child(
        &arm.subscription,
        &cluster.resource_group,
        &cluster.cluster_name,
        child,
    )
}

fn connection(arm: &Arm, c: &ConnectionArgs) -> String {
    child(
        arm,
        &c.cluster,
        &format!("privateEndpointConnections/{}", c.connection),
    )
}

pub async fn resources(arm: &Arm, command: PrivateLinkResourceCommand) -> CliResult<Outcome> {
    match command {
        PrivateLinkResourceCommand::List { cluster } => Ok(Outcome::table(
            arm.list(&child(arm, &cluster, "privateLinkResources"))
                .await?,
            resource_row,
        )),
    }
}

/// Approve or reject: the connection as it is, with a new state, PUT back
/// (the spec's only write on a connection).
async fn set_state(
    arm: &Arm,
    c: &ConnectionArgs,
    status: &str,
    description: Option<String>,
) -> CliResult<Outcome> {
    let path = connection(arm, c);
    let current = arm.call_checked(Method::GET, &path, None).await?;
    let etag = current.header("etag");
    let current = current.body;
    let mut state = current["properties"]["privateLinkServiceConnectionState"].clone();
    if !state.is_object() {
        state = json!({});
    }
    state["status"] = Value::String(status.to_string());
    if let Some(d) = description {
        state["description"] = Value::String(d);
    }
    let body = json!({ "properties": { "privateLinkServiceConnectionState": state } });
    let reply = arm
        .write_if_match(Method::PUT, &path, &body, etag.as_deref())
        .await?;
    Ok(Outcome::table(reply.body, connection_row))
}

pub async fn connections(
    ctx: &Ctx,
    arm: &Arm,
    command: PrivateEndpointConnectionCommand,
) -> CliResult<Outcome> {
    match command {
        PrivateEndpointConnectionCommand::List { cluster } => Ok(Outcome::table(
            arm.list(&child(arm, &cluster, "privateEndpointConnections"))
                .await?,
            connection_row,
        )),
        PrivateEndpointConnectionCommand::Show { connection: c } => Ok(Outcome::table(
            arm.call_checked(Method::GET, &connection(arm, &c), None)
                .await?
                .body,
            connection_row,
        )),
        PrivateEndpointConnectionCommand::Approve {
            connection: c,
            description,
        } => set_state(arm, &c, "Approved", description).await,
        PrivateEndpointConnectionCommand::Reject {
            connection: c,
            description,
        } => set_state(arm, &c, "Rejected", description).await,
        PrivateEndpointConnectionCommand::Delete {
            connection: c,
            confirm,
            no_wait,
        } => {
            ctx.confirm(
                confirm.yes,
                &format!("private endpoint connection '{}'", c.connection),
            )?;
            let path = connection(arm, &c);
            let started = arm.call(Method::DELETE, &path, None).await?.ok()?;
            if !no_wait.no_wait {
                lro::finish(arm, started, &path, FinalState::Location).await?;
            }
            Ok(Outcome::none())
        }
    }
}
