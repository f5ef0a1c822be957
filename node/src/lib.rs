//! `delos-node`: a Delos pool node, as a library the `delos` binary and the tests share.
//!
//! Today it holds the command line ([`cli`]) and the node's keys ([`keys`]): the ed25519 key in
//! the data directory that is both the libp2p identity (the PeerId) and, unless an organisation
//! key is given, the key that signs provenance records (see `delos_pool_protocol::signing`).
//!
//! `delos serve` runs a [`server::Node`]: the store (`delos-registry-index`), the fill path
//! ([`fetch`]) and the HTTP server ([`http`]) that answers the Go module download protocol,
//! configured by [`config`] and counted in one registry ([`telemetry`]). With a pool configured it also runs
//! a [`pool::Pool`]: the libp2p layer ([`p2p`]) over the store, gossiped records stored and
//! forwarded, peers' feeds synced, and misses filled from peers before the VCS
//! (docs/architecture.md).

pub mod airgap;
pub mod audit;
pub mod checksum_db;
pub mod cli;
mod clock;
pub mod config;
mod error_chain;
pub mod evidence;
pub mod fetch;
pub mod forked_logs;
pub mod http;
pub mod http_client;
pub mod keys;
pub mod listener;
pub mod logging;
pub mod p2p;
pub mod pool;
pub mod provenance;
mod queue_reader;
pub mod repair;
pub mod server;
pub mod sumdb_relay;
pub mod telemetry;
