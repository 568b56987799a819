//! Faults a user switches on to test their own retries (an emulator
//! extension; Azure has no such surface). One admin endpoint, reachable only
//! with the well-known principal's token (see [`crate::identity::admin`]),
//! and `--faults FILE` at start-up with the same bodies:
//!
//! - `POST /emulator/faults/hsmNodes` `{"clusterId","node","action":"stop|start|replace","downFor"?}`:
//!   an HSM of a cluster goes down, comes back, or is swapped for a new one
//!   (with `downFor`, it is down that long first);
//! - `POST /emulator/faults/operations` `{"resourceType","operation"?,"count"?,"error"?:{"code","message","status"?},"duration"?}`:
//!   the next `count` long-running operations on that type fail with that
//!   ARM error and/or take that long; `GET` lists the rules, `DELETE`
//!   clears them (`DELETE .../operations/{id}` one);
//! - `PUT /emulator/faults/dataPlane` `{"mode":"unavailable|drop","duration"}`:
//!   every HSM answers 503, or drops the connection, for that long; `DELETE`
//!   ends it;
//! - `PUT /emulator/faults/eventHubs` `{"paused":true,"duration"?}`: the
//!   broker refuses every send (server busy) until resumed (`DELETE`, or
//!   `{"paused":false}`) or for that long;
//! - `GET /emulator/faults`: what is switched on.
//!
//! Faults live in memory: a restart clears them (an HSM node's state is the
//! engine's and stays), and `--faults` applies its file again.

mod operations;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, post, put},
    Json, Router,
};
use cloudhsm_data_plane::server::faults::{Outage, OutageMode};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Value};

pub use operations::{InjectedFailure, OperationRules};

use crate::{arm::error::ArmError, identity::admin::require_admin, state::AppState};

/// Every fault that is on; shared by the control plane and the data plane.
#[derive(Default)]
pub struct Faults {
    pub operations: OperationRules,
    /// Read by the data-plane listener on every request.
    pub data_plane: Arc<Outage>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/emulator/faults", get(show))
        .route("/emulator/faults/hsmNodes", post(hsm_node))
        .route(
            "/emulator/faults/operations",
            get(list_operation_rules)
                .post(add_operation_rule)
                .delete(clear_operation_rules),
        )
        .route(
            "/emulator/faults/operations/{id}",
            delete(remove_operation_rule),
        )
        .route(
            "/emulator/faults/dataPlane",
            put(set_data_plane).delete(end_data_plane),
        )
        .route(
            // The path is canonicalised first (`eventHubs` is an ARM keyword,
            // spelled `eventhubs`), so this matches either spelling.
            "/emulator/faults/eventhubs",
            put(set_event_hubs).delete(resume_event_hubs),
        )
}

const SURFACE: &str = "use the emulator's fault injection";

fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), ArmError> {
    require_admin(state, headers, SURFACE)
}

/// A body as `T`, or ARM's `InvalidRequestContent` naming what is wrong.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ArmError> {
    serde_json::from_slice(body).map_err(|e| {
        ArmError::invalid_content(
            format!("The request content was invalid and could not be deserialized: {e}."),
            None,
        )
    })
}

/// A duration as `"30s"`, `"250ms"`, `"2m"` (at most an hour).
fn parse_duration(text: &str, target: &str) -> Result<Duration, ArmError> {
    let invalid = |why: String| ArmError::BadRequest {
        code: "InvalidParameter",
        message: format!("The value '{text}' of '{target}' is not a valid duration: {why}"),
        target: Some(target.into()),
    };
    let duration = humantime::parse_duration(text).map_err(|e| invalid(e.to_string()))?;
    if duration > Duration::from_secs(3600) {
        return Err(invalid("at most 1h".into()));
    }
    Ok(duration)
}

fn format_duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_millis(d.as_millis() as u64)).to_string()
}

async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ArmError> {
    admin(&state, &headers)?;
    Ok(Json(json!({
        "operations": state.faults.operations.list(),
        "dataPlane": data_plane_view(&state),
        "eventHubs": event_hubs_view(&state),
    })))
}

// ---- HSM nodes ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HsmNodeFault {
    cluster_id: String,
    node: usize,
    action: String,
    down_for: Option<String>,
}

async fn hsm_node(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ArmError> {
    admin(&state, &headers)?;
    let fault: HsmNodeFault = parse_body(&body)?;
    apply_hsm_node(&state, fault).map(Json)
}

pub fn apply_hsm_node(state: &AppState, fault: HsmNodeFault) -> Result<Value, ArmError> {
    let cluster = state
        .hsm_clusters
        .get(&fault.cluster_id)
        .ok_or_else(|| ArmError::NotFound {
            code: "ResourceNotFound",
            message: format!(
                "The cluster '{}' was not found, or its HSMs are not provisioned.",
                fault.cluster_id
            ),
        })?;
    let nodes = cluster.nodes_up().len();
    if fault.node >= nodes {
        return Err(ArmError::BadRequest {
            code: "InvalidParameter",
            message: format!(
                "The cluster has HSM nodes 0 to {}; there is no node {}.",
                nodes - 1,
                fault.node
            ),
            target: Some("node".into()),
        });
    }
    let down_for = match (&fault.down_for, fault.action.as_str()) {
        (None, _) => None,
        (Some(text), "replace") => Some(parse_duration(text, "downFor")?),
        (Some(_), _) => {
            return Err(ArmError::BadRequest {
                code: "InvalidParameter",
                message: "'downFor' goes with the action 'replace' only.".into(),
                target: Some("downFor".into()),
            })
        }
    };
    let engine = |e: cloudhsm_data_plane::engine::error::EngineError| match e {
        cloudhsm_data_plane::engine::error::EngineError::NoNodeAvailable => ArmError::Conflict {
            code: "NoHealthyNode",
            message: "No other HSM node of the cluster is up to copy from.".into(),
        },
        other => ArmError::Internal(other.to_string()),
    };
    match (fault.action.as_str(), down_for) {
        ("stop", _) => cluster.stop_node(fault.node).map_err(engine)?,
        ("start", _) => cluster.start_node(fault.node).map_err(engine)?,
        ("replace", None) => cluster.replace_node(fault.node).map_err(engine)?,
        ("replace", Some(down_for)) => {
            // Refuse now what the replacement would refuse later.
            if !cluster
                .nodes_up()
                .iter()
                .enumerate()
                .any(|(n, up)| *up && n != fault.node)
            {
                return Err(engine(
                    cloudhsm_data_plane::engine::error::EngineError::NoNodeAvailable,
                ));
            }
            cluster.stop_node(fault.node).map_err(engine)?;
            let (cluster, node) = (cluster.clone(), fault.node);
            tokio::spawn(async move {
                tokio::time::sleep(down_for).await;
                if let Err(e) = cluster.replace_node(node) {
                    tracing::warn!(node, error = %e, "fault injection: replacing an HSM node failed");
                }
            });
        }
        (other, _) => {
            return Err(ArmError::BadRequest {
                code: "InvalidParameter",
                message: format!("The action '{other}' is not one of stop, start, replace."),
                target: Some("action".into()),
            })
        }
    }
    tracing::info!(cluster = %fault.cluster_id, node = fault.node, action = %fault.action, "fault injection: HSM node");
    Ok(json!({
        "clusterId": fault.cluster_id,
        "nodes": cluster
            .nodes_up()
            .iter()
            .enumerate()
            .map(|(node, up)| json!({"node": node, "up": up}))
            .collect::<Vec<_>>(),
    }))
}

// ---- long-running operations ----

async fn list_operation_rules(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ArmError> {
    admin(&state, &headers)?;
    Ok(Json(json!({ "value": state.faults.operations.list() })))
}

async fn add_operation_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ArmError> {
    admin(&state, &headers)?;
    let rule = state.faults.operations.add(parse_body(&body)?)?;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

async fn clear_operation_rules(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ArmError> {
    admin(&state, &headers)?;
    state.faults.operations.clear();
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_operation_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ArmError> {
    admin(&state, &headers)?;
    if state.faults.operations.remove(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ArmError::NotFound {
            code: "FaultNotFound",
            message: format!("No operation fault has the id '{id}'."),
        })
    }
}

// ---- the data plane ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataPlaneFault {
    mode: String,
    duration: String,
}

fn data_plane_view(state: &AppState) -> Value {
    match state.faults.data_plane.current() {
        Some((mode, left)) => json!({
            "mode": match mode { OutageMode::Unavailable => "unavailable", OutageMode::Drop => "drop" },
            "remaining": format_duration(left),
        }),
        None => Value::Null,
    }
}

async fn set_data_plane(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ArmError> {
    admin(&state, &headers)?;
    apply_data_plane(&state, parse_body(&body)?)?;
    Ok(Json(data_plane_view(&state)))
}

pub fn apply_data_plane(state: &AppState, fault: DataPlaneFault) -> Result<(), ArmError> {
    let mode = match fault.mode.as_str() {
        "unavailable" => OutageMode::Unavailable,
        "drop" => OutageMode::Drop,
        other => {
            return Err(ArmError::BadRequest {
                code: "InvalidParameter",
                message: format!("The mode '{other}' is not one of unavailable, drop."),
                target: Some("mode".into()),
            })
        }
    };
    let duration = parse_duration(&fault.duration, "duration")?;
    state.faults.data_plane.begin(mode, duration);
    tracing::info!(mode = %fault.mode, duration = %fault.duration, "fault injection: data-plane outage");
    Ok(())
}

async fn end_data_plane(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ArmError> {
    admin(&state, &headers)?;
    state.faults.data_plane.end();
    Ok(StatusCode::NO_CONTENT)
}

// ---- the Event Hubs broker ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventHubsFault {
    paused: bool,
    duration: Option<String>,
}

fn event_hubs_view(state: &AppState) -> Value {
    match state.event_hubs.paused() {
        Some(left) => json!({
            "paused": true,
            "remaining": left.map(format_duration),
        }),
        None => json!({ "paused": false }),
    }
}

async fn set_event_hubs(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ArmError> {
    admin(&state, &headers)?;
    apply_event_hubs(&state, parse_body(&body)?)?;
    Ok(Json(event_hubs_view(&state)))
}

pub fn apply_event_hubs(state: &AppState, fault: EventHubsFault) -> Result<(), ArmError> {
    if !fault.paused {
        if fault.duration.is_some() {
            return Err(ArmError::BadRequest {
                code: "InvalidParameter",
                message: "'duration' goes with 'paused': true only.".into(),
                target: Some("duration".into()),
            });
        }
        state.event_hubs.resume();
        return Ok(());
    }
    let duration = fault
        .duration
        .as_deref()
        .map(|d| parse_duration(d, "duration"))
        .transpose()?;
    state.event_hubs.pause(duration);
    tracing::info!(duration = ?fault.duration, "fault injection: Event Hubs broker paused");
    Ok(())
}

async fn resume_event_hubs(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ArmError> {
    admin(&state, &headers)?;
    state.event_hubs.resume();
    Ok(StatusCode::NO_CONTENT)
}

// ---- start-up ----

/// `--faults FILE`: the endpoint's bodies, applied at start.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartupFaults {
    #[serde(default)]
    hsm_nodes: Vec<HsmNodeFault>,
    #[serde(default)]
    operations: Vec<operations::OperationFault>,
    data_plane: Option<DataPlaneFault>,
    event_hubs: Option<EventHubsFault>,
}

impl StartupFaults {
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        parse_body(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn apply(self, state: &AppState) -> Result<(), String> {
        for fault in self.operations {
            state
                .faults
                .operations
                .add(fault)
                .map_err(|e| format!("operations: {e}"))?;
        }
        if let Some(fault) = self.data_plane {
            apply_data_plane(state, fault).map_err(|e| format!("dataPlane: {e}"))?;
        }
        if let Some(fault) = self.event_hubs {
            apply_event_hubs(state, fault).map_err(|e| format!("eventHubs: {e}"))?;
        }
        for fault in self.hsm_nodes {
            apply_hsm_node(state, fault).map_err(|e| format!("hsmNodes: {e}"))?;
        }
        Ok(())
    }
}
