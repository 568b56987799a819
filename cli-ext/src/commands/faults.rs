//! `emulator fault ...`: the emulator's fault injection (`/emulator/faults`,
//! an emulator extension). The emulator judges every value and answers bad
//! ones with ARM's errors, which print as any other.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{
    cli::{FaultCommand, FaultDataPlaneCommand, FaultEventHubsCommand, FaultOperationCommand},
    error::{CliError, CliResult},
    output::Row,
    paths, Ctx, Outcome,
};

pub async fn run(ctx: &Ctx, command: FaultCommand) -> CliResult<Outcome> {
    let arm = ctx.arm().await?;
    let call = |method: Method, path: &'static str, body: Option<Value>| {
        let arm = &arm;
        async move {
            arm.call_checked(method, path, body.as_ref())
                .await
                .map(|reply| reply.body)
        }
    };
    match command {
        FaultCommand::Show => Ok(Outcome::value(
            call(Method::GET, "/emulator/faults", None).await?,
        )),
        FaultCommand::HsmNode {
            cluster_id,
            resource_group,
            name,
            node,
            action,
            down_for,
        } => {
            let cluster_id = match (cluster_id, resource_group, name) {
                (Some(id), _, _) => id,
                (None, Some(group), Some(name)) => {
                    paths::cluster_id(&arm.subscription, &group, &name)
                }
                _ => {
                    return Err(CliError::usage(
                        "give --cluster-id, or --resource-group and --name",
                    ))
                }
            };
            let mut body = json!({"clusterId": cluster_id, "node": node, "action": action});
            if let Some(down_for) = down_for {
                body["downFor"] = json!(down_for);
            }
            Ok(Outcome::value(
                call(Method::POST, "/emulator/faults/hsmNodes", Some(body)).await?,
            ))
        }
        FaultCommand::Operation(FaultOperationCommand::Add {
            resource_type,
            operation,
            count,
            error_code,
            error_message,
            error_status,
            duration,
        }) => {
            let mut body = Map::new();
            body.insert("resourceType".into(), json!(resource_type));
            if let Some(operation) = operation {
                body.insert("operation".into(), json!(operation));
            }
            if let Some(count) = count {
                body.insert("count".into(), json!(count));
            }
            if let (Some(code), Some(message)) = (error_code, error_message) {
                let mut error = json!({"code": code, "message": message});
                if let Some(status) = error_status {
                    error["status"] = json!(status);
                }
                body.insert("error".into(), error);
            }
            if let Some(duration) = duration {
                body.insert("duration".into(), json!(duration));
            }
            Ok(Outcome::value(
                call(
                    Method::POST,
                    "/emulator/faults/operations",
                    Some(Value::Object(body)),
                )
                .await?,
            ))
        }
        FaultCommand::Operation(FaultOperationCommand::List) => {
            let rules = call(Method::GET, "/emulator/faults/operations", None).await?;
            Ok(Outcome::table(rules["value"].clone(), rule_row))
        }
        FaultCommand::Operation(FaultOperationCommand::Clear { id }) => {
            match id {
                Some(id) => {
                    arm.call_checked(
                        Method::DELETE,
                        &format!("/emulator/faults/operations/{id}"),
                        None,
                    )
                    .await?;
                }
                None => {
                    call(Method::DELETE, "/emulator/faults/operations", None).await?;
                }
            }
            Ok(Outcome::none())
        }
        FaultCommand::DataPlane(FaultDataPlaneCommand::Start { mode, duration }) => {
            Ok(Outcome::value(
                call(
                    Method::PUT,
                    "/emulator/faults/dataPlane",
                    Some(json!({"mode": mode, "duration": duration})),
                )
                .await?,
            ))
        }
        FaultCommand::DataPlane(FaultDataPlaneCommand::Stop) => {
            call(Method::DELETE, "/emulator/faults/dataPlane", None).await?;
            Ok(Outcome::none())
        }
        FaultCommand::EventHubs(FaultEventHubsCommand::Pause { duration }) => {
            let mut body = json!({"paused": true});
            if let Some(duration) = duration {
                body["duration"] = json!(duration);
            }
            Ok(Outcome::value(
                call(Method::PUT, "/emulator/faults/eventHubs", Some(body)).await?,
            ))
        }
        FaultCommand::EventHubs(FaultEventHubsCommand::Resume) => {
            call(Method::DELETE, "/emulator/faults/eventHubs", None).await?;
            Ok(Outcome::none())
        }
    }
}

fn rule_row(rule: &Value) -> Row {
    vec![
        ("Id", rule["id"].clone()),
        ("ResourceType", rule["resourceType"].clone()),
        ("Operation", rule["operation"].clone()),
        ("Remaining", rule["remaining"].clone()),
        ("Error", rule["error"]["code"].clone()),
        ("Duration", rule["duration"].clone()),
    ]
}
