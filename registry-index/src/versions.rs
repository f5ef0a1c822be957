//! Pinning module versions: the first verified entry wins, forever.
//!
//! The rules, applied by [`Index::store`](crate::Index::store) when a version is offered again:
//!
//! | stored             | offered                         | result                          |
//! |--------------------|---------------------------------|---------------------------------|
//! | nothing            | anything                        | `Inserted`                      |
//! | any                | other go.mod or zip `h1:`       | `Conflict`, nothing changes     |
//! | `.mod`-only        | full, same go.mod `h1:`         | `Upgraded`: the zip is added    |
//! | full               | full or `.mod`-only, same `h1:` | `AlreadyPresent`                |
//! | blob file missing  | same `h1:`, blob supplied       | `Repaired`: offered blob used   |
//!
//! Only the zip can ever be added, and only to an entry without one: a `.mod`-only entry pins
//! the go.mod (its `h1:`), and the zip it later gains must come with that same go.mod. Once an
//! entry has a zip, its `h1:` hashes never change. `.info` bytes, provenance and the sha256 of a
//! zip with the same `h1:` are the first writer's and are kept.

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use crate::blobs::{BlobStore, StoredBlob};
use crate::entry::VersionEntry;
use crate::entry_codec::{decode, encode};
use crate::error::{Conflict, IndexError, ModuleVersion};
use crate::meta::{Commit, MetaStore, Swap, Write};
use crate::pins::next_pin;
use crate::schema::{VERSIONS, version_key};

/// What [`Index::store`](crate::Index::store) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The version was new and is now pinned.
    Inserted,
    /// A `.mod`-only entry gained its zip.
    Upgraded,
    /// An entry found damaged (a blob file missing) is whole and visible again: its blobs were
    /// written anew, or it now points at freshly stored blobs with the same `h1:`.
    Repaired,
    /// The same content was already stored; nothing changed.
    AlreadyPresent,
}

/// A successful store: what changed, and the entry now pinned (which may differ from the
/// offer in `.info`, provenance or zip sha256; see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stored {
    /// What changed.
    pub change: Change,
    /// The entry the index now holds and serves.
    pub entry: VersionEntry,
    /// The entry it held before, if any.
    pub previous: Option<VersionEntry>,
}

/// The identity of the version being stored, for errors.
pub(crate) struct Target<'a> {
    pub(crate) module: &'a ModulePath,
    pub(crate) version: &'a Version,
}

impl Target<'_> {
    fn at(&self) -> ModuleVersion {
        ModuleVersion {
            module: self.module.clone(),
            version: self.version.clone(),
        }
    }

    fn conflict(&self, existing: &VersionEntry, offered: &VersionEntry) -> IndexError {
        IndexError::Conflict(Box::new(Conflict {
            at: self.at(),
            existing: existing.clone(),
            offered: offered.clone(),
        }))
    }

    fn decode(&self, record: &[u8]) -> Result<VersionEntry, IndexError> {
        decode(record).map_err(|err| IndexError::corrupt_entry(self.module, self.version, err))
    }

    fn blob_not_stored(&self, blob: &StoredBlob) -> IndexError {
        IndexError::BlobNotStored {
            at: Box::new(self.at()),
            sha256: *blob.sha256(),
        }
    }
}

/// Stores `offered` under `target` by the rules in the module docs, then flushes.
pub(crate) fn store(
    meta: &dyn MetaStore,
    blobs: &BlobStore,
    target: &Target<'_>,
    offered: &VersionEntry,
) -> Result<Stored, IndexError> {
    let stored = store_unflushed(meta, blobs, target, offered)?;
    // Also on `AlreadyPresent`: the record may come from a concurrent store that has not
    // flushed yet, and the caller must not answer a client before it is durable.
    meta.flush()?;
    Ok(stored)
}

/// Stores `offered` under `target` by the rules in the module docs, without flushing: the
/// caller flushes before anyone is told (a batch flushes once for all its versions).
///
/// The compare-and-swap loop makes concurrent stores of one version safe: each attempt is
/// decided against the record it read, and retried if another writer got there first.
pub(crate) fn store_unflushed(
    meta: &dyn MetaStore,
    blobs: &BlobStore,
    target: &Target<'_>,
    offered: &VersionEntry,
) -> Result<Stored, IndexError> {
    check_offer(blobs, target, offered)?;
    let key = version_key(target.module, target.version);
    let mut current = meta.get(VERSIONS, &key)?;
    loop {
        let previous = match &current {
            None => None,
            Some(bytes) => Some(target.decode(bytes)?),
        };
        let (change, entry) = match &previous {
            None => (Change::Inserted, offered.clone()),
            Some(existing) => merge(blobs, target, existing, offered)?,
        };
        let becomes_whole = entry.is_full() && !previous.as_ref().is_some_and(|p| p.is_full());
        if becomes_whole {
            let pin = next_pin(meta, &key)?;
            let encoded = encode(&entry);
            let write = Write::new(VERSIONS, &key, current.as_deref(), &encoded);
            if meta.commit(&[write, pin.write()])? == Commit::Stale {
                // Another store took this version or this pin number: decide again.
                current = meta.get(VERSIONS, &key)?;
                continue;
            }
        } else if change != Change::AlreadyPresent {
            let swap =
                meta.compare_and_swap(VERSIONS, &key, current.as_deref(), &encode(&entry))?;
            if let Swap::Current(now) = swap {
                current = now;
                continue;
            }
        }
        return Ok(Stored {
            change,
            entry,
            previous,
        });
    }
}

/// Refuses non-canonical versions and entries whose blobs are not (all) stored.
fn check_offer(
    blobs: &BlobStore,
    target: &Target<'_>,
    offered: &VersionEntry,
) -> Result<(), IndexError> {
    if !target.version.is_canonical() {
        return Err(IndexError::NonCanonicalVersion(Box::new(target.at())));
    }
    for blob in offered.blobs() {
        if !is_present(blobs, blob)? {
            return Err(target.blob_not_stored(blob));
        }
    }
    Ok(())
}

/// Decides what `offered` does to the `existing` entry.
fn merge(
    blobs: &BlobStore,
    target: &Target<'_>,
    existing: &VersionEntry,
    offered: &VersionEntry,
) -> Result<(Change, VersionEntry), IndexError> {
    if !existing.agrees_with(offered) {
        return Err(target.conflict(existing, offered));
    }
    let mut merged = existing.clone();
    let mut repaired = false;
    if !is_present(blobs, existing.go_mod().blob())? {
        merged.set_go_mod(*offered.go_mod());
        repaired = true;
    }
    match (existing.zip(), offered.zip()) {
        (None, Some(zip)) => merged.set_zip(*zip),
        (Some(mine), theirs) if !is_present(blobs, mine.blob())? => match theirs {
            Some(zip) => {
                merged.set_zip(*zip);
                repaired = true;
            }
            None => return Err(target.blob_not_stored(mine.blob())),
        },
        _ => {}
    }
    let change = match (repaired, merged == *existing) {
        (true, _) => Change::Repaired,
        (false, true) => Change::AlreadyPresent,
        (false, false) => Change::Upgraded,
    };
    Ok((change, merged))
}

/// Whether the blob's file exists with the recorded size.
pub(crate) fn is_present(blobs: &BlobStore, blob: &StoredBlob) -> Result<bool, IndexError> {
    Ok(blobs
        .stat(blob.sha256())?
        .is_some_and(|found| found.size() == blob.size()))
}
