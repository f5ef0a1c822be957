//! [`LiveMetadata`]: the `.info` and `.mod` of versions being filled from an upstream proxy,
//! answerable before the fill ends.
//!
//! A fill from a proxy fetches the `.info` and `.mod` first, then asks the checksum database
//! for the version's record, then downloads the zip. Clients asking for that `.info` or
//! `.mod` meanwhile ([`Fetcher::metadata`](super::Fetcher::metadata)) are answered as soon as
//! what vouches for each is in hand, instead of waiting for the zip to arrive, be verified
//! and be made durable:
//!
//! - the `.info` once it names the version and the `.mod` declares the module: the checksum
//!   database covers neither the `.info` nor anything in it, so its proof adds nothing to
//!   the `.info`; answering it while the database is asked lets the `go` command ask for the
//!   `.mod` meanwhile;
//! - the `.mod` once its `h1:` is the one the database's verified record names.
//!
//! The `go` command asks for them first, and for the zip later, so it does not wait for the
//! zip twice. Such an answer is not kept by the node: the next request after the fill is
//! answered from the store. The registration ends with the fill (its guard is dropped),
//! whether or not the rest passed. Nothing is registered where the database is not asked
//! (`--gosumdb off`), or for a version whose fill failed a check a moment ago
//! ([`ProxyFill`](super::from_proxy)): clients wait for the whole fill.

use axum::body::Bytes;

use super::in_flight::InFlight;

/// What a fill in progress can answer of one version's metadata.
#[derive(Debug)]
pub(crate) struct EarlyMetadata {
    /// The `.info`, as the upstream sent it (it names the version).
    pub(crate) info: Bytes,
    /// The `.mod`, once the checksum database's verified record named its `h1:`.
    pub(crate) proved_go_mod: Option<Bytes>,
}

/// Which of a version's metadata files a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetadataFile {
    /// The `.info`.
    Info,
    /// The `.mod`.
    Mod,
}

impl EarlyMetadata {
    /// The bytes of `file`, when this fill can answer it yet.
    pub(crate) fn file(&self, file: MetadataFile) -> Option<&Bytes> {
        match file {
            MetadataFile::Info => Some(&self.info),
            MetadataFile::Mod => self.proved_go_mod.as_ref(),
        }
    }
}

/// The versions whose metadata is (partly) answerable while their fill goes on.
pub(crate) type LiveMetadata = InFlight<EarlyMetadata>;
