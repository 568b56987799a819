//! Long-running operations as ARM defines them, and the `wait` commands.
//!
//! A start answers 201/202 with `Azure-AsyncOperation` (poll its `status`)
//! and/or `Location` (poll until it stops answering 202); where the result
//! comes from depends on the operation (the spec's `final-state-via`).
//! While polling on a terminal, a spinner shows on stderr, as az shows one.

use std::{
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{
    error::{CliError, CliResult},
    http::{service_error, Arm, Reply},
    output,
};

/// Where a finished operation's result is read (the spec's `final-state-via`).
#[derive(Debug, Clone, Copy)]
pub enum FinalState {
    /// GET the resource itself (create via PUT).
    OriginalUri,
    /// The `Location` URL's final answer (PATCH; DELETE has none).
    Location,
    /// The `Azure-AsyncOperation` URL's final body (backup, restore, validate).
    AsyncOperation,
}

/// Polls at the service's `Retry-After`, but never slower than this: the
/// emulator's operations are short.
const MAX_POLL: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(3600);

fn retry_after(reply: &Reply) -> Duration {
    // `retry-after-ms` first, as azure-core reads it: a short operation is
    // then not waited on for a whole second.
    if let Some(ms) = reply
        .header("retry-after-ms")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Duration::from_millis(ms).min(MAX_POLL);
    }
    reply
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1))
        .min(MAX_POLL)
}

/// az's spinner, on stderr and only on a terminal.
pub struct Progress {
    on: bool,
    frame: usize,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            frame: 0,
        }
    }

    fn tick(&mut self) {
        if self.on {
            const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
            eprint!("\r {} Running ..", FRAMES[self.frame % FRAMES.len()]);
            let _ = std::io::stderr().flush();
            self.frame += 1;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.on && self.frame > 0 {
            eprint!("\r\x1b[K");
        }
    }
}

/// Status of an operation-status body (`status`, or `properties.status` for
/// backup/restore job results).
fn operation_status(body: &Value) -> Option<&str> {
    body["status"]
        .as_str()
        .or_else(|| body["properties"]["status"].as_str())
}

fn failed(body: &Value) -> CliError {
    let error = if body["error"].is_object() {
        &body["error"]
    } else {
        &body["properties"]["error"]
    };
    CliError::Operation {
        code: error["code"]
            .as_str()
            .unwrap_or("OperationFailed")
            .to_string(),
        message: error["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "The operation ended as {}",
                    operation_status(body).unwrap_or("Failed")
                )
            }),
    }
}

fn timed_out() -> CliError {
    CliError::client(format!(
        "the operation did not finish within {}s",
        OPERATION_TIMEOUT.as_secs()
    ))
}

/// Follows a started operation to its end and returns its result
/// (`Value::Null` when there is none, as for a delete).
pub async fn finish(
    arm: &Arm,
    started: Reply,
    resource: &str,
    final_state: FinalState,
) -> CliResult<Value> {
    let started = started.ok()?;
    if started.status != StatusCode::CREATED && started.status != StatusCode::ACCEPTED {
        return Ok(started.body);
    }
    let deadline = Instant::now() + OPERATION_TIMEOUT;
    let mut progress = Progress::new();
    let async_url = started.header("azure-asyncoperation");
    let location = started.header("location");
    // A service that gives only a Location has its result there.
    let final_state = match (final_state, &async_url) {
        (FinalState::AsyncOperation, None) => FinalState::Location,
        (other, _) => other,
    };
    let mut delay = retry_after(&started);
    let mut async_body = Value::Null;
    if let Some(url) = &async_url {
        loop {
            progress.tick();
            tokio::time::sleep(delay).await;
            let reply = arm.call(Method::GET, url, None).await?;
            if reply.status == StatusCode::ACCEPTED && reply.body.is_null() {
                delay = retry_after(&reply);
            } else {
                let reply = reply.ok()?;
                match operation_status(&reply.body) {
                    Some("Succeeded") => {
                        async_body = reply.body;
                        break;
                    }
                    Some("Failed") | Some("Canceled") | Some("Cancelled") => {
                        return Err(failed(&reply.body))
                    }
                    _ => delay = retry_after(&reply),
                }
            }
            if Instant::now() > deadline {
                return Err(timed_out());
            }
        }
    }
    match final_state {
        FinalState::AsyncOperation => Ok(async_body),
        FinalState::OriginalUri => Ok(arm.call_checked(Method::GET, resource, None).await?.body),
        FinalState::Location => {
            let Some(url) = location else {
                return Ok(Value::Null);
            };
            loop {
                let reply = arm.call(Method::GET, &url, None).await?;
                if reply.status != StatusCode::ACCEPTED {
                    let reply = reply.ok()?;
                    return Ok(if reply.status == StatusCode::NO_CONTENT {
                        Value::Null
                    } else {
                        reply.body
                    });
                }
                if Instant::now() > deadline {
                    return Err(timed_out());
                }
                progress.tick();
                tokio::time::sleep(retry_after(&reply)).await;
            }
        }
    }
}

/// What a `wait` command waits for, as az's `--created` & co.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "condition", required = true, multiple = false)]
pub struct WaitArgs {
    /// Wait until created with 'provisioningState' at 'Succeeded'.
    #[arg(long)]
    pub created: bool,
    /// Wait until updated with provisioningState at 'Succeeded'.
    #[arg(long)]
    pub updated: bool,
    /// Wait until deleted.
    #[arg(long)]
    pub deleted: bool,
    /// Wait until the resource exists.
    #[arg(long)]
    pub exists: bool,
    /// Wait until the condition satisfies a custom JMESPath query, e.g.
    /// "properties.activationState=='Active'".
    #[arg(long)]
    pub custom: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct WaitTiming {
    /// Polling interval in seconds.
    #[arg(long, default_value_t = 30)]
    pub interval: u64,
    /// Maximum wait in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

pub async fn wait(
    arm: &Arm,
    resource: &str,
    args: &WaitArgs,
    timing: &WaitTiming,
) -> CliResult<()> {
    let custom = args
        .custom
        .as_deref()
        .map(output::compile_query)
        .transpose()?;
    let deadline = Instant::now() + Duration::from_secs(timing.timeout);
    let mut progress = Progress::new();
    loop {
        let reply = arm.call(Method::GET, resource, None).await?;
        let exists = reply.status.is_success();
        if !exists && reply.status != StatusCode::NOT_FOUND {
            return Err(service_error(reply.status, &reply.body));
        }
        let state = reply.body["properties"]["provisioningState"]
            .as_str()
            .unwrap_or("");
        let done = if args.deleted {
            !exists
        } else if args.exists {
            exists
        } else if let Some(query) = &custom {
            exists && truthy(&output::apply_query(query, &reply.body)?)
        } else {
            if exists && state.eq_ignore_ascii_case("Failed") {
                return Err(CliError::Operation {
                    code: "ProvisioningFailed".into(),
                    message: "The resource's provisioningState is 'Failed'".into(),
                });
            }
            exists && state.eq_ignore_ascii_case("Succeeded")
        };
        if done {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CliError::client(format!(
                "Wait operation timed-out after {} seconds",
                timing.timeout
            )));
        }
        progress.tick();
        // Never sleep past the deadline: one last look, then the timeout error.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let interval = Duration::from_secs(timing.interval.max(1));
        tokio::time::sleep(interval.min(remaining + Duration::from_millis(50))).await;
    }
}

/// JMESPath truthiness: false, null, "", [] and {} are false.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}
