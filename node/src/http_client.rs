//! [`HttpClient`]: the one HTTP client of the node, for everything it fetches over HTTP (the
//! checksum-database relay and fills from upstream proxies). rustls only, bounded bodies,
//! timeouts on connecting and on the whole exchange, HTTP/2 where a TLS server offers it
//! (ALPN; HTTP/1.1 otherwise), connections kept for reuse, and one
//! retry of a request that met a 5xx answer or a broken connection before its body started.

use std::time::Duration;

use axum::body::Bytes;
use reqwest::{Response, StatusCode};

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one whole request may take, body included, unless the caller says otherwise.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept per host for reuse.
const MAX_IDLE_PER_HOST: usize = 16;
/// How long to wait before the one retry of a request that failed on a 5xx or a reset.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

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
        max_bytes: u64,
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

    /// Whether asking again may help: a 5xx answer or no answer at all.
    fn is_transient(&self) -> bool {
        match self {
            HttpClientError::Status { status, .. } => *status >= 500,
            HttpClientError::Transport { .. } => true,
            _ => false,
        }
    }
}

/// A successful answer whose body has not been read yet, with the limit it must keep to.
#[derive(Debug)]
pub struct BodyStream {
    url: String,
    response: Response,
    max_bytes: u64,
    read: u64,
}

impl BodyStream {
    /// The length the server announced, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.response.content_length()
    }

    /// The next piece of the body; `None` at its end. Past `max_bytes` it is an error and
    /// nothing more is read.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, HttpClientError> {
        let chunk = self
            .response
            .chunk()
            .await
            .map_err(|source| HttpClientError::Transport {
                url: self.url.clone(),
                source,
            })?;
        if let Some(chunk) = &chunk {
            self.read += chunk.len() as u64;
            if self.read > self.max_bytes {
                return Err(HttpClientError::TooLarge {
                    url: self.url.clone(),
                    max_bytes: self.max_bytes,
                });
            }
        }
        Ok(chunk)
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
        let mut body = self
            .get_stream(url, max_bytes as u64, REQUEST_TIMEOUT)
            .await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next_chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// GETs `url` for a body of at most `max_bytes` to be read piece by piece, the whole
    /// exchange within `timeout`. A 5xx answer or a broken connection is asked once more.
    /// A `Content-Length` over the limit fails before any of the body is read.
    pub async fn get_stream(
        &self,
        url: &str,
        max_bytes: u64,
        timeout: Duration,
    ) -> Result<BodyStream, HttpClientError> {
        let response = match self.send(url, timeout).await {
            Err(err) if err.is_transient() => {
                tracing::debug!(error = %err, "asking once more");
                tokio::time::sleep(RETRY_PAUSE).await;
                self.send(url, timeout).await?
            }
            sent => sent?,
        };
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(HttpClientError::TooLarge {
                url: url.to_owned(),
                max_bytes,
            });
        }
        Ok(BodyStream {
            url: url.to_owned(),
            response,
            max_bytes,
            read: 0,
        })
    }

    /// One GET; a status other than 200 is an error.
    async fn send(&self, url: &str, timeout: Duration) -> Result<Response, HttpClientError> {
        let response = self
            .client
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|source| HttpClientError::Transport {
                url: url.to_owned(),
                source,
            })?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Err(HttpClientError::NotFound {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        if status != StatusCode::OK {
            return Err(HttpClientError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        Ok(response)
    }
}
