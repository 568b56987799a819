//! One client connection: the SASL exchange, then sessions and links.
//!
//! One task owns the connection's state and its writer; a reader task turns
//! bytes into frames. Everything a frame asks for is done before the next
//! one is read, so pipelined frames (the SDKs send `open`, `begin` and
//! `attach` without waiting) are answered in order.

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use chrono::Utc;
use fe2o3_amqp_types::{
    definitions::{
        Error as AmqpError, ErrorCondition, Handle, ReceiverSettleMode, Role, SenderSettleMode,
    },
    messaging::{Accepted, DeliveryState, Rejected, Source, TargetArchetype},
    performatives::{
        Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Performative, Transfer,
    },
    primitives::{Array, Symbol},
    sasl::{SaslCode, SaslInit, SaslMechanisms, SaslOutcome},
};
use serde_amqp::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter},
    net::{tcp::OwnedWriteHalf, TcpStream},
    sync::{mpsc, watch, Notify},
};

use super::{
    frames::{
        self, FrameError, RawFrame, AMQP_HEADER, FRAME_AMQP, FRAME_SASL, MAX_FRAME_SIZE,
        SASL_HEADER,
    },
    nodes::{parse_address, parse_selector, Address},
};
use crate::{
    broker::{Broker, BrokerError},
    directory::HubInfo,
    log::StartPosition,
    message::{self, Amqp},
    sas::{self, Grant, SasError},
};

/// Credit given to a sender link, topped up when half is used.
const LINK_CREDIT: u32 = 1000;
/// Our session incoming window, re-announced when half is used.
const INCOMING_WINDOW: u32 = 5000;
/// Events read from the log per delivery round of one receiver.
const READ_BATCH: usize = 64;
/// The largest message a sender may send (Standard tier: 1 MB).
const MAX_MESSAGE_SIZE: u64 = 1024 * 1024;
const BATCH_FORMAT: u32 = 0x8001_3700;
/// The protocol header and SASL must be done within this: a client that
/// connects and says nothing holds no connection for long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

type Result<T> = std::result::Result<T, FrameError>;

fn condition(name: &str) -> ErrorCondition {
    ErrorCondition::Custom(Symbol::from(name))
}

fn amqp_error(name: &str, description: String) -> AmqpError {
    AmqpError::new(condition(name), Some(description), None)
}

/// A broker error as the service's AMQP error condition.
fn broker_error(error: &BrokerError) -> AmqpError {
    let name = match error {
        BrokerError::HubNotFound { .. } | BrokerError::ConsumerGroupNotFound { .. } => {
            "amqp:not-found"
        }
        BrokerError::PartitionNotFound { .. } => "com.microsoft:argument-out-of-range",
        BrokerError::Malformed(_) => "amqp:decode-error",
        BrokerError::Io(_) | BrokerError::Directory(_) => "amqp:internal-error",
        BrokerError::Paused => "com.microsoft:server-busy",
    };
    if matches!(error, BrokerError::Io(_) | BrokerError::Directory(_)) {
        tracing::error!("event hubs: {error}");
        return amqp_error(
            name,
            "The service was unable to process the request; please retry the operation.".into(),
        );
    }
    amqp_error(name, error.to_string())
}

enum LinkKind {
    /// The client sends events to a hub (or one partition of it).
    Publisher {
        hub: HubInfo,
        partition: Option<String>,
    },
    /// The client receives a partition's events through a consumer group.
    Consumer {
        hub: HubInfo,
        partition: String,
        next_sequence: i64,
        appended: watch::Receiver<i64>,
        settled: bool,
        forwarder: tokio::task::JoinHandle<()>,
    },
    Requests(Address),
    Responses(Address),
}

struct Link {
    kind: LinkKind,
    /// For links we send on: credit and delivery count as the spec keeps them.
    credit: u32,
    delivery_count: u32,
    /// For links we receive on: the transfer being assembled.
    partial: Vec<u8>,
    partial_start: Option<(u32, u32, bool)>,
    received_since_flow: u32,
}

struct Session {
    next_outgoing_id: u32,
    next_incoming_id: u32,
    remote_incoming_window: i64,
    received_since_flow: u32,
    next_delivery_id: u32,
    links: HashMap<u32, Link>,
}

pub struct Connection {
    broker: Broker,
    peer: SocketAddr,
    writer: BufWriter<OwnedWriteHalf>,
    max_frame_size: usize,
    sessions: HashMap<u16, Session>,
    grants: Vec<Grant>,
    wake: Arc<Notify>,
    /// When a frame other than a heartbeat last came in or an event last
    /// went out (see [`BrokerOptions::idle_connection_timeout`]).
    ///
    /// [`BrokerOptions::idle_connection_timeout`]: crate::broker::BrokerOptions::idle_connection_timeout
    last_activity: tokio::time::Instant,
}

pub async fn serve(broker: Broker, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut connection = Connection {
        broker,
        peer,
        writer: BufWriter::new(write),
        max_frame_size: 512,
        sessions: HashMap::new(),
        grants: Vec::new(),
        wake: Arc::new(Notify::new()),
        last_activity: tokio::time::Instant::now(),
    };
    let result = async {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, connection.handshake(&mut reader))
            .await
            .map_err(|_| {
                FrameError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no AMQP handshake within 30 s",
                ))
            })??;
        let (frames_tx, frames_rx) = mpsc::channel(64);
        let reader_task = tokio::spawn(async move {
            loop {
                let frame = frames::read_frame(&mut reader).await;
                let failed = frame.is_err();
                if frames_tx.send(frame).await.is_err() || failed {
                    return;
                }
            }
        });
        let result = connection.run(frames_rx).await;
        reader_task.abort();
        result
    }
    .await;
    connection.end_all_links();
    match result {
        Ok(()) => tracing::debug!(peer = %peer, "AMQP connection closed"),
        Err(FrameError::Io(e)) => tracing::debug!(peer = %peer, "AMQP connection ended: {e}"),
        Err(e) => {
            tracing::info!(peer = %peer, "AMQP connection closed on error: {e}");
            let close = Close {
                error: Some(amqp_error("amqp:decode-error", e.to_string())),
            };
            let _ = connection.send(0, Performative::Close(close), &[]).await;
            let _ = connection.writer.flush().await;
        }
    }
}

impl Connection {
    /// The protocol headers and, when asked, SASL (ANONYMOUS or PLAIN: the
    /// SDKs authenticate through `$cbs`, so any SASL identity is accepted).
    async fn handshake<R: tokio::io::AsyncRead + Unpin>(&mut self, reader: &mut R) -> Result<()> {
        let mut header = [0u8; 8];
        reader.read_exact(&mut header).await?;
        if header == SASL_HEADER {
            self.writer.write_all(&SASL_HEADER).await?;
            let mechanisms = SaslMechanisms {
                sasl_server_mechanisms: Array(vec![
                    Symbol::from("ANONYMOUS"),
                    Symbol::from("PLAIN"),
                    Symbol::from("MSSBCBS"),
                ]),
            };
            self.write_sasl(&mechanisms).await?;
            self.writer.flush().await?;
            let init = frames::read_frame(reader).await?;
            crate::message::checked_value_len(&init.body)
                .map_err(|e| FrameError::Protocol(format!("expected sasl-init: {e}")))?;
            let init: SaslInit = serde_amqp::from_slice(&init.body)
                .map_err(|e| FrameError::Protocol(format!("expected sasl-init: {e}")))?;
            tracing::debug!(peer = %self.peer, mechanism = %init.mechanism.0, "SASL");
            self.write_sasl(&SaslOutcome {
                code: SaslCode::Ok,
                additional_data: None,
            })
            .await?;
            self.writer.flush().await?;
            reader.read_exact(&mut header).await?;
        }
        if header != AMQP_HEADER {
            self.writer.write_all(&SASL_HEADER).await?;
            self.writer.flush().await?;
            return Err(FrameError::Protocol("unsupported protocol header".into()));
        }
        self.writer.write_all(&AMQP_HEADER).await?;
        Ok(())
    }

    async fn write_sasl<T: serde::Serialize>(&mut self, body: &T) -> Result<()> {
        let bytes = frames::encode(body)?;
        frames::write_frame(&mut self.writer, FRAME_SASL, 0, &bytes, &[]).await
    }

    async fn send(
        &mut self,
        channel: u16,
        performative: Performative,
        payload: &[u8],
    ) -> Result<()> {
        let body = frames::encode(&performative)?;
        frames::write_frame(&mut self.writer, FRAME_AMQP, channel, &body, payload).await
    }

    async fn run(&mut self, mut frames_rx: mpsc::Receiver<Result<RawFrame>>) -> Result<()> {
        let mut heartbeat: Option<tokio::time::Interval> = None;
        let idle_limit = self.broker.idle_connection_timeout();
        self.last_activity = tokio::time::Instant::now();
        loop {
            self.deliver().await?;
            self.writer.flush().await?;
            let wake = self.wake.clone();
            tokio::select! {
                frame = frames_rx.recv() => {
                    let Some(frame) = frame else { return Ok(()) };
                    let frame = frame?;
                    // Heartbeats keep the TCP connection, not the AMQP one, alive.
                    if frame.body.is_empty() {
                        continue;
                    }
                    self.last_activity = tokio::time::Instant::now();
                    let (performative, payload) = frames::split_amqp(&frame.body)?;
                    if let Performative::Open(open) = &performative {
                        self.max_frame_size = (open.max_frame_size.0 as usize).clamp(512, MAX_FRAME_SIZE as usize);
                        if let Some(idle) = open.idle_time_out.filter(|t| *t > 0) {
                            let mut interval = tokio::time::interval(Duration::from_millis(u64::from(idle / 2).max(100)));
                            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                            heartbeat = Some(interval);
                        }
                    }
                    if !self.handle(frame.channel, performative, payload).await? {
                        self.writer.flush().await?;
                        return Ok(());
                    }
                }
                _ = wake.notified() => {}
                _ = async { match heartbeat.as_mut() { Some(i) => { i.tick().await; } None => std::future::pending().await } } => {
                    frames::write_frame(&mut self.writer, FRAME_AMQP, 0, &[], &[]).await?;
                }
                _ = tokio::time::sleep_until(self.last_activity + idle_limit) => {
                    tracing::info!(peer = %self.peer, "AMQP connection idle for {idle_limit:?}: closed");
                    let close = Close {
                        error: Some(amqp_error(
                            "amqp:connection:forced",
                            format!(
                                "The connection was inactive for more than the allowed {} milliseconds and is closed by container 'LinkTracker'. TrackingId:{}, SystemTracker:{}, Timestamp:{}",
                                idle_limit.as_millis(),
                                uuid::Uuid::new_v4().simple(),
                                self.broker.amqp_endpoint().unwrap_or("emulator"),
                                Utc::now().format("%Y-%m-%dT%H:%M:%S"),
                            ),
                        )),
                    };
                    self.send(0, Performative::Close(close), &[]).await?;
                    self.writer.flush().await?;
                    return Ok(());
                }
            }
        }
    }

    /// Handles one frame; false once the connection is closed.
    async fn handle(
        &mut self,
        channel: u16,
        performative: Performative,
        payload: Vec<u8>,
    ) -> Result<bool> {
        match performative {
            Performative::Open(_) => {
                let open = Open {
                    container_id: format!(
                        "cloudhsm-emulator-event-hubs-{}",
                        uuid::Uuid::new_v4().simple()
                    ),
                    hostname: None,
                    max_frame_size: fe2o3_amqp_types::performatives::MaxFrameSize(MAX_FRAME_SIZE),
                    channel_max: fe2o3_amqp_types::performatives::ChannelMax(4999),
                    idle_time_out: None,
                    outgoing_locales: None,
                    incoming_locales: None,
                    offered_capabilities: None,
                    desired_capabilities: None,
                    properties: None,
                };
                self.send(0, Performative::Open(open), &[]).await?;
            }
            Performative::Begin(begin) => {
                let session = Session {
                    next_outgoing_id: 0,
                    next_incoming_id: begin.next_outgoing_id,
                    remote_incoming_window: i64::from(begin.incoming_window),
                    received_since_flow: 0,
                    next_delivery_id: 0,
                    links: HashMap::new(),
                };
                self.sessions.insert(channel, session);
                let reply = Begin {
                    remote_channel: Some(channel),
                    next_outgoing_id: 0,
                    incoming_window: INCOMING_WINDOW,
                    outgoing_window: u32::MAX,
                    handle_max: Handle(u32::MAX),
                    offered_capabilities: None,
                    desired_capabilities: None,
                    properties: None,
                };
                self.send(channel, Performative::Begin(reply), &[]).await?;
            }
            Performative::Attach(attach) => self.attach(channel, attach).await?,
            Performative::Flow(flow) => self.flow(channel, flow).await?,
            Performative::Transfer(transfer) => self.transfer(channel, transfer, payload).await?,
            Performative::Disposition(_) => {
                // Deliveries to receivers are positions in the log: their
                // outcomes change nothing here.
            }
            Performative::Detach(detach) => {
                if let Some(session) = self.sessions.get_mut(&channel) {
                    if let Some(link) = session.links.remove(&detach.handle.0) {
                        stop_link(link);
                    }
                }
                let reply = Detach {
                    handle: detach.handle,
                    closed: true,
                    error: None,
                };
                self.send(channel, Performative::Detach(reply), &[]).await?;
            }
            Performative::End(_) => {
                if let Some(session) = self.sessions.remove(&channel) {
                    session.links.into_values().for_each(stop_link);
                }
                self.send(channel, Performative::End(End { error: None }), &[])
                    .await?;
            }
            Performative::Close(_) => {
                self.send(0, Performative::Close(Close { error: None }), &[])
                    .await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn end_all_links(&mut self) {
        for (_, session) in self.sessions.drain() {
            session.links.into_values().for_each(stop_link);
        }
    }

    /// The grant of this connection that lets it do `action` on `path`: the
    /// namespace is the grant's (see `sas`). Errors as the service words them.
    fn authorise(&self, path: &str, send: bool) -> std::result::Result<Grant, AmqpError> {
        let covering: Vec<&Grant> = self
            .grants
            .iter()
            .filter(|g| g.covers(&g.namespace, path))
            .collect();
        let claim = if send { "Send" } else { "Listen" };
        let unauthorized = |why: &str| {
            amqp_error("amqp:unauthorized-access", format!("Unauthorized access. '{claim}' claim(s) are required to perform this operation. {why}"))
        };
        if covering.is_empty() {
            return Err(unauthorized(
                "No valid token covers this entity: put one on $cbs first.",
            ));
        }
        covering
            .into_iter()
            .find(|g| {
                if send {
                    g.rights.can_send()
                } else {
                    g.rights.can_listen()
                }
            })
            .cloned()
            .ok_or_else(|| unauthorized("The token's rule does not have that right."))
    }

    async fn attach(&mut self, channel: u16, attach: Attach) -> Result<()> {
        // The client's role is the opposite of ours.
        let client_sends = attach.role == Role::Sender;
        let address = if client_sends {
            match attach.target.as_deref() {
                Some(TargetArchetype::Target(t)) => t.address.clone(),
                #[allow(unreachable_patterns)]
                _ => None,
            }
        } else {
            attach.source.as_ref().and_then(|s| s.address.clone())
        }
        .unwrap_or_default();
        let outcome = self.link_for(
            client_sends,
            &address,
            attach.source.as_deref(),
            attach.snd_settle_mode.clone(),
        );
        let mut reply = Attach {
            name: attach.name.clone(),
            handle: attach.handle.clone(),
            role: if client_sends {
                Role::Receiver
            } else {
                Role::Sender
            },
            snd_settle_mode: attach.snd_settle_mode.clone(),
            rcv_settle_mode: ReceiverSettleMode::First,
            source: attach.source.clone(),
            target: attach.target.clone(),
            unsettled: None,
            incomplete_unsettled: false,
            initial_delivery_count: if client_sends { None } else { Some(0) },
            max_message_size: Some(MAX_MESSAGE_SIZE),
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        };
        match outcome {
            Ok(kind) => {
                let is_receiving =
                    matches!(kind, LinkKind::Publisher { .. } | LinkKind::Requests(_));
                self.send(channel, Performative::Attach(reply), &[]).await?;
                let link = Link {
                    kind,
                    credit: 0,
                    delivery_count: 0,
                    partial: Vec::new(),
                    partial_start: None,
                    received_since_flow: 0,
                };
                let Some(session) = self.sessions.get_mut(&channel) else {
                    return Err(FrameError::Protocol(format!(
                        "attach on channel {channel} without a session"
                    )));
                };
                session.links.insert(attach.handle.0, link);
                if is_receiving {
                    self.grant_credit(channel, attach.handle.0, 0).await?;
                }
            }
            Err(error) => {
                tracing::debug!(peer = %self.peer, address, "attach refused: {error:?}");
                // A refused link: attach without the terminus, then detach with the reason.
                if client_sends {
                    reply.target = None;
                } else {
                    reply.source = None;
                }
                self.send(channel, Performative::Attach(reply), &[]).await?;
                let detach = Detach {
                    handle: attach.handle,
                    closed: true,
                    error: Some(error),
                };
                self.send(channel, Performative::Detach(detach), &[])
                    .await?;
            }
        }
        Ok(())
    }

    fn link_for(
        &self,
        client_sends: bool,
        address: &str,
        source: Option<&Source>,
        snd_settle_mode: SenderSettleMode,
    ) -> std::result::Result<LinkKind, AmqpError> {
        let parsed = parse_address(address);
        let not_found = || {
            amqp_error(
                "amqp:not-found",
                format!("The messaging entity '{address}' could not be found."),
            )
        };
        match (client_sends, parsed) {
            (true, node @ (Address::Cbs | Address::Management)) => Ok(LinkKind::Requests(node)),
            (false, node @ (Address::Cbs | Address::Management)) => Ok(LinkKind::Responses(node)),
            (true, Address::Hub { hub, partition }) => {
                let path = match &partition {
                    Some(p) => format!("{hub}/Partitions/{p}"),
                    None => hub.clone(),
                };
                let grant = self.authorise(&path, true)?;
                let info = self
                    .broker
                    .hub(&grant.namespace, &hub)
                    .map_err(|e| broker_error(&e))?;
                if let Some(p) = &partition {
                    self.broker
                        .partition_info(&info, p)
                        .map_err(|e| broker_error(&e))?;
                }
                Ok(LinkKind::Publisher {
                    hub: info,
                    partition,
                })
            }
            (
                false,
                Address::ConsumerPartition {
                    hub,
                    group,
                    partition,
                },
            ) => {
                let grant = self.authorise(
                    &format!("{hub}/ConsumerGroups/{group}/Partitions/{partition}"),
                    false,
                )?;
                let info = self
                    .broker
                    .hub(&grant.namespace, &hub)
                    .map_err(|e| broker_error(&e))?;
                if !info
                    .consumer_groups
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(&group))
                {
                    return Err(broker_error(&BrokerError::ConsumerGroupNotFound {
                        hub: info.name.clone(),
                        group,
                    }));
                }
                let start = match selector(source) {
                    Some(expression) => parse_selector(&expression)
                        .map_err(|message| amqp_error("amqp:not-implemented", message))?,
                    None => StartPosition::Earliest,
                };
                let (next_sequence, appended) = self
                    .broker
                    .position(&info, &partition, &start)
                    .map_err(|e| broker_error(&e))?;
                let mut signal = appended.clone();
                let wake = self.wake.clone();
                let forwarder = tokio::spawn(async move {
                    while signal.changed().await.is_ok() {
                        wake.notify_one();
                    }
                });
                Ok(LinkKind::Consumer {
                    hub: info,
                    partition,
                    next_sequence,
                    appended,
                    settled: snd_settle_mode == SenderSettleMode::Settled,
                    forwarder,
                })
            }
            _ => Err(not_found()),
        }
    }

    /// Tops a receiving link's credit up to `LINK_CREDIT` (our side as receiver).
    async fn grant_credit(&mut self, channel: u16, handle: u32, delivery_count: u32) -> Result<()> {
        let Some(session) = self.sessions.get_mut(&channel) else {
            return Ok(());
        };
        session.received_since_flow = 0;
        let flow = Flow {
            next_incoming_id: Some(session.next_incoming_id),
            incoming_window: INCOMING_WINDOW,
            next_outgoing_id: session.next_outgoing_id,
            outgoing_window: u32::MAX,
            handle: Some(Handle(handle)),
            delivery_count: Some(delivery_count),
            link_credit: Some(LINK_CREDIT),
            available: None,
            drain: false,
            echo: false,
            properties: None,
        };
        if let Some(link) = session.links.get_mut(&handle) {
            link.received_since_flow = 0;
        }
        self.send(channel, Performative::Flow(flow), &[]).await
    }

    async fn flow(&mut self, channel: u16, flow: Flow) -> Result<()> {
        let Some(session) = self.sessions.get_mut(&channel) else {
            return Ok(());
        };
        session.remote_incoming_window = i64::from(flow.next_incoming_id.unwrap_or(0))
            + i64::from(flow.incoming_window)
            - i64::from(session.next_outgoing_id);
        let Some(handle) = flow.handle.as_ref().map(|h| h.0) else {
            return Ok(());
        };
        let Some(link) = session.links.get_mut(&handle) else {
            return Ok(());
        };
        if let Some(credit) = flow.link_credit {
            if matches!(
                link.kind,
                LinkKind::Consumer { .. } | LinkKind::Responses(_)
            ) {
                let counted = flow.delivery_count.unwrap_or(0);
                link.credit = (i64::from(counted) + i64::from(credit)
                    - i64::from(link.delivery_count))
                .max(0) as u32;
            }
        }
        let drain_now = flow.drain && matches!(link.kind, LinkKind::Consumer { .. });
        if drain_now || flow.echo {
            // Deliver what is there first, then use up (drain) the rest.
            self.deliver().await?;
            let Some(session) = self.sessions.get_mut(&channel) else {
                return Ok(());
            };
            let Some(link) = session.links.get_mut(&handle) else {
                return Ok(());
            };
            if drain_now {
                link.delivery_count = link.delivery_count.wrapping_add(link.credit);
                link.credit = 0;
            }
            let reply = Flow {
                next_incoming_id: Some(session.next_incoming_id),
                incoming_window: INCOMING_WINDOW,
                next_outgoing_id: session.next_outgoing_id,
                outgoing_window: u32::MAX,
                handle: Some(Handle(handle)),
                delivery_count: Some(link.delivery_count),
                link_credit: Some(link.credit),
                available: Some(0),
                drain: flow.drain,
                echo: false,
                properties: None,
            };
            self.send(channel, Performative::Flow(reply), &[]).await?;
        }
        Ok(())
    }

    async fn transfer(&mut self, channel: u16, transfer: Transfer, payload: Vec<u8>) -> Result<()> {
        let Some(session) = self.sessions.get_mut(&channel) else {
            return Err(FrameError::Protocol(format!(
                "transfer on channel {channel} without a session"
            )));
        };
        session.next_incoming_id = session.next_incoming_id.wrapping_add(1);
        session.received_since_flow += 1;
        let session_flow_due = session.received_since_flow >= INCOMING_WINDOW / 2;
        let handle = transfer.handle.0;
        let Some(link) = session.links.get_mut(&handle) else {
            return Err(FrameError::Protocol(format!(
                "transfer on unattached handle {handle}"
            )));
        };
        if link.partial_start.is_none() {
            link.partial_start = Some((
                transfer.delivery_id.unwrap_or(0),
                transfer.message_format.unwrap_or(0),
                transfer.settled.unwrap_or(false),
            ));
        }
        link.partial.extend_from_slice(&payload);
        if link.partial.len() as u64 > MAX_MESSAGE_SIZE + 64 * 1024 {
            return Err(FrameError::Protocol(format!(
                "a message over {MAX_MESSAGE_SIZE} bytes"
            )));
        }
        if transfer.more {
            return Ok(());
        }
        if transfer.aborted {
            link.partial.clear();
            link.partial_start = None;
            return Ok(());
        }
        let message = std::mem::take(&mut link.partial);
        let (delivery_id, format, settled) = link.partial_start.take().unwrap_or((0, 0, false));
        link.received_since_flow += 1;
        let credit_due = link.received_since_flow >= LINK_CREDIT / 2;
        let delivery_count = link.delivery_count.wrapping_add(link.received_since_flow);
        let outcome: std::result::Result<(), AmqpError> = match &link.kind {
            LinkKind::Publisher { hub, partition } => {
                let (hub, partition) = (hub.clone(), partition.clone());
                self.publish(&hub, partition.as_deref(), format, &message)
            }
            LinkKind::Requests(node) => {
                let node = node.clone();
                self.request(channel, &node, &message).await?;
                Ok(())
            }
            _ => Err(amqp_error(
                "amqp:not-allowed",
                "This link does not take messages.".into(),
            )),
        };
        if !settled {
            let state = match outcome {
                Ok(()) => DeliveryState::Accepted(Accepted {}),
                Err(error) => DeliveryState::Rejected(Rejected { error: Some(error) }),
            };
            let disposition = Disposition {
                role: Role::Receiver,
                first: delivery_id,
                last: None,
                settled: true,
                state: Some(state),
                batchable: false,
            };
            self.send(channel, Performative::Disposition(disposition), &[])
                .await?;
        }
        if credit_due {
            if let Some(link) = self
                .sessions
                .get_mut(&channel)
                .and_then(|s| s.links.get_mut(&handle))
            {
                link.delivery_count = delivery_count;
            }
            self.grant_credit(channel, handle, delivery_count).await?;
        } else if session_flow_due {
            self.session_flow(channel).await?;
        }
        Ok(())
    }

    async fn session_flow(&mut self, channel: u16) -> Result<()> {
        let Some(session) = self.sessions.get_mut(&channel) else {
            return Ok(());
        };
        session.received_since_flow = 0;
        let flow = Flow {
            next_incoming_id: Some(session.next_incoming_id),
            incoming_window: INCOMING_WINDOW,
            next_outgoing_id: session.next_outgoing_id,
            outgoing_window: u32::MAX,
            handle: None,
            delivery_count: None,
            link_credit: None,
            available: None,
            drain: false,
            echo: false,
            properties: None,
        };
        self.send(channel, Performative::Flow(flow), &[]).await
    }

    fn publish(
        &self,
        hub: &HubInfo,
        partition: Option<&str>,
        format: u32,
        message: &[u8],
    ) -> std::result::Result<(), AmqpError> {
        let decoded = if format == BATCH_FORMAT {
            message::incoming_batch(message)
        } else {
            message::incoming_event(message).map(|e| vec![e])
        };
        let events = decoded.map_err(|e| amqp_error("amqp:decode-error", e.to_string()))?;
        // The hub may have been deleted (or made again) since the attach.
        let current = self
            .broker
            .hub(&hub.namespace, &hub.name)
            .map_err(|e| broker_error(&e))?;
        if current.uid != hub.uid {
            return Err(broker_error(&BrokerError::HubNotFound {
                namespace: hub.namespace.clone(),
                hub: hub.name.clone(),
            }));
        }
        self.broker
            .append(&current, partition, events)
            .map(drop)
            .map_err(|e| broker_error(&e))
    }

    /// A `$cbs` or `$management` request; the response goes to the
    /// session's receiving link on the same node.
    async fn request(&mut self, channel: u16, node: &Address, message: &[u8]) -> Result<()> {
        let mut message_id = None;
        let mut properties: HashMap<String, Value> = HashMap::new();
        let mut body = Value::Null;
        if let Ok(sections) = message::sections(message) {
            for section in sections {
                match section.code {
                    message::PROPERTIES => {
                        message_id =
                            message::first_list_field(section.value_bytes()).map(<[u8]>::to_vec)
                    }
                    message::APPLICATION_PROPERTIES => {
                        if let Ok(Value::Map(map)) = section.decode() {
                            for (k, v) in map.into_iter() {
                                if let Some(k) = value_text(&k) {
                                    properties.insert(k, v);
                                }
                            }
                        }
                    }
                    message::AMQP_VALUE => body = section.decode().unwrap_or(Value::Null),
                    _ => {}
                }
            }
        }
        let text = |name: &str| properties.get(name).and_then(value_text);
        let (status, description, response_body) = match node {
            Address::Cbs => self.put_token(text("operation"), text("type"), value_text(&body)),
            _ => self.management(
                text("operation"),
                text("type"),
                text("name"),
                text("partition"),
                text("security_token"),
            ),
        };
        let mut response = Amqp::List(vec![
            Amqp::Null,
            Amqp::Null,
            Amqp::Null,
            Amqp::Null,
            Amqp::Null,
            message_id.map(Amqp::Raw).unwrap_or(Amqp::Null),
        ])
        .section(message::PROPERTIES);
        // Both spellings: the service's `$cbs` answers with the first, and
        // pyamqp's management link reads the second.
        let mut application = vec![
            (Amqp::str("status-code"), Amqp::Int(status)),
            (
                Amqp::str("status-description"),
                Amqp::str(description.clone()),
            ),
            (Amqp::str("statusCode"), Amqp::Int(status)),
            (
                Amqp::str("statusDescription"),
                Amqp::str(description.clone()),
            ),
        ];
        if status >= 400 {
            let name = match status {
                401 => "com.microsoft:unauthorized-access",
                404 => "amqp:not-found",
                _ => "com.microsoft:argument-error",
            };
            application.push((Amqp::str("error-condition"), Amqp::Sym(name.into())));
        }
        response.extend(Amqp::Map(application).section(message::APPLICATION_PROPERTIES));
        response.extend(response_body.section(message::AMQP_VALUE));
        let Some(session) = self.sessions.get_mut(&channel) else {
            return Ok(());
        };
        let Some((&handle, _)) = session
            .links
            .iter()
            .find(|(_, l)| matches!(&l.kind, LinkKind::Responses(n) if n == node))
        else {
            tracing::debug!(peer = %self.peer, "a request with no response link to answer on");
            return Ok(());
        };
        self.send_delivery(channel, handle, true, &response).await
    }

    fn put_token(
        &mut self,
        operation: Option<String>,
        kind: Option<String>,
        token: Option<String>,
    ) -> (i32, String, Amqp) {
        if operation.as_deref() != Some("put-token") {
            return (
                400,
                format!(
                    "The operation '{}' is not supported by $cbs: only put-token is.",
                    operation.unwrap_or_default()
                ),
                Amqp::Null,
            );
        }
        if kind
            .as_deref()
            .is_some_and(|k| k != "servicebus.windows.net:sastoken")
        {
            return (400, "Only shared access signature tokens (servicebus.windows.net:sastoken) are supported.".into(), Amqp::Null);
        }
        match sas::validate(self.broker.directory().as_ref(), &token.unwrap_or_default()) {
            Ok(grant) => {
                self.grants.retain(|g| g.expires > Utc::now());
                self.grants.push(grant);
                (202, "Accepted".into(), Amqp::Null)
            }
            Err(SasError::Directory(e)) => {
                tracing::error!("event hubs directory: {e}");
                (
                    500,
                    "The service was unable to process the request.".into(),
                    Amqp::Null,
                )
            }
            Err(e) => (401, e.to_string(), Amqp::Null),
        }
    }

    fn management(
        &self,
        operation: Option<String>,
        kind: Option<String>,
        name: Option<String>,
        partition: Option<String>,
        security_token: Option<String>,
    ) -> (i32, String, Amqp) {
        if operation.as_deref() != Some("READ") {
            return (
                400,
                format!(
                    "The management operation '{}' is not supported: only READ is.",
                    operation.unwrap_or_default()
                ),
                Amqp::Null,
            );
        }
        let Some(hub_name) = name else {
            return (
                400,
                "The request has no 'name' (the event hub).".into(),
                Amqp::Null,
            );
        };
        let grant = match security_token {
            Some(token) => match sas::validate(self.broker.directory().as_ref(), &token) {
                Ok(grant) => Some(grant),
                Err(e) => return (401, e.to_string(), Amqp::Null),
            },
            None => None,
        };
        let grant = grant
            .filter(|g| g.covers(&g.namespace, &hub_name))
            .or_else(|| {
                self.grants
                    .iter()
                    .find(|g| g.covers(&g.namespace, &hub_name))
                    .cloned()
            });
        let Some(grant) = grant else {
            return (
                401,
                format!("Unauthorized access: no valid token covers '{hub_name}'."),
                Amqp::Null,
            );
        };
        let hub = match self.broker.hub(&grant.namespace, &hub_name) {
            Ok(hub) => hub,
            Err(e) => return (404, e.to_string(), Amqp::Null),
        };
        match kind.as_deref() {
            Some("com.microsoft:eventhub") => {
                let ids = (0..hub.partition_count)
                    .map(|p| Amqp::Str(p.to_string()))
                    .collect();
                let body = Amqp::Map(vec![
                    (Amqp::str("name"), Amqp::str(hub.name.clone())),
                    (Amqp::str("type"), Amqp::str("com.microsoft:eventhub")),
                    (
                        Amqp::str("created_at"),
                        Amqp::Timestamp(hub.created_at.timestamp_millis()),
                    ),
                    (
                        Amqp::str("partition_count"),
                        Amqp::Int(hub.partition_count as i32),
                    ),
                    (Amqp::str("partition_ids"), Amqp::List(ids)),
                ]);
                (200, "OK".into(), body)
            }
            Some("com.microsoft:partition") => {
                let partition = partition.unwrap_or_default();
                match self.broker.partition_info(&hub, &partition) {
                    Ok(info) => {
                        let s = info.state;
                        let body = Amqp::Map(vec![
                            (Amqp::str("name"), Amqp::str(hub.name.clone())),
                            (Amqp::str("type"), Amqp::str("com.microsoft:partition")),
                            (Amqp::str("partition"), Amqp::str(partition)),
                            (
                                Amqp::str("begin_sequence_number"),
                                Amqp::Long(s.begin_sequence_number),
                            ),
                            (
                                Amqp::str("last_enqueued_sequence_number"),
                                Amqp::Long(s.last_sequence_number),
                            ),
                            (
                                Amqp::str("last_enqueued_offset"),
                                Amqp::str(s.last_offset.to_string()),
                            ),
                            (
                                Amqp::str("last_enqueued_time_utc"),
                                Amqp::Timestamp(s.last_enqueued_ms),
                            ),
                            (Amqp::str("is_partition_empty"), Amqp::Bool(s.is_empty)),
                        ]);
                        (200, "OK".into(), body)
                    }
                    Err(e) => (400, e.to_string(), Amqp::Null),
                }
            }
            other => (
                400,
                format!(
                    "The management type '{}' is not supported.",
                    other.unwrap_or_default()
                ),
                Amqp::Null,
            ),
        }
    }

    /// Sends one message on a link we send on, split into frames as the
    /// peer's max frame size requires.
    async fn send_delivery(
        &mut self,
        channel: u16,
        handle: u32,
        settled: bool,
        payload: &[u8],
    ) -> Result<()> {
        let Some(session) = self.sessions.get_mut(&channel) else {
            return Ok(());
        };
        self.last_activity = tokio::time::Instant::now();
        let delivery_id = session.next_delivery_id;
        session.next_delivery_id = session.next_delivery_id.wrapping_add(1);
        let mut first = true;
        let mut rest = payload;
        loop {
            let performative = |more: bool| {
                Performative::Transfer(Transfer {
                    handle: Handle(handle),
                    delivery_id: first.then_some(delivery_id),
                    delivery_tag: first
                        .then(|| serde_bytes::ByteBuf::from(delivery_id.to_be_bytes().to_vec())),
                    message_format: first.then_some(0),
                    settled: first.then_some(settled),
                    more,
                    rcv_settle_mode: None,
                    state: None,
                    resume: false,
                    aborted: false,
                    batchable: false,
                })
            };
            let header_len = frames::encode(&performative(true))?.len();
            let room = self.max_frame_size.saturating_sub(8 + header_len).max(1);
            let (chunk, remaining) = rest.split_at(rest.len().min(room));
            let more = !remaining.is_empty();
            self.send(channel, performative(more), chunk).await?;
            if let Some(session) = self.sessions.get_mut(&channel) {
                session.next_outgoing_id = session.next_outgoing_id.wrapping_add(1);
                session.remote_incoming_window -= 1;
            }
            first = false;
            rest = remaining;
            if !more {
                break;
            }
        }
        if let Some(link) = self
            .sessions
            .get_mut(&channel)
            .and_then(|s| s.links.get_mut(&handle))
        {
            link.delivery_count = link.delivery_count.wrapping_add(1);
            link.credit = link.credit.saturating_sub(1);
        }
        Ok(())
    }

    /// Sends receivers what the log has for them, within their credit and
    /// the session's window.
    async fn deliver(&mut self) -> Result<()> {
        let mut work = Vec::new();
        for (&channel, session) in &self.sessions {
            if session.remote_incoming_window <= 0 {
                continue;
            }
            for (&handle, link) in &session.links {
                if let LinkKind::Consumer {
                    next_sequence,
                    appended,
                    ..
                } = &link.kind
                {
                    if link.credit > 0 && *appended.borrow() > *next_sequence {
                        work.push((channel, handle));
                    }
                }
            }
        }
        for (channel, handle) in work {
            let Some(session) = self.sessions.get(&channel) else {
                continue;
            };
            let Some(link) = session.links.get(&handle) else {
                continue;
            };
            let LinkKind::Consumer {
                hub,
                partition,
                next_sequence,
                settled,
                ..
            } = &link.kind
            else {
                continue;
            };
            let budget = (link.credit as usize)
                .min(READ_BATCH)
                .min(session.remote_incoming_window.max(0) as usize);
            let (settled, from) = (*settled, *next_sequence);
            let events = match self.broker.read(hub, partition, from, budget) {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!("reading {}/{partition}: {e}", hub.name);
                    continue;
                }
            };
            for event in events {
                let mut payload = message::delivery_annotations(
                    event.sequence_number,
                    event.offset,
                    event.enqueued_ms,
                    event.partition_key.as_deref(),
                );
                payload.extend_from_slice(&event.sections);
                self.send_delivery(channel, handle, settled, &payload)
                    .await?;
                if let Some(LinkKind::Consumer { next_sequence, .. }) = self
                    .sessions
                    .get_mut(&channel)
                    .and_then(|s| s.links.get_mut(&handle))
                    .map(|l| &mut l.kind)
                {
                    *next_sequence = event.sequence_number + 1;
                }
            }
            // More may be waiting: come round again without a new append.
            self.wake.notify_one();
        }
        Ok(())
    }
}

fn stop_link(link: Link) {
    if let LinkKind::Consumer { forwarder, .. } = link.kind {
        forwarder.abort();
    }
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Symbol(s) => Some(s.0.clone()),
        Value::Binary(b) => String::from_utf8(b.to_vec()).ok(),
        _ => None,
    }
}

/// The selector filter's expression in a receiver's source.
fn selector(source: Option<&Source>) -> Option<String> {
    let filter = source?.filter.as_ref()?;
    filter.iter().find_map(|(name, value)| {
        if !name.0.contains("selector-filter") {
            return None;
        }
        match value {
            Value::Described(described) => value_text(&described.value),
            other => value_text(other),
        }
    })
}
