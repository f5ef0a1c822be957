//! `EventHandler`: what the node does with the pool's events. A gossiped record (already
//! decoded and verified by the p2p layer) is stored first — a conflict is evidence to keep —
//! and only then answered: `Accept` (forward it) when it was new to this node, `Ignore` when
//! it was known. Rejections were decided by the p2p layer; they are only counted here. A peer
//! that identifies itself is handed to the feed sync.

use std::sync::Arc;

use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_registry_index::{Index, RecordChange, RecordError, RecordStored};
use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use tokio::sync::{Semaphore, mpsc};

use super::log_heads::HeadWatch;
use super::{PoolStats, RecordLimits};
use crate::p2p::{PoolEvent, PoolHandle};
use crate::provenance::{sharing_of, warn_conflicts};

/// Received records stored at once: each insert waits for its flush, and concurrent flushes
/// share the disk's sync, so a burst of gossip is not stored one fsync at a time.
const CONCURRENT_INSERTS: usize = 16;

/// Handles [`PoolEvent`]s until the p2p layer stops.
#[derive(Debug, Clone)]
pub struct EventHandler {
    handle: PoolHandle,
    index: Arc<Index>,
    private: PrivatePatterns,
    stats: Arc<PoolStats>,
    sync_requests: mpsc::Sender<PeerId>,
    limits: Arc<RecordLimits>,
    heads: Arc<HeadWatch>,
}

impl EventHandler {
    /// A handler storing into `index`, asking `sync_requests` to sync identified peers.
    pub fn new(
        handle: PoolHandle,
        index: Arc<Index>,
        private: PrivatePatterns,
        stats: Arc<PoolStats>,
        sync_requests: mpsc::Sender<PeerId>,
        heads: Arc<HeadWatch>,
    ) -> EventHandler {
        EventHandler {
            handle,
            index,
            private,
            stats,
            sync_requests,
            limits: Arc::new(RecordLimits::unlimited()),
            heads,
        }
    }

    /// Caps the records kept from untrusted signers (records over the cap are ignored: not
    /// forwarded, their sender not penalised).
    pub fn with_record_limits(mut self, limits: Arc<RecordLimits>) -> EventHandler {
        self.limits = limits;
        self
    }

    /// Handles events until the channel closes; records are stored by at most
    /// 16 tasks at once.
    pub async fn run(self, mut events: mpsc::Receiver<PoolEvent>) {
        let inserts = Arc::new(Semaphore::new(CONCURRENT_INSERTS));
        while let Some(event) = events.recv().await {
            match event {
                PoolEvent::RecordReceived {
                    message_id,
                    propagation_source,
                    record,
                    ..
                } => {
                    let Ok(permit) = Arc::clone(&inserts).acquire_owned().await else {
                        return;
                    };
                    let this = self.clone();
                    tokio::spawn(async move {
                        this.on_record(message_id, propagation_source, *record)
                            .await;
                        drop(permit);
                    });
                }
                PoolEvent::RecordRejected { source, reason } => {
                    self.stats.rejected();
                    tracing::info!(peer = %source, %reason, "rejected a gossiped record");
                }
                PoolEvent::HeadReceived {
                    message_id,
                    propagation_source,
                    gossip,
                } => {
                    let Ok(permit) = Arc::clone(&inserts).acquire_owned().await else {
                        return;
                    };
                    let heads = Arc::clone(&self.heads);
                    tokio::spawn(async move {
                        heads
                            .on_gossip(message_id, propagation_source, *gossip)
                            .await;
                        drop(permit);
                    });
                }
                PoolEvent::HeadRejected { source, reason } => {
                    self.stats.head_rejected();
                    tracing::info!(peer = %source, %reason, "rejected gossiped head");
                }
                PoolEvent::PeerIdentified { peer_id } => {
                    // Full queue: a sync is due anyway; the periodic round catches up.
                    let _ = self.sync_requests.try_send(peer_id);
                }
                PoolEvent::PeerDisconnected { peer_id } => {
                    tracing::debug!(peer = %peer_id, "pool peer disconnected");
                }
            }
        }
    }

    /// Stores a received record, then tells gossipsub whether to forward it.
    async fn on_record(&self, message_id: MessageId, source: PeerId, record: VerifiedRecord) {
        self.stats.received();
        let stored = store_record(&self.index, &self.private, &self.limits, record).await;
        let acceptance = match stored {
            Some(stored) if is_new(&stored) => {
                self.stats.new_record();
                MessageAcceptance::Accept
            }
            Some(stored) if stored.change == RecordChange::OverCap => {
                self.stats.over_cap();
                MessageAcceptance::Ignore
            }
            _ => MessageAcceptance::Ignore,
        };
        if let Err(err) = self
            .handle
            .report_validation(message_id, source, acceptance)
            .await
        {
            tracing::debug!(error = %err, "validation result not delivered");
        }
    }
}

/// Whether an insert added something to this node (a new slot, an upgrade, or new evidence):
/// such a record is worth forwarding and counting.
pub(crate) fn is_new(stored: &RecordStored) -> bool {
    matches!(
        stored.change,
        RecordChange::Inserted | RecordChange::Upgraded
    ) || !stored.new_conflicts.is_empty()
}

/// Stores a verified record from a peer (shared through the feed unless its module is
/// private) within `limits`, logs new conflicts; `None` when the store failed (logged).
pub(crate) async fn store_record(
    index: &Arc<Index>,
    private: &PrivatePatterns,
    limits: &RecordLimits,
    record: VerifiedRecord,
) -> Option<RecordStored> {
    let sharing = sharing_of(private, record.record().module());
    let cap = limits.cap_for(&record.signer());
    let index = Arc::clone(index);
    let inserted = tokio::task::spawn_blocking(move || -> Result<RecordStored, RecordError> {
        index.records().insert_capped(&record, sharing, cap)
    })
    .await;
    match inserted {
        Ok(Ok(stored)) => {
            warn_conflicts(&stored.new_conflicts);
            Some(stored)
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "could not store a record from the pool");
            None
        }
        Err(err) => {
            tracing::warn!(error = %err, "storing a record from the pool failed");
            None
        }
    }
}
