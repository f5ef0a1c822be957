//! `delos-node`: a Delos pool node, as a library the `delos` binary and the tests share.
//!
//! Today it holds the command line ([`cli`]) and the node's keys ([`keys`]): the ed25519 key in
//! the data directory that is both the libp2p identity (the PeerId) and, unless an organisation
//! key is given, the key that signs provenance records (see `delos_pool_protocol::signing`).
//! The HTTP server, fetch pipeline and pool come next (docs/architecture.md).

pub mod cli;
pub mod fetch;
pub mod keys;
