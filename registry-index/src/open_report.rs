//! The consistency check of every entry (run when the index opens, or deferred: see
//! [`crate::open_check`]): its blobs must be on disk.

use delos_pool_protocol::hash::Sha256;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use crate::blobs::BlobStore;
use crate::entry_codec::{DecodeError, decode};
use crate::error::IndexError;
use crate::schema::{MalformedKey, parse_version_key};
use crate::versions::is_present;

/// An index entry the open-time check found damaged. It is treated as absent (not served, listed or
/// counted) until a store of the same content repairs it; its pinned hashes stay in force.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// A blob the entry references is not on disk (deleted, or quarantined as corrupt).
    MissingBlob {
        /// The module.
        module: ModulePath,
        /// The version.
        version: Version,
        /// The first missing blob.
        sha256: Sha256,
    },
    /// The entry's record does not decode.
    Undecodable {
        /// The module.
        module: ModulePath,
        /// The version.
        version: Version,
        /// Why decoding failed.
        error: DecodeError,
    },
    /// The key does not decode to a module path and version.
    MalformedKey(MalformedKey),
}

/// What the open-time check found. Empty after a clean shutdown or any crash: blobs are durable
/// before their entry is written, so damage means outside interference (disk fault, deleted
/// files) or a quarantined corrupt blob.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenReport {
    /// Damaged entries, in key order.
    pub damaged: Vec<Damage>,
}

/// An entry that passed the check, or what is wrong with it.
pub(crate) type CheckedEntry = Result<crate::entry::VersionEntry, Damage>;

/// Checks one stored entry: its key parses, it decodes, and its blobs are on disk with their
/// recorded sizes (one `stat` per blob).
pub(crate) fn check(
    blobs: &BlobStore,
    key: &[u8],
    value: &[u8],
) -> Result<CheckedEntry, IndexError> {
    let (module, version) = match parse_version_key(key) {
        Ok(parsed) => parsed,
        Err(malformed) => return Ok(Err(Damage::MalformedKey(malformed))),
    };
    let entry = match decode(value) {
        Ok(entry) => entry,
        Err(error) => {
            return Ok(Err(Damage::Undecodable {
                module,
                version,
                error,
            }));
        }
    };
    for blob in entry.blobs() {
        if !is_present(blobs, blob)? {
            let sha256 = *blob.sha256();
            return Ok(Err(Damage::MissingBlob {
                module,
                version,
                sha256,
            }));
        }
    }
    Ok(Ok(entry))
}
