//! [`HttpClient`]: the one HTTP client of the node, for everything it fetches over HTTP (today
//! the checksum-database relay; upstream-proxy fills later). rustls only, bounded bodies,
//! timeouts on connecting and on the whole exchange.

use std::time::Duration;

use reqwest::StatusCode;

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one whole request may take, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept per host for reuse.
const MAX_IDLE_PER_HOST: usize = 16;

/// A cloneable handle on one connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

/// Why a GET did not give a body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpClientError {
    /// The server says there is no such thing (404 or 410).
    #[error("GET {url}: {status}")]
    NotFound {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The server answered with another non-success status.
    #[error("GET {url}: {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The body is longer than the caller allows; the rest was not read.
    #[error("GET {url}: body longer than {max_bytes} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        max_bytes: usize,
    },
    /// No answer: connecting, TLS, a timeout, a broken connection.
    #[error("GET {url}")]
    Transport {
        /// The URL.
        url: String,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
    /// The client could not be built (TLS roots).
    #[error("building the HTTP client")]
    Build(#[source] reqwest::Error),
}

impl HttpClientError {
    /// Whether the server answered that the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, HttpClientError::NotFound { .. })
    }
}

impl HttpClient {
    /// A client with the node's timeouts and user agent.
    pub fn new() -> Result<HttpClient, HttpClientError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("delos/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
            .build()
            .map_err(HttpClientError::Build)?;
        Ok(HttpClient { client })
    }

    /// GETs `url` and reads at most `max_bytes` of the body, streaming: a longer body is an
    /// error without reading more than one chunk past the limit.
    pub async fn get_bounded(
        &self,
        url: &str,
        max_bytes: usize,
    ) -> Result<Vec<u8>, HttpClientError> {
        let transport = |source| HttpClientError::Transport {
            url: url.to_owned(),
            source,
        };
        let mut response = self.client.get(url).send().await.map_err(transport)?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Err(HttpClientError::NotFound {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            return Err(HttpClientError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let too_large = || HttpClientError::TooLarge {
            url: url.to_owned(),
            max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|len| len > max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
