//! `group create/show/list/exists/delete/wait`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{
    cli::GroupCommand,
    error::CliResult,
    lro::{self, FinalState},
    output::Row,
    parse_tags, paths, Ctx, Outcome,
};

fn row(g: &Value) -> Row {
    vec![
        ("Name", g["name"].clone()),
        ("Location", g["location"].clone()),
        ("Status", g["properties"]["provisioningState"].clone()),
    ]
}

pub async fn run(ctx: &Ctx, command: GroupCommand) -> CliResult<Outcome> {
    let arm = ctx.arm().await?;
    let sub = arm.subscription.clone();
    match command {
        GroupCommand::Create {
            group,
            location,
            tags,
        } => {
            let mut body = json!({ "location": location });
            if let Some(t) = tags.tags {
                body["tags"] = parse_tags(&t)?;
            }
            let reply = arm
                .call_checked(Method::PUT, &paths::group(&sub, &group.name), Some(&body))
                .await?;
            Ok(Outcome::table(reply.body, row))
        }
        GroupCommand::Show { group } => {
            let reply = arm
                .call_checked(Method::GET, &paths::group(&sub, &group.name), None)
                .await?;
            Ok(Outcome::table(reply.body, row))
        }
        GroupCommand::List => Ok(Outcome::table(arm.list(&paths::groups(&sub)).await?, row)),
        GroupCommand::Exists { group } => {
            let reply = arm
                .call(Method::HEAD, &paths::group(&sub, &group.name), None)
                .await?;
            if reply.status == StatusCode::NOT_FOUND {
                return Ok(Outcome::value(Value::Bool(false)));
            }
            reply.ok()?;
            Ok(Outcome::value(Value::Bool(true)))
        }
        GroupCommand::Delete {
            group,
            confirm,
            no_wait,
        } => {
            ctx.confirm(confirm.yes, &format!("resource group '{}'", group.name))?;
            let path = paths::group(&sub, &group.name);
            let started = arm.call(Method::DELETE, &path, None).await?.ok()?;
            if !no_wait.no_wait {
                lro::finish(&arm, started, &path, FinalState::Location).await?;
            }
            Ok(Outcome::none())
        }
        GroupCommand::Wait {
            group,
            condition,
            timing,
        } => {
            lro::wait(&arm, &paths::group(&sub, &group.name), &condition, &timing).await?;
            Ok(Outcome::none())
        }
    }
}

/// A group's location: what resources in it default to, as in az.
pub async fn location_of(arm: &super::http::Arm, group: &str) -> CliResult<String> {
    let reply = arm
        .call_checked(Method::GET, &paths::group(&arm.subscription, group), None)
        .await?;
    Ok(reply.body["location"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}
