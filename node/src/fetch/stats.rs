//! [`FetchStats`]: counters of the fill path, for `/metrics` and `/status`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of the fill path's counters. Plain numbers; all counts since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchStats {
    /// `go` processes started (downloads, lists and queries).
    pub go_processes_started: u64,
    /// `go` processes killed because they ran past the timeout.
    pub go_processes_timed_out: u64,
    /// Module versions requested and found in the store.
    pub store_hits: u64,
    /// Fills started (one per module version, however many requests waited for it).
    pub fills_started: u64,
    /// Fills that stored a version (full or `.mod`-only), from peers or from the VCS.
    pub fills_stored: u64,
    /// Of `fills_stored`, those filled from pool peers (verified against trusted hashes).
    pub peer_fills: u64,
    /// Of `fills_stored`, those filled from the VCS.
    pub vcs_fills: u64,
    /// Bytes received from peers by transfers (verified or not).
    pub peer_bytes: u64,
    /// Times a peer sent bytes that did not match the trusted hashes (the bytes were dropped).
    pub peer_mismatches: u64,
    /// Peers not asked now because they sent mismatching bytes recently.
    pub bad_peers: u64,
    /// Time spent by peer fills that stored a version, by phase, in microseconds.
    pub peer_fill_micros: PeerFillMicros,
    /// Fills that failed.
    pub fills_failed: u64,
    /// Fills and VCS queries running now.
    pub fills_in_flight: u64,
    /// `list`, `@latest` and query answers served from the cache (fresh or stale).
    pub list_cache_hits: u64,
    /// `list`, `@latest` and query answers that had to wait for the VCS.
    pub list_cache_misses: u64,
    /// Requests answered from the negative cache.
    pub negative_cache_hits: u64,
}

/// Where the time of successful peer fills went, summed over all of them, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerFillMicros {
    /// Moving the `.mod`, `.info` and zip from the peer (the zip written to disk meanwhile).
    pub transfer: u64,
    /// Validating the zip and recomputing its `h1:` (while its fsync ran).
    pub verify: u64,
    /// Linking the blobs and pinning the entry.
    pub store: u64,
}

/// The live counters behind [`FetchStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) go_processes_started: AtomicU64,
    pub(crate) go_processes_timed_out: AtomicU64,
    pub(crate) store_hits: AtomicU64,
    pub(crate) fills_started: AtomicU64,
    pub(crate) fills_stored: AtomicU64,
    pub(crate) peer_fills: AtomicU64,
    pub(crate) vcs_fills: AtomicU64,
    pub(crate) peer_bytes: AtomicU64,
    pub(crate) peer_mismatches: AtomicU64,
    pub(crate) fills_failed: AtomicU64,
    pub(crate) list_cache_hits: AtomicU64,
    pub(crate) list_cache_misses: AtomicU64,
    pub(crate) negative_cache_hits: AtomicU64,
    peer_transfer_micros: AtomicU64,
    peer_verify_micros: AtomicU64,
    peer_store_micros: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds one successful peer fill's phases to the time counters.
    pub(crate) fn peer_fill_time(&self, transfer: Duration, verify: Duration, store: Duration) {
        for (counter, spent) in [
            (&self.peer_transfer_micros, transfer),
            (&self.peer_verify_micros, verify),
            (&self.peer_store_micros, store),
        ] {
            let micros = u64::try_from(spent.as_micros()).unwrap_or(u64::MAX);
            counter.fetch_add(micros, Ordering::Relaxed);
        }
    }

    /// The current values; `fills_in_flight` comes from the single-flight maps, `bad_peers`
    /// from the bad-peer map.
    pub(crate) fn snapshot(&self, fills_in_flight: u64, bad_peers: u64) -> FetchStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        FetchStats {
            go_processes_started: get(&self.go_processes_started),
            go_processes_timed_out: get(&self.go_processes_timed_out),
            store_hits: get(&self.store_hits),
            fills_started: get(&self.fills_started),
            fills_stored: get(&self.fills_stored),
            peer_fills: get(&self.peer_fills),
            vcs_fills: get(&self.vcs_fills),
            peer_bytes: get(&self.peer_bytes),
            peer_mismatches: get(&self.peer_mismatches),
            bad_peers,
            peer_fill_micros: PeerFillMicros {
                transfer: get(&self.peer_transfer_micros),
                verify: get(&self.peer_verify_micros),
                store: get(&self.peer_store_micros),
            },
            fills_failed: get(&self.fills_failed),
            fills_in_flight,
            list_cache_hits: get(&self.list_cache_hits),
            list_cache_misses: get(&self.list_cache_misses),
            negative_cache_hits: get(&self.negative_cache_hits),
        }
    }
}
