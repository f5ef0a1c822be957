//! What the index pins per module version: `.info` bytes, the go.mod and zip blobs with their
//! `h1:` hashes, and when and how the node obtained them.

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::trust::ClaimedHashes;

use crate::blobs::StoredBlob;

/// A stored blob together with the `h1:` hash Go checks for it.
///
/// The `h1:` hash is what peers and the checksum database agree on; the sha256 only names the
/// file. Two zips with different bytes can share one `h1:` (compression and entry order do not
/// enter it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashedBlob {
    blob: StoredBlob,
    h1: H1Hash,
}

impl HashedBlob {
    /// Pairs a stored blob with its `h1:` hash, which the caller has verified.
    pub fn new(blob: StoredBlob, h1: H1Hash) -> Self {
        Self { blob, h1 }
    }

    /// The blob on disk.
    pub fn blob(&self) -> &StoredBlob {
        &self.blob
    }

    /// Go's `h1:` hash of the content.
    pub fn h1(&self) -> &H1Hash {
        &self.h1
    }
}

/// How the node obtained a module version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// Built from the version control system by `go mod download`.
    Vcs,
    /// Received from a pool peer, identified by its peer id.
    Peer(String),
    /// Fetched from an upstream GOPROXY, identified by its URL.
    Upstream(String),
    /// Imported by an operator (e.g. from a module cache).
    Import,
}

/// Everything the index holds about one module version.
///
/// An entry always has the go.mod; the zip is optional (`.mod`-only entries exist for versions
/// whose zip was not fetched yet or cannot be built), see [`Self::is_full`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    info: Vec<u8>,
    go_mod: HashedBlob,
    zip: Option<HashedBlob>,
    obtained_at_unix_secs: u64,
    source: Source,
}

impl VersionEntry {
    /// A `.mod`-only entry: the `.info` JSON bytes as served, the go.mod blob, and provenance.
    pub fn new(
        info: Vec<u8>,
        go_mod: HashedBlob,
        obtained_at_unix_secs: u64,
        source: Source,
    ) -> Self {
        Self {
            info,
            go_mod,
            zip: None,
            obtained_at_unix_secs,
            source,
        }
    }

    /// The same entry with its module zip.
    pub fn with_zip(mut self, zip: HashedBlob) -> Self {
        self.zip = Some(zip);
        self
    }

    /// The `.info` JSON, byte for byte as it is served.
    pub fn info(&self) -> &[u8] {
        &self.info
    }

    /// The go.mod blob and its `h1:` hash.
    pub fn go_mod(&self) -> &HashedBlob {
        &self.go_mod
    }

    /// The module zip and its `h1:` hash; `None` for a `.mod`-only entry.
    pub fn zip(&self) -> Option<&HashedBlob> {
        self.zip.as_ref()
    }

    /// Whether the zip is stored too (a full entry), not just the go.mod.
    pub fn is_full(&self) -> bool {
        self.zip.is_some()
    }

    /// When the node obtained this version, in seconds since the Unix epoch.
    pub fn obtained_at_unix_secs(&self) -> u64 {
        self.obtained_at_unix_secs
    }

    /// How the node obtained this version.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Every blob the entry references, go.mod first.
    pub fn blobs(&self) -> impl Iterator<Item = &StoredBlob> {
        std::iter::once(&self.go_mod.blob).chain(self.zip.as_ref().map(|zip| &zip.blob))
    }

    /// Logical bytes held in blobs (go.mod plus zip), as counted by [`crate::Stats`].
    pub fn blob_bytes(&self) -> u64 {
        self.blobs().map(StoredBlob::size).sum()
    }

    /// Whether `other` describes the same content: equal go.mod `h1:` and, where both have a
    /// zip, equal zip `h1:`. `.info` bytes, blob sha256s and provenance do not enter this.
    pub fn agrees_with(&self, other: &VersionEntry) -> bool {
        let zips_agree = match (&self.zip, &other.zip) {
            (Some(mine), Some(theirs)) => mine.h1 == theirs.h1,
            _ => true,
        };
        self.go_mod.h1 == other.go_mod.h1 && zips_agree
    }

    /// The hashes this entry pins, as a provenance record would claim them.
    pub fn claimed_hashes(&self) -> ClaimedHashes {
        ClaimedHashes {
            go_mod_h1: self.go_mod.h1,
            zip_h1: self.zip.as_ref().map(|zip| zip.h1),
        }
    }

    pub(crate) fn set_go_mod(&mut self, go_mod: HashedBlob) {
        self.go_mod = go_mod;
    }

    pub(crate) fn set_zip(&mut self, zip: HashedBlob) {
        self.zip = Some(zip);
    }
}
