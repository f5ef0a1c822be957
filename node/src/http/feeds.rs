//! The public feeds of what the node serves, private modules left out: `GET /index` in
//! index.golang.org's form and `GET /catalog` in Athens' form. Both page through the store's
//! pin log ([`delos_registry_index::pins`]): numbered without gaps and with strictly growing
//! timestamps, so a client that pages while fills run sees every version exactly once (on
//! `/index`, whose `since` is inclusive, the last line of a page comes again as the first line
//! of the next, as on index.golang.org).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use delos_registry_index::Pin;
use serde_json::json;
use std::sync::Arc;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::feed_query::{PageQuery, format_timestamp};

/// The most pins one page looks at, private ones included, so a long run of private pins
/// costs a bounded scan (the catalog's token then moves past them; see docs/configuration.md).
const MAX_SCANNED: usize = 100_000;

/// `GET /index?since=&limit=`: one JSON object per line, `{"Path","Version","Timestamp"}`,
/// oldest first, from the first version pinned at or after `since`.
pub(crate) async fn index(State(state): State<Arc<AppState>>, request: Request) -> Response {
    json_response(index_page(&state, request.uri().query()).await)
}

async fn index_page(state: &AppState, query: Option<&str>) -> Result<String, ApiError> {
    let query = PageQuery::index(query)?;
    let fetcher = state.fetcher.clone();
    let pins = tokio::task::spawn_blocking(move || {
        let pins = fetcher.index().pins();
        let Some(first) = pins.first_at_or_after(query.start)? else {
            return Ok(Vec::new());
        };
        let keep = |module: &_| !fetcher.is_private(module);
        pins.page(first - 1, query.size, MAX_SCANNED, keep)
            .map(|(pins, _)| pins)
    })
    .await??;
    Ok(pins.iter().map(index_line).collect())
}

fn index_line(pin: &Pin) -> String {
    let line = json!({
        "Path": pin.module.as_str(),
        "Version": pin.version.as_str(),
        "Timestamp": format_timestamp(pin.at_unix_nanos),
    });
    format!("{line}\n")
}

/// `GET /catalog?token=&pagesize=`: `{"modules":[{"module","version"}],"next":"<token>"}`,
/// `next` left out on the last page.
pub(crate) async fn catalog(State(state): State<Arc<AppState>>, request: Request) -> Response {
    json_response(catalog_page(&state, request.uri().query()).await)
}

async fn catalog_page(state: &AppState, query: Option<&str>) -> Result<String, ApiError> {
    let query = PageQuery::catalog(query)?;
    let fetcher = state.fetcher.clone();
    let (pins, cursor, last) = tokio::task::spawn_blocking(move || {
        let pins = fetcher.index().pins();
        let keep = |module: &_| !fetcher.is_private(module);
        let (page, cursor) = pins.page(query.start, query.size, MAX_SCANNED, keep)?;
        Ok::<_, ApiError>((page, cursor, pins.last_seq()?))
    })
    .await??;
    let modules: Vec<_> = pins
        .iter()
        .map(|pin| json!({ "module": pin.module.as_str(), "version": pin.version.as_str() }))
        .collect();
    let mut body = json!({ "modules": modules });
    if cursor < last {
        body["next"] = cursor.to_string().into();
    }
    Ok(format!("{body}\n"))
}

/// A page as JSON that no cache keeps, or the error's answer.
fn json_response(page: Result<String, ApiError>) -> Response {
    let body = match page {
        Ok(body) => body,
        Err(err) => return err.into_response(),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
