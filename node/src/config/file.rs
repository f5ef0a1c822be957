//! The `--config` TOML file ([`FileConfig`]): every key optional, unknown keys refused.

use std::net::SocketAddr;
use std::num::NonZeroU8;
use std::path::{Path, PathBuf};
use std::time::Duration;

use delos_pool_protocol::messages::PoolName;
use delos_pool_protocol::signing::SignerId;
use libp2p::Multiaddr;
use serde::Deserialize;

use super::ConfigError;
use super::pool;

/// The `--config` TOML file. Every key is optional; a missing key means "use the flag, the
/// environment variable, or the default", in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileConfig {
    /// Data directory. Missing: the platform data directory.
    pub data_dir: Option<PathBuf>,
    /// Signing key file. Missing: the node key, `<data_dir>/node.key`.
    pub signing_key: Option<PathBuf>,
    /// HTTP listen address. Missing: [`DEFAULT_HTTP_LISTEN`](super::DEFAULT_HTTP_LISTEN).
    pub http_listen: Option<SocketAddr>,
    /// GOPROXY for the fill workers. Missing: [`DEFAULT_UPSTREAM`](super::DEFAULT_UPSTREAM).
    pub upstream: Option<String>,
    /// GOSUMDB for the fill workers. Missing: [`DEFAULT_GOSUMDB`](super::DEFAULT_GOSUMDB).
    pub gosumdb: Option<String>,
    /// The node's own checksum database's name. Missing: none.
    pub checksum_db: Option<String>,
    /// Its note key file. Missing: `<data_dir>/checksum-db.key`.
    pub checksum_db_key: Option<PathBuf>,
    /// The relayed public database public versions must agree with before they enter the
    /// node's own checksum database, or `"off"`. Missing: the fill workers' `gosumdb` when
    /// relayed.
    pub checksum_db_check: Option<String>,
    /// Fill for trusted members that ask. Missing: `true`.
    pub fill_for_peers: Option<bool>,
    /// Pool members' checksum logs mirrored, by verifier key. Missing: none.
    pub mirror_log: Option<Vec<String>>,
    /// Checksum databases relayed under `/sumdb/`, each in GOSUMDB syntax. Missing:
    /// `["sum.golang.org"]`.
    pub sumdb: Option<Vec<String>>,
    /// GOPRIVATE-style patterns. Missing: no private modules.
    pub private: Option<Vec<String>>,
    /// Concurrent `go` processes. Missing: [`DEFAULT_FETCH_WORKERS`](super::DEFAULT_FETCH_WORKERS).
    pub fetch_workers: Option<usize>,
    /// Time limit of one `go` process (`"5m"`). Missing: [`DEFAULT_FETCH_TIMEOUT`](super::DEFAULT_FETCH_TIMEOUT).
    #[serde(default, with = "humantime_serde")]
    pub fetch_timeout: Option<Duration>,
    /// `list`/`@latest` cache lifetime (`"1m"`). Missing: [`DEFAULT_LIST_TTL`](super::DEFAULT_LIST_TTL).
    #[serde(default, with = "humantime_serde")]
    pub list_ttl: Option<Duration>,
    /// Time a client has to send a request head (`"10s"`). Missing: [`DEFAULT_HEADER_TIMEOUT`](super::DEFAULT_HEADER_TIMEOUT).
    #[serde(default, with = "humantime_serde")]
    pub header_timeout: Option<Duration>,
    /// Time a kept-alive connection may wait for its next request (`"1m"`). Missing: [`DEFAULT_IDLE_TIMEOUT`](super::DEFAULT_IDLE_TIMEOUT).
    #[serde(default, with = "humantime_serde")]
    pub idle_timeout: Option<Duration>,
    /// HTTP connections open at once. Missing: [`DEFAULT_MAX_CONNECTIONS`](super::DEFAULT_MAX_CONNECTIONS).
    pub max_connections: Option<usize>,
    /// Memory for warm answers, MiB. Missing: [`DEFAULT_ANSWER_CACHE_MIB`](super::DEFAULT_ANSWER_CACHE_MIB).
    pub answer_cache_mib: Option<u64>,
    /// Address space for mapped zips, MiB. Missing: [`DEFAULT_MAPPED_ZIPS_MIB`](super::DEFAULT_MAPPED_ZIPS_MIB).
    pub mapped_zips_mib: Option<u64>,
    /// Log line format, `"text"` or `"json"`. Missing: `"text"`.
    pub log_format: Option<crate::logging::LogFormat>,
    /// Serve only what is stored. Missing: `false`.
    pub offline: Option<bool>,
    /// Join a pool (`true`) or run alone (`false`). Missing: join when `p2p_listen` or
    /// `bootstrap` is set.
    pub p2p: Option<bool>,
    /// The pool's name. Missing: `public`.
    #[serde(default, deserialize_with = "pool::parsed")]
    pub pool: Option<PoolName>,
    /// libp2p listen addresses. Missing: TCP and QUIC on all interfaces, free ports.
    #[serde(default, deserialize_with = "pool::parsed_list")]
    pub p2p_listen: Option<Vec<Multiaddr>>,
    /// Peers to dial on start, each ending in `/p2p/<PeerId>`. Missing: none.
    #[serde(default, deserialize_with = "pool::parsed_list")]
    pub bootstrap: Option<Vec<Multiaddr>>,
    /// Addresses other nodes reach this node at. Missing: none.
    #[serde(default, deserialize_with = "pool::parsed_list")]
    pub p2p_external: Option<Vec<Multiaddr>>,
    /// Take the listen addresses as reachable. Missing: `false`.
    pub p2p_listen_is_external: Option<bool>,
    /// Find peers with mDNS. Missing: `true`.
    pub mdns: Option<bool>,
    /// Signers believed on their own, each a signing key (`ed25519:<hex>`) or a PeerId
    /// (`12D3KooW...`). Missing: none.
    #[serde(default, deserialize_with = "pool::signer_list")]
    pub trusted_signers: Option<Vec<SignerId>>,
    /// Agreeing signers that make untrusted records believed. Missing: 2.
    pub quorum: Option<NonZeroU8>,
    /// Records kept per untrusted signer. Missing: [`DEFAULT_MAX_RECORDS_PER_SIGNER`](crate::pool::record_limits::DEFAULT_MAX_RECORDS_PER_SIGNER).
    pub max_records_per_signer: Option<u64>,
    /// Records kept in all before untrusted ones are refused. Missing: [`DEFAULT_MAX_RECORDS`](crate::pool::record_limits::DEFAULT_MAX_RECORDS).
    pub max_records: Option<u64>,
}

impl FileConfig {
    /// Reads and parses a TOML config file.
    pub fn read(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }
}
