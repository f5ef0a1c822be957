//! The fill path: answering module versions, lists and queries from the store, and filling
//! misses from peers and version control.
//!
//! [`Fetcher::version`] answers a canonical version:
//!
//! 1. refuse what cannot exist (non-canonical version, version that does not fit the path);
//! 2. the store (`spawn_blocking`, never behind a fill): a hit answers at once;
//! 3. offline nodes stop here;
//! 4. the negative cache answers recent "not found"s at once;
//! 5. one fill per module version (`single_flight`), run in its own task: the miss path
//!    (`miss_path`), `Inner::fill`, reads top to bottom in one function (peers with a full
//!    claim, then the `--upstream` list: its proxies over HTTP, `direct` through `go mod
//!    download`; then trusted members asked to fill it; then `.mod`-only answers), and every
//!    fill ends in its one epilogue, `Inner::finish`: counted by source, signed as the node's
//!    record naming that source, announced to the pool with that record.
//!
//! Walking the `--upstream` list is `upstream_walk` (fills and queries share it); asking the
//! pool is `peers`. The pool is reached only through `PeerSource`, which this module defines and
//! `crate::pool` implements: `fetch` imports nothing from the pool or the network.
//!
//! `list`, `@latest` and non-canonical queries (`queries`) are cached for `list_ttl`, served
//! stale while a background refresh runs, and fall back to what the store holds.

mod absent_hosts;
mod cached_query;
pub mod client;
mod config;
mod error;
mod fair_queue;
mod filled;
mod foreground;
mod from_proxy;
mod from_vcs;
mod go_command;
mod go_json;
mod goproxy_list;
mod in_flight;
mod live_metadata;
mod live_zip;
mod miss_path;
mod peers;
mod pinned_zips;
mod queries;
mod recent;
mod single_flight;
mod stats;
mod sum_check;
mod ttl_cache;
mod upstream_walk;
mod zip_failure;

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::version::{Version, check_path_version};
use delos_registry_index::{Index, VersionEntry};

use crate::http_client::HttpClient;
use crate::provenance::OwnRecords;

pub use config::FetchConfig;
pub use error::FetchError;
pub(crate) use filled::{Filled, FilledFrom};
pub(crate) use peers::{ONLY_MOD_VOUCHED, PeerClaim, PeerSource, PinLog, RemoteFill};
pub(crate) use pinned_zips::{PinnedZips, mapped_as_written};
use recent::RecentFills;
pub use recent::{RECENT_FILLS, RecentFill};
pub use stats::{FetchStats, PeerFillMicros};
pub(crate) use sum_check::{SumCheck, SumCheckError};
pub use zip_failure::{ZipFailure, classify_zip_failure};

use absent_hosts::AbsentHosts;
use foreground::Foreground;
use from_vcs::Request;
use go_command::GoCommand;
use goproxy_list::GoproxyList;
use in_flight::First;
use live_metadata::LiveMetadata;
pub(crate) use live_metadata::{EarlyMetadata, MetadataFile};
pub(crate) use live_zip::LiveZipReader;
use live_zip::LiveZips;
use queries::Queries;
use single_flight::SingleFlight;
pub(crate) use stats::Counters;
use ttl_cache::TtlCache;

/// Capacity of each answer cache (lists, queries, negative answers).
const CACHE_CAPACITY: usize = 10_000;

/// What a caller of [`Fetcher::version`] needs of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Want {
    /// The `.info` and `.mod`: a `.mod`-only entry answers.
    Metadata,
    /// The zip too: a `.mod`-only entry gives [`FetchError::ZipUnavailable`].
    Zip,
}

/// Where a version's `.info` and `.mod` are served from.
#[derive(Debug)]
pub(crate) enum MetadataSource {
    /// The store: the pinned entry.
    Stored(Box<VersionEntry>),
    /// A fill from an upstream proxy in progress, which vouched for the file: its bytes.
    Fill(Bytes),
}

/// Where a zip is served from.
#[derive(Debug)]
pub(crate) enum ZipSource {
    /// The store: the pinned entry.
    Stored(VersionEntry),
    /// An upstream proxy's download in progress, followed as it arrives.
    Live(LiveZipReader),
}

/// Answers module versions, lists and queries; fills misses from peers and version control.
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
    /// Hosts that did not resolve recently: every miss under them is "not found" at once.
    absent: AbsentHosts,
    queries: Queries,
    private: PrivatePatterns,
    /// Signs and stores the node's record after each fill (`None`: no records).
    own_records: Option<OwnRecords>,
    /// The pool, once attached: misses are filled from peers first, fills are announced.
    peers: OnceLock<Arc<dyn PeerSource>>,
    /// The node's checksum database, once attached: every whole pin is appended to its log.
    log: OnceLock<Arc<dyn PinLog>>,
    /// The `--upstream` list, read with `go`'s GOPROXY rules.
    upstream: GoproxyList,
    /// The node's HTTP client, once attached: from then on the node fetches from the
    /// upstream's proxies itself (without it, `go` walks the whole list).
    http: OnceLock<HttpClient>,
    /// The checksum database proxies' bytes are checked against, once attached.
    sums: OnceLock<Arc<dyn SumCheck>>,
    /// Zips arriving from proxies now, readable while they arrive.
    live: LiveZips,
    /// The `.info` and proved `.mod` of versions being filled from proxies now.
    metadata: LiveMetadata,
    /// Versions whose fill from a proxy failed a check a moment ago.
    suspects: TtlCache<(ModulePath, Version), ()>,
    /// The last fills that stored a version, for the status page.
    recent: RecentFills,
    /// When clients last asked: refreshes of aged answers wait for a pause.
    foreground: Arc<Foreground>,
    /// Where fills from proxies hand the zips they pinned, once attached.
    pinned_zips: OnceLock<Arc<dyn PinnedZips>>,
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
        let foreground = Arc::new(Foreground::default());
        let inner = Inner {
            index,
            go,
            counters,
            fills: SingleFlight::new(config.max_pending),
            negative: TtlCache::new(config.negative_ttl, CACHE_CAPACITY),
            absent: AbsentHosts::new(config.negative_ttl, CACHE_CAPACITY),
            queries: Queries::new(&config, CACHE_CAPACITY, Arc::clone(&foreground)),
            private,
            own_records,
            peers: OnceLock::new(),
            log: OnceLock::new(),
            upstream: GoproxyList::parse(&config.upstream),
            http: OnceLock::new(),
            sums: OnceLock::new(),
            live: LiveZips::default(),
            metadata: LiveMetadata::default(),
            suspects: TtlCache::new(config.negative_ttl, CACHE_CAPACITY),
            recent: RecentFills::default(),
            foreground,
            pinned_zips: OnceLock::new(),
            config,
        };
        Ok(Fetcher {
            inner: Arc::new(inner),
        })
    }

    /// A canonical version, from the store or filled on a miss, as far as `want` needs it
    /// (see [`Want`]). A non-canonical `version` is resolved as a query (see
    /// [`Self::resolve`]). Cancel-safe: a fill that was started goes on when the caller goes
    /// away.
    pub async fn version(
        &self,
        module: &ModulePath,
        version: &Version,
        want: Want,
    ) -> Result<VersionEntry, FetchError> {
        if !version.is_canonical() {
            return Ok(self.resolve(module, version.as_str()).await?.1);
        }
        self.inner.version(module, version, want).await
    }

    /// The zip of `module@version`: from the store, or, while a fill from an upstream proxy is
    /// downloading it, that download as it arrives (ended only once verified).
    /// Starts the fill on a miss, like [`Self::version`] with [`Want::Zip`].
    pub(crate) async fn zip(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<ZipSource, FetchError> {
        if !version.is_canonical() {
            return self
                .version(module, version, Want::Zip)
                .await
                .map(ZipSource::Stored);
        }
        let fill = self.inner.version(module, version, Want::Zip);
        match self.inner.live.first(module, version, fill).await {
            First::Registered(zip) => Ok(ZipSource::Live(LiveZipReader::new(zip))),
            First::Filled(filled) => filled.map(ZipSource::Stored),
        }
    }

    /// The `.info` or `.mod` of canonical `module@version`: from the store, or, while a fill
    /// from an upstream proxy goes on, from that fill once it vouches for that file (see
    /// [`live_metadata`]). Starts the fill on a miss, like [`Self::version`] with
    /// [`Want::Metadata`].
    pub(crate) async fn metadata(
        &self,
        module: &ModulePath,
        version: &Version,
        file: MetadataFile,
    ) -> Result<MetadataSource, FetchError> {
        let fill = self.version(module, version, Want::Metadata);
        let answerable = |early: &Arc<EarlyMetadata>| early.file(file).cloned();
        let first = self
            .inner
            .metadata
            .first_picked(module, version, fill, answerable);
        match first.await {
            First::Registered(bytes) => Ok(MetadataSource::Fill(bytes)),
            First::Filled(filled) => filled.map(|entry| MetadataSource::Stored(Box::new(entry))),
        }
    }

    /// Resolves a non-canonical `.info` query (branch, commit hash prefix, `v1`, `v3.0.0` of a
    /// module without go.mod) to its canonical version, filled and stored like any other.
    pub async fn resolve(
        &self,
        module: &ModulePath,
        query: &str,
    ) -> Result<(Version, VersionEntry), FetchError> {
        if let Some(version) = fitting_canonical(module, query) {
            let entry = self.inner.version(module, &version, Want::Metadata).await?;
            return Ok((version, entry));
        }
        let version = queries::resolve_query(&self.inner, module, query).await?;
        let entry = self.inner.version(module, &version, Want::Metadata).await?;
        Ok((version, entry))
    }

    /// The versions to list for `module`: stored ∪ the VCS's tagged versions (retracted ones
    /// kept, pseudo-versions left out), in semver order.
    pub async fn list(&self, module: &ModulePath) -> Result<Vec<Version>, FetchError> {
        queries::list(&self.inner, module).await
    }

    /// What `@latest` answers: the VCS's latest (cached like `list`), else the highest stored.
    pub async fn latest(&self, module: &ModulePath) -> Result<(Version, VersionEntry), FetchError> {
        let version = queries::latest(&self.inner, module).await?;
        let entry = self.inner.version(module, &version, Want::Metadata).await?;
        Ok((version, entry))
    }

    /// `module@version` filled (if need be) for a pool member that asked (`Want::Zip`): as for
    /// the node's own clients (one fill shared with them, within the same worker bound), but a
    /// fill started here does not ask members in turn.
    pub(crate) async fn version_for_peer(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<VersionEntry, FetchError> {
        self.inner
            .version_for(module, version, Want::Zip, true)
            .await
    }

    /// When a build last asked the node something: background refreshes and the pins of
    /// vouched fills wait for a pause ([`Foreground::settled`]); the node's shutdown ends
    /// those waits and lets fills under way finish ([`Foreground::finish`]).
    pub(crate) fn foreground(&self) -> &Foreground {
        &self.inner.foreground
    }

    /// The fill path's counter handles, for the node's telemetry registry and the pool's
    /// peer fills.
    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.inner.counters
    }

    /// The fill path's counters.
    pub fn stats(&self) -> FetchStats {
        let in_flight = self.inner.fills.len() + self.inner.queries.pending();
        let bad_peers = self.inner.peers.get().map_or(0, |peers| peers.bad_peers());
        self.inner.counters.snapshot(in_flight as u64, bad_peers)
    }

    /// Attaches the pool: from now on misses of public modules are filled from peers first
    /// (`peers` verifies every byte against hashes its trust policy accepts), and every fill is
    /// announced. Returns `false`, changing nothing, if a pool was attached already.
    pub(crate) fn attach_peers(&self, peers: Arc<dyn PeerSource>) -> bool {
        self.inner.peers.set(peers).is_ok()
    }

    /// Attaches where fills from upstream proxies hand the zips they pin, mapped as they were
    /// written (the HTTP layer's zip maps). Returns `false`, changing nothing, if one was
    /// attached.
    pub(crate) fn attach_pinned_zips(&self, zips: Arc<dyn PinnedZips>) -> bool {
        self.inner.pinned_zips.set(zips).is_ok()
    }

    /// Attaches the node's checksum database: from now on every fill that leaves a version
    /// pinned whole hands it to `log`. Returns `false`, changing nothing, if one was attached.
    pub(crate) fn attach_log(&self, log: Arc<dyn PinLog>) -> bool {
        self.inner.log.set(log).is_ok()
    }

    /// Attaches the node's HTTP client, and the checksum database to check upstream bytes
    /// against (`None`: `--gosumdb` is `off`, or names a database the node does not relay,
    /// in which case nothing from a proxy is pinned). From now on the proxies of `--upstream`
    /// are asked over HTTP by the node itself, and `go` runs only for `direct` (and private
    /// modules). Returns `false`, changing nothing, if a client was attached already.
    pub(crate) fn attach_upstream(
        &self,
        client: HttpClient,
        sums: Option<Arc<dyn SumCheck>>,
    ) -> bool {
        if self.inner.http.set(client).is_err() {
            return false;
        }
        if let Some(sums) = sums {
            let _ = self.inner.sums.set(sums);
        }
        true
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
            for_peer: false,
        };
        from_vcs::produce(&self.inner.go, &self.inner.index, request, None).await
    }

    /// The miss path's peer step alone, for the peer fill's tests: the fill of `module@query`
    /// from peers acting on claims of the kind `claim`, with the fill path's gating (pool
    /// attached, public module, canonical version), without the epilogue.
    #[cfg(test)]
    pub(crate) async fn fill_from_peers_only(
        &self,
        module: &ModulePath,
        query: &str,
        claim: PeerClaim,
    ) -> Option<Filled> {
        let request = Request {
            module: module.clone(),
            query: query.to_owned(),
            for_peer: false,
        };
        self.inner.fill_from_peers(&request, claim).await
    }

    /// The last fills that stored a version (at most [`RECENT_FILLS`]), newest first.
    pub fn recent_fills(&self) -> Vec<RecentFill> {
        self.inner.recent.list()
    }

    /// A number that changes whenever a `list` or `@latest` answer may have changed: a
    /// version pinned or a record stored, or a cached upstream answer that changed (a
    /// refresh that brought the same answer changes nothing). An answer computed at the same
    /// number is still the answer, though its upstream part may have aged: asking again
    /// (behind the kept answer) lets the fetcher notice that and refresh it.
    pub fn answers_generation(&self) -> u64 {
        self.inner.index.changes() + self.inner.queries.changes()
    }

    /// The store the fetcher serves from and fills into.
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
        want: Want,
    ) -> Result<VersionEntry, FetchError> {
        self.version_for(module, version, want, false).await
    }

    /// [`Self::version`]; with `for_peer`, a fill it starts was asked by a pool member and
    /// asks no member in turn.
    async fn version_for(
        self: &Arc<Self>,
        module: &ModulePath,
        version: &Version,
        want: Want,
        for_peer: bool,
    ) -> Result<VersionEntry, FetchError> {
        let query = version.as_str();
        check_path_version(module, version)
            .map_err(|err| FetchError::not_found(module, query, err.to_string()))?;
        let stored = self.stored(module, version).await?;
        if let Some(entry) = stored
            .as_ref()
            .filter(|e| e.is_full() || want == Want::Metadata)
        {
            Counters::bump(&self.counters.store_hits);
            return Ok(entry.clone());
        }
        if self.config.offline {
            return Err(offline(module, query, stored.is_some()));
        }
        let zip_key = (module.clone(), format!("zip:{query}"));
        if let (Want::Zip, Some(reason)) = (want, self.negative.get_fresh(&zip_key)) {
            return Err(zip_unavailable(module, version, reason));
        }
        let request = Request {
            module: module.clone(),
            query: query.to_owned(),
            for_peer,
        };
        let filled = self.shared_fill(request).await?;
        match (want, filled.entry.is_full(), filled.zip_problem) {
            (Want::Zip, false, reason) => {
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

    /// One shared fill of `request` ([`Self::fill`] in its own task, whoever else waits for
    /// it), unless it failed a moment ago and no peer vouches for it since.
    async fn shared_fill(self: &Arc<Self>, request: Request) -> Result<Filled, FetchError> {
        let key = (request.module.clone(), request.query.clone());
        if let Some(reason) = self.negative.get_fresh(&key)
            && !self.peers_vouch(&request).await
        {
            Counters::bump(&self.counters.negative_cache_hits);
            return Err(FetchError::not_found(
                &request.module,
                &request.query,
                reason,
            ));
        }
        let this = Arc::clone(self);
        let work = async move {
            Counters::bump(&this.counters.fills_started);
            let started = std::time::Instant::now();
            // A stopping node waits for fills under way (at most a few seconds): a client
            // may have been served before the pin.
            let _held = this.foreground.hold();
            let filled = this.fill(&request).await;
            this.finish(&request, filled, started).await
        };
        self.fills.run(key, client::carried(work)).await.1
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
