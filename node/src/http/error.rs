//! [`ApiError`]: every way a request can fail, each with its own HTTP status and one line the
//! `go` command prints.
//!
//! "This node cannot serve it" is 404 with `not found: <reason>` (so `GOPROXY=node,direct`
//! falls through); undecodable escapes are 400; real faults are 5xx with a generic body, the
//! detail going to the log only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use delos_pool_protocol::hash::Sha256;
use delos_registry_index::{BlobError, IndexError};

use crate::error_chain::error_chain;
use crate::fetch::FetchError;
use crate::http::request_path::RequestPathError;

/// The content type under which the `go` command shows an error body to its user.
pub(crate) const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// When a client refused for load (503) may ask again, in seconds.
const RETRY_AFTER_SECONDS: &str = "5";

/// The most characters of a reason sent back; the `go` command shows at most 648 bytes.
const MAX_REASON_CHARS: usize = 500;

/// Why a request was not answered with content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The path is not a valid download-protocol request.
    #[error(transparent)]
    Path(#[from] RequestPathError),
    /// The fill path could not answer.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Reading the store failed.
    #[error("reading the store failed")]
    Store(#[from] IndexError),
    /// Reading a blob failed.
    #[error("reading a blob failed")]
    Blob(#[from] BlobError),
    /// Reading an opened blob file failed.
    #[error("reading blob sha256:{} failed", .sha256.to_hex())]
    ReadBlob {
        /// The blob.
        sha256: Sha256,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task panicked or was cancelled.
    #[error("a blocking task ended abnormally")]
    Task(#[from] tokio::task::JoinError),
    /// A feed's query string is malformed.
    #[error(transparent)]
    Query(#[from] crate::http::feed_query::QueryError),
    /// The method is neither GET nor HEAD.
    #[error("method not allowed")]
    Method,
}

impl ApiError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Path(err) if err.is_undecodable() => StatusCode::BAD_REQUEST,
            Self::Path(_) => StatusCode::NOT_FOUND,
            Self::Query(_) => StatusCode::BAD_REQUEST,
            Self::Fetch(err) if err.is_not_found() => StatusCode::NOT_FOUND,
            Self::Fetch(err) if err.is_overloaded() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Fetch(err) if err.is_upstream() => StatusCode::BAD_GATEWAY,
            Self::Method => StatusCode::METHOD_NOT_ALLOWED,
            Self::Fetch(_)
            | Self::Store(_)
            | Self::Blob(_)
            | Self::ReadBlob { .. }
            | Self::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The one-line body: the reason for client errors, a generic line for faults.
    fn body(&self, status: StatusCode) -> String {
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return format!("busy: {self}; try again later\n");
        }
        if status == StatusCode::BAD_GATEWAY {
            let reason: String = self.to_string().chars().take(MAX_REASON_CHARS).collect();
            return format!("bad gateway: {}\n", reason.replace(['\n', '\r'], " "));
        }
        if status.is_server_error() {
            return format!("internal error: {self}\n");
        }
        let reason: String = self.to_string().chars().take(MAX_REASON_CHARS).collect();
        // One line: the go command stops at the first blank line and shows at most 8.
        let reason = reason.replace(['\n', '\r'], " ");
        match status {
            StatusCode::NOT_FOUND => format!("not found: {reason}\n"),
            StatusCode::BAD_REQUEST => format!("bad request: {reason}\n"),
            _ => format!("{reason}\n"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %error_chain(&self), "request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request refused");
        }
        let mut response = (status, self.body(status)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
        // "Not here" may change once the node fills the version: never cache it for long.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request_path::ProxyPath;

    fn path_error(raw: &str) -> ApiError {
        ApiError::Path(ProxyPath::parse(raw).unwrap_err())
    }

    #[test]
    fn invalid_paths_are_not_found_with_the_reason_on_one_line() {
        let err = path_error("/example.org/MixedCase.git/@v/list");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
        let body = err.body(StatusCode::NOT_FOUND);
        assert!(body.starts_with("not found: "), "{body}");
        assert!(body.contains("MixedCase"), "{body}");
        assert_eq!(body.lines().count(), 1, "{body}");
    }

    #[test]
    fn undecodable_escapes_are_bad_requests() {
        let err = path_error("/example.org/x%zz/@v/list");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn fetch_errors_map_to_not_found_overload_or_fault() {
        let module = delos_pool_protocol::module_path::ModulePath::parse("example.org/m").unwrap();
        let not_found = ApiError::Fetch(FetchError::NotFound {
            module: module.clone(),
            query: String::from("v9.0.0"),
            reason: String::from("unknown revision v9.0.0"),
        });
        assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
        let body = not_found.body(StatusCode::NOT_FOUND);
        assert!(
            body.starts_with("not found: example.org/m@v9.0.0: unknown revision"),
            "{body}"
        );
        let offline = ApiError::Fetch(FetchError::Offline {
            module,
            query: String::from("list"),
        });
        assert_eq!(offline.status(), StatusCode::NOT_FOUND);
        let overloaded = ApiError::Fetch(FetchError::Overloaded { limit: 1 });
        assert_eq!(overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
        let fault = ApiError::Fetch(FetchError::TaskFailed);
        assert_eq!(fault.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(fault.body(fault.status()).starts_with("internal error: "));
    }

    #[test]
    fn long_reasons_are_cut() {
        let raw = format!("/example.org/{}/@v/list", "A".repeat(1500));
        let err = path_error(&raw);
        assert!(err.body(err.status()).len() < 600);
    }
}
