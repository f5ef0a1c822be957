//! [`Liar`]: a test program inside the test process that speaks Delos' pool protocols (it is
//! built on `delos_node::p2p::spawn`, on loopback TCP) and serves whatever files and feed the
//! test gives it — tampered zips, records whose hashes disagree — and can publish any payload
//! on the pool's gossip topic, valid or not.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use delos_node::p2p::{
    Blob, BlobSource, FeedPage, FeedSource, P2pConfig, PoolEvent, PoolHandle, SourceError, spawn,
};
use delos_pool_protocol::messages::{BlobKind, FeedId, PoolName, SyncItem, TransferRequest};
use delos_pool_protocol::signing::{NodeKey, SignedRecord};
use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::gossipsub::MessageAcceptance;
use tokio::runtime::Runtime;

/// The files a [`Liar`] serves, by (module, version, kind).
pub(crate) type Files = HashMap<(String, String, BlobKind), Vec<u8>>;

/// A pool peer under the test's control.
pub(crate) struct Liar {
    runtime: Runtime,
    handle: PoolHandle,
    key: NodeKey,
}

impl std::fmt::Debug for Liar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Liar")
            .field("peer_id", &self.handle.local_peer_id())
            .finish_non_exhaustive()
    }
}

impl Liar {
    /// Starts a peer of the default pool with a new key, serving `files` and a feed of `feed`.
    pub(crate) fn start(files: Files, feed: Vec<SignedRecord>) -> Result<Liar> {
        Liar::start_with_key(NodeKey::generate()?, files, feed)
    }

    /// [`Liar::start`] with `key` as its identity and signing key.
    pub(crate) fn start_with_key(
        key: NodeKey,
        files: Files,
        feed: Vec<SignedRecord>,
    ) -> Result<Liar> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let keypair = delos_node::keys::identity_keypair(&key);
        let config = P2pConfig::loopback(PoolName::default());
        let (handle, mut events, event_loop) = runtime.block_on(async {
            spawn(
                &keypair,
                &config,
                Arc::new(FixedFiles(files)),
                Arc::new(FixedFeed(feed)),
            )
        })?;
        runtime.spawn(event_loop.run());
        let answers = handle.clone();
        runtime.spawn(async move {
            while let Some(event) = events.recv().await {
                if let PoolEvent::RecordReceived {
                    message_id,
                    propagation_source,
                    ..
                } = event
                {
                    let ignore = MessageAcceptance::Ignore;
                    let _ = answers
                        .report_validation(message_id, propagation_source, ignore)
                        .await;
                }
            }
        });
        Ok(Liar {
            runtime,
            handle,
            key,
        })
    }

    /// The key the liar signs with (and its libp2p identity).
    pub(crate) fn key(&self) -> &NodeKey {
        &self.key
    }

    /// Its signing key as `delos id` would print it, for `--trusted-signer`.
    pub(crate) fn signer(&self) -> String {
        self.key.signer_id().to_string()
    }

    /// Its PeerId.
    pub(crate) fn peer_id(&self) -> String {
        self.handle.local_peer_id().to_string()
    }

    /// Its TCP listen address with `/p2p/<PeerId>` (waits for the listener, at most 10 s).
    pub(crate) fn addr(&self) -> Result<String> {
        for _ in 0..200 {
            let status = self.runtime.block_on(self.handle.status())?;
            if let Some(addr) = status
                .listen_addrs
                .iter()
                .find(|a| a.to_string().contains("/tcp/"))
            {
                return Ok(format!("{addr}/p2p/{}", self.peer_id()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the liar never listened on TCP")
    }

    /// Dials `addr` (ending in `/p2p/<PeerId>`).
    pub(crate) fn dial(&self, addr: &str) -> Result<()> {
        let addr = addr.parse().context("parsing a multiaddr")?;
        self.runtime.block_on(self.handle.dial(addr))?;
        Ok(())
    }

    /// Fetches `module@version`'s file of `kind` from `peer` (a PeerId it is connected to)
    /// over the transfer protocol into memory, unverified: what a bare pool client gets, the
    /// counterpart of a plain HTTP GET.
    pub(crate) fn fetch(
        &self,
        peer: &str,
        module: &str,
        version: &str,
        kind: BlobKind,
    ) -> Result<Vec<u8>> {
        let peer: libp2p::PeerId = peer.parse().context("parsing a PeerId")?;
        let module = delos_pool_protocol::ModulePath::parse(module)?;
        let version = delos_pool_protocol::Version::parse(version)?;
        let request = TransferRequest::new(module, version, kind)?;
        let bounds = (kind.max_bytes(), Duration::from_secs(60));
        let fetch = self.handle.fetch_to(peer, &request, bounds, Vec::new());
        let (_, bytes) = self.runtime.block_on(fetch)?;
        Ok(bytes)
    }

    /// Publishes `payload` on the records topic; `false` when gossipsub refuses (no peer
    /// subscribed yet, or a duplicate).
    pub(crate) fn publish(&self, payload: Vec<u8>) -> bool {
        self.runtime.block_on(self.handle.publish(payload)).is_ok()
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        self.runtime.block_on(self.handle.shutdown());
    }
}

/// The files given at start.
struct FixedFiles(Files);

impl BlobSource for FixedFiles {
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
            reader: Box::pin(std::io::Cursor::new(bytes.clone())),
        });
        async move { Ok(blob) }.boxed()
    }
}

/// The feed given at start: record `i` has sequence number `i + 1`.
struct FixedFeed(Vec<SignedRecord>);

impl FeedSource for FixedFeed {
    fn page(&self, after_seq: u64, max_items: u32) -> BoxFuture<'_, Result<FeedPage, SourceError>> {
        let items = (after_seq..self.0.len() as u64)
            .take(max_items as usize)
            .filter_map(|i| {
                let record = self.0.get(usize::try_from(i).ok()?)?.clone();
                Some(SyncItem { seq: i + 1, record })
            })
            .collect();
        let head_seq = self.0.len() as u64;
        let feed_id = FeedId::default();
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
