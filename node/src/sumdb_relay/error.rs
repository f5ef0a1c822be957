//! [`RelayError`]: every way a `/sumdb/` request can fail, each with its HTTP status and one
//! `text/plain` line the `go` command shows its user ("server response: …").

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use delos_registry_index::SumdbCacheError;

use super::request::RequestError;
use super::upstream::UpstreamError;

/// Why the relay did not answer with content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The path is malformed or names no configured database.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The module is private: its path must not reach the checksum database.
    #[error(
        "{module} matches this node's private patterns: its checksum is not looked up in a \
         public database; add the pattern to GONOSUMDB (or GOPRIVATE)"
    )]
    Private {
        /// The module path.
        module: String,
    },
    /// The database has no such record, or the tile is beyond its tree.
    #[error("not found in checksum database {database}: {what}")]
    NotFound {
        /// The database.
        database: String,
        /// What was asked.
        what: String,
    },
    /// The database could not be reached, and nothing cached answers.
    #[error("checksum database {database} unavailable")]
    Unavailable {
        /// The database.
        database: String,
        /// What the client (or the pool) said.
        #[source]
        source: UpstreamError,
    },
    /// What the database sent failed verification; it was neither served nor cached.
    #[error("checksum database {database} sent {what} that failed verification: {reason}")]
    Refused {
        /// The database.
        database: String,
        /// What it sent (`lookup`, `tile`, `tree head`).
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The database signed two trees that cannot both be true; the evidence is kept.
    #[error("checksum database {database} misbehaved: its signed trees fork ({detail})")]
    Fork {
        /// The database.
        database: String,
        /// The two heads.
        detail: String,
    },
    /// Pool members proved the database's log forked: none of it is believed any more.
    #[error(
        "checksum database {database} is proved forked (fork evidence from the pool, see \
         /status): it is not served until its operator rotates to a new name and key"
    )]
    Distrusted {
        /// The database.
        database: String,
    },
    /// The relay's store failed.
    #[error("the relay's store failed")]
    Store(#[from] SumdbCacheError),
    /// A blocking store task panicked.
    #[error("a store task ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

impl RelayError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            RelayError::Request(RequestError::Malformed { .. }) => StatusCode::BAD_REQUEST,
            RelayError::Request(_) | RelayError::NotFound { .. } => StatusCode::NOT_FOUND,
            RelayError::Private { .. } => StatusCode::FORBIDDEN,
            RelayError::Unavailable { .. }
            | RelayError::Refused { .. }
            | RelayError::Fork { .. }
            | RelayError::Distrusted { .. } => StatusCode::BAD_GATEWAY,
            RelayError::Store(_) | RelayError::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let status = self.status();
        let line = if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
            tracing::warn!(error = %crate::error_chain::error_chain(&self), "sumdb relay failed");
            "internal error in the checksum database relay".to_owned()
        } else {
            tracing::debug!(error = %self, "sumdb request refused");
            self.to_string()
        };
        let content_type = HeaderValue::from_static(crate::http::error::TEXT_PLAIN);
        (
            status,
            [(header::CONTENT_TYPE, content_type)],
            format!("{line}\n"),
        )
            .into_response()
    }
}
