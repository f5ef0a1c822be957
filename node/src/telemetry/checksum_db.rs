//! [`ChecksumDbStats`]: what the node's own checksum database counts (`delos_checksum_db_*`).

use prometheus_client::metrics::counter::Counter;

use super::table::{Entry, U64Gauge};

/// The own database's counters and gauges. A clone counts into the same series.
#[derive(Debug, Clone, Default)]
pub struct ChecksumDbStats {
    appended: Counter,
    size: U64Gauge,
    public_conflicts: U64Gauge,
    public_unchecked: U64Gauge,
}

impl ChecksumDbStats {
    pub(crate) fn appended(&self, records: u64) {
        self.appended.inc_by(records);
    }

    pub(crate) fn set_size(&self, size: u64) {
        self.size.set(size);
    }

    pub(crate) fn set_public_conflicts(&self, conflicts: u64) {
        self.public_conflicts.set(conflicts);
    }

    pub(crate) fn set_public_unchecked(&self, unchecked: u64) {
        self.public_unchecked.set(unchecked);
    }

    /// The `checksum_db` section's entries.
    pub(crate) fn table(&self) -> Vec<Entry> {
        vec![
            Entry::counter(
                "appended",
                "Records appended to the node's own checksum database by this process",
                &self.appended,
            ),
            Entry::gauge(
                "size",
                "Records in the node's own checksum database",
                &self.size,
            ),
            Entry::gauge(
                "public_conflicts",
                "Pinned versions kept out of the log because the public checksum database \
                 records other hashes for them",
                &self.public_conflicts,
            ),
            Entry::gauge(
                "public_unchecked",
                "Pinned public versions waiting out of the log until the public checksum \
                 database confirms their hashes",
                &self.public_unchecked,
            ),
        ]
    }
}
