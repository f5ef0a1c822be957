//! The node's HTTP face: the whole route table and its layers in [`router`].
//!
//! ```text
//! GET /                       the operator's status page (HTML)
//! GET /healthz                 200 "ok" once the node serves
//! GET /readyz                  200/503 JSON: store open, swarm started, relayed databases reachable
//! GET /metrics                 every metric (OpenMetrics if asked for, else Prometheus text)
//! GET /status                  the same values as JSON, plus the pool's swarm
//! GET /index?since=&limit=   versions pinned whole since a time, NDJSON (index.golang.org form)
//! GET /catalog?token=&pagesize=  versions page by page, JSON (Athens form); both public only
//! GET /provenance/{module}/@v/{version}   pinned hashes, signed records, conflicts (JSON)
//! GET|HEAD /{module}/@v/list   ┐
//! GET|HEAD /{module}/@v/{v}.info|.mod|.zip   the Go module download protocol (download.rs)
//! GET|HEAD /{module}/@latest   ┘
//! GET /sumdb/{name}/supported|latest|lookup/{module}@{version}|tile/…   the checksum-database
//!                              relay (sumdb.rs; names may contain `/`)
//! ```
//!
//! Module paths contain `/`, so the download protocol is the fallback route and parses the
//! raw path itself ([`request_path`]).

mod answers;
mod checksum_db;
mod download;
pub mod error;
pub mod feed_query;
mod feeds;
mod provenance;
mod readyz;
pub mod request_path;
mod status;
mod status_page;
mod sumdb;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::checksum_db::ChecksumDb;
use crate::fetch::Fetcher;
use crate::listener::{Connection, track_in_flight};
use crate::pool::Pool;
use crate::sumdb_relay::Relay;
use crate::telemetry::Telemetry;

pub use answers::AnswerCacheLimits;
use answers::Answers;

/// Requests carry no body; anything larger than this is refused unread.
const MAX_REQUEST_BODY_BYTES: usize = 4096;
/// Requests handled at once; more wait. Hits and fills both count, and fills are bounded
/// separately by the fetcher, so this only caps memory under a flood.
const MAX_CONCURRENT_REQUESTS: usize = 4096;
/// Added to the fetch timeout to get the time a request may take to produce its headers.
const REQUEST_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

/// What every handler shares: the fill path (and through it the store) and the telemetry.
#[derive(Debug, Clone)]
pub struct AppState {
    fetcher: Fetcher,
    telemetry: Arc<Telemetry>,
    request_timeout: Duration,
    pool: Option<Pool>,
    sumdb: Option<Relay>,
    checksum_db: Option<ChecksumDb>,
    answers: Arc<Answers>,
}

impl AppState {
    /// State serving through `fetcher` and counting in `telemetry`; requests may take
    /// `fetch_timeout` plus a margin; warm answers are kept within `caches`.
    pub fn new(
        fetcher: Fetcher,
        telemetry: Arc<Telemetry>,
        fetch_timeout: Duration,
        caches: AnswerCacheLimits,
    ) -> AppState {
        let index = Arc::clone(fetcher.index());
        let answers = Answers::new(caches, index, telemetry.http().clone());
        // Zips filled from upstream proxies or peers arrive here mapped, hashed by the fill.
        fetcher.attach_pinned_zips(Arc::clone(answers.zips()) as _);
        AppState {
            fetcher,
            telemetry,
            request_timeout: fetch_timeout.saturating_add(REQUEST_TIMEOUT_MARGIN),
            pool: None,
            sumdb: None,
            checksum_db: None,
            answers: Arc::new(answers),
        }
    }

    /// This state with the node's pool (shown in `/status` and `/metrics`), if it has one.
    pub fn with_pool(mut self, pool: Option<Pool>) -> AppState {
        self.pool = pool;
        self
    }

    /// This state with the node's checksum-database relay; without one, `/sumdb/` knows no
    /// database.
    pub fn with_sumdb(mut self, relay: Relay) -> AppState {
        self.sumdb = Some(relay);
        self
    }

    /// This state with the node's own checksum database, served under `/sumdb/<its name>/`
    /// (before any relayed database of the same name).
    pub fn with_checksum_db(mut self, db: Option<ChecksumDb>) -> AppState {
        self.checksum_db = db;
        self
    }

    /// The node's telemetry.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }
}

/// The whole application: every route and every layer. Tests can drive it without a socket.
///
/// A download request whose answer is warm is answered by the first layer inside the request
/// id's (`download::warm_hits`), before the span, the client scope, the timeout and the
/// compression, none of which a kept answer needs (it carries its gzipped copy).
pub fn router(state: AppState) -> Router {
    let state = Arc::new(state);
    Router::new()
        .route("/", get(status_page::status_page))
        .route("/healthz", get(status::healthz))
        .route("/readyz", get(readyz::readyz))
        .route("/metrics", get(status::metrics))
        .route("/status", get(status::status))
        .route("/index", get(feeds::index))
        .route("/catalog", get(feeds::catalog))
        .route("/provenance/{*path}", get(provenance::provenance))
        .route("/sumdb/{*path}", get(sumdb::sumdb))
        .fallback(download::download)
        .layer(CompressionLayer::new().compress_when(compressible()))
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BODY_BYTES))
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            MAX_CONCURRENT_REQUESTS,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            state.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .layer(middleware::from_fn(for_client))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            download::warm_hits,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(NextRequestId::default()))
        .layer(middleware::from_fn(track_in_flight))
        .with_state(state)
}

/// Answers shorter than this go out as they are, even to clients that accept gzip: they fit in
/// one packet either way, and gzip's own header and trailer make a `.info` of a hundred bytes
/// longer, not shorter.
pub(crate) const COMPRESS_FROM_BYTES: u16 = 1024;

/// What the compression layer gzips for clients that accept it: answers of at least
/// [`COMPRESS_FROM_BYTES`], except gRPC, images and event streams (as tower-http's default),
/// zips (compressed already) and binary answers such as the checksum database's hash tiles
/// (sha256 hashes do not compress). Download answers come with their own gzipped copy made
/// once (see [`answers`]) and pass through untouched.
fn compressible() -> impl Predicate {
    SizeAbove::new(COMPRESS_FROM_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::const_new("application/zip"))
        .and(NotForContentType::const_new("application/octet-stream"))
}

/// Numbers requests: `<process start, hex seconds>-<n>`, unique across restarts of a node. A
/// request that comes with an `X-Request-Id` keeps it; either way the answer carries it.
#[derive(Debug, Clone)]
struct NextRequestId {
    started: u64,
    next: Arc<AtomicU64>,
}

impl Default for NextRequestId {
    fn default() -> NextRequestId {
        NextRequestId {
            started: crate::clock::now_unix_secs(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:x}-{n}", self.started);
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
}

/// The span every request runs in: its id, method, URI and client (`peer`), and the `module`
/// and `version` its path names, recorded once parsed (`download.rs`).
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let peer = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|ConnectInfo(connection)| connection.remote().to_string())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        uri = %request.uri(),
        peer = %peer,
        module = tracing::field::Empty,
        version = tracing::field::Empty,
    )
}

/// Runs the request as work for its client's address (when the server passes it), so the
/// fill path can queue `go` runs fairly among clients.
async fn for_client(request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|ConnectInfo(connection)| connection.remote().ip());
    match client {
        Some(client) => crate::fetch::client::scope(client, next.run(request)).await,
        None => next.run(request).await,
    }
}

/// Counts every response by status class.
async fn count_responses(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    state
        .telemetry
        .http()
        .count_response(response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;
    use axum::response::IntoResponse;

    fn response(content_type: &'static str, len: usize) -> Response {
        ([(header::CONTENT_TYPE, content_type)], vec![b'a'; len]).into_response()
    }

    #[test]
    fn only_answers_of_a_kilobyte_or_more_that_can_shrink_are_gzipped() {
        let from = usize::from(COMPRESS_FROM_BYTES);
        let predicate = compressible();
        let gzipped = |content_type, len| predicate.should_compress(&response(content_type, len));
        assert!(gzipped("text/plain; charset=utf-8", from));
        assert!(gzipped("application/json", 64 * 1024));
        assert!(!gzipped("application/json", from - 1), "a short .info");
        assert!(!gzipped("application/zip", 64 * 1024), "a zip");
        assert!(
            !gzipped("application/octet-stream", 8 * 1024),
            "a hash tile"
        );
    }
}
