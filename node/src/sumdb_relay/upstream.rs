//! [`Upstream`]: where the relay fetches a database's paths from, in `go`'s order: each proxy
//! of the node's `--upstream` list that answers `<proxy>/sumdb/<name>/supported` with 200,
//! then the database's own URL; for a member's log this node mirrors, the pool
//! ([`PoolLogs`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures::future::BoxFuture;

use super::database::Database;
use crate::http_client::{HttpClient, HttpClientError};
use crate::telemetry::SumdbStats;

/// How long a proxy's answer to `supported` is believed.
const PROBE_TTL: Duration = Duration::from_secs(600);
/// The most bytes read of a `supported` answer.
const MAX_PROBE_BYTES: usize = 4096;
/// The most proxies taken from `--upstream`.
const MAX_PROXIES: usize = 8;

/// How the relay reads a mirrored log over the pool (the node implements it with the pool's
/// checksum-log protocol, asking the members that write or mirror the log).
pub trait PoolLogs: Send + Sync + std::fmt::Debug {
    /// `path` of the log named `log` (`latest`, `tile/…`, `lookup/…`), at most `max_bytes`.
    fn get<'a>(
        &'a self,
        log: &'a str,
        path: &'a str,
        max_bytes: usize,
    ) -> BoxFuture<'a, Result<Bytes, PoolLogError>>;
}

/// Why a mirrored log's path could not be read over the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolLogError {
    /// Every member asked answered that it does not hold it.
    #[error("no pool member holds {path} of log {log}")]
    NotFound {
        /// The log.
        log: String,
        /// The path.
        path: String,
    },
    /// No member could be asked, or none answered.
    #[error("no pool member answered for log {log}: {reason}")]
    Unavailable {
        /// The log.
        log: String,
        /// What happened.
        reason: String,
    },
}

/// Why the relay could not fetch from a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// Over HTTP (a proxy or the database).
    #[error(transparent)]
    Http(#[from] HttpClientError),
    /// Over the pool (a mirrored log).
    #[error(transparent)]
    Pool(#[from] PoolLogError),
}

impl UpstreamError {
    /// Whether the database (or every member asked) answered that it has no such thing.
    pub fn is_not_found(&self) -> bool {
        match self {
            UpstreamError::Http(err) => err.is_not_found(),
            UpstreamError::Pool(err) => matches!(err, PoolLogError::NotFound { .. }),
        }
    }
}

/// The relay's way out: the HTTP client, the proxies and what they said they support, and
/// the pool for mirrored logs.
#[derive(Debug)]
pub(crate) struct Upstream {
    client: HttpClient,
    pool: Option<Arc<dyn PoolLogs>>,
    proxies: Vec<String>,
    /// `(proxy position, database name)` → supported, and when that was learned.
    probes: Mutex<HashMap<(usize, String), (bool, Instant)>>,
    stats: SumdbStats,
}

impl Upstream {
    /// Fetching with `client`, through the proxies of the GOPROXY list `goproxy` (its `direct`,
    /// `off` and non-HTTP entries are skipped).
    pub(crate) fn new(client: HttpClient, goproxy: &str, stats: SumdbStats) -> Upstream {
        let proxies = goproxy
            .split([',', '|'])
            .map(|entry| entry.trim().trim_end_matches('/'))
            .filter(|entry| entry.starts_with("http://") || entry.starts_with("https://"))
            .take(MAX_PROXIES)
            .map(str::to_owned)
            .collect();
        Upstream {
            client,
            pool: None,
            proxies,
            probes: Mutex::new(HashMap::new()),
            stats,
        }
    }

    /// Reads mirrored logs over `pool` from now on.
    pub(crate) fn set_pool(&mut self, pool: Arc<dyn PoolLogs>) {
        self.pool = Some(pool);
    }

    /// GETs `path` (`lookup/…`, `tile/…`, `latest`) of `db`, at most `max_bytes`: through each
    /// supporting proxy in turn, then from the database itself. The database's own error is the
    /// one returned when everything fails. A mirrored log is read over the pool only.
    pub(crate) async fn get(
        &self,
        db: &Database,
        path: &str,
        max_bytes: usize,
    ) -> Result<Bytes, UpstreamError> {
        let Some(url) = db.url() else {
            self.stats.upstream_request();
            let result = match &self.pool {
                Some(pool) => pool.get(db.name(), path, max_bytes).await,
                None => Err(PoolLogError::Unavailable {
                    log: db.name().to_owned(),
                    reason: String::from("this node is in no pool"),
                }),
            };
            if matches!(&result, Err(PoolLogError::Unavailable { .. })) {
                self.stats.upstream_failure();
            }
            return Ok(result?);
        };
        for (at, proxy) in self.proxies.iter().enumerate() {
            if !self.supports(at, proxy, db).await {
                continue;
            }
            let url = format!("{proxy}/sumdb/{}/{path}", db.name());
            match self.fetch(&url, max_bytes).await {
                Ok(body) => return Ok(body),
                Err(err) => tracing::debug!(error = %err, "sumdb through proxy failed"),
            }
        }
        Ok(self.fetch(&format!("{url}/{path}"), max_bytes).await?)
    }

    async fn fetch(&self, url: &str, max_bytes: usize) -> Result<Bytes, HttpClientError> {
        self.stats.upstream_request();
        let result = self.client.get_bounded(url, max_bytes).await;
        if matches!(&result, Err(err) if !err.is_not_found()) {
            self.stats.upstream_failure();
        }
        result.map(Bytes::from)
    }

    /// Whether the proxy at `at` relays `db`, asking it at most once per [`PROBE_TTL`].
    async fn supports(&self, at: usize, proxy: &str, db: &Database) -> bool {
        let key = (at, db.name().to_owned());
        let known = self.lock_probes().get(&key).copied();
        if let Some((supported, when)) = known
            && when.elapsed() < PROBE_TTL
        {
            return supported;
        }
        let url = format!("{proxy}/sumdb/{}/supported", db.name());
        let supported = self.fetch(&url, MAX_PROBE_BYTES).await.is_ok();
        self.lock_probes().insert(key, (supported, Instant::now()));
        supported
    }

    fn lock_probes(&self) -> std::sync::MutexGuard<'_, HashMap<(usize, String), (bool, Instant)>> {
        self.probes.lock().unwrap_or_else(|p| p.into_inner())
    }
}
