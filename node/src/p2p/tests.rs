//! In-process tests of the pool layer: two or three real swarms on real loopback sockets (TCP
//! and QUIC), with a blob source and a feed held in memory (test-only implementations).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{BlobKind, PoolName, SyncItem, TransferRequest};
use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, Source};
use delos_pool_protocol::signing::{NodeKey, SignedRecord};
use delos_pool_protocol::{H1Hash, ModulePath, Version};
use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::gossipsub::{MessageAcceptance, PublishError};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::mpsc;

use super::*;

/// Files held in memory, keyed by module, version and kind.
#[derive(Default)]
struct MemBlobs(HashMap<(String, String, BlobKind), Arc<Vec<u8>>>);

impl BlobSource for MemBlobs {
    fn open<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<Option<Blob>, SourceError>> {
        let key = (
            request.module().to_string(),
            request.version().to_string(),
            request.kind(),
        );
        let blob = self.0.get(&key).map(|bytes| Blob {
            length: bytes.len() as u64,
            reader: Box::pin(std::io::Cursor::new(bytes.as_ref().clone())),
        });
        async move { Ok(blob) }.boxed()
    }
}

/// A feed held in memory: item `i` has sequence number `i + 1`.
#[derive(Default)]
struct MemFeed(Vec<SignedRecord>);

impl FeedSource for MemFeed {
    fn page(&self, after_seq: u64, max_items: u32) -> BoxFuture<'_, Result<FeedPage, SourceError>> {
        let items = (after_seq..self.0.len() as u64)
            .take(max_items as usize)
            .map(|i| SyncItem {
                seq: i + 1,
                record: self.0[i as usize].clone(),
            })
            .collect();
        let head_seq = self.0.len() as u64;
        async move { Ok(FeedPage { items, head_seq }) }.boxed()
    }
}

/// One running pool node.
struct TestNode {
    handle: PoolHandle,
    events: mpsc::Receiver<PoolEvent>,
    key: NodeKey,
}

impl TestNode {
    fn peer_id(&self) -> PeerId {
        self.handle.local_peer_id()
    }

    /// This node's listen address of the given transport, with `/p2p/<PeerId>`.
    async fn addr(&self, quic: bool) -> Multiaddr {
        let status = eventually("listening", || async {
            let status = self.handle.status().await.ok()?;
            let found = status
                .listen_addrs
                .iter()
                .find(|a| is_quic(a) == quic)?
                .clone();
            Some(found)
        })
        .await;
        status.with(Protocol::P2p(self.peer_id()))
    }

    async fn is_connected_to(&self, other: PeerId) -> bool {
        let peers = self.handle.connected_peers().await.unwrap_or_default();
        peers.iter().any(|p| p.peer_id == other)
    }

    async fn mesh_peers(&self) -> usize {
        self.handle
            .status()
            .await
            .map_or(0, |s| s.gossip_mesh_peers)
    }

    /// The next record event (received or rejected) within `wait`, if any; peer events are
    /// skipped.
    async fn next_event(&mut self, wait: Duration) -> Option<PoolEvent> {
        self.next_matching(wait, |event| !is_peer_event(event))
            .await
    }

    /// The next peer event within `wait`, if any; record events are skipped.
    async fn next_peer_event(&mut self, wait: Duration) -> Option<PoolEvent> {
        self.next_matching(wait, is_peer_event).await
    }

    async fn next_matching(
        &mut self,
        wait: Duration,
        wanted: impl Fn(&PoolEvent) -> bool,
    ) -> Option<PoolEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .ok()??;
            if wanted(&event) {
                return Some(event);
            }
        }
    }
}

fn is_peer_event(event: &PoolEvent) -> bool {
    matches!(
        event,
        PoolEvent::PeerIdentified { .. } | PoolEvent::PeerDisconnected { .. }
    )
}

fn is_quic(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::QuicV1))
}

fn pool(name: &str) -> PoolName {
    PoolName::parse(name).unwrap()
}

/// Starts a node of `config` with identity seed `seed`, serving `blobs` and `feed`.
fn start(seed: u8, config: P2pConfig, blobs: MemBlobs, feed: MemFeed) -> TestNode {
    let key = NodeKey::from_secret_bytes([seed; 32]);
    let keypair = crate::keys::identity_keypair(&key);
    let (handle, events, event_loop) =
        spawn(&keypair, &config, Arc::new(blobs), Arc::new(feed)).unwrap();
    tokio::spawn(event_loop.run());
    TestNode {
        handle,
        events,
        key,
    }
}

fn plain(seed: u8, config: P2pConfig) -> TestNode {
    start(seed, config, MemBlobs::default(), MemFeed::default())
}

/// Polls `check` every 50 ms until it gives a value; panics after 10 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A signed record for `example.com/m@v1.0.<n>`.
fn record(key: &NodeKey, n: u32) -> SignedRecord {
    let fields = RecordFields {
        module: ModulePath::parse("example.com/m").unwrap(),
        version: Version::parse(&format!("v1.0.{n}")).unwrap(),
        go_mod_h1: H1Hash::of_go_mod(b"module example.com/m\n"),
        zip: None,
        info_time: InfoTime::parse("2026-01-01T00:00:00Z").unwrap(),
        source: Source::Import,
        obtained_at: 1_790_000_000 + u64::from(n),
    };
    key.sign(&ProvenanceRecord::new(fields).unwrap()).unwrap()
}

/// `record` with one bit of its signature flipped.
fn forged(record: &SignedRecord) -> SignedRecord {
    let mut signature = record.signature();
    signature[10] ^= 1;
    SignedRecord::from_parts(record.bytes().to_vec(), signature, record.signer())
}

/// A loopback config with Kademlia kept in client mode, so nodes meet only whom they dial.
fn no_discovery(name: &str) -> P2pConfig {
    P2pConfig {
        listen_addrs_are_external: false,
        ..P2pConfig::loopback(pool(name))
    }
}

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

/// 20 MiB of bytes that are not all alike.
fn big_blob() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..20 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn zip_request(version: &str) -> TransferRequest {
    TransferRequest::new(
        ModulePath::parse("example.com/big").unwrap(),
        Version::parse(version).unwrap(),
        BlobKind::Zip,
    )
    .unwrap()
}

/// Transfers a 20 MiB blob A→B over one transport, then checks the limits.
async fn transfer_over(quic: bool) {
    let blob = Arc::new(big_blob());
    let mut blobs = MemBlobs::default();
    let key = (
        "example.com/big".to_owned(),
        "v1.0.0".to_owned(),
        BlobKind::Zip,
    );
    blobs.0.insert(key, blob.clone());
    let mut config = no_discovery("t-transfer");
    config.listen.retain(|addr| is_quic(addr) == quic);
    let a = start(1, config.clone(), blobs, MemFeed::default());
    let b = plain(2, config);
    b.handle.dial(a.addr(quic).await).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let fetch = FetchRequest {
        request: zip_request("v1.0.0"),
        dest: dir.path().join("got.zip"),
        max_bytes: BlobKind::Zip.max_bytes(),
        timeout: Duration::from_secs(20),
    };
    let length = b.handle.fetch(a.peer_id(), &fetch).await.unwrap();
    assert_eq!(length, blob.len() as u64);
    assert!(std::fs::read(&fetch.dest).unwrap() == *blob, "bytes differ");

    let small = FetchRequest {
        dest: dir.path().join("refused.zip"),
        max_bytes: (blob.len() - 1) as u64,
        ..fetch.clone()
    };
    let err = b.handle.fetch(a.peer_id(), &small).await.unwrap_err();
    assert!(matches!(err, TransferError::TooLarge { length, .. } if length == blob.len() as u64));
    let missing = FetchRequest {
        request: zip_request("v9.9.9"),
        dest: dir.path().join("missing.zip"),
        ..fetch
    };
    let err = b.handle.fetch(a.peer_id(), &missing).await.unwrap_err();
    assert!(matches!(err, TransferError::NotFound { .. }), "{err:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the fetched file remains: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mib_blob_crosses_tcp_byte_exact_within_limits() {
    transfer_over(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mib_blob_crosses_quic_byte_exact_within_limits() {
    transfer_over(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_pages_through_a_feed_and_refuses_bad_records() {
    let signer = NodeKey::from_secret_bytes([9; 32]);
    let records: Vec<_> = (1..=5).map(|n| record(&signer, n)).collect();
    let a = start(
        1,
        no_discovery("t-sync"),
        MemBlobs::default(),
        MemFeed(records.clone()),
    );
    let mut bad_feed = records.clone();
    bad_feed[1] = forged(&records[1]);
    let liar = start(
        4,
        no_discovery("t-sync"),
        MemBlobs::default(),
        MemFeed(bad_feed),
    );
    let b = plain(2, no_discovery("t-sync"));
    b.handle.dial(a.addr(false).await).await.unwrap();
    b.handle.dial(liar.addr(false).await).await.unwrap();

    let timeout = Duration::from_secs(5);
    let mut cursor = 0;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = b
            .handle
            .sync_page(a.peer_id(), cursor, 2, timeout)
            .await
            .unwrap();
        pages += 1;
        assert!(page.records.len() <= 2);
        assert_eq!(page.head_seq, 5);
        got.extend(
            page.records
                .iter()
                .map(|(seq, r)| (*seq, r.signed().clone())),
        );
        cursor = page.next_cursor;
        if page.is_last() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<_> = records
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, r)| (i as u64 + 1, r))
        .collect();
    assert_eq!(got, expected);
    let empty = b
        .handle
        .sync_page(a.peer_id(), 5, 2, timeout)
        .await
        .unwrap();
    assert!(empty.records.is_empty() && empty.is_last() && empty.next_cursor == 5);

    let err = b
        .handle
        .sync_page(liar.peer_id(), 0, 10, timeout)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::BadRecord { seq: 2, .. }),
        "{err:?}"
    );
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
async fn a_node_at_its_serving_limit_answers_busy() {
    let mut blobs = MemBlobs::default();
    let key = (
        "example.com/big".to_owned(),
        "v1.0.0".to_owned(),
        BlobKind::Zip,
    );
    blobs.0.insert(key, Arc::new(vec![1, 2, 3]));
    let config = P2pConfig {
        max_concurrent_serves: 0,
        ..no_discovery("t-busy")
    };
    let a = start(1, config, blobs, MemFeed::default());
    let b = plain(2, no_discovery("t-busy"));
    b.handle.dial(a.addr(false).await).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fetch = FetchRequest {
        request: zip_request("v1.0.0"),
        dest: dir.path().join("busy.zip"),
        max_bytes: 10,
        timeout: Duration::from_secs(5),
    };
    let err = b.handle.fetch(a.peer_id(), &fetch).await.unwrap_err();
    assert!(matches!(err, TransferError::Busy { .. }), "{err:?}");
    assert!(!fetch.dest.exists());
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
    let publisher = nodes.remove(0);
    eventually("a mesh", || async {
        (publisher.mesh_peers().await >= 2).then_some(())
    })
    .await;
    let receivers: Vec<_> = nodes
        .into_iter()
        .map(|node| tokio::spawn(accept_until_quiet(node)))
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

/// Accepts every record `node` receives until none comes for 2 s; returns the count (and the
/// node, so it stays up until then).
async fn accept_until_quiet(mut node: TestNode) -> (u32, TestNode) {
    let mut got = 0;
    while let Some(event) = node.next_event(Duration::from_secs(2)).await {
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
