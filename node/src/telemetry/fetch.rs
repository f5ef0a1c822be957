//! [`FetchCounters`]: what the fill path counts (`delos_fetch_*`), and [`FetchStats`], the
//! same values at one moment.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;

use super::label::{BoundedLabel, ByLabel, Label, by_label};
use super::table::{Entry, F64Counter};

/// Where a fill got the version it stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FillSource {
    /// Pool peers, verified against hashes the trust policy accepts.
    Peer,
    /// The VCS, through `go mod download`.
    Vcs,
    /// An upstream proxy, over HTTP (no `go` process).
    Upstream,
}

impl BoundedLabel for FillSource {
    const NAME: &'static str = "source";
    const ALL: &'static [Self] = &[Self::Peer, Self::Vcs, Self::Upstream];

    fn as_str(self) -> &'static str {
        match self {
            Self::Peer => "peer",
            Self::Vcs => "vcs",
            Self::Upstream => "upstream",
        }
    }
}

/// A phase of a successful peer fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerFillPhase {
    /// Moving the `.mod`, `.info` and zip from the peer (the zip written to disk meanwhile).
    Transfer,
    /// Validating the zip and recomputing its `h1:` (while its fsync ran).
    Verify,
    /// Linking the blobs and pinning the entry.
    Store,
}

impl BoundedLabel for PeerFillPhase {
    const NAME: &'static str = "phase";
    const ALL: &'static [Self] = &[Self::Transfer, Self::Verify, Self::Store];

    fn as_str(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::Verify => "verify",
            Self::Store => "store",
        }
    }
}

/// The fill path's counters. Every handle is shared: clones count into the same series.
#[derive(Debug)]
pub struct FetchCounters {
    pub(crate) go_processes_started: Counter,
    pub(crate) go_processes_timed_out: Counter,
    pub(crate) store_hits: Counter,
    pub(crate) fills_started: Counter,
    pub(crate) fills: ByLabel<FillSource>,
    pub(crate) fills_failed: Counter,
    pub(crate) peer_bytes: Counter,
    pub(crate) peer_mismatches: Counter,
    pub(crate) peer_fill_seconds: ByLabel<PeerFillPhase, F64Counter>,
    pub(crate) list_cache_hits: Counter,
    pub(crate) list_cache_misses: Counter,
    pub(crate) negative_cache_hits: Counter,
    pub(crate) upstream_mismatches: Counter,
}

impl Default for FetchCounters {
    fn default() -> FetchCounters {
        FetchCounters {
            go_processes_started: Counter::default(),
            go_processes_timed_out: Counter::default(),
            store_hits: Counter::default(),
            fills_started: Counter::default(),
            fills: by_label(),
            fills_failed: Counter::default(),
            peer_bytes: Counter::default(),
            peer_mismatches: Counter::default(),
            peer_fill_seconds: by_label(),
            list_cache_hits: Counter::default(),
            list_cache_misses: Counter::default(),
            negative_cache_hits: Counter::default(),
            upstream_mismatches: Counter::default(),
        }
    }
}

impl FetchCounters {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &Counter) {
        counter.inc();
    }

    /// Counts a fill that stored a version from `source`.
    pub(crate) fn filled(&self, source: FillSource) {
        self.fills.get_or_create(&Label(source)).inc();
    }

    /// Adds one successful peer fill's phases to the time counters.
    pub(crate) fn peer_fill_time(&self, transfer: Duration, verify: Duration, store: Duration) {
        for (phase, spent) in [
            (PeerFillPhase::Transfer, transfer),
            (PeerFillPhase::Verify, verify),
            (PeerFillPhase::Store, store),
        ] {
            let counter = self.peer_fill_seconds.get_or_create(&Label(phase));
            counter.inc_by(spent.as_secs_f64());
        }
    }

    /// The `fetch` section's counters. Bytes from peers and mismatching peers are the pool's
    /// to report ([`Self::peer_table`]).
    pub(crate) fn table(&self) -> Vec<Entry> {
        vec![
            Entry::counter(
                "go_processes_started",
                "go processes started",
                &self.go_processes_started,
            ),
            Entry::counter(
                "go_processes_timed_out",
                "go processes killed at the timeout",
                &self.go_processes_timed_out,
            ),
            Entry::counter(
                "store_hits",
                "Versions requested and found in the store",
                &self.store_hits,
            ),
            Entry::counter(
                "fills_started",
                "Fills started (one per version)",
                &self.fills_started,
            ),
            Entry::labelled(
                "fills",
                "Fills that stored a version, by source",
                &self.fills,
            ),
            Entry::counter("fills_failed", "Fills that failed", &self.fills_failed),
            Entry::labelled(
                "peer_fill_seconds",
                "Time of successful peer fills by phase: transfer (the files moved and the zip \
                 written), verify (zip rules and h1, while it is fsynced), store (link, pin)",
                &self.peer_fill_seconds,
            ),
            Entry::counter(
                "list_cache_hits",
                "list/@latest/query answers from the cache",
                &self.list_cache_hits,
            ),
            Entry::counter(
                "list_cache_misses",
                "list/@latest/query answers that waited for the VCS",
                &self.list_cache_misses,
            ),
            Entry::counter(
                "negative_cache_hits",
                "Answers from the negative cache",
                &self.negative_cache_hits,
            ),
            Entry::counter(
                "upstream_mismatches",
                "Upstream proxy answers refused by a check (checksum database, zip rules, .mod)",
                &self.upstream_mismatches,
            ),
        ]
    }

    /// What the fill path counts of its peers, reported in the `pool` section.
    pub(crate) fn peer_table(&self) -> Vec<Entry> {
        vec![
            Entry::counter(
                "bad_peers",
                "Times a peer sent bytes that did not match the trusted hashes",
                &self.peer_mismatches,
            ),
            Entry::counter(
                "bytes_from_peers",
                "Bytes received from peers by transfers",
                &self.peer_bytes,
            ),
        ]
    }

    /// The current values; `fills_in_flight` comes from the single-flight maps, `bad_peers`
    /// from the bad-peer map.
    pub(crate) fn snapshot(&self, fills_in_flight: u64, bad_peers: u64) -> FetchStats {
        let fills = |source| self.fills.get_or_create(&Label(source)).get();
        let micros = |phase| {
            let seconds = self.peer_fill_seconds.get_or_create(&Label(phase)).get();
            (seconds * 1e6).round() as u64
        };
        let (peer_fills, vcs_fills) = (fills(FillSource::Peer), fills(FillSource::Vcs));
        let upstream_fills = fills(FillSource::Upstream);
        FetchStats {
            go_processes_started: self.go_processes_started.get(),
            go_processes_timed_out: self.go_processes_timed_out.get(),
            store_hits: self.store_hits.get(),
            fills_started: self.fills_started.get(),
            fills_stored: peer_fills + vcs_fills + upstream_fills,
            peer_fills,
            vcs_fills,
            upstream_fills,
            peer_bytes: self.peer_bytes.get(),
            peer_mismatches: self.peer_mismatches.get(),
            bad_peers,
            peer_fill_micros: PeerFillMicros {
                transfer: micros(PeerFillPhase::Transfer),
                verify: micros(PeerFillPhase::Verify),
                store: micros(PeerFillPhase::Store),
            },
            fills_failed: self.fills_failed.get(),
            fills_in_flight,
            list_cache_hits: self.list_cache_hits.get(),
            list_cache_misses: self.list_cache_misses.get(),
            negative_cache_hits: self.negative_cache_hits.get(),
            upstream_mismatches: self.upstream_mismatches.get(),
        }
    }
}

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
    /// Fills that stored a version (full or `.mod`-only): `peer_fills + vcs_fills +
    /// upstream_fills`.
    pub fills_stored: u64,
    /// Of `fills_stored`, those filled from pool peers (verified against trusted hashes).
    pub peer_fills: u64,
    /// Of `fills_stored`, those filled from the VCS.
    pub vcs_fills: u64,
    /// Of `fills_stored`, those filled from an upstream proxy over HTTP.
    pub upstream_fills: u64,
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
    /// Upstream proxy answers refused by a check (nothing pinned).
    pub upstream_mismatches: u64,
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
