//! `cloudhsm backup start/show/validate` and `cloudhsm restore
//! start/show/validate`: POSTs that start a job (long-running, result via
//! `Azure-AsyncOperation`) and the job-status GETs, as the spec has them.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{
    cli::{BackupCommand, BlobArgs, ClusterArgs, RestoreCommand},
    error::CliResult,
    http::Arm,
    lro::{self, FinalState},
    output::Row,
    paths, Outcome,
};

fn row(v: &Value) -> Row {
    let p = &v["properties"];
    vec![
        ("JobId", p["jobId"].clone()),
        ("Status", p["status"].clone()),
        ("StatusDetails", p["statusDetails"].clone()),
        ("BackupId", p["backupId"].clone()),
        ("StartTime", p["startTime"].clone()),
        ("EndTime", p["endTime"].clone()),
    ]
}

fn request_body(blob: &BlobArgs, backup_id: Option<&str>) -> Value {
    let mut body = json!({ "azureStorageBlobContainerUri": blob.blob_container_uri });
    if let Some(t) = &blob.token {
        body["token"] = Value::String(t.clone());
    }
    if let Some(id) = backup_id {
        body["backupId"] = Value::String(id.to_string());
    }
    body
}

/// POSTs `action` on the cluster and, unless `no_wait`, follows the job to
/// its result.
async fn start(
    arm: &Arm,
    cluster: &ClusterArgs,
    action: &str,
    body: Value,
    no_wait: bool,
) -> CliResult<Outcome> {
    let path = paths::cluster_child(
        &arm.subscription,
        &cluster.resource_group,
        &cluster.cluster_name,
        action,
    );
    let started = arm.call(Method::POST, &path, Some(&body)).await?.ok()?;
    if no_wait {
        return Ok(Outcome::none());
    }
    let result = lro::finish(arm, started, &path, FinalState::AsyncOperation).await?;
    Ok(Outcome::maybe(result, row))
}

/// A job's status; 202 (still running, no body) reads as `InProgress`.
async fn show(
    arm: &Arm,
    cluster: &ClusterArgs,
    collection: &str,
    job_id: &str,
) -> CliResult<Outcome> {
    let path = paths::cluster_child(
        &arm.subscription,
        &cluster.resource_group,
        &cluster.cluster_name,
        &format!("{collection}/{job_id}"),
    );
    let reply = arm.call(Method::GET, &path, None).await?.ok()?;
    let body = if reply.status == StatusCode::ACCEPTED && reply.body.is_null() {
        json!({ "properties": { "jobId": job_id, "status": "InProgress" } })
    } else {
        reply.body
    };
    Ok(Outcome::table(body, row))
}

pub async fn backup(arm: &Arm, command: BackupCommand) -> CliResult<Outcome> {
    match command {
        BackupCommand::Start {
            cluster,
            blob,
            no_wait,
        } => {
            start(
                arm,
                &cluster,
                "backup",
                request_body(&blob, None),
                no_wait.no_wait,
            )
            .await
        }
        BackupCommand::Show { cluster, job_id } => {
            show(arm, &cluster, "backupOperationStatus", &job_id).await
        }
        BackupCommand::Validate { cluster, blob } => {
            start(
                arm,
                &cluster,
                "validateBackupProperties",
                request_body(&blob, None),
                false,
            )
            .await
        }
    }
}

pub async fn restore(arm: &Arm, command: RestoreCommand) -> CliResult<Outcome> {
    match command {
        RestoreCommand::Start {
            cluster,
            backup_id,
            blob,
            no_wait,
        } => {
            start(
                arm,
                &cluster,
                "restore",
                request_body(&blob, Some(&backup_id)),
                no_wait.no_wait,
            )
            .await
        }
        RestoreCommand::Show { cluster, job_id } => {
            show(arm, &cluster, "restoreOperationStatus", &job_id).await
        }
        RestoreCommand::Validate {
            cluster,
            backup_id,
            blob,
        } => {
            start(
                arm,
                &cluster,
                "validateRestoreProperties",
                request_body(&blob, Some(&backup_id)),
                false,
            )
            .await
        }
    }
}
