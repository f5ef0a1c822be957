//! The node's telemetry: every metric registered once in one prometheus-client [`Registry`],
//! and `/metrics` and `/status` both read from it.
//!
//! Owners count with typed handles ([`HttpMetrics`], [`FetchCounters`], [`PoolStats`]; a
//! handle is an `Arc` around atomics, so a clone counts into the same series); values that
//! are read rather than counted are [`Gauges`], set from their source before each report.
//! Each section (`http`, `fetch`, `store`, `provenance`, `sumdb`, `pool`) is one table that names each
//! metric once: the table registers it as `delos_<section>_<name>` (counters with `_total`)
//! and reports it in `/status` as `<section>.<name>`. Labels are bounded enums
//! ([`label::BoundedLabel`]), never a module path or a peer. Gossipsub registers its own
//! metrics in the same registry (`delos_gossipsub_*`) when the pool starts; `/status` sums
//! its message counters ([`GossipSummary`]).
//!
//! `/metrics` is prometheus-client's rendering, as OpenMetrics or as Prometheus text 0.0.4
//! ([`exposition`]).

pub mod checksum_db;
pub mod exposition;
pub mod fetch;
mod gauges;
pub mod gossip;
pub mod http;
pub mod label;
pub mod pool;
pub mod sumdb;
mod table;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::registry::Registry;
use serde_json::{Map, Value};

pub use checksum_db::ChecksumDbStats;
pub use exposition::Format;
pub use fetch::{FetchCounters, FetchStats, FillSource, PeerFillMicros, PeerFillPhase};
pub use gauges::Gauges;
pub use gossip::GossipSummary;
pub use http::{HttpMetrics, RequestKind};
pub use pool::{FillRefusal, PoolStats, PoolStatsSnapshot};
pub use sumdb::SumdbStats;

use table::{Entry, register_all, report_all};

/// The prefix of every metric name.
pub const PREFIX: &str = "delos";

/// The node's registry and the tables that report from it. Read-only once built.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    http: HttpMetrics,
    sumdb: SumdbStats,
    checksum_db: ChecksumDbStats,
    gauges: Gauges,
    sections: Vec<(&'static str, Vec<Entry>)>,
    pool: Option<Vec<Entry>>,
}

impl Telemetry {
    /// An empty registry with the node's prefix, for [`Telemetry::gossipsub`] and then
    /// [`Telemetry::new`].
    pub fn registry() -> Registry {
        Registry::with_prefix(PREFIX)
    }

    /// The part of `registry` where gossipsub registers its metrics (`delos_gossipsub_*`).
    pub fn gossipsub(registry: &mut Registry) -> &mut Registry {
        registry.sub_registry_with_prefix("gossipsub")
    }

    /// Registers the node's metrics in `registry`: HTTP, the fill path's `fetch` counters,
    /// the store and provenance gauges, and with `pool` the pool's counters (and the fill
    /// path's counts of its peers).
    pub fn new(
        mut registry: Registry,
        fetch: &FetchCounters,
        pool: Option<&PoolStats>,
    ) -> Telemetry {
        let http = HttpMetrics::default();
        let sumdb = SumdbStats::default();
        let checksum_db = ChecksumDbStats::default();
        let gauges = Gauges::default();
        let mut fetch_table = fetch.table();
        fetch_table.extend(gauges.fetch_table());
        let sections = vec![
            ("http", http.table()),
            ("fetch", fetch_table),
            ("store", gauges.store_table()),
            ("provenance", gauges.provenance_table()),
            ("sumdb", sumdb.table()),
            ("checksum_db", checksum_db.table()),
        ];
        let pool = pool.map(|stats| {
            let mut table = gauges.pool_table();
            table.extend(stats.table());
            table.extend(fetch.peer_table());
            table
        });
        for (name, table) in &sections {
            register_all(table, registry.sub_registry_with_prefix(name));
        }
        if let Some(table) = &pool {
            register_all(table, registry.sub_registry_with_prefix("pool"));
        }
        Telemetry {
            registry,
            http,
            sumdb,
            checksum_db,
            gauges,
            sections,
            pool,
        }
    }

    /// What the HTTP layer counts with.
    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    /// What the checksum-database relay counts with.
    pub fn sumdb(&self) -> &SumdbStats {
        &self.sumdb
    }

    /// What the node's own checksum database counts with.
    pub fn checksum_db(&self) -> &ChecksumDbStats {
        &self.checksum_db
    }

    /// The gauges, to set before a report.
    pub fn gauges(&self) -> &Gauges {
        &self.gauges
    }

    /// Every metric in `format`.
    pub fn render(&self, format: Format) -> String {
        let mut text = String::new();
        let encoded =
            encode_registry(&mut text, &self.registry).and_then(|()| encode_eof(&mut text));
        if let Err(err) = encoded {
            tracing::warn!(error = %err, "encoding the metrics failed");
        }
        match format {
            Format::OpenMetrics => text,
            Format::Prometheus => exposition::prometheus_text(&text),
        }
    }

    /// Every section but the pool's as `/status` objects, by section name.
    pub fn status(&self) -> Map<String, Value> {
        let section = |(name, table): &(&'static str, Vec<Entry>)| {
            ((*name).to_owned(), Value::Object(report_all(table)))
        };
        self.sections.iter().map(section).collect()
    }

    /// The pool section's counters and gauges, with gossipsub's message counters summed as
    /// `gossip_messages_published`, `_sent`, `_received` and `gossip_duplicates_received`;
    /// `None` for a node without a pool.
    pub fn pool_status(&self) -> Option<Map<String, Value>> {
        let mut status = report_all(self.pool.as_ref()?);
        let gossip = GossipSummary::read(&self.registry);
        for (name, value) in [
            ("gossip_messages_published", gossip.published),
            ("gossip_messages_sent", gossip.sent),
            ("gossip_messages_received", gossip.received),
            ("gossip_duplicates_received", gossip.duplicates),
        ] {
            status.insert(name.to_owned(), value.into());
        }
        Some(status)
    }
}

#[cfg(test)]
mod tests;
