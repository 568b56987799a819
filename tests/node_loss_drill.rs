//! The node-loss drill: HSM nodes are stopped, started and replaced (through
//! the admin fault surface) one at a time while several clients sign and
//! verify. The client fails over and retries, so no idempotent operation
//! fails, and afterwards every key, also those made during the drill, is on
//! every node (`findSingleKey`).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use cloudhsm_data_plane::{
    engine::{
        attributes::{ids, Attribute},
        keys::Curve,
    },
    KeySpec,
};
use cloudhsm_e2e_tests::Emulator;
use reqwest::Method;
use serde_json::json;

const CLIENTS: usize = 4;
const ROUNDS: usize = 6;

fn signing() -> Vec<(u32, Attribute)> {
    vec![
        (ids::SIGN, Attribute::Bool(true)),
        (ids::VERIFY, Attribute::Bool(true)),
    ]
}

#[derive(Default, Debug)]
struct Tally {
    signed: u64,
    verified: u64,
    idempotent_errors: Vec<String>,
    keys_made: u64,
    key_errors: Vec<String>,
    keys: Vec<u64>,
}

#[tokio::test]
async fn signing_load_survives_stopped_and_replaced_nodes_and_keys_stay_everywhere() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let cluster = emu.create_cluster("rg", "drill").await;
    emu.activate(&cluster, "officer-password").await;
    let officer = emu.hsm_client(&cluster);
    officer
        .login("CO", "admin", "officer-password")
        .await
        .unwrap();
    for i in 0..CLIENTS {
        officer
            .create_user("CU", &format!("cu{i}"), "user1234")
            .await
            .unwrap();
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for i in 0..CLIENTS {
        let mut client = emu.hsm_client(&cluster);
        if i == 0 {
            // One client without the framed stream: the HTTP path fails over too.
            client = client.without_stream();
        }
        client
            .login("CU", &format!("cu{i}"), "user1234")
            .await
            .unwrap();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let (mut public, mut private) = client
                .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, signing())
                .await
                .unwrap();
            tally.keys.extend([public, private]);
            let mut round = 0u64;
            let mut until_new_key = 25;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let message = format!("client {i} message {round}");
                match client.sign(private, "ECDSA", message.as_bytes()).await {
                    Ok(signature) => {
                        tally.signed += 1;
                        match client
                            .verify(public, "ECDSA", message.as_bytes(), &signature)
                            .await
                        {
                            Ok(()) => tally.verified += 1,
                            Err(e) => tally.idempotent_errors.push(format!("verify: {e}")),
                        }
                    }
                    Err(e) => tally.idempotent_errors.push(format!("sign: {e}")),
                }
                // Now and then a new key pair (not idempotent: counted apart).
                until_new_key -= 1;
                if until_new_key == 0 {
                    until_new_key = 25;
                    match client
                        .generate_key_pair(KeySpec::Ec { curve: Curve::P256 }, signing())
                        .await
                    {
                        Ok((p, q)) => {
                            tally.keys_made += 1;
                            tally.keys.extend([p, q]);
                            (public, private) = (p, q);
                        }
                        Err(e) => tally.key_errors.push(e.to_string()),
                    }
                }
            }
            (client, tally)
        }));
    }

    // The drill: each round takes one node down, then brings it back,
    // alternately restarted and replaced by a new HSM.
    let mut faults = 0;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for round in 0..ROUNDS {
        let node = round % 3;
        emu.inject(
            Method::POST,
            "/hsmNodes",
            json!({"clusterId": cluster["id"], "node": node, "action": "stop"}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let back = if round % 2 == 0 { "replace" } else { "start" };
        emu.inject(
            Method::POST,
            "/hsmNodes",
            json!({"clusterId": cluster["id"], "node": node, "action": back}),
        )
        .await;
        faults += 2;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::Relaxed);

    let mut total = Tally::default();
    let mut clients = Vec::new();
    for worker in workers {
        let (client, tally) = worker.await.unwrap();
        total.signed += tally.signed;
        total.verified += tally.verified;
        total.keys_made += tally.keys_made;
        total.idempotent_errors.extend(tally.idempotent_errors);
        total.key_errors.extend(tally.key_errors);
        total.keys.extend(tally.keys.iter().copied());
        clients.push((client, tally.keys));
    }
    // Every key on every node.
    let mut missing = Vec::new();
    let mut checked = 0;
    for (client, keys) in &clients {
        for key in keys {
            let presence = client.find_single_key(*key).await.unwrap();
            checked += 1;
            if presence != vec![(0, true), (1, true), (2, true)] {
                missing.push((*key, presence));
            }
        }
    }
    let idempotent = total.signed + total.verified + total.idempotent_errors.len() as u64;
    println!(
        "node-loss drill: {CLIENTS} clients, {faults} node faults ({ROUNDS} nodes stopped, half replaced); \
         {} signs + {} verifies, {} idempotent errors (error rate {:.4}); {} key pairs made during the drill, {} failed; \
         {checked} keys checked on 3 nodes, {} missing somewhere",
        total.signed,
        total.verified,
        total.idempotent_errors.len(),
        total.idempotent_errors.len() as f64 / idempotent.max(1) as f64,
        total.keys_made,
        total.key_errors.len(),
        missing.len()
    );
    assert!(
        total.idempotent_errors.is_empty(),
        "{:?}",
        total.idempotent_errors
    );
    assert!(total.key_errors.is_empty(), "{:?}", total.key_errors);
    assert!(missing.is_empty(), "keys missing from nodes: {missing:?}");
    assert!(
        total.signed > 50,
        "too little load to mean anything: {}",
        total.signed
    );
    assert!(total.keys_made > 0);
}
