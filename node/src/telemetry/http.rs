//! [`HttpMetrics`]: what the HTTP layer counts (`delos_http_*`).

use prometheus_client::metrics::counter::Counter;

use super::label::{BoundedLabel, ResolvedCounters};
use super::table::{Entry, U64Gauge};

/// Which download-protocol file a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// `@v/list`.
    List,
    /// `.info` (versions and queries).
    Info,
    /// `.mod`.
    Mod,
    /// `.zip`.
    Zip,
    /// `@latest`.
    Latest,
    /// A path that did not parse as a download-protocol request.
    Invalid,
}

impl BoundedLabel for RequestKind {
    const NAME: &'static str = "kind";
    const ALL: &'static [Self] = &[
        Self::List,
        Self::Info,
        Self::Mod,
        Self::Zip,
        Self::Latest,
        Self::Invalid,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Info => "info",
            Self::Mod => "mod",
            Self::Zip => "zip",
            Self::Latest => "latest",
            Self::Invalid => "invalid",
        }
    }
}

/// A response's status class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// 100–299 (the node sends no 1xx).
    Success,
    /// 300–399.
    Redirect,
    /// 400–499.
    ClientError,
    /// 500 and above.
    ServerError,
}

impl StatusClass {
    /// The class of `status`.
    pub fn of(status: u16) -> StatusClass {
        match status {
            0..300 => Self::Success,
            300..400 => Self::Redirect,
            400..500 => Self::ClientError,
            _ => Self::ServerError,
        }
    }
}

impl BoundedLabel for StatusClass {
    const NAME: &'static str = "class";
    const ALL: &'static [Self] = &[
        Self::Success,
        Self::Redirect,
        Self::ClientError,
        Self::ServerError,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "2xx",
            Self::Redirect => "3xx",
            Self::ClientError => "4xx",
            Self::ServerError => "5xx",
        }
    }
}

/// Counters of the HTTP layer. Cheap to clone; every clone counts into the same series.
#[derive(Debug, Clone, Default)]
pub struct HttpMetrics {
    requests: ResolvedCounters<RequestKind>,
    responses: ResolvedCounters<StatusClass>,
    zip_bytes: Counter,
    answer_cache_hits: Counter,
    answer_cache_misses: Counter,
    zips_mapped: Counter,
    zips_mapped_by_fills: Counter,
    corrupt_blobs: Counter,
    connections_open: U64Gauge,
    connections_refused: Counter,
    connections_timed_out: Counter,
}

impl HttpMetrics {
    /// Counts one request of `kind`.
    pub fn count_request(&self, kind: RequestKind) {
        self.requests.inc(kind);
    }

    /// Counts one response with status `status`.
    pub fn count_response(&self, status: u16) {
        self.responses.inc(StatusClass::of(status));
    }

    /// A download request was answered from the answer cache.
    pub fn answer_cache_hit(&self) {
        self.answer_cache_hits.inc();
    }

    /// A download request's answer was not in the answer cache (or no longer held).
    pub fn answer_cache_miss(&self) {
        self.answer_cache_misses.inc();
    }

    /// A zip was mapped from the store and checked against its sha256.
    pub fn zip_mapped(&self) {
        self.zips_mapped.inc();
    }

    /// A fill handed over the zip it pinned, mapped as it wrote it.
    pub fn zip_mapped_by_fill(&self) {
        self.zips_mapped_by_fills.inc();
    }

    /// A blob was found corrupt on disk when it was about to be served.
    pub fn corrupt_blob_found(&self) {
        self.corrupt_blobs.inc();
    }

    /// Counts a zip answer of `bytes`.
    pub fn count_zip_bytes(&self, bytes: u64) {
        self.zip_bytes.inc_by(bytes);
    }

    /// A connection was accepted (under the cap); see [`Self::connection_closed`].
    pub fn connection_opened(&self) {
        self.connections_open.inc();
    }

    /// An accepted connection is gone.
    pub fn connection_closed(&self) {
        self.connections_open.dec();
    }

    /// A connection over `--max-connections` was closed as it was accepted.
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// A connection was closed because a request head was overdue or it idled too long.
    pub fn connection_timed_out(&self) {
        self.connections_timed_out.inc();
    }

    /// The `http` section: names, help lines and handles.
    pub(crate) fn table(&self) -> Vec<Entry> {
        vec![
            Entry::labelled(
                "requests",
                "Download-protocol requests by kind",
                self.requests.family(),
            ),
            Entry::labelled(
                "responses",
                "Responses by status class",
                self.responses.family(),
            ),
            Entry::counter("zip_bytes", "Bytes of zips answered", &self.zip_bytes),
            Entry::counter(
                "answer_cache_hits",
                "Download requests answered from the in-memory answer cache",
                &self.answer_cache_hits,
            ),
            Entry::counter(
                "answer_cache_misses",
                "Download requests whose answer was not in the answer cache",
                &self.answer_cache_misses,
            ),
            Entry::counter(
                "zips_mapped",
                "Zips mapped from the store and checked against their sha256 (first serve, or after an eviction)",
                &self.zips_mapped,
            ),
            Entry::counter(
                "zips_mapped_by_fills",
                "Zips a fill from an upstream proxy pinned and handed over mapped as it wrote and hashed them (kept for serving without a second hash)",
                &self.zips_mapped_by_fills,
            ),
            Entry::counter(
                "corrupt_blobs",
                "Blobs found corrupt on disk when about to be served (moved aside, answered 500)",
                &self.corrupt_blobs,
            ),
            Entry::gauge(
                "connections_open",
                "HTTP connections open now",
                &self.connections_open,
            ),
            Entry::counter(
                "connections_refused",
                "Connections closed as accepted because --max-connections were open",
                &self.connections_refused,
            ),
            Entry::counter(
                "connections_timed_out",
                "Connections closed because a request head was overdue or they idled too long",
                &self.connections_timed_out,
            ),
        ]
    }
}
