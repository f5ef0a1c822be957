//! In-process tests of the pool layer: two or three real swarms on real loopback sockets (TCP
//! and QUIC), with a blob source and a feed held in memory (test-only implementations).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{BlobKind, FeedId, PoolName, SyncItem, TransferRequest};
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

mod discovery;
mod gossip;
mod sync;
mod tls;
mod transfer;

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

/// The feed id every [`MemFeed`] names.
const MEM_FEED_ID: FeedId = FeedId::from_bytes([7; 16]);

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
        let feed_id = MEM_FEED_ID;
        async move {
            Ok(FeedPage {
                items,
                head_seq,
                feed_id,
            })
        }
        .boxed()
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

/// A swarm as a node from before TLS and feed ids would have it: TCP secured with noise only,
/// around `behaviour`, listening on loopback; with its listen address.
async fn noise_only_swarm<B: libp2p::swarm::NetworkBehaviour>(
    keypair: libp2p::identity::Keypair,
    behaviour: B,
) -> (libp2p::Swarm<B>, Multiaddr) {
    use futures::StreamExt;
    use libp2p::swarm::SwarmEvent;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| behaviour)
        .unwrap()
        .build();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            return (swarm, address);
        }
    }
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
