//! `GET /sumdb/{name}/supported|latest|lookup/…|tile/…`: the checksum-database relay
//! ([`crate::sumdb_relay`]). The raw path is parsed by the relay, so `!`-escapes stay literal
//! and nothing is percent-decoded on the way.

use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::http::AppState;
use crate::sumdb_relay::{RelayError, RequestError};

/// Answers one relay request; without a relay every database is unknown.
pub(crate) async fn sumdb(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let path = uri.path().strip_prefix("/sumdb/").unwrap_or_default();
    if let Some(db) = &state.checksum_db
        && super::checksum_db::is_own(path, db.name())
    {
        return super::checksum_db::serve(&state, db, path).await;
    }
    let Some(relay) = &state.sumdb else {
        let unknown = RequestError::UnknownDatabase {
            path: path.chars().take(200).collect(),
        };
        return RelayError::from(unknown).into_response();
    };
    match relay.serve(path).await {
        Ok(answer) => {
            let content_type = HeaderValue::from_static(answer.content_type);
            ([(header::CONTENT_TYPE, content_type)], answer.body).into_response()
        }
        Err(err) => err.into_response(),
    }
}
