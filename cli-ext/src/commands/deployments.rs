//! `deployment group|sub create/show/list/delete`: ARM templates and Bicep
//! files. A `.bicep` file (or a `.bicepparam` parameters file) is compiled
//! in-process by the workspace's own compiler, where az would run the Bicep
//! CLI; the template then goes to the deployments API like any other.

use std::path::Path;

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{
    cli::{DeploymentCommand, DeploymentCreateArgs, DeploymentGroupCommand, DeploymentSubCommand},
    error::{CliError, CliResult},
    lro::{self, FinalState},
    output::Row,
    paths, Ctx, Outcome,
};

fn row(d: &Value) -> Row {
    vec![
        ("Name", d["name"].clone()),
        ("State", d["properties"]["provisioningState"].clone()),
        ("Timestamp", d["properties"]["timestamp"].clone()),
        ("Mode", d["properties"]["mode"].clone()),
        ("ResourceGroup", paths::group_cell(&d["id"])),
    ]
}

pub async fn run(ctx: &Ctx, command: DeploymentCommand) -> CliResult<Outcome> {
    let arm = ctx.arm().await?;
    let sub = arm.subscription.clone();
    match command {
        DeploymentCommand::Group(DeploymentGroupCommand::Create {
            resource_group,
            create,
        }) => create_deployment(ctx, &arm, Some(&resource_group), None, create).await,
        DeploymentCommand::Sub(DeploymentSubCommand::Create { location, create }) => {
            create_deployment(ctx, &arm, None, Some(location), create).await
        }
        DeploymentCommand::Group(DeploymentGroupCommand::Show {
            resource_group,
            name,
        }) => {
            let path = paths::deployment(&sub, Some(&resource_group), &name);
            Ok(Outcome::table(
                arm.call_checked(Method::GET, &path, None).await?.body,
                row,
            ))
        }
        DeploymentCommand::Sub(DeploymentSubCommand::Show { name }) => {
            let path = paths::deployment(&sub, None, &name);
            Ok(Outcome::table(
                arm.call_checked(Method::GET, &path, None).await?.body,
                row,
            ))
        }
        DeploymentCommand::Group(DeploymentGroupCommand::List { resource_group }) => {
            Ok(Outcome::table(
                arm.list(&paths::deployments(&sub, Some(&resource_group)))
                    .await?,
                row,
            ))
        }
        DeploymentCommand::Sub(DeploymentSubCommand::List) => Ok(Outcome::table(
            arm.list(&paths::deployments(&sub, None)).await?,
            row,
        )),
        DeploymentCommand::Group(DeploymentGroupCommand::Delete {
            resource_group,
            name,
        }) => {
            let path = paths::deployment(&sub, Some(&resource_group), &name);
            arm.call_checked(Method::DELETE, &path, None).await?;
            Ok(Outcome::none())
        }
    }
}

async fn create_deployment(
    ctx: &Ctx,
    arm: &super::http::Arm,
    group: Option<&str>,
    location: Option<String>,
    args: DeploymentCreateArgs,
) -> CliResult<Outcome> {
    let (template, mut parameters, default_name) = load_template(ctx, &args)?;
    merge_parameters(&template, &mut parameters, &args.parameters)?;
    let name = args.name.clone().unwrap_or(default_name);
    let mut body = json!({
        "properties": {
            "mode": args.mode.as_deref().unwrap_or("Incremental"),
            "template": template,
            "parameters": parameters,
        }
    });
    if let Some(location) = location {
        body["location"] = json!(location);
    }
    let path = paths::deployment(&arm.subscription, group, &name);
    let started = arm.call(Method::PUT, &path, Some(&body)).await?;
    if args.no_wait.no_wait {
        started.ok()?;
        return Ok(Outcome::none());
    }
    let done = lro::finish(arm, started, &path, FinalState::OriginalUri).await?;
    Ok(Outcome::table(done, row))
}

/// The template (from `--template-file`, or from the `.bicepparam` file
/// given as a parameter), the parameters that came with it, and the
/// deployment's default name (the file's stem, as az names it).
fn load_template(
    ctx: &Ctx,
    args: &DeploymentCreateArgs,
) -> CliResult<(Value, Map<String, Value>, String)> {
    let params_file = args.parameters.iter().find(|p| p.ends_with(".bicepparam"));
    if let Some(params_file) = params_file {
        let compiled = bicep::compile_params_file(Path::new(params_file));
        report(ctx, &compiled.diagnostics)?;
        let template = parse_compiled(compiled.template, params_file)?;
        let parameters = parse_compiled(compiled.parameters, params_file)?;
        let values = parameters["parameters"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        return Ok((template, values, stem(params_file)));
    }
    let file = args.template_file.as_deref().ok_or_else(|| {
        CliError::usage("the following arguments are required: --template-file/-f (or a .bicepparam file in --parameters)")
    })?;
    let template = if file.ends_with(".bicep") {
        let compiled = bicep::compile_file(Path::new(file));
        report(ctx, &compiled.diagnostics)?;
        parse_compiled(compiled.template, file)?
    } else {
        let text = std::fs::read_to_string(file)
            .map_err(|e| CliError::client(format!("cannot read '{file}': {e}")))?;
        serde_json::from_str(&text)
            .map_err(|e| CliError::client(format!("'{file}' is not a JSON template: {e}")))?
    };
    Ok((template, Map::new(), stem(file)))
}

fn stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("deployment")
        .to_string()
}

fn parse_compiled(text: Option<String>, file: &str) -> CliResult<Value> {
    let text = text.ok_or_else(|| CliError::client(format!("'{file}' did not compile")))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::client(format!("the compiled '{file}' is not JSON: {e}")))
}

/// Compiler diagnostics as the Bicep CLI prints them: warnings go to stderr,
/// any error stops the command with all of them.
fn report(ctx: &Ctx, diagnostics: &[bicep::Diagnostic]) -> CliResult<()> {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| matches!(d.level, bicep::Level::Error))
        .map(|d| d.render())
        .collect();
    for warning in diagnostics
        .iter()
        .filter(|d| !matches!(d.level, bicep::Level::Error))
    {
        ctx.warn(&warning.render());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::client(errors.join("\n")))
    }
}

/// One `--parameters` value: `@file.json` (a parameters file), inline JSON,
/// `.bicepparam` (taken with the template), or `name=value` (typed by the
/// template's declaration, as az does).
fn merge_parameters(
    template: &Value,
    parameters: &mut Map<String, Value>,
    given: &[String],
) -> CliResult<()> {
    for item in given {
        if item.ends_with(".bicepparam") {
            continue;
        }
        let object: Option<Value> = if let Some(file) = item.strip_prefix('@') {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::client(format!("cannot read '{file}': {e}")))?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| CliError::client(format!("'{file}' is not JSON: {e}")))?,
            )
        } else if item.trim_start().starts_with('{') {
            Some(
                serde_json::from_str(item)
                    .map_err(|e| CliError::usage(format!("invalid JSON in --parameters: {e}")))?,
            )
        } else {
            None
        };
        match object {
            Some(object) => {
                // A deploymentParameters file has its values under `parameters`.
                let values = object.get("parameters").cloned().unwrap_or(object);
                if let Some(values) = values.as_object() {
                    for (k, v) in values {
                        parameters.insert(k.clone(), v.clone());
                    }
                }
            }
            None => {
                let (name, raw) = item.split_once('=').ok_or_else(|| {
                    CliError::usage(format!(
                        "invalid --parameters value '{item}': use name=value, @file.json or JSON"
                    ))
                })?;
                let declared = template["parameters"]
                    .as_object()
                    .and_then(|p| p.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .map(|(_, d)| d["type"].as_str().unwrap_or("string").to_ascii_lowercase())
                    .unwrap_or_else(|| "string".into());
                let value = match declared.as_str() {
                    "string" | "securestring" => Value::String(raw.to_string()),
                    _ => {
                        serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
                    }
                };
                parameters.insert(name.to_string(), json!({ "value": value }));
            }
        }
    }
    Ok(())
}
