//! The fill path: answering module versions, lists and queries from the store, and filling
//! misses from version control with the real `go` command.
//!
//! [`Fetcher::version`] is the miss path in one place:
//!
//! 1. refuse what cannot exist (non-canonical version, version that does not fit the path);
//! 2. the store (`spawn_blocking`, never behind a fill): a hit answers at once;
//! 3. offline nodes stop here;
//! 4. the negative cache answers recent "not found"s at once;
//! 5. one fill per module version (`single_flight`), run in its own task: first from pool
//!    peers when a pool is attached and the module is not private (`from_peers`: only bytes
//!    whose hashes the trust policy accepts), else on a bounded pool of `go mod download -json`
//!    workers (`from_vcs`), and when that fails too, from peers again if they vouch for
//!    the `.mod` only; validated and stored, signed as the node's record, announced to the
//!    pool, then served.
//!
//! `list`, `@latest` and non-canonical queries (`queries`) are cached for `list_ttl`, served
//! stale while a background refresh runs, and fall back to what the store holds.

mod cached_query;
mod config;
mod error;
mod from_peers;
mod from_vcs;
mod go_command;
mod go_json;
mod queries;
mod single_flight;
mod stats;
mod ttl_cache;
mod zip_failure;

use std::sync::{Arc, OnceLock};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::version::{Version, check_path_version};
use delos_registry_index::{Index, VersionEntry};

use crate::provenance::{self, OwnRecords};

pub use config::FetchConfig;
pub use error::FetchError;
use from_peers::PeerClaim;
pub use from_peers::{PeerFillHooks, PoolLink};
pub use stats::{FetchStats, PeerFillMicros};
pub use zip_failure::{ZipFailure, classify_zip_failure};

use crate::p2p::ExpiringPeers;
use crate::telemetry::FillSource;
pub(crate) use from_vcs::Filled;
use from_vcs::Request;
use go_command::GoCommand;
use queries::Queries;
use single_flight::SingleFlight;
use stats::Counters;
use ttl_cache::TtlCache;

/// Capacity of each answer cache (lists, queries, negative answers).
const CACHE_CAPACITY: usize = 10_000;

/// Answers module versions, lists and queries; fills misses from version control.
///
/// Cheap to clone: every clone shares the same store, worker pool, caches and counters.
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

/// What every clone of a [`Fetcher`] shares.
#[derive(Debug)]
struct Inner {
    index: Arc<Index>,
    config: FetchConfig,
    go: GoCommand,
    counters: Arc<Counters>,
    fills: SingleFlight<(ModulePath, String), Filled>,
    /// Recent "not found" answers, keyed by module and version, query, `list` or `zip:<v>`.
    negative: TtlCache<(ModulePath, String), String>,
    queries: Queries,
    private: PrivatePatterns,
    /// Signs and stores the node's record after each fill (`None`: no records).
    own_records: Option<OwnRecords>,
    /// The pool, once attached: misses are filled from peers first, fills are announced.
    pool: OnceLock<PoolLink>,
    /// Peers that sent mismatching bytes, not asked again for a while.
    bad_peers: ExpiringPeers,
}

impl Fetcher {
    /// A fetcher serving from `index`, running `go` as `config` says. Creates the work area.
    pub fn new(index: Arc<Index>, config: FetchConfig) -> Result<Fetcher, FetchError> {
        Self::with_own_records(index, config, None)
    }

    /// Like [`Self::new`], and after every fill the node's record is signed and stored by
    /// `own_records` (see [`crate::provenance`]).
    pub fn with_own_records(
        index: Arc<Index>,
        config: FetchConfig,
        own_records: Option<OwnRecords>,
    ) -> Result<Fetcher, FetchError> {
        let counters = Arc::new(Counters::default());
        let go = GoCommand::new(&config, Arc::clone(&counters)).map_err(FetchError::WorkArea)?;
        let private = config.private.clone();
        let inner = Inner {
            index,
            go,
            counters,
            fills: SingleFlight::new(config.max_pending),
            negative: TtlCache::new(config.negative_ttl, CACHE_CAPACITY),
            queries: Queries::new(&config, CACHE_CAPACITY),
            private,
            config,
            own_records,
            pool: OnceLock::new(),
            bad_peers: ExpiringPeers::new(
                from_peers::BAD_PEER_PENALTY,
                from_peers::BAD_PEER_CAPACITY,
            ),
        };
        Ok(Fetcher {
            inner: Arc::new(inner),
        })
    }

    /// A canonical version, from the store or filled from the VCS.
    ///
    /// With `want_zip = false` a `.mod`-only entry is an answer (for `.info` and `.mod`); with
    /// `want_zip = true` such an entry gives [`FetchError::ZipUnavailable`]. A non-canonical
    /// `version` is resolved as a query (see [`Self::resolve`]). Cancel-safe: a fill that was
    /// started goes on when the caller goes away.
    pub async fn version(
        &self,
        module: &ModulePath,
        version: &Version,
        want_zip: bool,
    ) -> Result<VersionEntry, FetchError> {
        if !version.is_canonical() {
            return Ok(self.resolve(module, version.as_str()).await?.1);
        }
        self.inner.version(module, version, want_zip).await
    }

    /// Resolves a non-canonical `.info` query (branch, commit hash prefix, `v1`, `v3.0.0` of a
    /// module without go.mod) to its canonical version, filled and stored like any other.
    pub async fn resolve(
        &self,
        module: &ModulePath,
        query: &str,
    ) -> Result<(Version, VersionEntry), FetchError> {
        if let Some(version) = fitting_canonical(module, query) {
            let entry = self.inner.version(module, &version, false).await?;
            return Ok((version, entry));
        }
        let version = Arc::clone(&self.inner).resolve_query(module, query).await?;
        let entry = self.inner.version(module, &version, false).await?;
        Ok((version, entry))
    }

    /// The versions to list for `module`: stored ∪ the VCS's tagged versions (retracted ones
    /// kept, pseudo-versions left out), in semver order.
    pub async fn list(&self, module: &ModulePath) -> Result<Vec<Version>, FetchError> {
        Arc::clone(&self.inner).list(module).await
    }

    /// What `@latest` answers: the VCS's latest (cached like `list`), else the highest stored.
    pub async fn latest(&self, module: &ModulePath) -> Result<(Version, VersionEntry), FetchError> {
        let version = Arc::clone(&self.inner).latest(module).await?;
        let entry = self.inner.version(module, &version, false).await?;
        Ok((version, entry))
    }

    /// The fill path's counter handles, for the node's telemetry registry.
    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// The fill path's counters.
    pub fn stats(&self) -> FetchStats {
        let in_flight = self.inner.fills.len() + self.inner.queries.pending();
        let bad_peers = self.inner.bad_peers.count();
        self.inner.counters.snapshot(in_flight as u64, bad_peers)
    }

    /// Attaches the pool: from now on misses of public modules are filled from peers first
    /// (bytes verified against hashes `link`'s trust policy accepts), and every fill is
    /// announced. Returns `false`, changing nothing, if a pool was attached already.
    pub fn attach_pool(&self, link: PoolLink) -> bool {
        self.inner.pool.set(link).is_ok()
    }

    /// Whether `module` matches the node's private patterns (Go's GOPRIVATE rules): such
    /// modules are fetched only from their VCS and never shared with the pool.
    pub fn is_private(&self, module: &ModulePath) -> bool {
        self.inner.private.matches(module.as_str())
    }

    /// The signer of the node's own records, if it signs them.
    pub fn own_signer(&self) -> Option<delos_pool_protocol::signing::SignerId> {
        self.inner.own_records.as_ref().map(OwnRecords::signer)
    }

    /// Marks the fill workers' work area as released cleanly, so the next start keeps their
    /// build cache (after an unclean stop it is wiped). Call once, on a graceful shutdown.
    pub fn release_work_area(&self) {
        self.inner.go.release();
    }

    /// A fresh `go mod download` of `module@version`, checked like a fill and its blobs
    /// written, but not pinned: for re-checking what is pinned (see `crate::repair`).
    pub(crate) async fn produce_from_vcs(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<from_vcs::Produced, FetchError> {
        let request = Request {
            module: module.clone(),
            query: version.as_str().to_owned(),
        };
        from_vcs::produce(&self.inner.go, &self.inner.index, request).await
    }

    /// The store this fetcher serves from.
    pub fn index(&self) -> &Arc<Index> {
        &self.inner.index
    }
}

impl Inner {
    /// [`Fetcher::version`] for a canonical version.
    async fn version(
        self: &Arc<Self>,
        module: &ModulePath,
        version: &Version,
        want_zip: bool,
    ) -> Result<VersionEntry, FetchError> {
        let query = version.as_str();
        check_path_version(module, version)
            .map_err(|err| FetchError::not_found(module, query, err.to_string()))?;
        let stored = self.stored(module, version).await?;
        if let Some(entry) = stored.as_ref().filter(|e| e.is_full() || !want_zip) {
            Counters::bump(&self.counters.store_hits);
            return Ok(entry.clone());
        }
        if self.config.offline {
            return Err(offline(module, query, stored.is_some()));
        }
        let zip_key = (module.clone(), format!("zip:{query}"));
        if let (true, Some(reason)) = (want_zip, self.negative.get_fresh(&zip_key)) {
            return Err(zip_unavailable(module, version, reason));
        }
        let filled = self.fill(module, query).await?;
        match (want_zip, filled.entry.is_full(), filled.zip_problem) {
            (true, false, reason) => {
                let reason = reason.unwrap_or_else(|| String::from("the zip is not stored"));
                self.negative.put(zip_key, reason.clone());
                Err(zip_unavailable(module, version, reason))
            }
            _ => Ok(filled.entry),
        }
    }

    /// The stored entry of `module@version`, read off the async threads.
    async fn stored(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Option<VersionEntry>, FetchError> {
        let (index, module, version) = (Arc::clone(&self.index), module.clone(), version.clone());
        tokio::task::spawn_blocking(move || index.get(&module, &version))
            .await
            .map_err(|_| FetchError::TaskFailed)?
            .map_err(FetchError::from)
    }

    /// One shared fill of `module@query`, unless it failed a moment ago.
    async fn fill(
        self: &Arc<Self>,
        module: &ModulePath,
        query: &str,
    ) -> Result<Filled, FetchError> {
        let key = (module.clone(), query.to_owned());
        let request = Request {
            module: module.clone(),
            query: query.to_owned(),
        };
        if let Some(reason) = self.negative.get_fresh(&key)
            && !self.pool_vouches(&request).await
        {
            Counters::bump(&self.counters.negative_cache_hits);
            return Err(FetchError::not_found(module, query, reason));
        }
        let this = Arc::clone(self);
        let work = async move {
            Counters::bump(&this.counters.fills_started);
            if let Some(filled) = this.fill_from_peers(&request, PeerClaim::Full).await {
                return Ok(filled);
            }
            let filled = from_vcs::fill(&this.go, &this.index, request.clone()).await;
            if filled.is_err()
                && let Some(mod_only) = this.fill_from_peers(&request, PeerClaim::ModOnly).await
            {
                return Ok(mod_only);
            }
            this.record_fill(&request, &filled);
            let own = this.own_records.as_ref();
            provenance::record_fill(own, &this.index, &this.private, &request.module, &filled)
                .await;
            if let Ok(filled) = &filled {
                this.announce(&request.module, filled);
            }
            filled
        };
        self.fills.run(key, work).await.1
    }

    /// Counts a fill's outcome and remembers a "not found" briefly.
    fn record_fill(&self, request: &Request, filled: &Result<Filled, FetchError>) {
        match filled {
            Ok(filled) => {
                self.counters.filled(FillSource::Vcs);
                tracing::info!("filled {}@{} from the VCS", request.module, filled.version);
            }
            Err(err) => {
                Counters::bump(&self.counters.fills_failed);
                tracing::info!("fill of {}@{} failed: {err}", request.module, request.query);
                if let FetchError::NotFound { reason, .. } = err {
                    let key = (request.module.clone(), request.query.clone());
                    self.negative.put(key, reason.clone());
                }
            }
        }
    }
}

/// `query` as a canonical version that fits `module`, if it is one.
fn fitting_canonical(module: &ModulePath, query: &str) -> Option<Version> {
    let version = Version::parse(query).ok().filter(Version::is_canonical)?;
    check_path_version(module, &version).ok()?;
    Some(version)
}

fn offline(module: &ModulePath, query: &str, mod_only: bool) -> FetchError {
    match mod_only {
        true => FetchError::ZipUnavailable {
            module: module.clone(),
            version: query.to_owned(),
            reason: String::from("only the .mod is stored and the node is offline"),
        },
        false => FetchError::Offline {
            module: module.clone(),
            query: query.to_owned(),
        },
    }
}

fn zip_unavailable(module: &ModulePath, version: &Version, reason: String) -> FetchError {
    FetchError::ZipUnavailable {
        module: module.clone(),
        version: version.as_str().to_owned(),
        reason,
    }
}
