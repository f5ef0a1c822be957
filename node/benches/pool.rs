//! Pool benchmarks on loopback, in one process with real sockets: a 100 MiB blob moved A→B over
//! the transfer protocol (TCP and QUIC), and 1,000 signed records gossiped across 5 nodes.
//!
//! Run: `cargo bench -p delos-node --bench pool` (or `-- tcp`, `-- quic`, `-- gossip` for one of
//! them). Results and their context: docs/benchmarks.md.
//! The plain-HTTP baseline for the transfer (issue 7 benchmark b) needs a running node's HTTP
//! server and lives with the end-to-end benchmarks.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use delos_node::p2p::{
    Blob, BlobSource, FeedPage, FeedSource, FetchRequest, P2pConfig, PoolEvent, PoolHandle,
    SourceError, spawn_with_metrics,
};
use delos_node::telemetry::{GossipSummary, Telemetry};
use delos_pool_protocol::messages::{BlobKind, PoolName, TransferRequest};
use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, Source};
use delos_pool_protocol::signing::NodeKey;
use delos_pool_protocol::{H1Hash, ModulePath, Version};
use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::gossipsub::MessageAcceptance;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use prometheus_client::registry::Registry;

const BLOB_BYTES: usize = 100 << 20;
const RECORDS: u32 = 1000;
const NODES: usize = 5;

/// Serves one blob for every request.
struct OneBlob(Arc<Vec<u8>>);

/// The blob's bytes, shared rather than copied for each request (a copy would be timed).
struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl BlobSource for OneBlob {
    fn open<'a>(
        &'a self,
        _request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<Option<Blob>, SourceError>> {
        let blob = Blob {
            length: self.0.len() as u64,
            reader: Box::pin(std::io::Cursor::new(SharedBytes(self.0.clone()))),
        };
        async move { Ok(Some(blob)) }.boxed()
    }
}

/// An empty feed.
struct NoFeed;

impl FeedSource for NoFeed {
    fn page(&self, _: u64, _: u32) -> BoxFuture<'_, Result<FeedPage, SourceError>> {
        async { Ok(FeedPage::default()) }.boxed()
    }
}

struct Node {
    handle: PoolHandle,
    events: tokio::sync::mpsc::Receiver<PoolEvent>,
    key: NodeKey,
    /// Where gossipsub counts its messages, as in a node's registry.
    metrics: Registry,
}

fn start(seed: u8, config: &P2pConfig, blob: Arc<Vec<u8>>) -> Node {
    let key = NodeKey::from_secret_bytes([seed; 32]);
    let keypair = delos_node::keys::identity_keypair(&key);
    let mut metrics = Telemetry::registry();
    let gossipsub = Telemetry::gossipsub(&mut metrics);
    let sources = (Arc::new(OneBlob(blob)), Arc::new(NoFeed));
    let (handle, events, event_loop) =
        spawn_with_metrics(&keypair, config, sources.0, sources.1, gossipsub).unwrap();
    tokio::spawn(event_loop.run());
    Node {
        handle,
        events,
        key,
        metrics,
    }
}

async fn addr(node: &Node) -> Multiaddr {
    loop {
        let status = node.handle.status().await.unwrap();
        if let Some(addr) = status.listen_addrs.first() {
            return addr
                .clone()
                .with(Protocol::P2p(node.handle.local_peer_id()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn config(quic: bool) -> P2pConfig {
    let mut config = P2pConfig::loopback(PoolName::parse("bench").unwrap());
    config.listen_addrs_are_external = false;
    config
        .listen
        .retain(|a| a.iter().any(|p| matches!(p, Protocol::QuicV1)) == quic);
    config
}

async fn transfer(quic: bool) {
    let blob = Arc::new(
        (0..BLOB_BYTES)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    );
    let a = start(1, &config(quic), blob);
    let b = start(2, &config(quic), Arc::new(Vec::new()));
    let peer: PeerId = b.handle.dial(addr(&a).await).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let request = TransferRequest::new(
        ModulePath::parse("example.com/big").unwrap(),
        Version::parse("v1.0.0").unwrap(),
        BlobKind::Zip,
    )
    .unwrap();
    for run in 0..3 {
        let fetch = FetchRequest {
            request: request.clone(),
            dest: dir.path().join(format!("{run}.zip")),
            max_bytes: BlobKind::Zip.max_bytes(),
            timeout: Duration::from_secs(120),
        };
        let start = Instant::now();
        let bytes = b.handle.fetch(peer, &fetch).await.unwrap();
        let secs = start.elapsed().as_secs_f64();
        let mib = bytes as f64 / f64::from(1 << 20);
        let transport = if quic { "QUIC" } else { "TCP" };
        println!(
            "transfer over {transport}: {mib:.0} MiB in {secs:.2} s = {:.0} MiB/s",
            mib / secs
        );
    }
    two_at_once(&b.handle, peer, &request, dir.path(), quic).await;
}

/// The same blob fetched twice at once over one connection (two streams): their aggregate rate
/// against one stream's shows whether a stream's own flow control, not the connection, bounds
/// a single transfer.
async fn two_at_once(
    handle: &PoolHandle,
    peer: PeerId,
    request: &TransferRequest,
    dir: &std::path::Path,
    quic: bool,
) {
    let fetch = |n: u32| FetchRequest {
        request: request.clone(),
        dest: dir.join(format!("both-{n}.zip")),
        max_bytes: BlobKind::Zip.max_bytes(),
        timeout: Duration::from_secs(120),
    };
    let (first, second) = (fetch(1), fetch(2));
    let start = Instant::now();
    let (x, y) = tokio::join!(handle.fetch(peer, &first), handle.fetch(peer, &second));
    let secs = start.elapsed().as_secs_f64();
    let mib = (x.unwrap() + y.unwrap()) as f64 / f64::from(1 << 20);
    let transport = if quic { "QUIC" } else { "TCP" };
    println!(
        "two transfers at once over {transport}: {mib:.0} MiB in {secs:.2} s = {:.0} MiB/s in all",
        mib / secs
    );
}

fn record(key: &NodeKey, n: u32) -> Vec<u8> {
    let fields = RecordFields {
        module: ModulePath::parse(&format!("example.com/m{n}")).unwrap(),
        version: Version::parse("v1.0.0").unwrap(),
        go_mod_h1: H1Hash::of_go_mod(b"module example.com/m\n"),
        zip: None,
        info_time: InfoTime::parse("2026-01-01T00:00:00Z").unwrap(),
        source: Source::Import,
        obtained_at: 1_790_000_000,
    };
    let signed = key.sign(&ProvenanceRecord::new(fields).unwrap()).unwrap();
    signed.to_wire().unwrap()
}

/// Accepts every record a node receives and counts them.
fn accept_all(mut node: Node, count: Arc<AtomicUsize>) -> PoolHandle {
    let handle = node.handle.clone();
    let events_handle = handle.clone();
    tokio::spawn(async move {
        while let Some(event) = node.events.recv().await {
            if let PoolEvent::RecordReceived {
                message_id,
                propagation_source,
                ..
            } = event
            {
                count.fetch_add(1, Ordering::Relaxed);
                let accept = MessageAcceptance::Accept;
                let _ = events_handle
                    .report_validation(message_id, propagation_source, accept)
                    .await;
            }
        }
    });
    handle
}

async fn gossip_spread() {
    let config = config(false);
    let nodes: Vec<Node> = (0..NODES)
        .map(|i| start(10 + i as u8, &config, Arc::default()))
        .collect();
    let mut addrs = Vec::new();
    for node in &nodes {
        addrs.push(addr(node).await);
    }
    // A ring: every node dials the next, so records must cross several hops to reach some.
    for (i, node) in nodes.iter().enumerate() {
        node.handle
            .dial(addrs[(i + 1) % NODES].clone())
            .await
            .unwrap();
    }
    let publisher_key = nodes[0].key.clone();
    let records: Vec<_> = (0..RECORDS).map(|n| record(&publisher_key, n)).collect();
    let counts: Vec<_> = (0..NODES).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let mut nodes = nodes;
    let registries: Vec<_> = nodes
        .iter_mut()
        .map(|n| std::mem::take(&mut n.metrics))
        .collect();
    let handles: Vec<_> = nodes
        .into_iter()
        .zip(&counts)
        .map(|(n, c)| accept_all(n, c.clone()))
        .collect();
    loop {
        let status = handles[0].status().await.unwrap();
        if status.gossip_mesh_peers >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = Instant::now();
    for wire in records {
        handles[0].publish(wire).await.unwrap();
    }
    let expected = RECORDS as usize * (NODES - 1);
    let total = || {
        counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum::<usize>()
    };
    while total() < expected && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "gossip: {} of {expected} deliveries ({RECORDS} records to {} nodes) in {:.2} s",
        total(),
        NODES - 1,
        start.elapsed().as_secs_f64()
    );
    let wire = settled_wire_totals(&registries).await;
    println!(
        "gossip messages per record, all {NODES} nodes: {:.2} sent, {:.2} received, {:.2} of them duplicates",
        wire.sent as f64 / f64::from(RECORDS),
        wire.received as f64 / f64::from(RECORDS),
        wire.duplicates as f64 / f64::from(RECORDS),
    );
}

/// Gossipsub's message counters summed over the nodes' `registries`, once unchanged for three
/// heartbeats (late forwards and IHAVE/IWANT-driven resends included).
async fn settled_wire_totals(registries: &[Registry]) -> GossipSummary {
    let totals = || {
        registries
            .iter()
            .map(GossipSummary::read)
            .fold(GossipSummary::default(), |mut sum, s| {
                sum.sent += s.sent;
                sum.received += s.received;
                sum.duplicates += s.duplicates;
                sum
            })
    };
    let mut last = totals();
    let mut still = Instant::now();
    while still.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = totals();
        if now != last {
            (last, still) = (now, Instant::now());
        }
    }
    last
}

/// Runs every benchmark, or only those whose name (`tcp`, `quic`, `gossip`) is given as an
/// argument: `cargo bench -p delos-node --bench pool -- tcp`.
fn main() {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| names.is_empty() || names.iter().any(|n| n == name);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        if wanted("tcp") {
            transfer(false).await;
        }
        if wanted("quic") {
            transfer(true).await;
        }
        if wanted("gossip") {
            gossip_spread().await;
        }
    });
}
