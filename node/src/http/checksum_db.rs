//! `GET /sumdb/<own name>/…`: the node's own checksum database (`--checksum-db`). A lookup of a
//! version the node has not pinned fills it first, as a download would (store, peers, VCS);
//! one that cannot be filled, or is pinned without its zip, answers 404 with the reason, never
//! a guess. A version the public checksum database contradicts answers 410, and one not
//! checked against it yet 503, each with the reason.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use delos_pool_protocol::sumdb::TileLevel;

use crate::checksum_db::{ChecksumDb, OwnLookup};
use crate::fetch::Want;
use crate::http::AppState;
use crate::http::error::TEXT_PLAIN;
use crate::sumdb_relay::{BINARY_CONTENT_TYPE, Endpoint, RelayError, RelayRequest};

/// Whether `path` (after `/sumdb/`) is under the database named `name`.
pub(crate) fn is_own(path: &str, name: &str) -> bool {
    path.strip_prefix(name)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Answers one request of the node's own database.
pub(crate) async fn serve(state: &AppState, db: &ChecksumDb, path: &str) -> Response {
    let request = match RelayRequest::parse(path, [db.name()]) {
        Ok(request) => request,
        Err(err) => return RelayError::from(err).into_response(),
    };
    let answer = match request.endpoint {
        Endpoint::Supported => Ok(Some((Bytes::new(), TEXT_PLAIN))),
        Endpoint::Latest => db
            .latest()
            .await
            .map(|head| Some((Bytes::from(head), TEXT_PLAIN))),
        Endpoint::Lookup {
            module, version, ..
        } => {
            if let Some(body) = db.cached_lookup(&module, &version) {
                return body_response(body, TEXT_PLAIN);
            }
            if let Err(err) = state.fetcher.version(&module, &version, Want::Zip).await {
                return text(StatusCode::NOT_FOUND, &format!("not found: {err}"));
            }
            match db.lookup(&module, &version).await {
                Ok(OwnLookup::Found(body)) => Ok(Some((body, TEXT_PLAIN))),
                Ok(OwnLookup::NotFound) => Ok(None),
                Ok(OwnLookup::Contradicted(conflict)) => {
                    return text(
                        StatusCode::GONE,
                        &format!(
                            "{module}@{version} is kept out of this checksum database: the public \
                             checksum database {} records other hashes for it than this node \
                             pinned (evidence: /provenance/{}/@v/{})",
                            conflict.database,
                            module.escape(),
                            version.escape()
                        ),
                    );
                }
                Ok(OwnLookup::Unchecked(why)) => {
                    return text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &format!(
                            "{module}@{version} is not in this checksum database until the public \
                             checksum database confirms its hashes: {why}; try again later"
                        ),
                    );
                }
                Err(err) => Err(err),
            }
        }
        Endpoint::Tile(tile) => {
            let content_type = match tile.level() {
                TileLevel::Data => TEXT_PLAIN,
                TileLevel::Hashes(_) => BINARY_CONTENT_TYPE,
            };
            db.tile(tile)
                .await
                .map(|body| body.map(|body| (Bytes::from(body), content_type)))
        }
    };
    match answer {
        Ok(Some((body, content_type))) => body_response(body, content_type),
        Ok(None) => text(StatusCode::NOT_FOUND, "not found in this checksum database"),
        Err(err) => {
            let error = crate::error_chain::error_chain(&err);
            tracing::warn!(db = db.name(), %error, "checksum database failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error in the checksum database",
            )
        }
    }
}

fn body_response(body: Bytes, content_type: &'static str) -> Response {
    let content_type = HeaderValue::from_static(content_type);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn text(status: StatusCode, line: &str) -> Response {
    let content_type = HeaderValue::from_static(TEXT_PLAIN);
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        format!("{line}\n"),
    )
        .into_response()
}
