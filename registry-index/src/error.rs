//! What can go wrong in the index, naming the module version involved.

use std::fmt;

use delos_pool_protocol::hash::Sha256;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use crate::blobs::BlobError;
use crate::entry::VersionEntry;
use crate::entry_codec::DecodeError;
use crate::meta::MetaError;
use crate::schema::MalformedKey;

/// The module version an error is about; displays as `module@version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleVersion {
    /// The module.
    pub module: ModulePath,
    /// The version.
    pub version: Version,
}

impl fmt::Display for ModuleVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.module, self.version)
    }
}

/// A refused offer: the pinned entry and the different one that was offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The module version.
    pub at: ModuleVersion,
    /// What the index holds (and keeps serving).
    pub existing: VersionEntry,
    /// What was offered and refused.
    pub offered: VersionEntry,
}

/// An error from [`Index`](crate::Index).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The version is already pinned with different `h1:` hashes. Nothing was changed; both
    /// entries are returned so the caller can keep the evidence.
    #[error("{} is already stored with different hashes", .0.at)]
    Conflict(Box<Conflict>),
    /// Only canonical versions (`v1.2.3`, not `v1.2` or `v1.2.3+meta`) are stored, so one
    /// version cannot be pinned twice under two spellings.
    #[error("{0} is not a canonical version")]
    NonCanonicalVersion(Box<ModuleVersion>),
    /// The entry references a blob that is not in the blob store (or has another size); write
    /// blobs with [`BlobStore::write`](crate::BlobStore::write) before storing the entry.
    #[error("{at} references blob sha256:{} which is not stored", .sha256.to_hex())]
    BlobNotStored {
        /// The module version.
        at: Box<ModuleVersion>,
        /// The absent blob.
        sha256: Sha256,
    },
    /// The stored record of this version cannot be decoded; it is treated as absent.
    #[error("stored record of {at} is unreadable")]
    CorruptEntry {
        /// The module version.
        at: Box<ModuleVersion>,
        /// Why decoding failed.
        #[source]
        source: DecodeError,
    },
    /// A stored key does not decode to a module path and version.
    #[error(transparent)]
    MalformedKey(#[from] MalformedKey),
    /// The blob store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The metadata engine failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// A pin of the pin log ([`crate::pins`]) is missing or unreadable (its number).
    #[error("pin {0} of the pin log is missing or unreadable")]
    MissingPin(u64),
    /// The feed's id could not be read or made.
    #[error(transparent)]
    FeedId(#[from] crate::feed_id::FeedIdError),
}

impl IndexError {
    pub(crate) fn corrupt_entry(
        module: &ModulePath,
        version: &Version,
        source: DecodeError,
    ) -> Self {
        let at = Box::new(ModuleVersion {
            module: module.clone(),
            version: version.clone(),
        });
        Self::CorruptEntry { at, source }
    }
}
