//! One [`Records::insert`](crate::Records::insert) attempt: read what is stored, decide, and
//! commit every write (slot, feed item, evidence) in one atomic step.

use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::ClaimedHashes;

use crate::conflicts::ConflictEvidence;
use crate::meta::{Commit, MetaStore, Write};
use crate::records::{
    RecordChange, RecordError, RecordStored, Sharing, for_version_in, pinned_in, verify_stored,
};
use crate::schema::{CONFLICTS, FEED, RECORDS, feed_key, signer_key};
use crate::signer_counts::{CountUpdate, RecordCap};

/// Evidence to write: its key, its encoding, and the decoded value to report.
type NewEvidence = (Vec<u8>, Vec<u8>, ConflictEvidence);

/// The writes one insert makes, decided against what it read.
pub(crate) struct Plan {
    change: RecordChange,
    key: Vec<u8>,
    /// What the signer's slot held when read; the commit requires it still does.
    current: Option<Vec<u8>>,
    wire: Vec<u8>,
    seq: Option<u64>,
    evidence: Vec<NewEvidence>,
    /// The counts a new slot raises (only for [`RecordChange::Inserted`]).
    counts: Option<CountUpdate>,
}

/// What one insert is given: the verified record, its wire form, how it may be shared and the
/// cap it must stay within.
pub(crate) struct Offer<'a> {
    pub(crate) record: &'a VerifiedRecord,
    pub(crate) wire: &'a [u8],
    pub(crate) sharing: Sharing,
    pub(crate) cap: RecordCap,
}

impl Plan {
    /// Reads the signer's slot, the pinned hashes and the version's records, and decides. A
    /// new slot past the cap plans nothing at all ([`RecordChange::OverCap`]).
    pub(crate) fn make(
        meta: &dyn MetaStore,
        offer: &Offer<'_>,
        last_seq: u64,
    ) -> Result<Plan, RecordError> {
        let offered = offer.record;
        let (module, version) = (offered.record().module(), offered.record().version());
        let key = signer_key(module, version, &offered.signer());
        let current = meta.get(RECORDS, &key)?;
        let existing = match &current {
            Some(stored) => Some(verify_stored(RECORDS.as_str(), &key, stored)?),
            None => None,
        };
        let mut change = decide(
            existing.as_ref(),
            current.as_deref() == Some(offer.wire),
            offered,
        );
        let counts = match change {
            RecordChange::Inserted => Some(CountUpdate::read(meta, &offered.signer())?),
            _ => None,
        };
        if counts.as_ref().is_some_and(|c| c.exceeds(offer.cap)) {
            change = RecordChange::OverCap;
        }
        let public = offer.sharing == Sharing::Public;
        let seq = (takes_slot(change) && public).then_some(last_seq + 1);
        let mut plan = Plan {
            change,
            key,
            current,
            wire: offer.wire.to_vec(),
            seq,
            evidence: Vec::new(),
            counts: counts.filter(|_| change != RecordChange::OverCap),
        };
        if change != RecordChange::OverCap {
            plan.find_evidence(meta, offered, existing)?;
        }
        Ok(plan)
    }

    /// Plans the evidence this insert creates: a contradiction of the signer's `existing`
    /// record, and every record of the version (with this one in its slot) against the pin.
    fn find_evidence(
        &mut self,
        meta: &dyn MetaStore,
        offered: &VerifiedRecord,
        existing: Option<VerifiedRecord>,
    ) -> Result<(), RecordError> {
        let (module, version) = (offered.record().module(), offered.record().version());
        let pinned = pinned_in(meta, module, version)?;
        if self.change == RecordChange::Contradiction {
            let evidence = ConflictEvidence {
                disputed: offered.clone(),
                counter: existing,
                pinned,
            };
            self.add_evidence(meta, self.key.clone(), evidence)?;
        }
        if let Some(pinned) = pinned {
            let mut all = for_version_in(meta, module, version)?;
            if takes_slot(self.change) {
                all.retain(|record| record.signer() != offered.signer());
                all.push(offered.clone());
            }
            self.sweep(meta, &all, offered, pinned)?;
        }
        Ok(())
    }

    /// Adds evidence for every record in `all` that conflicts with the pinned hashes and has
    /// none yet, citing an agreeing record (`offered` if it agrees, else the first that does).
    fn sweep(
        &mut self,
        meta: &dyn MetaStore,
        all: &[VerifiedRecord],
        offered: &VerifiedRecord,
        pinned: ClaimedHashes,
    ) -> Result<(), RecordError> {
        let disagrees =
            |record: &VerifiedRecord| pinned.conflicts(&ClaimedHashes::of(record.record()));
        let counter = std::iter::once(offered)
            .chain(all)
            .find(|record| !disagrees(record))
            .cloned();
        for record in all.iter().filter(|record| disagrees(record)) {
            let r = record.record();
            let key = signer_key(r.module(), r.version(), &record.signer());
            let evidence = ConflictEvidence {
                disputed: record.clone(),
                counter: counter.clone(),
                pinned: Some(pinned),
            };
            self.add_evidence(meta, key, evidence)?;
        }
        Ok(())
    }

    /// Plans `evidence` under `key` unless evidence is stored or planned there already.
    fn add_evidence(
        &mut self,
        meta: &dyn MetaStore,
        key: Vec<u8>,
        evidence: ConflictEvidence,
    ) -> Result<(), RecordError> {
        if self.evidence.iter().any(|(planned, _, _)| *planned == key)
            || meta.get(CONFLICTS, &key)?.is_some()
        {
            return Ok(());
        }
        let bytes = evidence.encode()?;
        self.evidence.push((key, bytes, evidence));
        Ok(())
    }

    /// Commits every write at once. `None`: something changed since it was read; plan again.
    /// Otherwise the result and how many pieces of evidence were added.
    pub(crate) fn commit(
        self,
        meta: &dyn MetaStore,
    ) -> Result<Option<(RecordStored, u64)>, RecordError> {
        let seq_key = self.seq.map(feed_key);
        let mut writes = Vec::new();
        if takes_slot(self.change) {
            let expected = self.current.as_deref();
            writes.push(Write::new(RECORDS, &self.key, expected, &self.wire));
        }
        if let Some(seq_key) = &seq_key {
            writes.push(Write::new(FEED, seq_key, None, &self.wire));
        }
        if let Some(counts) = &self.counts {
            writes.extend(counts.writes());
        }
        for (key, bytes, _) in &self.evidence {
            writes.push(Write::new(CONFLICTS, key, None, bytes));
        }
        if !writes.is_empty() && meta.commit(&writes)? == Commit::Stale {
            return Ok(None);
        }
        let added = self.evidence.len() as u64;
        let stored = RecordStored {
            change: self.change,
            seq: self.seq,
            new_conflicts: self.evidence.into_iter().map(|(_, _, e)| e).collect(),
        };
        Ok(Some((stored, added)))
    }
}

/// Whether the offered record is written into its signer's slot.
fn takes_slot(change: RecordChange) -> bool {
    change.took_slot()
}

/// What an offered record does to its signer's slot (rules in [`crate::records`]).
fn decide(
    existing: Option<&VerifiedRecord>,
    same_bytes: bool,
    offered: &VerifiedRecord,
) -> RecordChange {
    let Some(existing) = existing else {
        return RecordChange::Inserted;
    };
    if same_bytes {
        return RecordChange::AlreadyPresent;
    }
    let old = ClaimedHashes::of(existing.record());
    let new = ClaimedHashes::of(offered.record());
    if old.conflicts(&new) {
        RecordChange::Contradiction
    } else if old.zip_h1.is_none() && new.zip_h1.is_some() {
        RecordChange::Upgraded
    } else {
        RecordChange::KeptFirst
    }
}
