//! [`ServeArgs`]: the flags of `delos serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap::builder::BoolishValueParser;

use super::pool::P2pArgs;
use super::shared::{KeyArgs, PrivateArg};
use super::trust::TrustArgs;

/// Flags of `delos serve`. Each one may also be given as the environment variable named in
/// its help; a flag wins over the variable, which wins over the `--config` file.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file (keys as the flags, with `_`: `http_listen = "…"`).
    #[arg(long, value_name = "FILE", env = "DELOS_CONFIG")]
    pub config: Option<PathBuf>,
    /// The data directory and the signing key.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Address the HTTP server listens on [default: 127.0.0.1:3000]. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", env = "DELOS_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Where misses are filled from, as a GOPROXY list [default: direct]: the node fetches
    /// from each proxy URL itself over HTTP (`,` moves on after 404/410 only, `|` after any
    /// error), `direct` runs `go mod download`, `off` stops. Private modules always go direct.
    #[arg(long, value_name = "GOPROXY", env = "DELOS_UPSTREAM")]
    pub upstream: Option<String>,
    /// The checksum database fills are checked against [default: sum.golang.org]: the GOSUMDB
    /// of the `go` workers, and what an upstream proxy's hashes must match (through the
    /// relay) before they are pinned. A database the node relays (`--sumdb`) is reached
    /// through the node's own `/sumdb/`; `off` disables the check.
    #[arg(long, value_name = "GOSUMDB", env = "DELOS_GOSUMDB")]
    pub gosumdb: Option<String>,
    /// A checksum database relayed under `/sumdb/<name>/` and used by the fill workers, in
    /// GOSUMDB syntax: `sum.golang.org`, or a verifier key `name+hash+key` optionally followed
    /// by a space and the database's URL. Repeatable [default: sum.golang.org].
    #[arg(
        long,
        value_name = "GOSUMDB",
        env = "DELOS_SUMDB",
        value_delimiter = ','
    )]
    pub sumdb: Option<Vec<String>>,
    /// The node's private modules.
    #[command(flatten)]
    pub private: PrivateArg,
    /// Run the node's own checksum database under this name (e.g. sum.corp.example): a
    /// Go-format log of every version it pins, private ones included, signed with
    /// --checksum-db-key, which `go` verifies with GOSUMDB set to its verifier key (`delos
    /// checksum-db key`).
    #[arg(long, value_name = "NAME", env = "DELOS_CHECKSUM_DB")]
    pub checksum_db: Option<String>,
    /// The checksum database's note key file (`PRIVATE+KEY+<name>+…`, mode 0600), created on
    /// first start when absent. Default: `<data dir>/checksum-db.key`.
    #[arg(long, value_name = "FILE", env = "DELOS_CHECKSUM_DB_KEY")]
    pub checksum_db_key: Option<PathBuf>,
    /// The public checksum database (a --sumdb name) whose proved record a public version's
    /// hashes must agree with before it enters --checksum-db; a contradicted version stays
    /// out, shown as a conflict. `off`: no check [default: the --gosumdb database, when the
    /// node relays it].
    #[arg(long, value_name = "NAME|off", env = "DELOS_CHECKSUM_DB_CHECK")]
    pub checksum_db_check: Option<String>,
    /// Mirror a pool member's checksum log, given by its verifier key (`name+hash+key`, what
    /// `delos checksum-db key` prints on the writer): the node keeps a verified copy synced
    /// over the pool and serves it read-only under `/sumdb/<name>/` with the writer's
    /// signatures, so GOSUMDB works through this node while the writer is down. Repeatable;
    /// needs the pool, and the writer must trust this node's key to send it module names.
    #[arg(
        long,
        value_name = "KEY",
        env = "DELOS_MIRROR_LOG",
        value_delimiter = ','
    )]
    pub mirror_log: Option<Vec<String>>,
    /// Fill versions (and answer list and version queries) for pool members this node trusts
    /// (`--trusted-signer`, by their node key) when they ask, as for its own clients
    /// [default: true]; others are refused without work. `false`: fill for nobody.
    #[arg(long, env = "DELOS_FILL_FOR_PEERS", num_args = 0..=1, default_missing_value = "true",
          value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub fill_for_peers: Option<bool>,
    /// How many `go mod download` processes may run at once [default: 4].
    #[arg(long, value_name = "N", env = "DELOS_FETCH_WORKERS")]
    pub fetch_workers: Option<usize>,
    /// Time limit of one `go` process, and of one zip download from an upstream proxy, e.g.
    /// "90s", "5m" [default: 5m].
    #[arg(long, value_name = "DURATION", env = "DELOS_FETCH_TIMEOUT", value_parser = humantime::parse_duration)]
    pub fetch_timeout: Option<Duration>,
    /// How long `list`, `@latest` and query answers (and their "not found"s) are fresh, e.g.
    /// "1m" [default: 1m]; aged ones are served at once while one refresh runs.
    #[arg(long, value_name = "DURATION", env = "DELOS_LIST_TTL", value_parser = humantime::parse_duration)]
    pub list_ttl: Option<Duration>,
    /// How long a client has to send a whole request head, from connecting (or from the
    /// first byte of a later request on a kept-alive connection), e.g. "10s"; a slower one is
    /// disconnected [default: 10s].
    #[arg(long, value_name = "DURATION", env = "DELOS_HEADER_TIMEOUT", value_parser = humantime::parse_duration)]
    pub header_timeout: Option<Duration>,
    /// How long a kept-alive HTTP connection may wait for its next request before it is
    /// closed, e.g. "1m" [default: 1m].
    #[arg(long, value_name = "DURATION", env = "DELOS_IDLE_TIMEOUT", value_parser = humantime::parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// How many HTTP connections may be open at once; more are closed as soon as they are
    /// accepted (with a 503 when the socket takes it) [default: 4096].
    #[arg(long, value_name = "N", env = "DELOS_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Memory for warm answers kept ready to send (`.info`, `.mod`, and `list`/`@latest`
    /// while nothing changed), in MiB; 0 turns the cache off [default: 64].
    #[arg(long, value_name = "MIB", env = "DELOS_ANSWER_CACHE_MIB")]
    pub answer_cache_mib: Option<u64>,
    /// Address space for zips kept mapped from the store (each checked against its sha256
    /// when mapped, or by the fill from an upstream proxy or from peers that pinned it, then
    /// sent without a copy through the node), in MiB; 0 streams every zip from its file,
    /// checked first [default: 4096].
    #[arg(long, value_name = "MIB", env = "DELOS_MAPPED_ZIPS_MIB")]
    pub mapped_zips_mib: Option<u64>,
    /// How log lines look on stderr: `text`, or `json` (one object per line, with the request
    /// span's fields) [default: text].
    #[arg(long, value_name = "FORMAT", env = "DELOS_LOG_FORMAT")]
    pub log_format: Option<crate::logging::LogFormat>,
    /// Serve only what is stored; never start `go`.
    #[arg(long, env = "DELOS_OFFLINE", num_args = 0..=1, default_missing_value = "true",
          value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub offline: Option<bool>,
    /// Join a pool of Delos nodes [default: only when --p2p-listen or --bootstrap is given].
    #[arg(long, env = "DELOS_P2P", overrides_with = "no_p2p")]
    pub p2p: bool,
    /// Run alone, without a pool, whatever other pool flags say.
    #[arg(long, overrides_with = "p2p")]
    pub no_p2p: bool,
    /// The pool's flags.
    #[command(flatten)]
    pub pool: P2pArgs,
    /// Whose records are believed.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The most records kept per signer the node does not trust; more from that signer are
    /// not stored [default: 100000].
    #[arg(long, value_name = "N", env = "DELOS_MAX_RECORDS_PER_SIGNER")]
    pub max_records_per_signer: Option<u64>,
    /// The most records kept in all before records of signers the node does not trust are no
    /// longer stored; trusted and own records always are [default: 1000000].
    #[arg(long, value_name = "N", env = "DELOS_MAX_RECORDS")]
    pub max_records: Option<u64>,
}
