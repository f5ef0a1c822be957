//! The download-protocol handlers: `list`, `.info`, `.mod`, `.zip` and `@latest`.
//!
//! A request is first looked up by its path among the warm answers ([`answers`](super::answers)):
//! a hit is sent as kept, without parsing the path or reading the store. Otherwise every answer
//! comes from the store; misses go through the [`Fetcher`](crate::fetch::Fetcher), which fills
//! them; the answer is then kept for the next request. A stored `.zip` is sent from its mapped
//! blob (checked against its sha256 when mapped), or, with maps off, streamed from its file
//! after the same check; a zip still arriving from an upstream proxy is streamed as it arrives.
//! Zips are never gzipped; the small answers may be, by the compression layer.

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::{HashedBlob, VersionEntry};
use futures::StreamExt as _;
use tokio_util::io::ReaderStream;

use crate::fetch::{FetchError, LiveZipReader, MetadataFile, MetadataSource, ZipSource};
use crate::http::AppState;
use crate::http::answers::{self, Answer, Encoding, Freshness, Holds};
use crate::http::error::{ApiError, TEXT_PLAIN};
use crate::http::request_path::{InfoQuery, ProxyPath, ProxyRequest};
use crate::telemetry::RequestKind;

/// Answers for canonical versions never change: cache them for a year.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// `list`, `@latest` and query answers change as tags appear: cache them briefly.
const SHORT_LIVED: HeaderValue = HeaderValue::from_static("public, max-age=60");
/// Metadata answered from a fill still in progress is not pinned yet: no cache keeps it.
const UNPINNED: HeaderValue = HeaderValue::from_static("no-store");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const PLAIN: HeaderValue = HeaderValue::from_static(TEXT_PLAIN);
const ZIP: HeaderValue = HeaderValue::from_static("application/zip");
/// Read size when streaming a zip from its file (maps off, or a zip larger than their budget).
const ZIP_CHUNK_BYTES: usize = 256 << 10;

/// What the handler of one request kind produced.
enum Produced {
    /// An answer to send, and to keep for the next request.
    Answer(Answer),
    /// An answer to send once, not kept: it came from a fill still in progress.
    Unkept(Answer),
    /// A response to send as it is (a zip arriving from upstream).
    Response(Response),
}

/// The fallback handler: every path that is not a status route is a download request.
pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    method: Method,
    request_headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::Method);
    }
    let path = uri.path();
    // Read before anything is computed, so a change while computing is not missed.
    let generation = state.fetcher.answers_generation();
    let kept = state.answers.get(path, generation);
    state.answers.count(kept.is_some());
    if let Some(kept) = kept {
        state.telemetry.http().count_request(kept.answer.kind);
        refresh_if_aged(&state, path, kept.freshness);
        return send(&state, path, &kept.answer, &request_headers).await;
    }
    let parsed = ProxyPath::parse(path).inspect_err(|_| {
        state.telemetry.http().count_request(RequestKind::Invalid);
    })?;
    state
        .telemetry
        .http()
        .count_request(kind_of(&parsed.request));
    record_target(&parsed.module, &parsed.request);
    let answer = match produce(&state, parsed, generation).await? {
        Produced::Answer(answer) => Arc::new(answer),
        Produced::Unkept(answer) => return send(&state, path, &answer, &request_headers).await,
        Produced::Response(response) => return Ok(response),
    };
    state.answers.put(path, Arc::clone(&answer));
    send(&state, path, &answer, &request_headers).await
}

/// The answer to `parsed`, computed at answers generation `generation`.
async fn produce(
    state: &AppState,
    parsed: ProxyPath,
    generation: u64,
) -> Result<Produced, ApiError> {
    let module = &parsed.module;
    let changing = Holds::While {
        generation,
        until: std::time::Instant::now() + answers::CHANGING_FOR,
    };
    match parsed.request {
        ProxyRequest::List => list(state, module, changing).await,
        ProxyRequest::Info(query) => info(state, module, query, changing).await,
        ProxyRequest::Mod(version) => go_mod(state, module, &version).await,
        ProxyRequest::Zip(version) => zip(state, module, &version).await,
        ProxyRequest::Latest => latest(state, module, changing).await,
    }
}

/// Recomputes the kept answer to `path` behind the request it was just sent to, when it has
/// aged (one recomputation per path at a time, a bounded number in all, each once the
/// requests around it pause: see [`Foreground`](crate::fetch)): the client does not wait,
/// and an answer that changed is kept for the next request. One that cannot be recomputed
/// now is forgotten, so the next request computes it itself.
fn refresh_if_aged(state: &Arc<AppState>, path: &str, freshness: Freshness) {
    if freshness == Freshness::Fresh {
        return;
    }
    let Some(slot) = state.answers.refresh_slot(path) else {
        return;
    };
    let state = Arc::clone(state);
    tokio::spawn(async move {
        state.fetcher.foreground().settled().await;
        let generation = state.fetcher.answers_generation();
        let recomputed = match ProxyPath::parse(slot.path()) {
            Ok(parsed) => produce(&state, parsed, generation).await.ok(),
            Err(_) => None,
        };
        match recomputed {
            Some(Produced::Answer(answer)) => state.answers.put(slot.path(), Arc::new(answer)),
            _ => state.answers.forget(slot.path()),
        }
    });
}

/// Whether a request to `path` is one a build makes (the download protocol, a checksum
/// database), so that background work waits for a pause in them
/// ([`Foreground`](crate::fetch)); an operator's or a monitor's requests (health, metrics,
/// status, the pool's feeds and records) are not.
fn is_build_request(path: &str) -> bool {
    let operator = matches!(
        path,
        "/" | "/healthz" | "/readyz" | "/metrics" | "/status" | "/index" | "/catalog"
    ) || path.starts_with("/provenance/");
    !operator
}

/// The warm path, the first layer inside the request id's: a `GET` or `HEAD` whose answer is
/// kept is answered here, counted as a request, a hit and a response. Anything else goes on
/// to the router.
pub(crate) async fn warm_hits(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return next.run(request).await;
    }
    let path = request.uri().path();
    // Every GET and HEAD passes here first, warm or not (the router's outermost own layer).
    if is_build_request(path) {
        state.fetcher.foreground().request_started();
    }
    let generation = state.fetcher.answers_generation();
    let Some(kept) = state.answers.get(path, generation) else {
        return next.run(request).await;
    };
    let http = state.telemetry.http();
    state.answers.count(true);
    http.count_request(kept.answer.kind);
    refresh_if_aged(&state, path, kept.freshness);
    let response = send(&state, path, &kept.answer, request.headers())
        .await
        .unwrap_or_else(IntoResponse::into_response);
    http.count_response(response.status().as_u16());
    response
}

/// Sends `answer` (kept for `path`): `304` when the client has it, else its body; a zip from
/// its map, or streamed from its file after a check when it is not mapped.
async fn send(
    state: &AppState,
    path: &str,
    answer: &Answer,
    request_headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(not_modified) = answers::not_modified(answer, request_headers) {
        return Ok(not_modified);
    }
    let (sha256, size) = match &answer.body {
        answers::Body::Bytes { plain, gzipped } => {
            let (bytes, encoding) = match gzipped {
                Some(gzipped) if answers::accepts_gzip(request_headers) => {
                    (gzipped, Encoding::Gzip)
                }
                Some(_) => (plain, Encoding::IdentityOfTwo),
                None => (plain, Encoding::Identity),
            };
            let length = bytes.len() as u64;
            let body = Body::from(bytes.clone());
            return Ok(answers::ok(answer, length, encoding, body));
        }
        answers::Body::Zip { sha256, size } => (*sha256, *size),
    };
    let mapped = state.answers.zips().get(&sha256, size).await;
    let body = match mapped {
        Ok(Some(bytes)) => Body::from(bytes),
        Ok(None) => verified_stream(state, &sha256).await.inspect_err(|_| {
            state.answers.forget(path);
        })?,
        Err(err) => {
            state.answers.forget(path);
            return Err(err);
        }
    };
    state.telemetry.http().count_zip_bytes(size);
    Ok(answers::ok(answer, size, Encoding::Identity, body))
}

/// The stored zip `sha256` streamed from its file, after hashing all of it (a corrupt blob
/// is moved aside and refused, never sent).
async fn verified_stream(
    state: &AppState,
    sha256: &delos_pool_protocol::hash::Sha256,
) -> Result<Body, ApiError> {
    let (index, sha256) = (state.fetcher.index().clone(), *sha256);
    let metrics = state.telemetry.http().clone();
    let file = tokio::task::spawn_blocking(move || index.blobs().open_verified(&sha256))
        .await?
        .inspect_err(|err| {
            if matches!(err, delos_registry_index::BlobError::CorruptBlob(_)) {
                metrics.corrupt_blob_found();
            }
        })?;
    let file = tokio::fs::File::from_std(file.into_file());
    Ok(Body::from_stream(ReaderStream::with_capacity(
        file,
        ZIP_CHUNK_BYTES,
    )))
}

/// Names the module (and the version or query, where the path has one) in the request's span.
fn record_target(module: &ModulePath, request: &ProxyRequest) {
    let span = tracing::Span::current();
    span.record("module", module.as_str());
    let version = match request {
        ProxyRequest::Info(InfoQuery::Version(version))
        | ProxyRequest::Mod(version)
        | ProxyRequest::Zip(version) => Some(version.as_str()),
        ProxyRequest::Info(InfoQuery::Query(query)) => Some(query.as_str()),
        ProxyRequest::List | ProxyRequest::Latest => None,
    };
    if let Some(version) = version {
        span.record("version", version);
    }
}

fn kind_of(request: &ProxyRequest) -> RequestKind {
    match request {
        ProxyRequest::List => RequestKind::List,
        ProxyRequest::Info(_) => RequestKind::Info,
        ProxyRequest::Mod(_) => RequestKind::Mod,
        ProxyRequest::Zip(_) => RequestKind::Zip,
        ProxyRequest::Latest => RequestKind::Latest,
    }
}

/// `list`: one canonical version per line, each ending in `\n`.
async fn list(state: &AppState, module: &ModulePath, holds: Holds) -> Result<Produced, ApiError> {
    let versions = state.fetcher.list(module).await?;
    let body: String = versions
        .iter()
        .filter(|version| !version.is_pseudo())
        .map(|version| format!("{}\n", version.as_str()))
        .collect();
    Ok(bytes_answer(
        RequestKind::List,
        body,
        PLAIN,
        SHORT_LIVED,
        holds,
    ))
}

/// `.info`: a canonical version's stored `.info`, or a query resolved to one.
async fn info(
    state: &AppState,
    module: &ModulePath,
    query: InfoQuery,
    changing: Holds,
) -> Result<Produced, ApiError> {
    match query {
        InfoQuery::Version(version) => {
            let file = MetadataFile::Info;
            let (info, pinned) = match state.fetcher.metadata(module, &version, file).await? {
                MetadataSource::Stored(entry) => (Bytes::copy_from_slice(entry.info()), true),
                MetadataSource::Fill(info) => (info, false),
            };
            Ok(metadata_answer(RequestKind::Info, info, JSON, pinned))
        }
        InfoQuery::Query(query) => {
            let (_, entry) = state.fetcher.resolve(module, &query).await?;
            let info = entry.info().to_vec();
            Ok(bytes_answer(
                RequestKind::Info,
                info,
                JSON,
                SHORT_LIVED,
                changing,
            ))
        }
    }
}

/// `@latest`: the `.info` of the latest version.
async fn latest(state: &AppState, module: &ModulePath, holds: Holds) -> Result<Produced, ApiError> {
    let (_, entry) = state.fetcher.latest(module).await?;
    let info = entry.info().to_vec();
    Ok(bytes_answer(
        RequestKind::Latest,
        info,
        JSON,
        SHORT_LIVED,
        holds,
    ))
}

/// `.mod`: the go.mod bytes, exactly as stored (or, while their fill goes on, as the checksum
/// database proved them).
async fn go_mod(
    state: &AppState,
    module: &ModulePath,
    version: &Version,
) -> Result<Produced, ApiError> {
    let (go_mod, pinned) = match state
        .fetcher
        .metadata(module, version, MetadataFile::Mod)
        .await?
    {
        MetadataSource::Stored(entry) => {
            (read_small_blob(state, entry.go_mod()).await?.into(), true)
        }
        MetadataSource::Fill(go_mod) => (go_mod, false),
    };
    Ok(metadata_answer(RequestKind::Mod, go_mod, PLAIN, pinned))
}

/// A canonical version's `.info` or `.mod`: kept and cacheable for good once `pinned`; from a
/// fill still in progress, sent once and kept by no cache.
fn metadata_answer(
    kind: RequestKind,
    bytes: Bytes,
    content_type: HeaderValue,
    pinned: bool,
) -> Produced {
    let cache_control = if pinned { IMMUTABLE } else { UNPINNED };
    let answer = Answer::bytes(kind, bytes, content_type, cache_control, Holds::Forever);
    if pinned {
        Produced::Answer(answer)
    } else {
        Produced::Unkept(answer)
    }
}

/// `.zip`: the stored blob (sent by [`send`]); or, while it arrives from an upstream proxy, as
/// it arrives (cut off if it fails a check).
async fn zip(
    state: &AppState,
    module: &ModulePath,
    version: &Version,
) -> Result<Produced, ApiError> {
    let entry = match state.fetcher.zip(module, version).await? {
        ZipSource::Stored(entry) => entry,
        ZipSource::Live(reader) => {
            return live_zip(state, module, version, reader)
                .await
                .map(Produced::Response);
        }
    };
    let zip = zip_blob(&entry, module, version)?.blob();
    let answer = Answer::zip(*zip.sha256(), zip.size(), ZIP, IMMUTABLE);
    Ok(Produced::Answer(answer))
}

/// A zip arriving from an upstream proxy, streamed as it arrives, with `Content-Length` when
/// the upstream announced it. The `200` is promised only with a first byte to send: a zip
/// that fails its checks before this client got any byte is answered as the failed fill it
/// is (`502`); one that fails later cuts the connection, so no client ever holds the whole
/// of a wrong zip.
async fn live_zip(
    state: &AppState,
    module: &ModulePath,
    version: &Version,
    mut reader: LiveZipReader,
) -> Result<Response, ApiError> {
    let size = reader.len();
    let first = reader.first_piece().await.map_err(|err| {
        ApiError::Fetch(FetchError::Upstream {
            module: module.clone(),
            query: version.as_str().to_owned(),
            reason: err.to_string(),
        })
    })?;
    let body = Body::from_stream(futures::stream::iter(first.map(Ok)).chain(reader.into_stream()));
    let mut response = (
        [
            (header::CONTENT_TYPE, ZIP),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        body,
    )
        .into_response();
    if let Some(size) = size {
        state.telemetry.http().count_zip_bytes(size);
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    Ok(response)
}

/// The entry's zip; the fetcher never hands out a `.mod`-only entry for a zip request, but a
/// missing zip must still be a 404, never a panic.
fn zip_blob<'a>(
    entry: &'a VersionEntry,
    module: &ModulePath,
    version: &Version,
) -> Result<&'a HashedBlob, ApiError> {
    entry.zip().ok_or_else(|| {
        ApiError::Fetch(FetchError::ZipUnavailable {
            module: module.clone(),
            version: version.as_str().to_owned(),
            reason: String::from("only the .info and .mod are stored"),
        })
    })
}

/// Reads a small blob (a go.mod, at most 16 MiB) into memory, off the async threads, checked
/// against its sha256 (it is kept as an answer from then on).
async fn read_small_blob(state: &AppState, blob: &HashedBlob) -> Result<Vec<u8>, ApiError> {
    let sha256 = *blob.blob().sha256();
    let index = state.fetcher.index().clone();
    let read = move || -> Result<Vec<u8>, ApiError> {
        let mut reader = index.blobs().open_verified(&sha256)?;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|source| ApiError::ReadBlob { sha256, source })?;
        Ok(bytes)
    };
    tokio::task::spawn_blocking(read).await?
}

/// An answer of `body`.
fn bytes_answer(
    kind: RequestKind,
    body: impl Into<Bytes>,
    content_type: HeaderValue,
    cache: HeaderValue,
    holds: Holds,
) -> Produced {
    Produced::Answer(Answer::bytes(kind, body.into(), content_type, cache, holds))
}

#[cfg(test)]
mod tests {
    use super::is_build_request;

    #[test]
    fn only_a_builds_requests_hold_background_work_back() {
        for path in [
            "/example.org/m/@v/list",
            "/example.org/m/@v/v1.0.0.info",
            "/example.org/m/@v/v1.0.0.zip",
            "/example.org/m/@latest",
            "/sumdb/sum.golang.org/lookup/example.org/m@v1.0.0",
            "/healthz/@v/list",
        ] {
            assert!(is_build_request(path), "{path}");
        }
        for path in [
            "/",
            "/healthz",
            "/readyz",
            "/metrics",
            "/status",
            "/index",
            "/catalog",
            "/provenance/example.org/m/@v/v1.0.0",
        ] {
            assert!(!is_build_request(path), "{path}");
        }
    }
}
