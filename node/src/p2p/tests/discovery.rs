//! Discovery and connections: Kademlia, mDNS, bootstrap re-dials, peer events, shutdown.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kademlia_finds_a_peer_known_only_to_the_bootstrap_node() {
    let b = plain(2, P2pConfig::loopback(pool("t-kad")));
    let b_addr = b.addr(false).await;
    let mut config = P2pConfig::loopback(pool("t-kad"));
    config.bootstrap = vec![b_addr.clone()];
    let c = plain(3, config.clone());
    eventually("B to know C", || async {
        b.is_connected_to(c.peer_id()).await.then_some(())
    })
    .await;
    let module = ModulePath::parse("example.com/found").unwrap();
    let version = Version::parse("v1.2.3").unwrap();
    c.handle.provide(&module, &version).await.unwrap();

    let a = plain(1, config);
    eventually("A to find C as a provider", || async {
        let providers = a.handle.find_providers(&module, &version).await.ok()?;
        providers.contains(&c.peer_id()).then_some(())
    })
    .await;
    eventually("A to connect to C", || async {
        a.is_connected_to(c.peer_id()).await.then_some(())
    })
    .await;
    assert!(a.handle.status().await.unwrap().kad_server_mode);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdns_finds_a_peer_without_any_bootstrap() {
    let config = P2pConfig {
        mdns: true,
        ..no_discovery("t-mdns")
    };
    let a = plain(1, config.clone());
    let b = plain(2, config);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let found = a.handle.status().await.unwrap().mdns_peers;
        if found > 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            // Multicast does not work here (containers without a multicast route, for example):
            // nothing to test. A found-but-not-connected peer below is a failure.
            eprintln!("skipped: mDNS found no peer in 5 s; multicast seems unavailable here");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually("A and B to connect through mDNS", || async {
        a.is_connected_to(b.peer_id()).await.then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reconnects_to_a_restarted_bootstrap_peer() {
    let b = plain(2, no_discovery("t-redial"));
    let b_addr = b.addr(false).await;
    let b_peer = b.peer_id();
    let mut config = no_discovery("t-redial");
    config.bootstrap = vec![b_addr.clone()];
    config.bootstrap_redial_interval = Duration::from_millis(200);
    let a = plain(1, config);
    eventually("A to reach B", || async {
        a.is_connected_to(b_peer).await.then_some(())
    })
    .await;

    drop(b);
    eventually("A to lose B", || async {
        (!a.is_connected_to(b_peer).await).then_some(())
    })
    .await;
    let mut same_place = no_discovery("t-redial");
    let mut tcp_addr = b_addr;
    tcp_addr.pop();
    same_place.listen = vec![tcp_addr];
    let _b_again = plain(2, same_place);
    eventually("A to reach B again", || async {
        a.is_connected_to(b_peer).await.then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_are_announced_on_identify_and_shutdown_disconnects_them() {
    let mut a = plain(1, no_discovery("t-peers"));
    let b = plain(2, no_discovery("t-peers"));
    b.handle.dial(a.addr(false).await).await.unwrap();
    match a.next_peer_event(Duration::from_secs(5)).await {
        Some(PoolEvent::PeerIdentified { peer_id }) => assert_eq!(peer_id, b.peer_id()),
        other => panic!("no PeerIdentified: {other:?}"),
    }
    b.handle.shutdown().await;
    assert!(matches!(b.handle.status().await, Err(HandleError::Stopped)));
    loop {
        match a.next_peer_event(Duration::from_secs(5)).await {
            Some(PoolEvent::PeerDisconnected { peer_id }) if peer_id == b.peer_id() => break,
            Some(PoolEvent::PeerIdentified { .. }) => continue,
            other => panic!("no PeerDisconnected: {other:?}"),
        }
    }
}
