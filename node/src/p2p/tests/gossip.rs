//! Gossip: acceptance before forwarding, rejection and penalties, bursts, pool separation.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_travel_only_after_acceptance_and_forgeries_stop_at_the_first_hop() {
    let a = plain(1, no_discovery("t-gossip"));
    let mut b = plain(2, no_discovery("t-gossip"));
    let mut c = plain(3, no_discovery("t-gossip"));
    let b_addr = b.addr(false).await;
    assert_eq!(a.handle.dial(b_addr.clone()).await.unwrap(), b.peer_id());
    assert_eq!(c.handle.dial(b_addr).await.unwrap(), b.peer_id());
    eventually("gossip meshes", || async {
        (b.mesh_peers().await == 2 && a.mesh_peers().await == 1 && c.mesh_peers().await == 1)
            .then_some(())
    })
    .await;

    let signed = record(&a.key, 1);
    a.handle.publish(signed.to_wire().unwrap()).await.unwrap();
    let Some(PoolEvent::RecordReceived {
        message_id,
        propagation_source,
        record: received,
        wire_bytes,
    }) = b.next_event(Duration::from_secs(5)).await
    else {
        panic!("B did not receive the record")
    };
    assert_eq!(propagation_source, a.peer_id());
    assert_eq!(received.signed(), &signed);
    assert_eq!(wire_bytes, signed.to_wire().unwrap());
    assert!(
        c.next_event(Duration::from_millis(500)).await.is_none(),
        "forwarded before Accept"
    );

    b.handle
        .report_validation(message_id, propagation_source, MessageAcceptance::Accept)
        .await
        .unwrap();
    match c.next_event(Duration::from_secs(5)).await {
        Some(PoolEvent::RecordReceived {
            propagation_source,
            record,
            ..
        }) => {
            assert_eq!(propagation_source, b.peer_id());
            assert_eq!(record.signer(), a.key.signer_id());
        }
        other => panic!("C did not receive the accepted record: {other:?}"),
    }

    let forgery = forged(&record(&a.key, 2));
    a.handle.publish(forgery.to_wire().unwrap()).await.unwrap();
    match b.next_event(Duration::from_secs(5)).await {
        Some(PoolEvent::RecordRejected { source, .. }) => assert_eq!(source, a.peer_id()),
        other => panic!("B did not reject the forgery: {other:?}"),
    }
    assert!(
        c.next_event(Duration::from_secs(1)).await.is_none(),
        "C saw the forgery"
    );
    assert!(
        !a.is_connected_to(c.peer_id()).await,
        "A and C must only meet through B"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_payloads_are_rejected_and_their_senders_penalised() {
    let a = plain(1, no_discovery("t-junk"));
    let mut b = plain(2, no_discovery("t-junk"));
    let d = plain(4, no_discovery("t-junk"));
    let b_addr = b.addr(false).await;
    a.handle.dial(b_addr.clone()).await.unwrap();
    d.handle.dial(b_addr).await.unwrap();
    eventually("gossip meshes", || async {
        (b.mesh_peers().await == 2 && a.mesh_peers().await == 1 && d.mesh_peers().await == 1)
            .then_some(())
    })
    .await;

    a.handle.publish(b"not a record".to_vec()).await.unwrap();
    match b.next_event(Duration::from_secs(5)).await {
        Some(PoolEvent::RecordRejected { source, reason }) => {
            assert_eq!(source, a.peer_id());
            assert!(
                matches!(reason, gossip::RecordRejection::Malformed(_)),
                "{reason:?}"
            );
        }
        other => panic!("B did not reject the malformed payload: {other:?}"),
    }
    let oversized = vec![7u8; <SignedRecord as delos_pool_protocol::Canonical>::MAX_BYTES + 1];
    d.handle.publish(oversized).await.unwrap();
    match b.next_event(Duration::from_secs(5)).await {
        Some(PoolEvent::RecordRejected { source, reason }) => {
            assert_eq!(source, d.peer_id());
            assert!(
                matches!(reason, gossip::RecordRejection::TooLarge { .. }),
                "{reason:?}"
            );
        }
        other => panic!("B did not reject the oversized payload: {other:?}"),
    }
    // Penalised: A's next, valid record is dropped unread while A is graylisted.
    a.handle
        .publish(record(&a.key, 1).to_wire().unwrap())
        .await
        .unwrap();
    assert!(
        b.next_event(Duration::from_secs(1)).await.is_none(),
        "A was not penalised"
    );
}

/// A burst of records must cross a 5-node ring intact: gossipsub's frame limit once cut
/// IHAVE/IWANT frames during a burst, which broke the inbound stream and lost most records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_records_reaches_every_node_of_a_ring() {
    const RECORDS: u32 = 100;
    let mut nodes: Vec<TestNode> = (0..5)
        .map(|i| plain(10 + i, no_discovery("t-burst")))
        .collect();
    let mut addrs = Vec::new();
    for node in &nodes {
        addrs.push(node.addr(false).await);
    }
    for (i, node) in nodes.iter().enumerate() {
        node.handle
            .dial(addrs[(i + 1) % addrs.len()].clone())
            .await
            .unwrap();
    }
    // Every node grafts both ring neighbours before the burst; records are forwarded along
    // the mesh only (a node outside it would have to catch up by gossip or sync).
    for node in &nodes {
        eventually("a full mesh", || async {
            (node.mesh_peers().await >= 2).then_some(())
        })
        .await;
    }
    let publisher = nodes.remove(0);
    let receivers: Vec<_> = nodes
        .into_iter()
        .map(|node| tokio::spawn(accept_until(node, RECORDS)))
        .collect();
    for n in 0..RECORDS {
        let wire = record(&publisher.key, n).to_wire().unwrap();
        publisher.handle.publish(wire).await.unwrap();
    }
    let mut counts = Vec::new();
    for receiver in receivers {
        counts.push(receiver.await.unwrap().0);
    }
    assert_eq!(counts, vec![RECORDS; 4]);
}

/// Accepts every record `node` receives until it has `expected` of them, or until none comes
/// for 30 s (a generous gap: on a loaded 2-core machine a short quiet window ended the count
/// while records were still on their way); returns the count, and the node so it stays up.
async fn accept_until(mut node: TestNode, expected: u32) -> (u32, TestNode) {
    let mut got = 0;
    while got < expected {
        let Some(event) = node.next_event(Duration::from_secs(30)).await else {
            break;
        };
        if let PoolEvent::RecordReceived {
            message_id,
            propagation_source,
            ..
        } = event
        {
            got += 1;
            let accept = MessageAcceptance::Accept;
            node.handle
                .report_validation(message_id, propagation_source, accept)
                .await
                .unwrap();
        }
    }
    (got, node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_never_exchange_gossip() {
    let x = plain(1, no_discovery("alpha"));
    let x2 = plain(3, no_discovery("alpha"));
    let mut y = plain(2, no_discovery("beta"));
    x2.handle.dial(x.addr(false).await).await.unwrap();
    assert_eq!(
        y.handle.dial(x.addr(false).await).await.unwrap(),
        x.peer_id()
    );
    eventually("the same pool's mesh", || async {
        (x.mesh_peers().await == 1).then_some(())
    })
    .await;
    // Give gossipsub time to (not) see beta's node as a subscriber.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        x.mesh_peers().await,
        1,
        "only alpha's node is in alpha's mesh"
    );
    let err = y
        .handle
        .publish(record(&y.key, 1).to_wire().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HandleError::Publish(PublishError::NoPeersSubscribedToTopic)
        ),
        "{err:?}"
    );
    x.handle
        .publish(record(&x.key, 2).to_wire().unwrap())
        .await
        .unwrap();
    assert!(
        y.next_event(Duration::from_secs(1)).await.is_none(),
        "beta saw alpha's record"
    );
    let event = y.next_peer_event(Duration::from_millis(100)).await;
    assert!(
        !matches!(event, Some(PoolEvent::PeerIdentified { .. })),
        "{event:?}"
    );
}
