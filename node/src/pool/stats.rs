//! `PoolStats`: the pool's counters, shared by the event handler, the sync task and the
//! peer-fill path, read by `/status` and `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// The pool's counters (all only ever grow). Cheap to share in an `Arc`.
#[derive(Debug, Default)]
pub struct PoolStats {
    records_received: AtomicU64,
    records_new: AtomicU64,
    records_rejected: AtomicU64,
    records_over_cap: AtomicU64,
    records_synced: AtomicU64,
    sync_failures: AtomicU64,
    records_announced: AtomicU64,
    announce_failures: AtomicU64,
    bad_peers: AtomicU64,
    bytes_from_peers: AtomicU64,
}

/// A copy of [`PoolStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatsSnapshot {
    /// Gossiped records that decoded and verified.
    pub records_received: u64,
    /// Of those and of synced records, how many took a slot in the store (new to this node).
    pub records_new: u64,
    /// Gossiped records rejected (oversized, malformed, forged); their senders were penalised.
    pub records_rejected: u64,
    /// Valid records (gossiped or synced) not stored because their untrusted signer, or the
    /// store, is at its cap (`max_records_per_signer`, `max_records`); gossiped ones are
    /// ignored, not forwarded, their sender not penalised.
    pub records_over_cap: u64,
    /// Records pulled from peers' feeds by sync.
    pub records_synced: u64,
    /// Sync pages that failed (unreachable peer, bad page, timeout).
    pub sync_failures: u64,
    /// The node's own records published on the pool's topic.
    pub records_announced: u64,
    /// Announcements that failed (no peer subscribed yet, provider store full).
    pub announce_failures: u64,
    /// Times a peer sent bytes that did not match the hashes it was asked for.
    pub bad_peers: u64,
    /// Bytes received from peers by transfers.
    pub bytes_from_peers: u64,
}

impl PoolStats {
    /// Counts a peer caught sending bytes that do not match (by the peer-fill path).
    pub fn record_bad_peer(&self) {
        bump(&self.bad_peers, 1);
    }

    /// Counts `bytes` received from peers by a transfer (by the peer-fill path).
    pub fn add_bytes_from_peers(&self, bytes: u64) {
        bump(&self.bytes_from_peers, bytes);
    }

    /// The counters now.
    pub fn snapshot(&self) -> PoolStatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PoolStatsSnapshot {
            records_received: get(&self.records_received),
            records_new: get(&self.records_new),
            records_rejected: get(&self.records_rejected),
            records_over_cap: get(&self.records_over_cap),
            records_synced: get(&self.records_synced),
            sync_failures: get(&self.sync_failures),
            records_announced: get(&self.records_announced),
            announce_failures: get(&self.announce_failures),
            bad_peers: get(&self.bad_peers),
            bytes_from_peers: get(&self.bytes_from_peers),
        }
    }

    pub(crate) fn received(&self) {
        bump(&self.records_received, 1);
    }

    pub(crate) fn new_record(&self) {
        bump(&self.records_new, 1);
    }

    pub(crate) fn rejected(&self) {
        bump(&self.records_rejected, 1);
    }

    pub(crate) fn over_cap(&self) {
        bump(&self.records_over_cap, 1);
    }

    pub(crate) fn synced(&self, records: u64) {
        bump(&self.records_synced, records);
    }

    pub(crate) fn sync_failed(&self) {
        bump(&self.sync_failures, 1);
    }

    pub(crate) fn announced(&self) {
        bump(&self.records_announced, 1);
    }

    pub(crate) fn announce_failed(&self) {
        bump(&self.announce_failures, 1);
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_in_the_snapshot() {
        let stats = PoolStats::default();
        stats.record_bad_peer();
        stats.add_bytes_from_peers(10);
        stats.add_bytes_from_peers(5);
        stats.rejected();
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.bad_peers, 1);
        assert_eq!(snapshot.bytes_from_peers, 15);
        assert_eq!(snapshot.records_rejected, 1);
        assert_eq!(snapshot.records_received, 0);
    }
}
