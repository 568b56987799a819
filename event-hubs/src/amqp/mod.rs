//! The AMQP 1.0 listener the Event Hubs SDKs connect to (plain AMQP, as
//! with `;UseDevelopmentEmulator=true`).
//!
//! The framing, sessions and links are ours, over `fe2o3-amqp-types` for
//! the performatives and SASL frames. fe2o3-amqp's acceptor was the first
//! choice, but a broker needs what its high-level `Receiver` hides: the
//! transfer's message format (Event Hubs batches are format 0x80013700, one
//! encoded message per data section), the raw sections (kept as they came,
//! delivered again with the broker's annotations in front), and the decision
//! to refuse an attach with Azure's error after reading its address, filter
//! and the connection's `$cbs` tokens. Done here, that is a few hundred lines.

mod connection;
pub mod frames;
pub mod nodes;

use tokio::net::TcpListener;

use crate::Broker;

/// Accepts connections until the listener fails.
pub async fn serve(listener: TcpListener, broker: Broker) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(connection::serve(broker.clone(), stream, peer));
    }
}
