//! Signed provenance records: every valid record seen, one per signer per module version.
//!
//! [`Records::insert`] takes only a [`VerifiedRecord`] (its signature already checked) and
//! stores its wire form ([`SignedRecord::to_wire`]) exactly as received; reads verify the
//! stored bytes again. When a signer's record for a version is already stored:
//!
//! | stored record       | offered record from the same signer        | result                     |
//! |---------------------|--------------------------------------------|----------------------------|
//! | same bytes          |                                            | `AlreadyPresent`           |
//! | same hashes         | other bytes (later `obtained_at`, source)  | `KeptFirst`                |
//! | `.mod`-only         | full, same go.mod `h1:`                     | `Upgraded`: replaced       |
//! | full                | `.mod`-only, same go.mod `h1:`              | `KeptFirst`                |
//! | any                 | conflicting hashes                         | `Contradiction`: evidence  |
//!
//! The first statement of a signer stays; the only replacement is a `.mod`-only record by the
//! same signer's record that adds the zip (a node that filled the `.mod` first, then the zip).
//! Conflicts are kept as evidence in [`crate::conflicts`].
//!
//! # The feed, atomically
//!
//! A record that takes a slot (`Inserted`, `Upgraded`) is appended to the [`crate::Feed`] unless
//! the caller says it is [`Sharing::Private`]. The slot, the feed item and any new evidence are
//! one [`MetaStore::commit`]: a sled transaction across the trees, so a
//! crash leaves all of them or none, and the feed never misses a stored public record nor holds
//! one the records tree lacks. Inserts are serialised by one writer lock (sled also locks the
//! directory against other processes), so sequence numbers are contiguous: the next one is the
//! last one plus one, and the commit also requires its key to be absent. See [`crate::feed`]
//! for why a sequence number is never shown to peers before it is durable.

use std::collections::HashSet;

use delos_pool_protocol::CodecError;
use delos_pool_protocol::codec;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::ProvenanceRecord;
use delos_pool_protocol::signing::{SignedRecord, SignerId, SigningError, VerifiedRecord};
use delos_pool_protocol::trust::ClaimedHashes;
use delos_pool_protocol::version::Version;

use crate::conflicts::ConflictEvidence;
use crate::entry_codec::{self, DecodeError};
use crate::error::ModuleVersion;
use crate::index::Index;
use crate::meta::{Commit, MetaError, MetaStore};
use crate::overlay::Overlay;
use crate::record_plan::{Offer, Plan};
use crate::schema::{
    ALL_SIGNERS_KEY, RECORDS, SEPARATOR, VERSIONS, module_prefix, signer_key, version_key,
    version_prefix,
};
use crate::signer_counts::{self, RecordCap};

/// Whether an inserted record may be shared with peers through the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sharing {
    /// The module is public: the record goes into the feed.
    Public,
    /// The module is private: the record is stored, never put in the feed.
    Private,
}

/// What [`Records::insert`] did with the signer's slot (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordChange {
    /// The signer had no record for the version; this one is stored.
    Inserted,
    /// The signer's `.mod`-only record was replaced by this one, which adds the zip.
    Upgraded,
    /// These exact bytes were already stored.
    AlreadyPresent,
    /// The signer's earlier record, with the same (or more) hashes, stays.
    KeptFirst,
    /// The signer's earlier record conflicts with this one; it stays, and both are evidence.
    Contradiction,
    /// The record would take a new slot past the [`RecordCap`] it was offered under; nothing
    /// was stored (no slot, no feed item, no evidence).
    OverCap,
}

impl RecordChange {
    /// Whether the offered record now holds its signer's slot (it is new in the store).
    pub fn took_slot(self) -> bool {
        matches!(self, Self::Inserted | Self::Upgraded)
    }
}

/// One record offered to [`Records::insert_batch`], with how it may be shared and the cap it
/// must stay within.
#[derive(Debug, Clone, Copy)]
pub struct RecordOffer<'a> {
    /// The verified record.
    pub record: &'a VerifiedRecord,
    /// Whether it goes into the feed.
    pub sharing: Sharing,
    /// The cap on new slots ([`RecordCap::UNLIMITED`] for trusted signers).
    pub cap: RecordCap,
}

/// A successful [`Records::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordStored {
    /// What happened to the signer's slot.
    pub change: RecordChange,
    /// The record's sequence number in the feed, if it was appended.
    pub seq: Option<u64>,
    /// Evidence created by this insert (each piece is created once, ever: log it now).
    pub new_conflicts: Vec<ConflictEvidence>,
}

/// An error from [`Records`], [`crate::Feed`] or [`crate::Conflicts`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record's wire form cannot be produced.
    #[error("signed record cannot be encoded")]
    Unencodable(#[source] CodecError),
    /// A stored record no longer decodes or verifies (the disk was altered or damaged).
    #[error("stored record in {tree} under key {key:?} does not verify")]
    UnreadableRecord {
        /// The tree.
        tree: &'static str,
        /// The key, lossily shown as text.
        key: String,
        /// Why it failed.
        #[source]
        source: SigningError,
    },
    /// A stored signer count is not 8 bytes (the disk was altered or damaged).
    #[error("stored signer count under key {key:?} is malformed")]
    MalformedCount {
        /// The key, lossily shown as text.
        key: String,
    },
    /// A stored conflict-evidence value is malformed.
    #[error("stored conflict evidence under key {key:?} is malformed")]
    MalformedEvidence {
        /// The key, lossily shown as text.
        key: String,
    },
    /// The pinned entry of the version cannot be decoded.
    #[error("pinned entry of {at} is unreadable")]
    CorruptEntry {
        /// The module version.
        at: Box<ModuleVersion>,
        /// Why decoding failed.
        #[source]
        source: DecodeError,
    },
    /// The metadata engine failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// The provenance records of an [`Index`]: `index.records()`.
#[derive(Debug, Clone, Copy)]
pub struct Records<'a> {
    pub(crate) index: &'a Index,
}

impl Records<'_> {
    /// Stores `record` by the rules in the module docs, appends it to the feed when it takes a
    /// slot and `sharing` is [`Sharing::Public`], records conflict evidence, then flushes.
    /// Never capped: for the node's own records and those of signers it trusts.
    pub fn insert(
        &self,
        record: &VerifiedRecord,
        sharing: Sharing,
    ) -> Result<RecordStored, RecordError> {
        self.insert_capped(record, sharing, RecordCap::UNLIMITED)
    }

    /// [`insert`](Self::insert), except that a record taking a new slot when its signer (or
    /// the store) already holds as many as `cap` allows is not stored at all
    /// ([`RecordChange::OverCap`]). The counts checked are updated in the same commit as the
    /// slot, so concurrent inserts cannot pass the cap together.
    pub fn insert_capped(
        &self,
        record: &VerifiedRecord,
        sharing: Sharing,
        cap: RecordCap,
    ) -> Result<RecordStored, RecordError> {
        let offer = RecordOffer {
            record,
            sharing,
            cap,
        };
        let state = self.index.records_state();
        let (stored, evidence) = {
            let mut last_seq = state.lock_writer();
            self.insert_unflushed(self.index.meta(), &offer, &mut last_seq)?
        };
        state.add_conflicts(evidence);
        self.index.meta().flush()?;
        if let Some(seq) = stored.seq {
            state.mark_durable(seq);
        }
        self.index.note_change();
        Ok(stored)
    }

    /// [`insert_capped`](Self::insert_capped) for every offer of `batch`, in order, with one
    /// flush for the whole batch (a page of a peer's feed, a bulk import).
    ///
    /// Each record is its own atomic commit (slot, feed item, evidence, counts) exactly as a
    /// single insert makes it, and all are flushed before this returns `Ok`; the feed shows
    /// none of them to peers before that flush. On an error the records before the failing
    /// one are stored (and flushed), the rest are not.
    pub fn insert_batch(
        &self,
        batch: &[RecordOffer<'_>],
    ) -> Result<Vec<RecordStored>, RecordError> {
        let state = self.index.records_state();
        let (done, failure) = {
            let mut last_seq = state.lock_writer();
            // First as one commit (see `crate::overlay`); if anything changed behind it (a
            // pin arriving meanwhile), one commit per record, deciding each again.
            let overlay = Overlay::new(self.index.meta());
            let mut seq = *last_seq;
            let (done, failure) = self.insert_each(&overlay, batch, &mut seq);
            match overlay.apply()? {
                Commit::Done => {
                    *last_seq = seq;
                    (done, failure)
                }
                Commit::Stale => self.insert_each(self.index.meta(), batch, &mut last_seq),
            }
        };
        state.add_conflicts(done.iter().map(|(_, evidence)| evidence).sum());
        self.index.meta().flush()?;
        if let Some(seq) = done.iter().filter_map(|(stored, _)| stored.seq).max() {
            state.mark_durable(seq);
        }
        if !done.is_empty() {
            self.index.note_change();
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(done.into_iter().map(|(stored, _)| stored).collect()),
        }
    }

    /// Inserts the offers into `meta` in order until one fails; what was done, and the failure.
    fn insert_each(
        &self,
        meta: &dyn MetaStore,
        batch: &[RecordOffer<'_>],
        last_seq: &mut u64,
    ) -> (Vec<(RecordStored, u64)>, Option<RecordError>) {
        let mut done = Vec::with_capacity(batch.len());
        for offer in batch {
            match self.insert_unflushed(meta, offer, last_seq) {
                Ok(stored) => done.push(stored),
                Err(err) => return (done, Some(err)),
            }
        }
        (done, None)
    }

    /// Plans and commits one offer under the writer lock (holding the last sequence number),
    /// without flushing.
    fn insert_unflushed(
        &self,
        meta: &dyn MetaStore,
        offer: &RecordOffer<'_>,
        last_seq: &mut u64,
    ) -> Result<(RecordStored, u64), RecordError> {
        let wire = offer
            .record
            .signed()
            .to_wire()
            .map_err(RecordError::Unencodable)?;
        let offer = Offer {
            record: offer.record,
            wire: &wire,
            sharing: offer.sharing,
            cap: offer.cap,
        };
        let (stored, evidence) = loop {
            let plan = Plan::make(meta, &offer, *last_seq)?;
            if let Some(done) = plan.commit(meta)? {
                break done;
            }
        };
        if let Some(seq) = stored.seq {
            *last_seq = seq;
        }
        Ok((stored, evidence))
    }

    /// The record `signer` made for `module@version`, if stored.
    pub fn get(
        &self,
        module: &ModulePath,
        version: &Version,
        signer: &SignerId,
    ) -> Result<Option<VerifiedRecord>, RecordError> {
        let key = signer_key(module, version, signer);
        match self.index.meta().get(RECORDS, &key)? {
            None => Ok(None),
            Some(wire) => verify_stored(RECORDS.as_str(), &key, &wire).map(Some),
        }
    }

    /// Whether `record`'s exact wire bytes are stored in its claimed signer's slot. Stored
    /// bytes were verified when they were stored, so a caller holding such a record may skip
    /// verifying it again (a peer echoing back records this node served it). Anything else
    /// under the same key (a later statement of the signer, a forged signature, another
    /// signer's claim) is not held, nor is a record whose bytes do not decode.
    pub fn holds(&self, record: &SignedRecord) -> Result<bool, RecordError> {
        let Ok(claimed) = codec::decode::<ProvenanceRecord>(record.bytes()) else {
            return Ok(false);
        };
        let key = signer_key(claimed.module(), claimed.version(), &record.signer());
        let Some(stored) = self.index.meta().get(RECORDS, &key)? else {
            return Ok(false);
        };
        Ok(stored == record.to_wire().map_err(RecordError::Unencodable)?)
    }

    /// Every stored record for `module@version`, ordered by signer.
    pub fn for_version(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Vec<VerifiedRecord>, RecordError> {
        for_version_in(self.index.meta(), module, version)
    }

    /// How many records are stored, of every signer (one read of the kept count).
    pub fn count(&self) -> Result<u64, RecordError> {
        signer_counts::count(self.index.meta(), ALL_SIGNERS_KEY)
    }

    /// How many records `signer` has stored (one per module version), kept persistently.
    pub fn count_of(&self, signer: &SignerId) -> Result<u64, RecordError> {
        signer_counts::count(self.index.meta(), signer.as_bytes())
    }

    /// Every stored record about any version of exactly `module` (not `module/v2`), ordered
    /// by version key, then signer. What `list` and `@latest` learn from the pool.
    pub fn for_module(&self, module: &ModulePath) -> Result<Vec<VerifiedRecord>, RecordError> {
        self.for_module_except(module, &[])
    }

    /// [`Self::for_module`] without the records of the versions in `skip`, which are neither
    /// decoded nor verified: for a caller that knows those versions already (a `list` of a
    /// module whose versions are pinned needs only the records of versions that are not).
    pub fn for_module_except(
        &self,
        module: &ModulePath,
        skip: &[Version],
    ) -> Result<Vec<VerifiedRecord>, RecordError> {
        let prefix = module_prefix(module);
        let skip: HashSet<&[u8]> = skip.iter().map(|v| v.as_str().as_bytes()).collect();
        let mut records = Vec::new();
        for item in self.index.meta().scan_prefix(RECORDS, &prefix)? {
            let (key, wire) = item?;
            let version = key
                .get(prefix.len()..)
                .and_then(|rest| rest.split(|byte| *byte == SEPARATOR).next());
            if version.is_some_and(|version| skip.contains(version)) {
                continue;
            }
            records.push(verify_stored(RECORDS.as_str(), &key, &wire)?);
        }
        Ok(records)
    }

    /// The hashes pinned for `module@version` in the versions tree, if it is pinned.
    pub fn pinned(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Option<ClaimedHashes>, RecordError> {
        pinned_in(self.index.meta(), module, version)
    }
}

/// [`Records::for_version`], read from `meta` (the store, or a batch over it).
pub(crate) fn for_version_in(
    meta: &dyn MetaStore,
    module: &ModulePath,
    version: &Version,
) -> Result<Vec<VerifiedRecord>, RecordError> {
    meta.scan_prefix(RECORDS, &version_prefix(module, version))?
        .map(|item| {
            let (key, wire) = item?;
            verify_stored(RECORDS.as_str(), &key, &wire)
        })
        .collect()
}

/// [`Records::pinned`], read from `meta` (the store, or a batch over it).
pub(crate) fn pinned_in(
    meta: &dyn MetaStore,
    module: &ModulePath,
    version: &Version,
) -> Result<Option<ClaimedHashes>, RecordError> {
    let Some(bytes) = meta.get(VERSIONS, &version_key(module, version))? else {
        return Ok(None);
    };
    let entry = entry_codec::decode(&bytes).map_err(|source| RecordError::CorruptEntry {
        at: Box::new(ModuleVersion {
            module: module.clone(),
            version: version.clone(),
        }),
        source,
    })?;
    Ok(Some(entry.claimed_hashes()))
}

/// Decodes and verifies stored wire bytes.
pub(crate) fn verify_stored(
    tree: &'static str,
    key: &[u8],
    wire: &[u8],
) -> Result<VerifiedRecord, RecordError> {
    SignedRecord::from_wire(wire)
        .map_err(SigningError::from)
        .and_then(|signed| signed.verify())
        .map_err(|source| RecordError::UnreadableRecord {
            tree,
            key: String::from_utf8_lossy(key).into_owned(),
            source,
        })
}
