//! The Event Hubs broker through the real binary, with an AMQP 1.0 client
//! (fe2o3-amqp) doing what the SDKs do: `$cbs` put-token, a sender on the
//! hub, receivers on a consumer group's partition from a position, a
//! refused token; and the REST send API, read back over AMQP.

use cloudhsm_e2e_tests::{
    event_hubs::{annotations, body_text, namespace_with_hub, sas_token, AmqpClient},
    Emulator,
};
use fe2o3_amqp::types::messaging::{Body, Message};
use serde_amqp::Value;

#[tokio::test]
async fn send_receive_from_positions_and_refuse_bad_tokens() {
    let emu = Emulator::start().await;
    let key = namespace_with_hub(&emu, "rg", "broker-ns", "orders", 1).await;
    let endpoint = emu
        .endpoints
        .event_hubs_amqp
        .clone()
        .expect("eventHubs.amqp");
    let audience = format!("{endpoint}orders");
    let token = sas_token(&audience, "RootManageSharedAccessKey", &key);

    let (mut client, status) = AmqpClient::connect(&endpoint, &audience, &token).await;
    assert_eq!(status, 202);
    let mut sender = client
        .sender("orders/Partitions/0")
        .await
        .expect("sender attached");
    for i in 0..5 {
        let outcome = sender
            .send(
                Message::builder()
                    .data(format!("event-{i}").into_bytes())
                    .build(),
            )
            .await
            .expect("sent");
        assert!(outcome.is_accepted(), "{outcome:?}");
    }

    let mut from_start = client
        .receiver(
            "orders/ConsumerGroups/$Default/Partitions/0",
            "amqp.annotation.x-opt-offset > '-1'",
        )
        .await
        .expect("receiver attached");
    let mut offsets = Vec::new();
    for i in 0..5 {
        let delivery = from_start.recv::<Body<Value>>().await.expect("an event");
        let (sequence, offset) = annotations(delivery.message());
        assert_eq!(
            (sequence, body_text(delivery.message())),
            (i, format!("event-{i}"))
        );
        offsets.push(offset);
        from_start.accept(&delivery).await.expect("accepted");
    }
    let mut after_second = client
        .receiver(
            "orders/ConsumerGroups/$Default/Partitions/0",
            &format!("amqp.annotation.x-opt-offset > '{}'", offsets[1]),
        )
        .await
        .expect("receiver attached");
    let delivery = after_second.recv::<Body<Value>>().await.expect("an event");
    assert_eq!(body_text(delivery.message()), "event-2");

    // A consumer group that does not exist is refused at attach.
    assert!(client
        .receiver(
            "orders/ConsumerGroups/nope/Partitions/0",
            "amqp.annotation.x-opt-offset > '-1'"
        )
        .await
        .is_err());

    // REST send, read by the live receiver that has read everything so far.
    let rest = emu
        .endpoints
        .event_hubs_rest
        .clone()
        .expect("eventHubs.rest");
    let posted = emu
        .http
        .post(format!("{rest}/orders/messages"))
        .header(
            "Authorization",
            sas_token(&format!("{rest}/orders"), "RootManageSharedAccessKey", &key),
        )
        .body("over-rest")
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status().as_u16(), 201);
    let delivery = from_start
        .recv::<Body<Value>>()
        .await
        .expect("the REST event");
    assert_eq!(body_text(delivery.message()), "over-rest");
    assert_eq!(annotations(delivery.message()).0, 5);
    let _ = from_start.close().await;
    let _ = after_second.close().await;
    let _ = sender.close().await;
    client.close().await;

    // A wrong key: put-token answers 401 and the sender is refused.
    let wrong = sas_token(
        &audience,
        "RootManageSharedAccessKey",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    let (mut refused, status) = AmqpClient::connect(&endpoint, &audience, &wrong).await;
    assert_eq!(status, 401);
    assert!(refused.sender("orders").await.is_err());
    refused.close().await;
}

/// A connection on which nothing happens is closed as the service's link
/// tracker closes it; one that receives events stays open.
#[tokio::test]
async fn idle_amqp_connections_are_closed_as_the_service_does() {
    let emu = Emulator::start_with(&["--event-hubs-idle-timeout", "2s"]).await;
    let key = namespace_with_hub(&emu, "rg", "idle-ns", "quiet", 1).await;
    let endpoint = emu
        .endpoints
        .event_hubs_amqp
        .clone()
        .expect("eventHubs.amqp");
    let audience = format!("{endpoint}quiet");
    let token = sas_token(&audience, "RootManageSharedAccessKey", &key);

    // Busy: a sender every 500 ms keeps its connection through the idle
    // one's whole wait, and beyond the limit.
    let (mut busy, status) = AmqpClient::connect(&endpoint, &audience, &token).await;
    assert_eq!(status, 202);
    let mut sender = busy.sender("quiet").await.expect("sender attached");
    let busy_side = tokio::spawn(async move {
        for i in 0..10 {
            let outcome = sender
                .send(
                    Message::builder()
                        .data(format!("e{i}").into_bytes())
                        .build(),
                )
                .await
                .expect("sent on a busy connection");
            assert!(outcome.is_accepted(), "{outcome:?}");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        drop(sender);
        busy
    });

    // Idle: a receiver on a quiet partition, nothing sent for over 2 s.
    let (mut idle, _) = AmqpClient::connect(&endpoint, &audience, &token).await;
    let _receiver = idle
        .receiver(
            "quiet/ConsumerGroups/$Default/Partitions/0",
            "amqp.annotation.x-opt-sequence-number > '1000'",
        )
        .await
        .expect("receiver attached");
    let started = std::time::Instant::now();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        idle.connection.on_close(),
    )
    .await
    .expect("the idle connection was not closed");
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
    match closed {
        Err(fe2o3_amqp::connection::Error::RemoteClosedWithError(error)) => {
            assert_eq!(
                error.condition,
                fe2o3_amqp::types::definitions::ConnectionError::ConnectionForced.into(),
                "{error:?}"
            );
            let description = error.description.unwrap_or_default();
            assert!(
                description.starts_with(
                    "The connection was inactive for more than the allowed 2000 milliseconds and is closed by container 'LinkTracker'."
                ),
                "{description}"
            );
        }
        other => panic!("expected amqp:connection:forced, got {other:?}"),
    }
    // The busy connection was never cut.
    busy_side.await.expect("busy connection kept").close().await;
}
