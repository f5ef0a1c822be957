//! [`SumdbStats`]: what the checksum-database relay counts (`delos_sumdb_*`).

use prometheus_client::metrics::counter::Counter;

use super::table::{Entry, U64Gauge};

/// The relay's counters and its fork gauge. A clone counts into the same series.
#[derive(Debug, Clone, Default)]
pub struct SumdbStats {
    served: Counter,
    cache_hits: Counter,
    stale_served: Counter,
    upstream_requests: Counter,
    upstream_failures: Counter,
    refused: Counter,
    private_refused: Counter,
    forks: U64Gauge,
}

impl SumdbStats {
    pub(crate) fn served(&self) {
        self.served.inc();
    }

    pub(crate) fn cache_hit(&self) {
        self.cache_hits.inc();
    }

    pub(crate) fn stale_served(&self) {
        self.stale_served.inc();
    }

    pub(crate) fn upstream_request(&self) {
        self.upstream_requests.inc();
    }

    pub(crate) fn upstream_failure(&self) {
        self.upstream_failures.inc();
    }

    pub(crate) fn refused(&self) {
        self.refused.inc();
    }

    pub(crate) fn private_refused(&self) {
        self.private_refused.inc();
    }

    pub(crate) fn fork_found(&self) {
        self.forks.inc();
    }

    pub(crate) fn set_forks(&self, forks: u64) {
        self.forks.set(forks);
    }

    /// The `sumdb` section's entries.
    pub(crate) fn table(&self) -> Vec<Entry> {
        vec![
            Entry::counter("served", "Relay answers with content", &self.served),
            Entry::counter(
                "cache_hits",
                "Answers from the relay's memory or store, without asking the database",
                &self.cache_hits,
            ),
            Entry::counter(
                "stale_served",
                "Answers served stale because the database was unreachable",
                &self.stale_served,
            ),
            Entry::counter(
                "upstream_requests",
                "Requests sent to checksum databases or proxies",
                &self.upstream_requests,
            ),
            Entry::counter(
                "upstream_failures",
                "Upstream requests that failed (not counting 404/410)",
                &self.upstream_failures,
            ),
            Entry::counter(
                "refused",
                "Heads, lookups and tiles that failed verification: neither served nor cached",
                &self.refused,
            ),
            Entry::counter(
                "private_refused",
                "Lookups of private modules refused before reaching a database",
                &self.private_refused,
            ),
            Entry::gauge(
                "forks",
                "Pairs of signed heads kept as evidence of a forked checksum database",
                &self.forks,
            ),
        ]
    }
}
