//! Event Hubs broker throughput: N events from a producer to a live
//! consumer over AMQP (fe2o3-amqp, one event per transfer, each awaited as
//! the SDKs' `send_event` does), against the same events through the REST
//! send API (one POST each over HTTPS keep-alive) read by the same kind of
//! consumer, in the same run. Prints figures and the ratio; asserts nothing.
//!
//! `cargo bench -p cloudhsm-e2e-tests --bench event_hubs` (`BENCH_EVENTS`
//! sets N; default 2000).

use std::time::{Duration, Instant};

use cloudhsm_e2e_tests::{
    event_hubs::{namespace_with_hub, sas_token, AmqpClient},
    Emulator,
};
use fe2o3_amqp::types::messaging::{Body, Message};
use serde_amqp::Value;

const RECEIVER: &str = "orders/ConsumerGroups/$Default/Partitions/0";

/// Starts a consumer at `@latest`, runs `produce`, and returns the time
/// from the first send until the consumer has all `events`.
async fn producer_to_consumer<F, Fut>(
    client: &mut AmqpClient,
    events: usize,
    produce: F,
) -> Duration
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut receiver = client
        .receiver(RECEIVER, "amqp.annotation.x-opt-offset > '@latest'")
        .await
        .expect("receiver");
    let consumer = tokio::spawn(async move {
        for _ in 0..events {
            let delivery = receiver.recv::<Body<Value>>().await.expect("event");
            receiver.accept(&delivery).await.expect("accept");
        }
        let _ = receiver.close().await;
    });
    let started = Instant::now();
    produce().await;
    consumer.await.expect("consumer");
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let events: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let payload = vec![b'x'; 256];
    let payload_len = payload.len();
    let emu = Emulator::start().await;
    let key = namespace_with_hub(&emu, "rg", "bench-ns", "orders", 1).await;
    let endpoint = emu
        .endpoints
        .event_hubs_amqp
        .clone()
        .expect("eventHubs.amqp");
    let rest = emu
        .endpoints
        .event_hubs_rest
        .clone()
        .expect("eventHubs.rest");
    let audience = format!("{endpoint}orders");
    let (mut client, status) = AmqpClient::connect(
        &endpoint,
        &audience,
        &sas_token(&audience, "RootManageSharedAccessKey", &key),
    )
    .await;
    assert_eq!(status, 202);
    let mut sender = client.sender("orders/Partitions/0").await.expect("sender");

    let amqp = producer_to_consumer(&mut client, events, || {
        let payload = payload.clone();
        let sender = &mut sender;
        async move {
            for _ in 0..events {
                sender
                    .send(Message::builder().data(payload.clone()).build())
                    .await
                    .expect("send");
            }
        }
    })
    .await;

    let token = sas_token(&format!("{rest}/orders"), "RootManageSharedAccessKey", &key);
    let http = emu.http.clone();
    let url = format!("{rest}/orders/partitions/0/messages");
    let rest_time = producer_to_consumer(&mut client, events, || async move {
        for _ in 0..events {
            let response = http
                .post(&url)
                .header("Authorization", &token)
                .body(payload.clone())
                .send()
                .await
                .expect("POST");
            assert_eq!(response.status().as_u16(), 201);
        }
    })
    .await;
    let _ = sender.close().await;
    client.close().await;

    let rate = |d: Duration| events as f64 / d.as_secs_f64();
    println!(
        "event hubs: {events} events of {} bytes, producer -> live consumer, one partition",
        payload_len
    );
    println!(
        "  AMQP send (awaited each) -> AMQP receive: {:>8.0} events/s ({:.2?})",
        rate(amqp),
        amqp
    );
    println!(
        "  REST POST (one each)     -> AMQP receive: {:>8.0} events/s ({:.2?})",
        rate(rest_time),
        rest_time
    );
    println!("  AMQP / REST: {:.2}x", rate(amqp) / rate(rest_time));
}
