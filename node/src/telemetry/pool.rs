//! [`PoolStats`]: what the pool counts (`delos_pool_*`), shared by the event handler and the
//! sync task.

use prometheus_client::metrics::counter::Counter;

use super::table::{Entry, U64Gauge};

/// The pool's counters and its log-fork gauge. Cheap to share in an `Arc`.
#[derive(Debug, Default)]
pub struct PoolStats {
    records_received: Counter,
    records_new: Counter,
    records_rejected: Counter,
    records_over_cap: Counter,
    records_synced: Counter,
    records_synced_held: Counter,
    sync_failures: Counter,
    records_announced: Counter,
    announce_failures: Counter,
    log_heads_received: Counter,
    log_heads_rejected: Counter,
    log_forks: U64Gauge,
    fill_requests_answered: Counter,
    fill_requests_refused_untrusted: Counter,
    fill_requests_refused_private: Counter,
    fill_requests_refused_rate: Counter,
    fill_requests_refused_busy: Counter,
}

/// Why this node turned a member's fill request away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillRefusal {
    /// The asker is not a `--trusted-signer` (or the node does not fill for peers).
    Untrusted,
    /// The module is private to this node.
    Private,
    /// The asker is over its rate.
    Rate,
    /// Too many requests were being answered.
    Busy,
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
    /// Of those, records this node already held byte for byte: not verified again (their
    /// stored copy was verified when stored), not stored again.
    pub records_synced_held: u64,
    /// Sync pages that failed (unreachable peer, bad page, timeout).
    pub sync_failures: u64,
    /// The node's own records published on the pool's topic.
    pub records_announced: u64,
    /// Announcements that failed (no peer subscribed yet, provider store full).
    pub announce_failures: u64,
}

impl PoolStats {
    /// The counters now.
    pub fn snapshot(&self) -> PoolStatsSnapshot {
        PoolStatsSnapshot {
            records_received: self.records_received.get(),
            records_new: self.records_new.get(),
            records_rejected: self.records_rejected.get(),
            records_over_cap: self.records_over_cap.get(),
            records_synced: self.records_synced.get(),
            records_synced_held: self.records_synced_held.get(),
            sync_failures: self.sync_failures.get(),
            records_announced: self.records_announced.get(),
            announce_failures: self.announce_failures.get(),
        }
    }

    pub(crate) fn received(&self) {
        self.records_received.inc();
    }

    pub(crate) fn new_record(&self) {
        self.records_new.inc();
    }

    pub(crate) fn head_received(&self) {
        self.log_heads_received.inc();
    }

    pub(crate) fn head_rejected(&self) {
        self.log_heads_rejected.inc();
    }

    pub(crate) fn set_log_forks(&self, forks: u64) {
        self.log_forks.set(forks);
    }

    /// A member's fill request was answered (filled, listed, resolved or "not found").
    pub(crate) fn fill_request_answered(&self) {
        self.fill_requests_answered.inc();
    }

    /// A member's fill request was turned away, for `why`.
    pub(crate) fn fill_request_refused(&self, why: FillRefusal) {
        match why {
            FillRefusal::Untrusted => self.fill_requests_refused_untrusted.inc(),
            FillRefusal::Private => self.fill_requests_refused_private.inc(),
            FillRefusal::Rate => self.fill_requests_refused_rate.inc(),
            FillRefusal::Busy => self.fill_requests_refused_busy.inc(),
        };
    }

    pub(crate) fn rejected(&self) {
        self.records_rejected.inc();
    }

    pub(crate) fn over_cap(&self) {
        self.records_over_cap.inc();
    }

    pub(crate) fn synced(&self, records: u64) {
        self.records_synced.inc_by(records);
    }

    pub(crate) fn synced_held(&self, records: u64) {
        self.records_synced_held.inc_by(records);
    }

    pub(crate) fn sync_failed(&self) {
        self.sync_failures.inc();
    }

    pub(crate) fn announced(&self) {
        self.records_announced.inc();
    }

    pub(crate) fn announce_failed(&self) {
        self.announce_failures.inc();
    }

    /// The `pool` section's counters.
    pub(crate) fn table(&self) -> Vec<Entry> {
        vec![
            Entry::counter(
                "log_heads_received",
                "Gossiped checksum-log heads and fork proofs that decoded",
                &self.log_heads_received,
            ),
            Entry::counter(
                "log_heads_rejected",
                "Gossiped head messages rejected before decoding (oversized, malformed)",
                &self.log_heads_rejected,
            ),
            Entry::gauge(
                "log_forks",
                "Checksum logs proved forked (two heads one key signed that cannot both be true)",
                &self.log_forks,
            ),
            Entry::counter(
                "fill_requests_answered",
                "Members' requests to fill a version or answer a query that this node served",
                &self.fill_requests_answered,
            ),
            Entry::counter(
                "fill_requests_refused_untrusted",
                "Fill requests refused without work: the asker is not trusted",
                &self.fill_requests_refused_untrusted,
            ),
            Entry::counter(
                "fill_requests_refused_private",
                "Fill requests refused without work: the module is private to this node",
                &self.fill_requests_refused_private,
            ),
            Entry::counter(
                "fill_requests_refused_rate",
                "Fill requests refused without work: the asker is over its rate",
                &self.fill_requests_refused_rate,
            ),
            Entry::counter(
                "fill_requests_refused_busy",
                "Fill requests refused without work: too many were being answered",
                &self.fill_requests_refused_busy,
            ),
            Entry::counter(
                "records_received",
                "Gossiped records that verified",
                &self.records_received,
            ),
            Entry::counter(
                "records_new",
                "Received or synced records new to this node",
                &self.records_new,
            ),
            Entry::counter(
                "records_rejected",
                "Gossiped records rejected (oversized, malformed, forged)",
                &self.records_rejected,
            ),
            Entry::counter(
                "records_over_cap",
                "Valid records not stored: their untrusted signer or the store is at its cap",
                &self.records_over_cap,
            ),
            Entry::counter(
                "records_synced",
                "Records pulled from peers' feeds",
                &self.records_synced,
            ),
            Entry::counter(
                "records_synced_held",
                "Synced records already held byte for byte (not verified or stored again)",
                &self.records_synced_held,
            ),
            Entry::counter(
                "sync_failures",
                "Feed sync pages that failed",
                &self.sync_failures,
            ),
            Entry::counter(
                "records_announced",
                "Own records published on the pool's topic",
                &self.records_announced,
            ),
            Entry::counter(
                "announce_failures",
                "Publications or Kademlia provides that failed",
                &self.announce_failures,
            ),
        ]
    }
}
