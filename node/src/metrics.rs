//! The node's counters, their names in one place, and their Prometheus text rendering.
//!
//! HTTP counters live here; the fill path keeps its own ([`FetchStats`]) and the store its
//! sizes ([`Stats`]); [`Metrics::render`] shows all three.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use delos_registry_index::Stats;

use crate::fetch::FetchStats;

/// Which download-protocol file a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl RequestKind {
    const ALL: [RequestKind; 6] = [
        Self::List,
        Self::Info,
        Self::Mod,
        Self::Zip,
        Self::Latest,
        Self::Invalid,
    ];

    fn label(self) -> &'static str {
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

/// Counters of the HTTP layer. Shared behind an `Arc`; all methods are lock-free.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; 6],
    /// Responses by status class: 2xx, 3xx, 4xx, 5xx.
    responses: [AtomicU64; 4],
    zip_bytes_sent: AtomicU64,
}

/// A point-in-time copy of [`Metrics`], for the status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpStats {
    /// Download-protocol requests, all kinds.
    pub requests: u64,
    /// Responses with a 4xx status.
    pub client_errors: u64,
    /// Responses with a 5xx status.
    pub server_errors: u64,
    /// Bytes of zip bodies started (Content-Length of each zip answered).
    pub zip_bytes_sent: u64,
}

impl Metrics {
    /// Counts one request of `kind`.
    pub fn count_request(&self, kind: RequestKind) {
        let slot = RequestKind::ALL.iter().position(|k| *k == kind);
        if let Some(counter) = slot.and_then(|at| self.requests.get(at)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one response with status `status` (100–599).
    pub fn count_response(&self, status: u16) {
        let class = usize::from(status / 100).saturating_sub(2);
        if let Some(counter) = self.responses.get(class) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a zip answer of `bytes`.
    pub fn count_zip_bytes(&self, bytes: u64) {
        self.zip_bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> HttpStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        HttpStats {
            requests: self.requests.iter().map(get).sum(),
            client_errors: get(&self.responses[2]),
            server_errors: get(&self.responses[3]),
            zip_bytes_sent: get(&self.zip_bytes_sent),
        }
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, fetch: &FetchStats, store: &Stats) -> String {
        let mut out = String::new();
        self.render_http(&mut out);
        render_fetch(&mut out, fetch);
        gauge(
            &mut out,
            "delos_store_versions",
            "Module versions stored.",
            store.versions,
        );
        gauge(
            &mut out,
            "delos_store_full_versions",
            "Module versions stored with their zip.",
            store.full_versions,
        );
        gauge(
            &mut out,
            "delos_store_blob_bytes",
            "Bytes of go.mod and zip blobs referenced by stored versions.",
            store.blob_bytes,
        );
        out
    }

    fn render_http(&self, out: &mut String) {
        header(
            out,
            "delos_http_requests_total",
            "Download-protocol requests by kind.",
            "counter",
        );
        for (kind, counter) in RequestKind::ALL.iter().zip(&self.requests) {
            let value = counter.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "delos_http_requests_total{{kind=\"{}\"}} {value}",
                kind.label()
            );
        }
        header(
            out,
            "delos_http_responses_total",
            "Responses by status class.",
            "counter",
        );
        for (class, counter) in ["2xx", "3xx", "4xx", "5xx"].iter().zip(&self.responses) {
            let value = counter.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "delos_http_responses_total{{class=\"{class}\"}} {value}"
            );
        }
        let zip_bytes = self.zip_bytes_sent.load(Ordering::Relaxed);
        counter(
            out,
            "delos_http_zip_bytes_total",
            "Bytes of zips answered.",
            zip_bytes,
        );
    }
}

fn render_fetch(out: &mut String, fetch: &FetchStats) {
    for (name, help, value) in [
        (
            "go_processes_started",
            "go processes started.",
            fetch.go_processes_started,
        ),
        (
            "go_processes_timed_out",
            "go processes killed at the timeout.",
            fetch.go_processes_timed_out,
        ),
        (
            "store_hits",
            "Versions requested and found in the store.",
            fetch.store_hits,
        ),
        (
            "fills_started",
            "Fills started (one per version).",
            fetch.fills_started,
        ),
        (
            "fills_stored",
            "Fills that stored a version.",
            fetch.fills_stored,
        ),
        ("fills_failed", "Fills that failed.", fetch.fills_failed),
        (
            "peer_fills",
            "Fills from pool peers (verified against trusted hashes).",
            fetch.peer_fills,
        ),
        ("vcs_fills", "Fills from the VCS.", fetch.vcs_fills),
        (
            "peer_bytes",
            "Bytes received from peers by the fill path.",
            fetch.peer_bytes,
        ),
        (
            "peer_mismatches",
            "Peer files dropped because they did not match the trusted hashes.",
            fetch.peer_mismatches,
        ),
        (
            "list_cache_hits",
            "list/@latest/query answers from the cache.",
            fetch.list_cache_hits,
        ),
        (
            "list_cache_misses",
            "list/@latest/query answers that waited for the VCS.",
            fetch.list_cache_misses,
        ),
        (
            "negative_cache_hits",
            "Answers from the negative cache.",
            fetch.negative_cache_hits,
        ),
    ] {
        counter(out, &format!("delos_fetch_{name}_total"), help, value);
    }
    gauge(
        out,
        "delos_fetch_in_flight",
        "Fills and VCS queries running now.",
        fetch.fills_in_flight,
    );
    gauge(
        out,
        "delos_fetch_bad_peers",
        "Peers not asked now because they sent mismatching bytes recently.",
        fetch.bad_peers,
    );
    render_peer_fill_time(out, fetch);
}

/// Where successful peer fills spent their time, as seconds by phase.
fn render_peer_fill_time(out: &mut String, fetch: &FetchStats) {
    let name = "delos_fetch_peer_fill_seconds_total";
    let help = "Time of successful peer fills by phase: transfer (the files moved and the \
                zip written), verify (zip rules and h1, while it is fsynced), store (link, pin).";
    header(out, name, help, "counter");
    let micros = fetch.peer_fill_micros;
    for (phase, value) in [
        ("transfer", micros.transfer),
        ("verify", micros.verify),
        ("store", micros.store),
    ] {
        let seconds = value as f64 / 1e6;
        let _ = writeln!(out, "{name}{{phase=\"{phase}\"}} {seconds}");
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "counter");
    let _ = writeln!(out, "{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "gauge");
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_every_counter_once() {
        let metrics = Metrics::default();
        metrics.count_request(RequestKind::Zip);
        metrics.count_response(404);
        metrics.count_response(200);
        let fetch = FetchStats {
            go_processes_started: 3,
            peer_fill_micros: crate::fetch::PeerFillMicros {
                transfer: 1_500_000,
                ..Default::default()
            },
            ..FetchStats::default()
        };
        let text = metrics.render(&fetch, &Stats::default());
        assert!(
            text.contains("delos_http_requests_total{kind=\"zip\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("delos_http_responses_total{class=\"4xx\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("delos_fetch_go_processes_started_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("delos_fetch_peer_fill_seconds_total{phase=\"transfer\"} 1.5\n"),
            "{text}"
        );
        assert_eq!(metrics.snapshot().client_errors, 1);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(line.split(' ').count(), 2, "{line}");
        }
    }
}
