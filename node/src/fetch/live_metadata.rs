//! [`LiveMetadata`]: the `.info` and `.mod` of versions being filled from an upstream proxy,
//! answerable before the fill ends.
//!
//! A fill from a proxy fetches the `.info` and `.mod` first, then asks the checksum database
//! for the version's record. Once the `.info` names the version and the `.mod`'s `h1:` is the
//! one the database's verified record names, both are registered here, and the fill goes on
//! with the zip. Clients asking for that `.info` or `.mod` meanwhile
//! ([`Fetcher::metadata`](super::Fetcher::metadata)) are answered at once instead of waiting
//! for the zip to arrive, be verified and be made durable. The `go` command asks for them
//! first, and for the zip later, so it does not wait for the zip twice.
//!
//! Such an answer is not kept by the node: the next request after the fill is answered from
//! the store. The registration ends with the fill (its guard is dropped), whether or not the
//! zip passed. Nothing is registered without a record: with the checks off
//! (`--gosumdb off`), or for a version whose fill failed a check a moment ago
//! ([`ProxyFill`](super::from_proxy)), clients wait for the whole fill.

use axum::body::Bytes;

use super::in_flight::InFlight;

/// The `.info` and `.mod` of one version, the `.mod` proved by the checksum database.
#[derive(Debug)]
pub(crate) struct ProvedMetadata {
    /// The `.info`, as the upstream sent it (it names the version).
    pub(crate) info: Bytes,
    /// The `.mod`, whose `h1:` the checksum database's verified record names.
    pub(crate) go_mod: Bytes,
}

/// The versions whose metadata is proved while their fill goes on.
pub(crate) type LiveMetadata = InFlight<ProvedMetadata>;
