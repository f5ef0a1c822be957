//! [`Node`]: a running node, as a handle. `start` returns once the store is open and the HTTP
//! listener is bound; `shutdown` drains in-flight responses and closes the store.
//!
//! The `delos serve` binary and the tests drive the same handle.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::sumdb::SignerKey;
use delos_registry_index::{Index, IndexConfig, IndexError, OpenCheck};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::checksum_db::{ChecksumDb, PublicCheck};
use crate::config::Config;
use crate::fetch::{FetchConfig, FetchError, Fetcher, SumCheck};
use crate::forked_logs::ForkedLogs;
use crate::http::{AppState, router};
use crate::http_client::HttpClient;
use crate::keys::NodeKeys;
use crate::keys::load_or_create_note_key;
use crate::listener::{Connection, GuardedListener};
use crate::pool::fill_requests::{AskedNow, FillForPeers, IN_FLIGHT, MemberFills};
use crate::pool::log_members::{AskMembers, MemberLogs, mirror_logs};
use crate::pool::peer_fill::PoolPeers;
use crate::pool::{Pool, PoolSetup, RecordLimits};
use crate::provenance::OwnRecords;
use crate::sumdb_relay::{Relay, workers_gosumdb};
use crate::telemetry::Telemetry;

/// What a fill asked of a member may take beyond the node's own fill timeout (the member's
/// queue, the answer's trip).
const MEMBER_FILL_GRACE: Duration = Duration::from_secs(30);

/// How long shutdown waits for in-flight responses before it cuts them off.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for the fills under way (those whose clients were served
/// before the pin among them).
const PINS_TIMEOUT: Duration = Duration::from_secs(10);

/// A running node: its store, fill path and HTTP server.
#[derive(Debug)]
pub struct Node {
    http_addr: SocketAddr,
    fetcher: Fetcher,
    pool: Option<Pool>,
    checksum_db: Option<ChecksumDb>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<io::Result<()>>,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The store could not be opened.
    #[error("opening the store in {dir}")]
    Store {
        /// The store directory.
        dir: std::path::PathBuf,
        /// What the index said.
        #[source]
        source: IndexError,
    },
    /// The node's keys could not be loaded or created.
    #[error("loading the node's keys")]
    Keys(#[source] crate::keys::KeyError),
    /// The fill path could not be set up (its work directory).
    #[error("setting up the fetcher")]
    Fetcher(#[source] FetchError),
    /// The node's checksum database could not start (its key, or its log).
    #[error("starting the checksum database")]
    ChecksumDb(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The fork evidence of checksum logs could not be read from the store.
    #[error("reading the checksum logs' fork evidence")]
    ForkEvidence(#[source] delos_registry_index::SumdbCacheError),
    /// The HTTP listen address could not be bound.
    #[error("binding the HTTP listener to {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The thread of the store's open-time check could not start.
    #[error("starting the store check's thread")]
    Thread(#[source] io::Error),
    /// The pool could not start (a listen address, a bootstrap address, mDNS).
    #[error("starting the pool")]
    Pool(#[source] crate::p2p::SpawnError),
    /// The HTTP client could not be built.
    #[error("building the HTTP client")]
    HttpClient(#[source] crate::http_client::HttpClientError),
    /// The checksum-database relay could not start.
    #[error("starting the checksum-database relay")]
    Relay(#[source] crate::sumdb_relay::RelayStartError),
    /// A blocking start-up task panicked.
    #[error("a start-up task ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

/// Why a node did not stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// The HTTP server failed while running or draining.
    #[error("the HTTP server failed")]
    Serve(#[source] io::Error),
    /// In-flight responses did not finish within the drain timeout; they were cut off.
    #[error("in-flight responses did not finish within {0:?}")]
    DrainTimeout(Duration),
    /// The server task panicked.
    #[error("the HTTP server task ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

impl Node {
    /// Opens the store, sets up the fill path, binds the listener and starts serving. Logs
    /// one line `listening http=<addr>` once requests are answered.
    pub async fn start(config: Config) -> Result<Node, StartError> {
        let dir = config.store_dir();
        let open_dir = dir.clone();
        // Serve at once; every version is checked when first read until the pass is done.
        let mut index_config = IndexConfig::default();
        index_config.check = OpenCheck::Deferred;
        let index = tokio::task::spawn_blocking(move || Index::open_with(open_dir, &index_config))
            .await?
            .map_err(|source| StartError::Store { dir, source })?;
        let index = Arc::new(index);
        spawn_open_check(Arc::downgrade(&index))?;
        let keys = load_keys(&config).await?;
        let own_records = OwnRecords::new(keys.signing.clone(), config.upstream.clone());
        let addr = config.http_listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let http_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        // Bound first: the fill workers verify through this node's own relay, at this address.
        let private = private_patterns(&config);
        let mut fetch = fetch_config(&config, private.clone());
        fetch.gosumdb = workers_gosumdb(&config.gosumdb, &config.sumdb, http_addr);
        let fetcher = Fetcher::with_own_records(index, fetch, Some(own_records))
            .map_err(StartError::Fetcher)?;
        // After the bind, so a start that fails leaves no pool running; requests wait in the
        // listener's backlog until the router serves them.
        let mut registry = Telemetry::registry();
        let gossipsub = Telemetry::gossipsub(&mut registry);
        let forked = load_forked_logs(&fetcher).await?;
        let pool = start_pool(
            &config,
            &keys,
            &fetcher,
            private.clone(),
            gossipsub,
            &forked,
        )
        .await?;
        let stats = pool.as_ref().map(|pool| pool.stats().as_ref());
        let telemetry = Arc::new(Telemetry::new(registry, fetcher.counters(), stats));
        let (relay, client) =
            start_relay(&config, &fetcher, private.clone(), &telemetry, forked).await?;
        let mut relay = relay.with_witness(load_witness_key(&config, &keys).await?);
        if let Some(pool) = &pool {
            relay = relay.with_pool_logs(Arc::new(AskMembers::new(pool.handle().clone())));
        }
        attach_upstream(&config, &fetcher, &relay, client);
        let checksum_db = start_checksum_db(&config, &fetcher, &relay, private, &telemetry).await?;
        if let Some(pool) = &pool {
            serve_logs(&config, &keys, pool, checksum_db.clone(), &relay);
        }
        let state = AppState::new(
            fetcher.clone(),
            telemetry,
            config.fetch_timeout,
            config.answer_caches,
        );
        let state = state.with_pool(pool.clone()).with_sumdb(relay);
        let metrics = state.telemetry().http().clone();
        let app = router(state.with_checksum_db(checksum_db.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let listener = GuardedListener::new(listener, config.connections, metrics);
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<Connection>();
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // A dropped sender also means stop.
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(target: "delos", http = %http_addr, "listening");
        Ok(Node {
            http_addr,
            fetcher,
            pool,
            checksum_db,
            stop,
            server,
        })
    }

    /// The address the HTTP server listens on (with the real port when configured as 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The fill path (and through it the store) this node serves from.
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// The node's pool, when it runs in one.
    pub fn pool(&self) -> Option<&Pool> {
        self.pool.as_ref()
    }

    /// The node's own checksum database, when it runs one.
    pub fn checksum_db(&self) -> Option<&ChecksumDb> {
        self.checksum_db.as_ref()
    }

    /// Stops accepting connections, lets in-flight responses finish (at most
    /// 30 s) and the fills under way finish (at most 10 s), then closes the store. Every stored version was already flushed
    /// when it was stored; closing releases the store's lock for the next process.
    pub async fn shutdown(self) -> Result<(), ShutdownError> {
        let Node {
            fetcher,
            pool,
            stop,
            mut server,
            ..
        } = self;
        let _ = stop.send(());
        if let Some(pool) = pool {
            pool.shutdown().await;
        }
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await;
        let result = match drained {
            Ok(joined) => joined?.map_err(ShutdownError::Serve),
            Err(_) => {
                server.abort();
                Err(ShutdownError::DrainTimeout(DRAIN_TIMEOUT))
            }
        };
        // Fills under way finish now, before the store closes: a fill whose clients were
        // served before its pin (which waits for a pause in the requests) pins at once.
        if !fetcher.foreground().finish(PINS_TIMEOUT).await {
            tracing::warn!(
                timeout_s = PINS_TIMEOUT.as_secs(),
                "fills were still under way when the node stopped; they fill again when asked"
            );
        }
        fetcher.release_work_area();
        // The last handle closes the index; sled flushes on drop, which blocks.
        tokio::task::spawn_blocking(move || drop(fetcher)).await?;
        tracing::info!(target: "delos", "stopped");
        result
    }
}

/// The node's keys: its identity in `<data dir>/node.key` (created on first start), and the
/// signer of its provenance records, the `--signing-key` file or else the identity.
async fn load_keys(config: &Config) -> Result<NodeKeys, StartError> {
    let (data_dir, signing_key) = (config.data_dir.clone(), config.signing_key.clone());
    tokio::task::spawn_blocking(move || NodeKeys::load(&data_dir, signing_key.as_deref()))
        .await?
        .map_err(StartError::Keys)
}

/// The fill path of a stopped node, for maintenance commands (`delos verify`, `delos repin`):
/// its store (the lock also proves the node is not running), its own records' signer, and a
/// fetcher configured as the node's, without HTTP or pool. Release its work area when done.
pub async fn maintenance_fetcher(config: &Config) -> Result<(Fetcher, OwnRecords), StartError> {
    let dir = config.store_dir();
    let open_dir = dir.clone();
    let index = tokio::task::spawn_blocking(move || Index::open(open_dir))
        .await?
        .map_err(|source| StartError::Store { dir, source })?;
    let keys = load_keys(config).await?;
    let own_records = OwnRecords::new(keys.signing.clone(), config.upstream.clone());
    let fetch = fetch_config(config, private_patterns(config));
    let fetcher = Fetcher::with_own_records(Arc::new(index), fetch, Some(own_records.clone()))
        .map_err(StartError::Fetcher)?;
    Ok((fetcher, own_records))
}

/// Starts the node's own checksum database when the configuration names one (loading or
/// creating its key), hands it every later pin, then catches its log up with the store
/// (checking public versions against the relayed public database, when there is one).
async fn start_checksum_db(
    config: &Config,
    fetcher: &Fetcher,
    relay: &Relay,
    private: PrivatePatterns,
    telemetry: &Telemetry,
) -> Result<Option<ChecksumDb>, StartError> {
    let Some(name) = config.checksum_db.clone() else {
        return Ok(None);
    };
    let boxed = |err: Box<dyn std::error::Error + Send + Sync>| StartError::ChecksumDb(err);
    let path = config.checksum_db_key_file();
    let key_name = name.clone();
    let key = tokio::task::spawn_blocking(move || load_or_create_note_key(&path, &key_name))
        .await?
        .map_err(|err| boxed(Box::new(err)))?;
    let check = config
        .public_check_database()
        .map(|public| PublicCheck::new(relay.clone(), public, private));
    match &check {
        Some(check) => tracing::info!(
            target: "delos",
            public = check.database(),
            "public versions enter the checksum database once the public one agrees"
        ),
        None => tracing::info!(
            target: "delos",
            "public versions enter the checksum database unchecked (--checksum-db-check off, \
             or --gosumdb names no relayed database)"
        ),
    }
    let index = Arc::clone(fetcher.index());
    let stats = telemetry.checksum_db().clone();
    let (db, appender) = ChecksumDb::new(index, name, key, check, stats);
    fetcher.attach_log(Arc::new(db.clone()));
    appender.start().await.map_err(|err| boxed(Box::new(err)))?;
    tracing::info!(target: "delos", checksum_db = %db.verifier_key(), "checksum database on");
    Ok(Some(db))
}

/// The checksum-database relay of the configured databases, with the node's one HTTP client
/// (returned too, for the fill path).
async fn start_relay(
    config: &Config,
    fetcher: &Fetcher,
    private: PrivatePatterns,
    telemetry: &Telemetry,
    forked: Arc<ForkedLogs>,
) -> Result<(Relay, HttpClient), StartError> {
    let client = HttpClient::new().map_err(StartError::HttpClient)?;
    let (databases, upstream) = (config.relayed_databases(), config.upstream.clone());
    let (index, stats) = (Arc::clone(fetcher.index()), telemetry.sumdb().clone());
    let relay_client = client.clone();
    let relay = tokio::task::spawn_blocking(move || {
        Relay::new(
            databases,
            relay_client,
            &upstream,
            index,
            private,
            stats,
            forked,
        )
    })
    .await?
    .map_err(StartError::Relay)?;
    Ok((relay, client))
}

/// The node's witness key, `<data dir>/witness.key` (created on first start, mode 0600),
/// named `delos-witness-<first 12 hex digits of the node's signing key>`: the relay cosigns
/// every head it verified with it.
async fn load_witness_key(config: &Config, keys: &NodeKeys) -> Result<SignerKey, StartError> {
    let signer = keys.signer_id().to_string();
    let hex = signer.rsplit(':').next().unwrap_or_default();
    let name = format!("delos-witness-{}", &hex[..hex.len().min(12)]);
    let path = config.data_dir.join("witness.key");
    tokio::task::spawn_blocking(move || load_or_create_note_key(&path, &name))
        .await?
        .map_err(StartError::Keys)
}

/// Lets the fill path fetch from `--upstream`'s proxies itself, with the node's one HTTP
/// client, checking what they send against the database `--gosumdb` names through `relay`.
fn attach_upstream(config: &Config, fetcher: &Fetcher, relay: &Relay, client: HttpClient) {
    let check = relay.fill_check(&config.gosumdb);
    let off = config.gosumdb.trim() == "off";
    if check.is_none() && !off && config.upstream.contains("://") {
        tracing::warn!(
            gosumdb = %config.gosumdb,
            "--gosumdb names a checksum database this node does not relay (--sumdb): fills \
             from upstream proxies cannot be checked and will fail"
        );
    }
    let check = check.map(|check| Arc::new(check) as Arc<dyn SumCheck>);
    fetcher.attach_upstream(client, check);
}

/// The checksum logs the store holds pool fork evidence for, shared by the pool and relay.
async fn load_forked_logs(fetcher: &Fetcher) -> Result<Arc<ForkedLogs>, StartError> {
    let index = Arc::clone(fetcher.index());
    let forked = tokio::task::spawn_blocking(move || ForkedLogs::load(&index))
        .await?
        .map_err(StartError::ForkEvidence)?;
    Ok(Arc::new(forked))
}

/// Puts the node's checksum logs in the pool: publishes its own log's heads, answers members'
/// log requests (its own log and its mirrors), and keeps its mirrors in sync.
fn serve_logs(
    config: &Config,
    keys: &NodeKeys,
    pool: &Pool,
    checksum_db: Option<ChecksumDb>,
    relay: &Relay,
) {
    if let Some(db) = &checksum_db {
        pool.publish_log_heads(db.verifier_key().to_string(), db.heads());
    }
    let trust = config.trust_policy(keys.signer_id());
    let logs = MemberLogs::new(checksum_db, relay.clone(), trust);
    if let Err(err) = pool.handle().serve_logs(Arc::new(logs)) {
        tracing::warn!(error = %err, "checksum logs not served to the pool");
    }
    if !relay.mirrored_logs().is_empty() {
        pool.spawn(mirror_logs(relay.clone(), pool.log_heads()));
    }
}

/// Starts the pool when the configuration asks for one.
async fn start_pool(
    config: &Config,
    keys: &NodeKeys,
    fetcher: &Fetcher,
    private: PrivatePatterns,
    gossipsub: &mut Registry,
    forked: &Arc<ForkedLogs>,
) -> Result<Option<Pool>, StartError> {
    let Some(p2p) = &config.p2p else {
        return Ok(None);
    };
    let index = Arc::clone(fetcher.index());
    let trust = config.trust_policy(keys.signer_id());
    let limits = RecordLimits::new(trust.clone(), config.record_cap());
    let setup = PoolSetup::new(&keys.identity, p2p, index, private)
        .with_record_limits(limits)
        .with_evidence_dir(config.data_dir.join("evidence"))
        .with_forked_logs(Arc::clone(forked))
        .with_metrics(gossipsub);
    let pool = Pool::start(setup).await.map_err(StartError::Pool)?;
    let hooks = Arc::new(pool.clone());
    let counters = Arc::clone(fetcher.counters());
    let index = Arc::clone(fetcher.index());
    let asked_now = Arc::new(AskedNow::default());
    let members = MemberFills::new(
        pool.handle().clone(),
        trust.clone(),
        Arc::clone(&index),
        Arc::clone(&asked_now),
        config.fetch_timeout + MEMBER_FILL_GRACE,
    );
    let peers = PoolPeers::new(pool.handle().clone(), trust.clone(), index, counters, hooks)
        .with_member_fills(members);
    fetcher.attach_peers(Arc::new(peers));
    if config.fill_for_peers {
        let stats = Arc::clone(pool.stats());
        let service = FillForPeers::new(fetcher.clone(), trust, stats, asked_now);
        let timeout = config.fetch_timeout + MEMBER_FILL_GRACE;
        if let Err(err) = pool
            .handle()
            .serve_fills(Arc::new(service), IN_FLIGHT, timeout)
        {
            tracing::warn!(error = %err, "not filling for pool members");
        }
    }
    Ok(Some(pool))
}

/// The node's private patterns, parsed once for the whole process (the fill path and the
/// pool share them); a malformed one is logged once.
fn private_patterns(config: &Config) -> PrivatePatterns {
    let private = PrivatePatterns::from_patterns(&config.private);
    for pattern in private.malformed() {
        tracing::warn!("private pattern {pattern:?} is malformed and matches nothing");
    }
    private
}

/// The fill path's settings, from the node's.
fn fetch_config(config: &Config, private: PrivatePatterns) -> FetchConfig {
    let mut fetch = FetchConfig::new(config.fetch_dir());
    fetch.upstream.clone_from(&config.upstream);
    fetch.gosumdb.clone_from(&config.gosumdb);
    fetch.private = private;
    fetch.workers = config.fetch_workers;
    fetch.timeout = config.fetch_timeout;
    fetch.list_ttl = config.list_ttl;
    fetch.offline = config.offline;
    fetch
}

/// Runs the store's open-time check on a thread of its own while the node serves, a step at a
/// time so that it ends with the node (it holds the index only during a step), then reports
/// what it found damaged.
fn spawn_open_check(index: Weak<Index>) -> Result<(), StartError> {
    let check = move || {
        let started = Instant::now();
        while let Some(index) = index.upgrade() {
            match index.open_check_step() {
                Ok(false) => {}
                Ok(true) => return log_damage(&index, started.elapsed()),
                Err(err) => {
                    let error = &err as &dyn std::error::Error;
                    return tracing::error!(
                        error,
                        "the store check stopped; versions are still checked when first read"
                    );
                }
            }
        }
    };
    std::thread::Builder::new()
        .name("store-check".into())
        .spawn(check)
        .map(drop)
        .map_err(StartError::Thread)
}

/// Reports entries the store's open-time check found damaged (hidden until stored again).
fn log_damage(index: &Index, took: Duration) {
    let report = index.open_report();
    let damaged = report.damaged.len();
    let stats = index.stats();
    if damaged > 0 {
        tracing::warn!(
            damaged,
            "store checked with damaged entries; they stay hidden until stored again"
        );
    }
    tracing::info!(
        versions = stats.versions,
        damaged,
        took_ms = took.as_millis() as u64,
        "store checked"
    );
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
pub async fn wait_for_signal() -> io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}
