//! The node in its pool: [`Pool`] starts the libp2p layer ([`crate::p2p`]) over the node's
//! store and keeps three things running beside it:
//!
//! - the sources peers are served from ([`sources`]): the store's files and its feed, private
//!   modules left out;
//! - the handler of pool events ([`events`]): every gossiped record that verifies is stored
//!   (conflicts become evidence) and then accepted for forwarding, or ignored when known;
//! - the feed sync ([`sync`]): when a peer identifies itself, and every little while, the
//!   records after the cursor persisted for that peer are pulled page by page.
//!
//! The fill path announces what it filled through [`Pool::announce`] (publish on the records
//! topic + provide in Kademlia) and asks peers for files through [`Pool::handle`].
//!
//! The pool is off unless asked for (`--p2p`, `--p2p-listen` or `--bootstrap`): a single node
//! runs exactly as before.

mod catch_up;
pub mod events;
pub mod fill_requests;
pub mod log_heads;
pub mod log_members;
pub(crate) mod peer_fill;
pub mod record_limits;
pub mod report;
pub mod sources;
pub mod sync;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::signing::{NodeKey, SignedRecord, VerifiedRecord};
use delos_pool_protocol::version::Version;
use delos_registry_index::Index;
use libp2p::PeerId;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::forked_logs::ForkedLogs;
use crate::keys::identity_keypair;
use crate::p2p::{self, P2pConfig, PoolEvent, PoolHandle, PoolStatus, SpawnError};

pub use crate::telemetry::{PoolStats, PoolStatsSnapshot};
pub use log_heads::HeadWatch;
pub use record_limits::RecordLimits;

/// How long start-up waits for the listeners to report their addresses (for the log line).
const LISTEN_WAIT: Duration = Duration::from_secs(2);

/// The node's membership in its pool. Cheap to clone; every clone drives the same swarm.
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    handle: PoolHandle,
    name: delos_pool_protocol::messages::PoolName,
    stats: Arc<PoolStats>,
    private: PrivatePatterns,
    heads: Arc<HeadWatch>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What the pool is started from.
#[derive(Debug)]
#[non_exhaustive]
pub struct PoolSetup<'a> {
    /// The node's identity key (its PeerId).
    pub identity: &'a NodeKey,
    /// The swarm's settings.
    pub config: &'a P2pConfig,
    /// The node's store: served to peers, and where received records go.
    pub index: Arc<Index>,
    /// The node's private modules: never served, announced or put in the feed.
    pub private: PrivatePatterns,
    /// How many records from peers are kept (default: no cap; [`Self::with_record_limits`]).
    pub limits: RecordLimits,
    /// Where gossipsub registers its metrics (default: nowhere; [`Self::with_metrics`]).
    pub metrics: Option<&'a mut Registry>,
    /// Where fork evidence files are written (`None`: kept in the store only).
    pub evidence_dir: Option<PathBuf>,
    /// The logs proved forked, which the pool adds to (shared with the relay).
    pub forked: Arc<ForkedLogs>,
}

impl<'a> PoolSetup<'a> {
    /// A setup from its parts.
    pub fn new(
        identity: &'a NodeKey,
        config: &'a P2pConfig,
        index: Arc<Index>,
        private: PrivatePatterns,
    ) -> PoolSetup<'a> {
        PoolSetup {
            identity,
            config,
            index,
            private,
            limits: RecordLimits::unlimited(),
            metrics: None,
            evidence_dir: None,
            forked: Arc::new(ForkedLogs::default()),
        }
    }

    /// Has gossipsub register its metrics in `registry` (the node's, through
    /// [`Telemetry::gossipsub`](crate::telemetry::Telemetry::gossipsub)).
    pub fn with_metrics(mut self, registry: &'a mut Registry) -> PoolSetup<'a> {
        self.metrics = Some(registry);
        self
    }

    /// Writes fork evidence files into `dir`.
    pub fn with_evidence_dir(mut self, dir: PathBuf) -> PoolSetup<'a> {
        self.evidence_dir = Some(dir);
        self
    }

    /// Adds logs proved forked to `forked` (which the relay refuses).
    pub fn with_forked_logs(mut self, forked: Arc<ForkedLogs>) -> PoolSetup<'a> {
        self.forked = forked;
        self
    }

    /// Caps the records kept from untrusted signers.
    pub fn with_record_limits(mut self, limits: RecordLimits) -> PoolSetup<'a> {
        self.limits = limits;
        self
    }
}

impl Pool {
    /// Starts the swarm, the event handler and the feed sync; logs the PeerId and the listen
    /// addresses. Must be called within a Tokio runtime.
    pub async fn start(mut setup: PoolSetup<'_>) -> Result<Pool, SpawnError> {
        let sources = Arc::new(sources::StoreSources::new(
            Arc::clone(&setup.index),
            setup.private.clone(),
        ));
        let keypair = identity_keypair(setup.identity);
        let mut unkept = Registry::default();
        let registry = setup.metrics.take().unwrap_or(&mut unkept);
        let (handle, events, event_loop) =
            p2p::spawn_with_metrics(&keypair, setup.config, sources.clone(), sources, registry)?;
        let stats = Arc::new(PoolStats::default());
        stats.set_log_forks(setup.forked.len() as u64);
        let heads = Arc::new(HeadWatch::new(
            Arc::clone(&setup.index),
            handle.clone(),
            Arc::clone(&stats),
            setup.evidence_dir.clone(),
            Arc::clone(&setup.forked),
        ));
        let mut tasks = vec![tokio::spawn(event_loop.run())];
        tasks.extend(spawn_node_side(&handle, events, &setup, &stats, &heads));
        log_started(&handle, setup.config.listen.len()).await;
        let inner = Inner {
            handle,
            name: setup.config.pool.clone(),
            stats,
            private: setup.private,
            heads,
            tasks: Mutex::new(tasks),
        };
        Ok(Pool {
            inner: Arc::new(inner),
        })
    }

    /// The pool's name (its protocols and topics are namespaced by it).
    pub fn name(&self) -> &delos_pool_protocol::messages::PoolName {
        &self.inner.name
    }

    /// The swarm's handle: providers, connected peers (with ping times), transfers.
    pub fn handle(&self) -> &PoolHandle {
        &self.inner.handle
    }

    /// The pool's counters.
    pub fn stats(&self) -> &Arc<PoolStats> {
        &self.inner.stats
    }

    /// A snapshot of the swarm, or `None` once it has stopped.
    pub async fn status(&self) -> Option<PoolStatus> {
        self.inner.handle.status().await.ok()
    }

    /// Tells the pool this node holds `module@version`: publishes `record` on the records
    /// topic and provides the version's key in Kademlia. Never for private modules. Failures
    /// (e.g. no peer subscribed yet) are logged and counted, never returned: the fill stands,
    /// and peers still find the record through sync.
    pub async fn announce(&self, record: &SignedRecord, module: &ModulePath, version: &Version) {
        if self.is_private(module) {
            return;
        }
        let handle = &self.inner.handle;
        match record.to_wire() {
            Ok(wire) => match handle.publish(wire).await {
                Ok(_) => self.inner.stats.announced(),
                Err(err) => {
                    self.inner.stats.announce_failed();
                    tracing::debug!(%module, %version, error = %err, "record not published");
                }
            },
            Err(err) => tracing::warn!(%module, %version, error = %err, "record not encodable"),
        }
        if let Err(err) = handle.provide(module, version).await {
            self.inner.stats.announce_failed();
            tracing::debug!(%module, %version, error = %err, "not provided in Kademlia");
        }
    }

    /// Runs `task` beside the pool; it is stopped with the pool.
    pub fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let task = tokio::spawn(task);
        match self.inner.tasks.lock() {
            Ok(mut tasks) => tasks.push(task),
            Err(poisoned) => poisoned.into_inner().push(task),
        }
    }

    /// Publishes the node's own checksum log heads, `verifier`'s, as `heads` changes (and every
    /// [`log_heads::REPUBLISH`]); stops with the pool.
    pub fn publish_log_heads(&self, verifier: String, heads: watch::Receiver<Option<Vec<u8>>>) {
        self.spawn(log_heads::publish_heads(
            self.inner.handle.clone(),
            Arc::clone(&self.inner.heads),
            verifier,
            heads,
        ));
    }

    /// Every gossiped head that becomes the newest kept for its log from now on, `(verifier
    /// key, signed note)`: what mirrors sync to.
    pub fn log_heads(&self) -> tokio::sync::broadcast::Receiver<(String, Vec<u8>)> {
        self.inner.heads.subscribe()
    }

    /// Whether `module` is one of the node's private modules.
    pub fn is_private(&self, module: &ModulePath) -> bool {
        self.inner.private.matches(module.as_str())
    }

    /// Stops the swarm and the pool's tasks; returns once they are gone (and with them their
    /// handles on the store).
    pub async fn shutdown(&self) {
        self.inner.handle.shutdown().await;
        let tasks = match self.inner.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

impl peer_fill::PoolHooks for Pool {
    fn announce(&self, record: VerifiedRecord) {
        let pool = self.clone();
        tokio::spawn(async move {
            let (module, version) = (record.record().module(), record.record().version());
            pool.announce(record.signed(), module, version).await;
        });
    }

    fn bad_peer(&self, _peer: PeerId) {
        // Counted by the peer fill already; the pool keeps no list of bad peers.
    }

    fn bytes_from_peers(&self, _bytes: u64) {
        // Counted by the peer fill already.
    }
}

/// Starts the feed sync and the event handler (which hands identified peers to the sync).
fn spawn_node_side(
    handle: &PoolHandle,
    events: mpsc::Receiver<PoolEvent>,
    setup: &PoolSetup<'_>,
    stats: &Arc<PoolStats>,
    heads: &Arc<HeadWatch>,
) -> [JoinHandle<()>; 2] {
    let limits = Arc::new(setup.limits.clone());
    let syncer = sync::Syncer::new(handle.clone(), Arc::clone(&setup.index), &setup.private)
        .with_record_limits(Arc::clone(&limits));
    let (sync_requests, sync_task) = syncer.spawn(Arc::clone(stats));
    let handler = events::EventHandler::new(
        handle.clone(),
        Arc::clone(&setup.index),
        setup.private.clone(),
        Arc::clone(stats),
        sync_requests,
        Arc::clone(heads),
    )
    .with_record_limits(limits);
    [sync_task, tokio::spawn(handler.run(events))]
}

/// Logs the PeerId and the listen addresses once the listeners have reported them (at most
/// [`LISTEN_WAIT`]).
async fn log_started(handle: &PoolHandle, listeners: usize) {
    let deadline = tokio::time::Instant::now() + LISTEN_WAIT;
    let mut status = handle.status().await.ok();
    while status
        .as_ref()
        .is_some_and(|s| s.listen_addrs.len() < listeners)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = handle.status().await.ok();
    }
    let Some(status) = status else { return };
    let addrs: Vec<String> = status.listen_addrs.iter().map(|a| a.to_string()).collect();
    tracing::info!(
        target: "delos",
        peer_id = %status.peer_id,
        listen = %addrs.join(","),
        kad_server = status.kad_server_mode,
        "pool started"
    );
}
