//! Event Hubs data-plane helpers: a namespace with a hub made through ARM,
//! and an AMQP 1.0 client (fe2o3-amqp) that authenticates on `$cbs` with a
//! SAS token, sends, and receives from a position, as the SDKs do.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use fe2o3_amqp::{
    connection::ConnectionHandle,
    sasl_profile::SaslProfile,
    session::SessionHandle,
    types::{
        messaging::{ApplicationProperties, Body, Message, Properties, Source},
        primitives::{Symbol, Value},
    },
    Connection, Receiver, Sender, Session,
};
use reqwest::Method;
use serde_json::json;

use crate::{eventhubs_path, Emulator};

/// A namespace `name` in group `group` with hub `hub` of `partitions`
/// partitions; returns the root rule's primary key.
pub async fn namespace_with_hub(
    emu: &Emulator,
    group: &str,
    name: &str,
    hub: &str,
    partitions: u32,
) -> String {
    emu.put_group(group).await;
    let ns = emu
        .call(
            Method::PUT,
            &eventhubs_path(group, name, ""),
            Some(json!({"location": "eastus2", "sku": {"name": "Standard", "tier": "Standard"}})),
        )
        .await;
    assert!(ns.status.is_success(), "{ns:?}");
    let created = emu
        .call(
            Method::PUT,
            &eventhubs_path(group, name, &format!("/eventhubs/{hub}")),
            Some(json!({"properties": {"partitionCount": partitions}})),
        )
        .await;
    assert!(created.status.is_success(), "{created:?}");
    let keys = emu
        .call(
            Method::POST,
            &eventhubs_path(
                group,
                name,
                "/authorizationRules/RootManageSharedAccessKey/listKeys",
            ),
            None,
        )
        .await;
    keys.body["primaryKey"]
        .as_str()
        .expect("primaryKey")
        .to_string()
}

/// A SAS token for `resource`, as the SDKs make them.
pub fn sas_token(resource: &str, key_name: &str, key: &str) -> String {
    let encode = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 3600;
    let sr = encode(resource);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
    let signature = STANDARD.encode(aws_lc_rs::hmac::sign(
        &key,
        format!("{sr}\n{expiry}").as_bytes(),
    ));
    format!(
        "SharedAccessSignature sr={sr}&sig={}&se={expiry}&skn={key_name}",
        encode(&signature)
    )
}

/// One AMQP connection and session to the emulator's broker, authorised.
pub struct AmqpClient {
    pub connection: ConnectionHandle<()>,
    pub session: SessionHandle<()>,
}

impl AmqpClient {
    /// Connects to `sb://host:port/` and puts a token for `audience` on
    /// `$cbs`; returns the status code the broker answered with.
    pub async fn connect(endpoint: &str, audience: &str, token: &str) -> (AmqpClient, i64) {
        // TCP_NODELAY, as the SDKs' transports set it (pyamqp does): with
        // Nagle on, fe2o3 writing a frame in pieces waited for the broker's
        // delayed ACK, about 40 ms per awaited send.
        let host_port = endpoint
            .trim_start_matches("sb://")
            .trim_end_matches('/')
            .to_string();
        let stream = tokio::net::TcpStream::connect(host_port.as_str())
            .await
            .expect("AMQP TCP connection");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let mut connection = Connection::builder()
            .container_id(format!("e2e-{}", uuid::Uuid::new_v4()))
            .scheme("amqp")
            .hostname(host_port.split(':').next().unwrap_or("127.0.0.1"))
            .sasl_profile(SaslProfile::Anonymous)
            .open_with_stream(stream)
            .await
            .expect("AMQP connection");
        let mut session = Session::begin(&mut connection).await.expect("session");
        let mut cbs_sender = Sender::attach(&mut session, "cbs-sender", "$cbs")
            .await
            .expect("attach $cbs sender");
        let mut cbs_receiver = Receiver::attach(&mut session, "cbs-receiver", "$cbs")
            .await
            .expect("attach $cbs receiver");
        let request = Message::builder()
            .properties(
                Properties::builder()
                    .message_id(uuid::Uuid::new_v4().to_string())
                    .build(),
            )
            .application_properties(
                ApplicationProperties::builder()
                    .insert("operation", "put-token")
                    .insert("type", "servicebus.windows.net:sastoken")
                    .insert("name", audience)
                    .build(),
            )
            .value(token.to_string())
            .build();
        cbs_sender.send(request).await.expect("put-token sent");
        let response =
            tokio::time::timeout(Duration::from_secs(10), cbs_receiver.recv::<Body<Value>>())
                .await
                .expect("put-token answered")
                .expect("put-token response");
        let status = response
            .message()
            .application_properties
            .as_ref()
            .and_then(|p| p.get("status-code"))
            .and_then(|v| match v {
                fe2o3_amqp::types::primitives::SimpleValue::Int(i) => Some(i64::from(*i)),
                _ => None,
            })
            .unwrap_or(-1);
        let _ = cbs_receiver.accept(&response).await;
        let _ = cbs_sender.close().await;
        let _ = cbs_receiver.close().await;
        (
            AmqpClient {
                connection,
                session,
            },
            status,
        )
    }

    pub async fn sender(
        &mut self,
        address: &str,
    ) -> Result<Sender, fe2o3_amqp::link::SenderAttachError> {
        Sender::attach(
            &mut self.session,
            format!("sender-{}", uuid::Uuid::new_v4()),
            address,
        )
        .await
    }

    /// A receiver starting where `selector` (an Event Hubs selector filter
    /// expression) says.
    pub async fn receiver(
        &mut self,
        address: &str,
        selector: &str,
    ) -> Result<Receiver, fe2o3_amqp::link::ReceiverAttachError> {
        let mut filter = fe2o3_amqp::types::messaging::FilterSet::new();
        filter.insert(
            Symbol::from("apache.org:selector-filter:string"),
            Value::Described(Box::new(serde_amqp::described::Described {
                descriptor: serde_amqp::descriptor::Descriptor::Code(0x0000_468C_0000_0004),
                value: Value::String(selector.to_string()),
            })),
        );
        Receiver::builder()
            .name(format!("receiver-{}", uuid::Uuid::new_v4()))
            .source(Source::builder().address(address).filter(filter).build())
            .credit_mode(fe2o3_amqp::link::receiver::CreditMode::Auto(500))
            .attach(&mut self.session)
            .await
    }

    pub async fn close(mut self) {
        let _ = self.session.end().await;
        let _ = self.connection.close().await;
    }
}

/// The events' bodies as text and their annotations' sequence numbers and offsets.
pub fn annotations(message: &Message<Body<Value>>) -> (i64, String) {
    let annotations = message
        .message_annotations
        .as_ref()
        .expect("message annotations");
    let get = |name: &str| {
        annotations
            .iter()
            .find(|(k, _)| matches!(k, fe2o3_amqp::types::messaging::annotations::OwnedKey::Symbol(s) if s.0 == name))
            .map(|(_, v)| v.clone())
    };
    let sequence = match get("x-opt-sequence-number") {
        Some(Value::Long(n)) => n,
        other => panic!("x-opt-sequence-number: {other:?}"),
    };
    let offset = match get("x-opt-offset") {
        Some(Value::String(s)) => s,
        other => panic!("x-opt-offset: {other:?}"),
    };
    (sequence, offset)
}

pub fn body_text(message: &Message<Body<Value>>) -> String {
    match &message.body {
        Body::Data(batch) => batch
            .iter()
            .map(|d| String::from_utf8_lossy(&d.0).into_owned())
            .collect(),
        other => format!("{other:?}"),
    }
}
