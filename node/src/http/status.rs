//! `/healthz` (200 once the node serves), `/metrics` (Prometheus text) and `/status` (JSON).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::AppState;
use crate::http::error::TEXT_PLAIN;

/// The Prometheus text format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /healthz`: the router only exists once the store is open, so answering is being ready.
pub(crate) async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN))],
        "ok\n",
    )
        .into_response()
}

/// `GET /metrics`: HTTP, fill-path, store, provenance and pool counters, then gossipsub's own
/// (`delos_gossipsub_*`), all as one Prometheus text (0.0.4) document.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let store = state.fetcher.index().stats();
    let mut text = state.metrics.render(&state.fetcher.stats(), &store);
    text.push_str(&super::provenance::metrics_text(state.fetcher.index()));
    let pool = state.pool.as_ref();
    text.push_str(&crate::pool::report::metrics_text(pool, state.fetcher.index()).await);
    let content_type = HeaderValue::from_static(PROMETHEUS_TEXT);
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// `GET /status`: the same numbers as JSON, for people and tests.
pub(crate) async fn status(State(state): State<AppState>) -> Response {
    let fetch = state.fetcher.stats();
    let http = state.metrics.snapshot();
    let store = state.fetcher.index().stats();
    let body = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "http": {
            "requests": http.requests,
            "client_errors": http.client_errors,
            "server_errors": http.server_errors,
            "zip_bytes_sent": http.zip_bytes_sent,
        },
        "fetch": {
            "go_processes_started": fetch.go_processes_started,
            "go_processes_timed_out": fetch.go_processes_timed_out,
            "store_hits": fetch.store_hits,
            "fills_started": fetch.fills_started,
            "fills_stored": fetch.fills_stored,
            "fills_failed": fetch.fills_failed,
            "peer_fills": fetch.peer_fills,
            "vcs_fills": fetch.vcs_fills,
            "peer_bytes": fetch.peer_bytes,
            "peer_mismatches": fetch.peer_mismatches,
            "bad_peers": fetch.bad_peers,
            "fills_in_flight": fetch.fills_in_flight,
            "list_cache_hits": fetch.list_cache_hits,
            "list_cache_misses": fetch.list_cache_misses,
            "negative_cache_hits": fetch.negative_cache_hits,
        },
        "store": {
            "versions": store.versions,
            "full_versions": store.full_versions,
            "blob_bytes": store.blob_bytes,
        },
        "provenance": super::provenance::status_json(state.fetcher.index()),
        "pool": crate::pool::report::status_json(state.pool.as_ref(), state.fetcher.index()).await,
    });
    let content_type = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, content_type)], format!("{body}\n")).into_response()
}
