//! The download-protocol handlers: `list`, `.info`, `.mod`, `.zip` and `@latest`.
//!
//! Every answer comes from the store; misses go through the [`Fetcher`](crate::fetch::Fetcher),
//! which fills them. A `.zip` is streamed from its blob file with `Content-Length` (never
//! gzipped); the small answers may be gzipped by the compression layer.

use std::io::Read;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::{HashedBlob, VersionEntry};
use tokio_util::io::ReaderStream;

use crate::fetch::{FetchError, LiveZipReader, Want, ZipSource};
use crate::http::AppState;
use crate::http::error::{ApiError, TEXT_PLAIN};
use crate::http::request_path::{InfoQuery, ProxyPath, ProxyRequest};
use crate::telemetry::RequestKind;

/// Answers for canonical versions never change: cache them for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `list`, `@latest` and query answers change as tags appear: cache them briefly.
const SHORT_LIVED: &str = "public, max-age=60";
const JSON: &str = "application/json";
const ZIP: &str = "application/zip";
/// Read size when streaming a zip.
const ZIP_CHUNK_BYTES: usize = 256 << 10;

/// The fallback handler: every path that is not a status route is a download request.
pub(crate) async fn download(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
) -> Result<Response, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::Method);
    }
    let parsed = ProxyPath::parse(uri.path()).inspect_err(|_| {
        state.telemetry.http().count_request(RequestKind::Invalid);
    })?;
    state
        .telemetry
        .http()
        .count_request(kind_of(&parsed.request));
    let module = &parsed.module;
    record_target(module, &parsed.request);
    match parsed.request {
        ProxyRequest::List => list(&state, module).await,
        ProxyRequest::Info(query) => info(&state, module, query).await,
        ProxyRequest::Mod(version) => go_mod(&state, module, &version).await,
        ProxyRequest::Zip(version) => zip(&state, module, &version).await,
        ProxyRequest::Latest => latest(&state, module).await,
    }
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
async fn list(state: &AppState, module: &ModulePath) -> Result<Response, ApiError> {
    let versions = state.fetcher.list(module).await?;
    let body: String = versions
        .iter()
        .filter(|version| !version.is_pseudo())
        .map(|version| format!("{}\n", version.as_str()))
        .collect();
    Ok(answer(body, TEXT_PLAIN, SHORT_LIVED))
}

/// `.info`: a canonical version's stored `.info`, or a query resolved to one.
async fn info(
    state: &AppState,
    module: &ModulePath,
    query: InfoQuery,
) -> Result<Response, ApiError> {
    match query {
        InfoQuery::Version(version) => {
            let entry = state
                .fetcher
                .version(module, &version, Want::Metadata)
                .await?;
            Ok(answer(entry.info().to_vec(), JSON, IMMUTABLE))
        }
        InfoQuery::Query(query) => {
            let (_, entry) = state.fetcher.resolve(module, &query).await?;
            Ok(answer(entry.info().to_vec(), JSON, SHORT_LIVED))
        }
    }
}

/// `@latest`: the `.info` of the latest version.
async fn latest(state: &AppState, module: &ModulePath) -> Result<Response, ApiError> {
    let (_, entry) = state.fetcher.latest(module).await?;
    Ok(answer(entry.info().to_vec(), JSON, SHORT_LIVED))
}

/// `.mod`: the go.mod bytes, exactly as stored.
async fn go_mod(
    state: &AppState,
    module: &ModulePath,
    version: &Version,
) -> Result<Response, ApiError> {
    let entry = state
        .fetcher
        .version(module, version, Want::Metadata)
        .await?;
    let bytes = read_small_blob(state, entry.go_mod()).await?;
    Ok(answer(bytes, TEXT_PLAIN, IMMUTABLE))
}

/// `.zip`: streamed from the blob file, with `Content-Length`; or, while it arrives from an
/// upstream proxy, as it arrives (cut off if it fails a check).
async fn zip(
    state: &AppState,
    module: &ModulePath,
    version: &Version,
) -> Result<Response, ApiError> {
    let entry = match state.fetcher.zip(module, version).await? {
        ZipSource::Stored(entry) => entry,
        ZipSource::Live(reader) => return Ok(live_zip(state, reader)),
    };
    let zip = zip_blob(&entry, module, version)?;
    let size = zip.blob().size();
    let sha256 = *zip.blob().sha256();
    let index = state.fetcher.index().clone();
    let file = tokio::task::spawn_blocking(move || index.blobs().open_read(&sha256)).await??;
    let file = tokio::fs::File::from_std(file.into_file());
    state.telemetry.http().count_zip_bytes(size);
    let body = Body::from_stream(ReaderStream::with_capacity(file, ZIP_CHUNK_BYTES));
    let mut response = answer(body, ZIP, IMMUTABLE);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(response)
}

/// A zip arriving from an upstream proxy, streamed as it arrives, with `Content-Length` when
/// the upstream announced it. An error from the reader (a failed check) cuts the connection.
fn live_zip(state: &AppState, reader: LiveZipReader) -> Response {
    let size = reader.len();
    let body = Body::from_stream(reader.into_stream());
    let mut response = answer(body, ZIP, IMMUTABLE);
    if let Some(size) = size {
        state.telemetry.http().count_zip_bytes(size);
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    response
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

/// Reads a small blob (a go.mod, at most 16 MiB) into memory, off the async threads.
async fn read_small_blob(state: &AppState, blob: &HashedBlob) -> Result<Vec<u8>, ApiError> {
    let sha256 = *blob.blob().sha256();
    let index = state.fetcher.index().clone();
    let read = move || -> Result<Vec<u8>, ApiError> {
        let mut reader = index.blobs().open_read(&sha256)?;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|source| ApiError::ReadBlob { sha256, source })?;
        Ok(bytes)
    };
    tokio::task::spawn_blocking(read).await?
}

/// A 200 answer with its content type and cache policy.
fn answer(body: impl Into<Body>, content_type: &'static str, cache: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
    ];
    (StatusCode::OK, headers, body.into()).into_response()
}
