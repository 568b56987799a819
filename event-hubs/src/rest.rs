//! The Event Hubs REST send API:
//! `POST /{hub}/messages`, `/{hub}/partitions/{p}/messages` and
//! `/{hub}/publishers/{publisher}/messages` (the publisher as partition key),
//! one event (the request body, `BrokerProperties: {"PartitionKey": ...}`
//! optional) or a batch (`Content-Type: application/vnd.microsoft.servicebus.json`,
//! `[{"Body": "...", "UserProperties": {...}, "BrokerProperties": {...}}]`),
//! authorised by `Authorization: SharedAccessSignature ...` with Send. 201
//! when the events are in the log; errors in the service's XML shape.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use serde::Deserialize;

use crate::{
    broker::{Broker, BrokerError},
    message::{self, IncomingEvent},
    sas::{self, SasError},
};

const BATCH_CONTENT_TYPE: &str = "application/vnd.microsoft.servicebus.json";
/// The largest request (Standard tier: 1 MB per event or batch).
const MAX_BODY: usize = 1024 * 1024;

pub fn router(broker: Broker) -> Router {
    Router::new()
        .route("/{hub}/messages", post(send_to_hub))
        .route(
            "/{hub}/partitions/{partition}/messages",
            post(send_to_partition),
        )
        .route(
            "/{hub}/publishers/{publisher}/messages",
            post(send_as_publisher),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(broker)
}

fn error(status: StatusCode, detail: impl std::fmt::Display) -> Response {
    let escaped = detail
        .to_string()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        "<Error><Code>{}</Code><Detail>{escaped}</Detail></Error>",
        status.as_u16()
    );
    (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct BrokerProperties {
    partition_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchItem {
    body: serde_json::Value,
    #[serde(default)]
    user_properties: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    broker_properties: Option<BrokerProperties>,
}

async fn send_to_hub(
    State(broker): State<Broker>,
    Path(hub): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send(&broker, &hub, None, None, &headers, body)
}

async fn send_to_partition(
    State(broker): State<Broker>,
    Path((hub, partition)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send(&broker, &hub, Some(partition), None, &headers, body)
}

async fn send_as_publisher(
    State(broker): State<Broker>,
    Path((hub, publisher)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send(&broker, &hub, None, Some(publisher), &headers, body)
}

fn send(
    broker: &Broker,
    hub: &str,
    partition: Option<String>,
    publisher: Option<String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let grant = match sas::validate(broker.directory().as_ref(), token) {
        Ok(grant) => grant,
        Err(SasError::Directory(e)) => {
            tracing::error!("event hubs directory: {e}");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The service was unable to process the request.",
            );
        }
        Err(SasError::Malformed) if token.is_empty() => {
            return error(
                StatusCode::UNAUTHORIZED,
                "MissingToken: The authorization header was not found.",
            )
        }
        Err(e) => return error(StatusCode::UNAUTHORIZED, e),
    };
    if !grant.covers(&grant.namespace, hub) {
        return error(
            StatusCode::UNAUTHORIZED,
            format!("InvalidAudience: The token does not cover '{hub}'."),
        );
    }
    if !grant.rights.can_send() {
        return error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized access. 'Send' claim(s) are required to perform this operation.",
        );
    }
    let info = match broker.hub(&grant.namespace, hub) {
        Ok(info) => info,
        Err(e) => return broker_error(e),
    };
    let header_key = headers
        .get("BrokerProperties")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_str::<BrokerProperties>(v).ok())
        .and_then(|p| p.partition_key);
    let key = publisher.or(header_key);
    let is_batch = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(BATCH_CONTENT_TYPE));
    let events = if is_batch {
        let items: Vec<BatchItem> = match serde_json::from_slice(&body) {
            Ok(items) => items,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("The batch is not a JSON array of events: {e}"),
                )
            }
        };
        items
            .into_iter()
            .map(|item| {
                let body = match item.body {
                    serde_json::Value::String(s) => s.into_bytes(),
                    other => other.to_string().into_bytes(),
                };
                let properties: Vec<(String, serde_json::Value)> =
                    item.user_properties.into_iter().collect();
                IncomingEvent {
                    partition_key: item
                        .broker_properties
                        .and_then(|p| p.partition_key)
                        .or(key.clone()),
                    sections: message::encode_event_sections(&properties, &body),
                }
            })
            .collect()
    } else {
        vec![IncomingEvent {
            partition_key: key,
            sections: message::encode_event_sections(&[], &body),
        }]
    };
    // A batch goes to one partition, as on the service: the first event's key picks it.
    match broker.append(&info, partition.as_deref(), events) {
        Ok(_) => StatusCode::CREATED.into_response(),
        Err(e) => broker_error(e),
    }
}

fn broker_error(e: BrokerError) -> Response {
    match e {
        BrokerError::HubNotFound { .. } | BrokerError::ConsumerGroupNotFound { .. } => {
            error(StatusCode::NOT_FOUND, e)
        }
        BrokerError::PartitionNotFound { .. } | BrokerError::Malformed(_) => {
            error(StatusCode::BAD_REQUEST, e)
        }
        BrokerError::Paused => error(StatusCode::SERVICE_UNAVAILABLE, e),
        BrokerError::Io(_) | BrokerError::Directory(_) => {
            tracing::error!("event hubs: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The service was unable to process the request; please retry.",
            )
        }
    }
}
