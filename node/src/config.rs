//! Configuration of `delos serve`: the command-line flags ([`ServeArgs`], defined in
//! [`crate::cli`], each with a `DELOS_*` environment fallback) layered over an optional TOML
//! file ([`FileConfig`]) into the validated [`Config`] the node runs with. `config` reads
//! `cli`, never the other way round.
//!
//! Precedence: flag, then environment variable, then `--config` file, then the default.
//! Every key is documented in `docs/configuration.md`.

use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU8;
use std::path::PathBuf;
use std::time::Duration;

use delos_pool_protocol::signing::SignerId;
use delos_pool_protocol::trust::TrustPolicy;
use delos_registry_index::RecordCap;

use crate::cli::{ServeArgs, default_data_dir};
use crate::http::AnswerCacheLimits;
use crate::listener::ConnectionLimits;
use crate::logging::LogFormat;
use crate::p2p::P2pConfig;
use crate::pool::record_limits::{DEFAULT_MAX_RECORDS, DEFAULT_MAX_RECORDS_PER_SIGNER};
use crate::sumdb_relay::{Database, InvalidDatabase};

mod file;
mod pool;

pub use file::FileConfig;

/// The HTTP listen address when none is configured: loopback only, port 3000.
pub const DEFAULT_HTTP_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 3000);
/// The `GOPROXY` value the fill workers use by default: fetch straight from the VCS.
pub const DEFAULT_UPSTREAM: &str = "direct";
/// The `GOSUMDB` value the fill workers use by default: Go's own checksum database.
pub const DEFAULT_GOSUMDB: &str = "sum.golang.org";
/// How many `go mod download` processes run at once by default.
pub const DEFAULT_FETCH_WORKERS: usize = 4;
/// How long one `go` process may run by default before its process group is killed.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a `list` or `@latest` answer is cached by default.
pub const DEFAULT_LIST_TTL: Duration = Duration::from_secs(60);

/// How long a client has by default to send a request head.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kept-alive connection may wait for its next request by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How many HTTP connections may be open at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default memory for warm answers (`--answer-cache-mib`).
pub const DEFAULT_ANSWER_CACHE_MIB: u64 = 64;
/// Default address space for mapped zips (`--mapped-zips-mib`): every zip of a busy node's
/// working set, as the page cache holds them anyway.
pub const DEFAULT_MAPPED_ZIPS_MIB: u64 = 4096;
/// The most either cache may be given, in MiB (1 TiB).
const MAX_CACHE_MIB: u64 = 1 << 20;
/// The most `max_connections` may be (far above any file-descriptor limit in use).
const MAX_MAX_CONNECTIONS: usize = 1 << 24;

/// The validated configuration a node runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Where the store lives (`<data_dir>/store`) and fill workers work (`<data_dir>/fetch`).
    pub data_dir: PathBuf,
    /// The key file that signs provenance records (`None`: `<data_dir>/node.key`).
    pub signing_key: Option<PathBuf>,
    /// The HTTP listen address.
    pub http_listen: SocketAddr,
    /// The GOPROXY value of the fill workers.
    pub upstream: String,
    /// The GOSUMDB value of the fill workers.
    pub gosumdb: String,
    /// The checksum databases relayed under `/sumdb/` (at least one).
    pub sumdb: Vec<Database>,
    /// GOPRIVATE-style patterns of private modules.
    pub private: Vec<String>,
    /// Concurrent `go` processes, at least 1.
    pub fetch_workers: usize,
    /// Time limit of one `go` process, more than zero.
    pub fetch_timeout: Duration,
    /// `list`/`@latest` cache lifetime.
    pub list_ttl: Duration,
    /// Serve only what is stored.
    pub offline: bool,
    /// How log lines look.
    pub log_format: LogFormat,
    /// The HTTP server's connection limits (header and idle timeouts, open connections).
    pub connections: ConnectionLimits,
    /// How much the HTTP layer keeps of warm answers (in memory) and zips (mapped).
    pub answer_caches: AnswerCacheLimits,
    /// The pool's settings; `None`: the node runs alone.
    pub p2p: Option<P2pConfig>,
    /// Signers whose records are believed on their own (`--trusted-signer`).
    pub trusted_signers: Vec<SignerId>,
    /// Distinct agreeing signers that make untrusted records believed (`--quorum`).
    pub quorum: NonZeroU8,
    /// Records kept per signer the node does not trust (`--max-records-per-signer`).
    pub max_records_per_signer: u64,
    /// Records kept in all before untrusted signers' are refused (`--max-records`).
    pub max_records: u64,
    /// The name of the node's own checksum database (`--checksum-db`); `None`: none.
    pub checksum_db: Option<String>,
    /// Its note key file (`--checksum-db-key`; `None`: `<data_dir>/checksum-db.key`).
    pub checksum_db_key: Option<PathBuf>,
    /// The relayed public database versions must agree with before they enter the node's own
    /// checksum database (`--checksum-db-check`: a `sumdb` name or `off`); `None`: the one
    /// the fill workers verify with (`gosumdb`), when the node relays it.
    pub checksum_db_check: Option<String>,
    /// Pool members' checksum logs this node mirrors (`--mirror-log`), read over the pool.
    pub mirror_logs: Vec<Database>,
    /// Fill for trusted members that ask (`--fill-for-peers`).
    pub fill_for_peers: bool,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The `--config` file could not be read.
    #[error("reading config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The `--config` file is not valid TOML for [`FileConfig`].
    #[error("parsing config file {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// No data directory was configured and the platform has none.
    #[error("no data_dir configured and no platform data directory (is HOME set?)")]
    NoDataDir,
    /// A `sumdb` value is not a checksum database.
    #[error(transparent)]
    Sumdb(#[from] InvalidDatabase),
    /// A value is out of range.
    #[error("{key} must be {expected}")]
    OutOfRange {
        /// The key, as in the TOML file.
        key: &'static str,
        /// What it must be.
        expected: &'static str,
    },
}

impl Config {
    /// The development defaults, storing in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            signing_key: None,
            http_listen: DEFAULT_HTTP_LISTEN,
            upstream: DEFAULT_UPSTREAM.to_owned(),
            gosumdb: DEFAULT_GOSUMDB.to_owned(),
            sumdb: vec![Database::sum_golang_org()],
            private: Vec::new(),
            fetch_workers: DEFAULT_FETCH_WORKERS,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            list_ttl: DEFAULT_LIST_TTL,
            offline: false,
            log_format: LogFormat::Text,
            connections: ConnectionLimits {
                header_timeout: DEFAULT_HEADER_TIMEOUT,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
            },
            answer_caches: AnswerCacheLimits {
                answer_bytes: DEFAULT_ANSWER_CACHE_MIB << 20,
                mapped_zip_bytes: DEFAULT_MAPPED_ZIPS_MIB << 20,
            },
            p2p: None,
            trusted_signers: Vec::new(),
            quorum: TrustPolicy::DEFAULT_QUORUM,
            max_records_per_signer: DEFAULT_MAX_RECORDS_PER_SIGNER,
            max_records: DEFAULT_MAX_RECORDS,
            checksum_db: None,
            checksum_db_key: None,
            checksum_db_check: None,
            mirror_logs: Vec::new(),
            fill_for_peers: true,
        }
    }

    /// Layers flags (with their environment fallbacks) over the `--config` file over the
    /// defaults, and validates the result.
    pub fn load(args: ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        Config::layer(args, file)
    }

    /// Merges `args` over `file` over the defaults and validates.
    pub fn layer(args: ServeArgs, file: FileConfig) -> Result<Config, ConfigError> {
        let switch = pool::Switch {
            on: args.p2p,
            off: args.no_p2p,
        };
        let p2p = pool::pool_config(switch, args.pool, &file);
        let (trusted_signers, quorum) = pool::trust(args.trust, &file);
        let data_dir = args
            .keys
            .dir
            .data_dir
            .or(file.data_dir)
            .or_else(default_data_dir)
            .ok_or(ConfigError::NoDataDir)?;
        let mut config = Config::new(data_dir);
        config.signing_key = args.keys.signing_key.or(file.signing_key);
        config.http_listen = pick(args.http_listen, file.http_listen, config.http_listen);
        config.upstream = pick(args.upstream, file.upstream, config.upstream);
        config.gosumdb = pick(args.gosumdb, file.gosumdb, config.gosumdb);
        if let Some(values) = args.sumdb.or(file.sumdb) {
            config.sumdb = parse_databases(&values)?;
        }
        config.private = pick(args.private.private, file.private, config.private);
        config.fetch_workers = pick(args.fetch_workers, file.fetch_workers, config.fetch_workers);
        config.fetch_timeout = pick(args.fetch_timeout, file.fetch_timeout, config.fetch_timeout);
        config.list_ttl = pick(args.list_ttl, file.list_ttl, config.list_ttl);
        config.offline = pick(args.offline, file.offline, config.offline);
        config.log_format = pick(args.log_format, file.log_format, config.log_format);
        let limits = &mut config.connections;
        limits.header_timeout = pick(
            args.header_timeout,
            file.header_timeout,
            limits.header_timeout,
        );
        limits.idle_timeout = pick(args.idle_timeout, file.idle_timeout, limits.idle_timeout);
        limits.max_connections = pick(
            args.max_connections,
            file.max_connections,
            limits.max_connections,
        );
        let caches = &mut config.answer_caches;
        caches.answer_bytes = mib(
            "answer_cache_mib",
            pick(
                args.answer_cache_mib,
                file.answer_cache_mib,
                DEFAULT_ANSWER_CACHE_MIB,
            ),
        )?;
        caches.mapped_zip_bytes = mib(
            "mapped_zips_mib",
            pick(
                args.mapped_zips_mib,
                file.mapped_zips_mib,
                DEFAULT_MAPPED_ZIPS_MIB,
            ),
        )?;
        config.max_records_per_signer = pick(
            args.max_records_per_signer,
            file.max_records_per_signer,
            config.max_records_per_signer,
        );
        config.max_records = pick(args.max_records, file.max_records, config.max_records);
        config.checksum_db = args.checksum_db.or(file.checksum_db);
        config.checksum_db_key = args.checksum_db_key.or(file.checksum_db_key);
        config.checksum_db_check = args.checksum_db_check.or(file.checksum_db_check);
        config.fill_for_peers = pick(
            args.fill_for_peers,
            file.fill_for_peers,
            config.fill_for_peers,
        );
        for key in args.mirror_log.or(file.mirror_log).unwrap_or_default() {
            let Ok(key) = key.trim().parse() else {
                return Err(ConfigError::OutOfRange {
                    key: "mirror_log",
                    expected: "a checksum log's verifier key, name+hash+key",
                });
            };
            config.mirror_logs.push(Database::pool_mirror(key));
        }
        (config.p2p, config.trusted_signers, config.quorum) = (p2p, trusted_signers, quorum);
        config.validate()
    }

    fn validate(mut self) -> Result<Config, ConfigError> {
        let out_of_range = |key, expected| Err(ConfigError::OutOfRange { key, expected });
        if self.fetch_workers == 0 {
            return out_of_range("fetch_workers", "at least 1");
        }
        if self.fetch_timeout.is_zero() {
            return out_of_range("fetch_timeout", "longer than zero");
        }
        if self.connections.header_timeout.is_zero() {
            return out_of_range("header_timeout", "longer than zero");
        }
        if self.connections.idle_timeout.is_zero() {
            return out_of_range("idle_timeout", "longer than zero");
        }
        if !(1..=MAX_MAX_CONNECTIONS).contains(&self.connections.max_connections) {
            return out_of_range("max_connections", "between 1 and 16777216");
        }
        if self.upstream.trim().is_empty() {
            return out_of_range("upstream", "a GOPROXY value such as \"direct\"");
        }
        self.private.retain(|pattern| !pattern.trim().is_empty());
        if let Some(name) = &self.checksum_db
            && delos_pool_protocol::sumdb::KeyName::new(name).is_err()
        {
            return out_of_range("checksum_db", "a database name without spaces or '+'");
        }
        if let Some(check) = &self.checksum_db_check
            && check != "off"
            && !self.sumdb.iter().any(|db| db.name() == check)
        {
            return out_of_range(
                "checksum_db_check",
                "off, or the name of a database the node relays (--sumdb)",
            );
        }
        if !self.mirror_logs.is_empty() && self.p2p.is_none() {
            return out_of_range("mirror_log", "used with a pool (--p2p or --bootstrap)");
        }
        let own = self.checksum_db.iter().map(String::as_str);
        let relayed = self.sumdb.iter().map(Database::name);
        let mut names: Vec<&str> = own.chain(relayed).collect();
        for mirror in &self.mirror_logs {
            if names.contains(&mirror.name()) {
                return out_of_range(
                    "mirror_log",
                    "a log whose name is not the node's own --checksum-db or a --sumdb name",
                );
            }
            names.push(mirror.name());
        }
        Ok(self)
    }

    /// Every database the relay serves: the `--sumdb` ones, then the mirrored logs.
    pub fn relayed_databases(&self) -> Vec<Database> {
        let mut databases = self.sumdb.clone();
        databases.extend(self.mirror_logs.iter().cloned());
        databases
    }

    /// The trust policy of a node whose own signing key is `own`.
    pub fn trust_policy(&self, own: SignerId) -> TrustPolicy {
        TrustPolicy::new(own, self.trusted_signers.iter().copied(), self.quorum)
    }

    /// The cap on records of untrusted signers.
    pub fn record_cap(&self) -> RecordCap {
        RecordCap::new(self.max_records_per_signer, self.max_records)
    }

    /// The note key file of the node's checksum database.
    pub fn checksum_db_key_file(&self) -> PathBuf {
        self.checksum_db_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("checksum-db.key"))
    }

    /// The relayed public database the node's own checksum database checks public versions
    /// against: `checksum_db_check`, or else the database of `gosumdb` when the node relays
    /// it; `None`: no check.
    pub fn public_check_database(&self) -> Option<String> {
        let relayed = |name: &str| {
            self.sumdb
                .iter()
                .find(|db| db.name() == name)
                .map(|db| db.name().to_owned())
        };
        match self.checksum_db_check.as_deref() {
            Some("off") => None,
            Some(name) => relayed(name),
            None => {
                let mut fields = self.gosumdb.split_whitespace();
                let wanted = Database::parse(fields.next()?).ok()?;
                self.sumdb
                    .iter()
                    .find(|db| db.verifier() == wanted.verifier())
                    .map(|db| db.name().to_owned())
            }
        }
    }

    /// The store's directory.
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// The fill workers' directory (GOPATH, module cache, empty work dir).
    pub fn fetch_dir(&self) -> PathBuf {
        self.data_dir.join("fetch")
    }
}

/// The databases of `sumdb` values: at least one, each name once.
fn parse_databases(values: &[String]) -> Result<Vec<Database>, ConfigError> {
    let mut databases: Vec<Database> = Vec::with_capacity(values.len());
    for value in values.iter().filter(|v| !v.trim().is_empty()) {
        let database = Database::parse(value)?;
        if databases
            .iter()
            .any(|known| known.name() == database.name())
        {
            return Err(ConfigError::OutOfRange {
                key: "sumdb",
                expected: "a list naming each checksum database once",
            });
        }
        databases.push(database);
    }
    if databases.is_empty() {
        return Err(ConfigError::OutOfRange {
            key: "sumdb",
            expected: "at least one checksum database",
        });
    }
    Ok(databases)
}

/// The flag (or its environment variable) if given, else the file's value, else the default.
fn pick<T>(flag: Option<T>, from_file: Option<T>, default: T) -> T {
    flag.or(from_file).unwrap_or(default)
}

/// `value` MiB in bytes, if within [`MAX_CACHE_MIB`].
fn mib(key: &'static str, value: u64) -> Result<u64, ConfigError> {
    match value <= MAX_CACHE_MIB {
        true => Ok(value << 20),
        false => Err(ConfigError::OutOfRange {
            key,
            expected: "at most 1048576 (1 TiB)",
        }),
    }
}

#[cfg(test)]
mod tests;
