//! The one exception to "pinned forever", for an operator: replacing a `.mod`-only entry whose
//! `.mod` the VCS now contradicts with a full, re-filled and validated entry.
//!
//! A node that pinned a `.mod`-only version from a damaged VCS clone (a `go.mod` read as absent,
//! so the synthesized `module <path>` pinned, see issue 13) serves that wrong `.mod` forever,
//! and its own signed record vouches for it. [`Index::repin_mod_only`] repairs such an entry in
//! one atomic commit:
//!
//! - the version's entry becomes the replacement (only if the stored one is still the
//!   `.mod`-only entry it was, and the replacement is full with a different go.mod `h1:`);
//! - the node's new record (for the replacement) takes its signer's slot;
//! - the record that slot held is kept as conflict evidence (it now contradicts the pin);
//! - the new record is appended to the feed when the module is public, so peers learn it.
//!
//! Nothing else may replace a pinned entry: [`Index::store`] keeps refusing conflicts.

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::ClaimedHashes;
use delos_pool_protocol::version::Version;

use crate::conflicts::ConflictEvidence;
use crate::entry::VersionEntry;
use crate::entry_codec::{decode, encode};
use crate::error::{IndexError, ModuleVersion};
use crate::index::Index;
use crate::meta::{Commit, Write};
use crate::records::{RecordError, Sharing, verify_stored};
use crate::schema::{CONFLICTS, FEED, RECORDS, VERSIONS, feed_key, signer_key, version_key};
use crate::versions::is_present;

/// Why a `.mod`-only entry could not be replaced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepinError {
    /// Nothing is pinned for the version.
    #[error("{0} is not pinned")]
    NotPinned(Box<ModuleVersion>),
    /// The pinned entry has a zip: its hashes are final, whatever the VCS says now.
    #[error("{0} is pinned with its zip; only a .mod-only entry can be replaced")]
    PinnedWhole(Box<ModuleVersion>),
    /// The replacement has no zip, or the same go.mod `h1:` (then [`Index::store`] upgrades).
    #[error("{0}: the replacement must be a full entry with another go.mod")]
    NotAReplacement(Box<ModuleVersion>),
    /// The record is not the replacement's: other module, version or hashes.
    #[error("{0}: the record does not vouch for the replacement")]
    RecordMismatch(Box<ModuleVersion>),
    /// A blob of the replacement is not stored.
    #[error("{0}: a blob of the replacement is not stored")]
    BlobNotStored(Box<ModuleVersion>),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Reading or writing records failed.
    #[error(transparent)]
    Records(#[from] RecordError),
}

impl From<crate::meta::MetaError> for RepinError {
    fn from(err: crate::meta::MetaError) -> Self {
        Self::Index(IndexError::Meta(err))
    }
}

/// What [`Index::repin_mod_only`] replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Repinned {
    /// The `.mod`-only entry that was pinned before.
    pub previous: VersionEntry,
    /// The evidence kept: the record that vouched for the previous entry, if the signer had one.
    pub evidence: Option<ConflictEvidence>,
    /// The new record's feed sequence number, when it was shared.
    pub seq: Option<u64>,
}

impl Index {
    /// Replaces the `.mod`-only entry of `module@version` with `replacement` (full, another
    /// go.mod), puts `record` (its signer's statement of the replacement) in that signer's slot,
    /// keeps the slot's previous record as evidence and shares `record` in the feed when
    /// `sharing` is public: one atomic commit, flushed before this returns. Operator use only;
    /// see the module docs.
    pub fn repin_mod_only(
        &self,
        module: &ModulePath,
        version: &Version,
        replacement: &VersionEntry,
        record: &VerifiedRecord,
        sharing: Sharing,
    ) -> Result<Repinned, RepinError> {
        let at = || {
            Box::new(ModuleVersion {
                module: module.clone(),
                version: version.clone(),
            })
        };
        check_replacement(self, replacement, record, module, version).map_err(|e| e(at()))?;
        let key = version_key(module, version);
        let slot = signer_key(module, version, &record.signer());
        let wire = record
            .signed()
            .to_wire()
            .map_err(RecordError::Unencodable)?;
        let new_entry = encode(replacement);
        let _settling = crate::open_check::Settling::begin(self);
        let state = self.records_state();
        let mut last_seq = state.lock_writer();
        loop {
            let meta = self.meta();
            let current = meta
                .get(VERSIONS, &key)?
                .ok_or_else(|| RepinError::NotPinned(at()))?;
            let previous =
                decode(&current).map_err(|err| IndexError::corrupt_entry(module, version, err))?;
            if previous.is_full() {
                return Err(RepinError::PinnedWhole(at()));
            }
            if previous.go_mod().h1() == replacement.go_mod().h1() {
                return Err(RepinError::NotAReplacement(at()));
            }
            let held = meta.get(RECORDS, &slot)?;
            let evidence = match &held {
                Some(bytes) => Some(ConflictEvidence {
                    disputed: verify_stored(RECORDS.as_str(), &slot, bytes)?,
                    counter: Some(record.clone()),
                    pinned: Some(replacement.claimed_hashes()),
                }),
                None => None,
            };
            let evidence_bytes = match &evidence {
                Some(evidence) if meta.get(CONFLICTS, &slot)?.is_none() => Some(evidence.encode()?),
                _ => None,
            };
            let seq = (sharing == Sharing::Public).then_some(*last_seq + 1);
            let seq_key = seq.map(feed_key);
            let mut writes = vec![
                Write {
                    tree: VERSIONS,
                    key: &key,
                    expected: Some(&current),
                    value: &new_entry,
                },
                Write {
                    tree: RECORDS,
                    key: &slot,
                    expected: held.as_deref(),
                    value: &wire,
                },
            ];
            if let Some(bytes) = &evidence_bytes {
                writes.push(Write {
                    tree: CONFLICTS,
                    key: &slot,
                    expected: None,
                    value: bytes,
                });
            }
            if let Some(seq_key) = &seq_key {
                writes.push(Write {
                    tree: FEED,
                    key: seq_key,
                    expected: None,
                    value: &wire,
                });
            }
            let pin = match replacement.is_full() {
                true => Some(crate::pins::next_pin(meta, &key)?),
                false => None,
            };
            writes.extend(pin.as_ref().map(crate::pins::PinWrite::write));
            if meta.commit(&writes)? == Commit::Stale {
                continue;
            }
            if let Some(seq) = seq {
                *last_seq = seq;
            }
            if evidence_bytes.is_some() {
                state.add_conflicts(1);
            }
            drop(last_seq);
            meta.flush()?;
            if let Some(seq) = seq {
                state.mark_durable(seq);
            }
            self.replace_counted(&key, &previous, replacement);
            return Ok(Repinned {
                previous,
                evidence,
                seq,
            });
        }
    }
}

/// The checks that need no read of the pinned entry; each failure names the version.
#[allow(clippy::type_complexity)]
fn check_replacement(
    index: &Index,
    replacement: &VersionEntry,
    record: &VerifiedRecord,
    module: &ModulePath,
    version: &Version,
) -> Result<(), fn(Box<ModuleVersion>) -> RepinError> {
    if !replacement.is_full() {
        return Err(RepinError::NotAReplacement);
    }
    let r = record.record();
    if r.module() != module
        || r.version() != version
        || ClaimedHashes::of(r) != replacement.claimed_hashes()
    {
        return Err(RepinError::RecordMismatch);
    }
    for blob in replacement.blobs() {
        if !is_present(index.blobs(), blob).unwrap_or(false) {
            return Err(RepinError::BlobNotStored);
        }
    }
    Ok(())
}
