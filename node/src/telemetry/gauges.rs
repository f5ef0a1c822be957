//! [`Gauges`]: values that are not counted as they happen but read from their source (the
//! single-flight maps, the store, the swarm) right before each report.

use delos_registry_index::Stats;

use super::fetch::FetchStats;
use super::table::{Entry, U64Gauge};

/// The node's gauges, grouped by the section that reports them.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    fills_in_flight: U64Gauge,
    fetch_bad_peers: U64Gauge,
    store_versions: U64Gauge,
    store_full_versions: U64Gauge,
    store_blob_bytes: U64Gauge,
    store_counted: U64Gauge,
    provenance_conflicts: U64Gauge,
    provenance_feed_last_seq: U64Gauge,
    pool_connected_peers: U64Gauge,
    pool_records_known: U64Gauge,
}

impl Gauges {
    /// The fill path's gauges, from its snapshot.
    pub fn set_fetch(&self, stats: &FetchStats) {
        self.fills_in_flight.set(stats.fills_in_flight);
        self.fetch_bad_peers.set(stats.bad_peers);
    }

    /// The store's sizes, and whether its open-time check has counted every version yet
    /// (until then the sizes count only what it has reached and what was stored since).
    pub fn set_store(&self, stats: &Stats, counted: bool) {
        self.store_versions.set(stats.versions);
        self.store_full_versions.set(stats.full_versions);
        self.store_blob_bytes.set(stats.blob_bytes);
        self.store_counted.set(u64::from(counted));
    }

    /// The provenance store's conflict count and the local feed's last sequence number.
    pub fn set_provenance(&self, conflicts: u64, feed_last_seq: u64) {
        self.provenance_conflicts.set(conflicts);
        self.provenance_feed_last_seq.set(feed_last_seq);
    }

    /// The pool's peers connected now and the signed records stored.
    pub fn set_pool(&self, connected_peers: u64, records_known: u64) {
        self.pool_connected_peers.set(connected_peers);
        self.pool_records_known.set(records_known);
    }

    pub(crate) fn fetch_table(&self) -> Vec<Entry> {
        vec![
            Entry::gauge(
                "fills_in_flight",
                "Fills and VCS queries running now",
                &self.fills_in_flight,
            ),
            Entry::gauge(
                "bad_peers",
                "Peers not asked now because they sent mismatching bytes recently",
                &self.fetch_bad_peers,
            ),
        ]
    }

    pub(crate) fn store_table(&self) -> Vec<Entry> {
        vec![
            Entry::gauge("versions", "Module versions stored", &self.store_versions),
            Entry::gauge(
                "full_versions",
                "Module versions stored with their zip",
                &self.store_full_versions,
            ),
            Entry::gauge(
                "blob_bytes",
                "Bytes of go.mod and zip blobs referenced by stored versions",
                &self.store_blob_bytes,
            ),
            Entry::gauge(
                "counted",
                "1 once the check run at start-up has counted every stored version (0: the sizes are partial)",
                &self.store_counted,
            ),
        ]
    }

    pub(crate) fn provenance_table(&self) -> Vec<Entry> {
        vec![
            Entry::gauge(
                "conflicts",
                "Conflict evidence kept: signed records that disagree with the pinned hashes \
                 or with their signer's earlier record",
                &self.provenance_conflicts,
            ),
            Entry::gauge(
                "feed_last_seq",
                "Sequence number of the newest record in the local feed",
                &self.provenance_feed_last_seq,
            ),
        ]
    }

    pub(crate) fn pool_table(&self) -> Vec<Entry> {
        vec![
            Entry::gauge(
                "connected_peers",
                "Pool peers connected now",
                &self.pool_connected_peers,
            ),
            Entry::gauge(
                "records_known",
                "Signed records stored, of every signer",
                &self.pool_records_known,
            ),
        ]
    }
}
