//! `identity create/show/list/delete` (user-assigned managed identities).

use reqwest::Method;
use serde_json::{json, Value};

use super::{
    cli::IdentityCommand, error::CliResult, groups, output::Row, parse_tags, paths, Ctx, Outcome,
};

fn row(i: &Value) -> Row {
    vec![
        ("Name", i["name"].clone()),
        ("ResourceGroup", paths::group_cell(&i["id"])),
        ("Location", i["location"].clone()),
        ("ClientId", i["properties"]["clientId"].clone()),
        ("PrincipalId", i["properties"]["principalId"].clone()),
    ]
}

pub async fn run(ctx: &Ctx, command: IdentityCommand) -> CliResult<Outcome> {
    let arm = ctx.arm().await?;
    let sub = arm.subscription.clone();
    match command {
        IdentityCommand::Create {
            resource,
            location,
            tags,
        } => {
            let location = match location {
                Some(l) => l,
                None => groups::location_of(&arm, &resource.resource_group).await?,
            };
            let mut body = json!({ "location": location });
            if let Some(t) = tags.tags {
                body["tags"] = parse_tags(&t)?;
            }
            let path = paths::identity(&sub, &resource.resource_group, &resource.name);
            Ok(Outcome::table(
                arm.call_checked(Method::PUT, &path, Some(&body))
                    .await?
                    .body,
                row,
            ))
        }
        IdentityCommand::Show { resource } => {
            let path = paths::identity(&sub, &resource.resource_group, &resource.name);
            Ok(Outcome::table(
                arm.call_checked(Method::GET, &path, None).await?.body,
                row,
            ))
        }
        IdentityCommand::List { group } => {
            let path = paths::identities(&sub, group.resource_group.as_deref());
            Ok(Outcome::table(arm.list(&path).await?, row))
        }
        IdentityCommand::Delete { resource } => {
            let path = paths::identity(&sub, &resource.resource_group, &resource.name);
            arm.call_checked(Method::DELETE, &path, None).await?;
            Ok(Outcome::none())
        }
    }
}
