//! What [`Records`](crate::Records) keeps in memory: the writer lock with the feed's last
//! sequence number, the last durable one, and the number of conflicts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::meta::{MetaError, MetaStore};
use crate::schema::{CONFLICTS, FEED, parse_feed_key};

/// The in-memory state of the records, feed and conflicts trees.
#[derive(Debug)]
pub(crate) struct RecordsState {
    /// Held for a whole insert; guards the last sequence number written.
    writer: Mutex<u64>,
    /// The last sequence number known to be flushed: the feed shows nothing after it.
    durable_seq: AtomicU64,
    conflicts: AtomicU64,
}

impl RecordsState {
    /// Reads the feed's last sequence number and counts the evidence.
    pub(crate) fn load(meta: &dyn MetaStore) -> Result<Self, MetaError> {
        let last = meta
            .last(FEED)?
            .and_then(|(key, _)| parse_feed_key(&key))
            .unwrap_or(0);
        let mut conflicts = 0;
        for item in meta.scan_prefix(CONFLICTS, &[])? {
            item?;
            conflicts += 1;
        }
        Ok(Self {
            writer: Mutex::new(last),
            // Whatever the engine holds on open was recovered from disk.
            durable_seq: AtomicU64::new(last),
            conflicts: AtomicU64::new(conflicts),
        })
    }

    /// The writer lock, holding the last sequence number written.
    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, u64> {
        // The guarded number is only ever replaced after a successful commit, so a panic
        // elsewhere cannot leave it wrong; a poisoned lock is still usable.
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes that everything up to `seq` has been flushed.
    pub(crate) fn mark_durable(&self, seq: u64) {
        self.durable_seq.fetch_max(seq, Ordering::AcqRel);
    }

    /// The last sequence number the feed may show.
    pub(crate) fn durable_seq(&self) -> u64 {
        self.durable_seq.load(Ordering::Acquire)
    }

    /// Counts `added` new pieces of evidence.
    pub(crate) fn add_conflicts(&self, added: u64) {
        self.conflicts.fetch_add(added, Ordering::AcqRel);
    }

    /// How many pieces of evidence are stored.
    pub(crate) fn conflict_count(&self) -> u64 {
        self.conflicts.load(Ordering::Acquire)
    }
}
