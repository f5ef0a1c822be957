//! [`Filled`]: what every source of the miss path hands to the one epilogue.

use delos_pool_protocol::provenance::VcsOrigin;
use delos_pool_protocol::signing::SignerId;
use delos_pool_protocol::version::Version;
use delos_registry_index::VersionEntry;

use crate::telemetry::FillSource;

/// A version a fill pinned (or found pinned), and where its bytes came from.
#[derive(Debug, Clone)]
pub(crate) struct Filled {
    /// The canonical version.
    pub(crate) version: Version,
    /// The pinned entry (the first one ever stored for this version).
    pub(crate) entry: VersionEntry,
    /// Why the zip is unavailable, for a `.mod`-only entry.
    pub(crate) zip_problem: Option<String>,
    /// Where the bytes came from: what the node's record names as its source.
    pub(crate) from: FilledFrom,
    /// Whether the pinned entry is what this fill produced (false after a moved tag, when the
    /// first entry stays pinned): only then does the node sign a record of it.
    pub(crate) pinned_is_ours: bool,
}

/// Where a fill's bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilledFrom {
    /// `go mod download` from the VCS, with the `Origin` it reported.
    Vcs(Option<VcsOrigin>),
    /// A pool peer, whose bytes matched hashes the trust policy accepted; it signs as this
    /// (`None` for a PeerId that names no ed25519 key: then the node signs no record).
    Peer(Option<SignerId>),
    /// An upstream proxy over HTTP, at this base URL; its hashes checked against the
    /// checksum database (unless `--gosumdb off`).
    Upstream(String),
    /// Nothing was fetched: the store already held this `.mod`-only entry.
    Store,
}

impl FilledFrom {
    /// The fills-by-source label this fill counts under; `None` when nothing was fetched.
    pub(crate) fn counted_as(&self) -> Option<FillSource> {
        match self {
            Self::Vcs(_) => Some(FillSource::Vcs),
            Self::Peer(_) => Some(FillSource::Peer),
            Self::Upstream(_) => Some(FillSource::Upstream),
            Self::Store => None,
        }
    }

    /// Where the bytes came from, for a log line.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Self::Vcs(_) => "the VCS",
            Self::Peer(_) => "a peer",
            Self::Upstream(_) => "an upstream proxy",
            Self::Store => "the store",
        }
    }
}
