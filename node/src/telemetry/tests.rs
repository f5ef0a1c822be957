//! The registry renders every metric once, `/status` shows the same values under the same
//! names, and the fill path's counts of its peers are the pool's to report.

use super::*;

/// Every sample line of Prometheus `text` is `name{labels} value`, and no family is declared
/// twice.
fn assert_well_formed(text: &str) {
    let mut families = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(family) = line.strip_prefix("# TYPE ") {
            assert!(
                families.insert(family.to_owned()),
                "{family} twice:\n{text}"
            );
        } else if !line.starts_with('#') {
            assert_eq!(line.split(' ').count(), 2, "{line}");
        }
    }
}

#[test]
fn render_shows_every_counter_once() {
    let fetch = FetchCounters::default();
    let telemetry = Telemetry::new(Telemetry::registry(), &fetch, None);
    let metrics = telemetry.http();
    metrics.count_request(RequestKind::Zip);
    metrics.count_response(404);
    metrics.count_response(200);
    FetchCounters::bump(&fetch.go_processes_started);
    FetchCounters::bump(&fetch.go_processes_started);
    FetchCounters::bump(&fetch.go_processes_started);
    let second = std::time::Duration::from_millis(1500);
    fetch.peer_fill_time(second, Default::default(), Default::default());
    let text = telemetry.render(Format::Prometheus);
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
    assert_eq!(telemetry.status()["http"]["4xx_responses"], 1);
    assert_well_formed(&text);
}

#[test]
fn status_names_each_value_as_the_metric_does() {
    let fetch = FetchCounters::default();
    let pool = PoolStats::default();
    let telemetry = Telemetry::new(Telemetry::registry(), &fetch, Some(&pool));
    fetch.filled(FillSource::Peer);
    FetchCounters::bump(&fetch.store_hits);
    pool.over_cap();
    let text = telemetry.render(Format::Prometheus);
    assert!(
        text.contains("delos_fetch_fills_total{source=\"peer\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("delos_pool_records_over_cap_total 1\n"),
        "{text}"
    );
    let status = telemetry.status();
    assert_eq!(status["fetch"]["peer_fills"], 1);
    assert_eq!(status["fetch"]["vcs_fills"], 0);
    assert_eq!(status["fetch"]["store_hits"], 1);
    let pool_status = telemetry.pool_status().unwrap();
    assert_eq!(pool_status["records_over_cap"], 1);
    assert_eq!(pool_status["gossip_messages_published"], 0);
    assert_well_formed(&text);
}

/// Moved from `pool/stats.rs` when the pool stopped counting the fill path's events a second
/// time: bad peers and bytes from peers are counted once, by the fill path, and reported in
/// the pool section under the pool's names.
#[test]
fn counters_add_up_in_the_snapshot() {
    let fetch = FetchCounters::default();
    let stats = PoolStats::default();
    let telemetry = Telemetry::new(Telemetry::registry(), &fetch, Some(&stats));
    FetchCounters::bump(&fetch.peer_mismatches);
    fetch.peer_bytes.inc_by(10);
    fetch.peer_bytes.inc_by(5);
    stats.rejected();
    let snapshot = stats.snapshot();
    let pool = telemetry.pool_status().unwrap();
    assert_eq!(pool["bad_peers"], 1);
    assert_eq!(pool["bytes_from_peers"], 15);
    assert_eq!(snapshot.records_rejected, 1);
    assert_eq!(snapshot.records_received, 0);
}

#[test]
fn open_metrics_is_the_library_rendering() {
    let fetch = FetchCounters::default();
    let telemetry = Telemetry::new(Telemetry::registry(), &fetch, None);
    let text = telemetry.render(Format::OpenMetrics);
    assert!(
        text.contains("# TYPE delos_http_zip_bytes counter\n"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}
