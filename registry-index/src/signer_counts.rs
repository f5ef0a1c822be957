//! Signer counts: how many record slots each signer holds, and all signers together, and the
//! [`RecordCap`] an insert of a peer's record is checked against.
//!
//! A count changes only when a record takes a *new* slot
//! ([`Inserted`](crate::RecordChange::Inserted); an upgrade replaces one), and it is written in the same
//! [`MetaStore::commit`] as that slot, so after a crash the counts still equal the records tree.
//! Every insert is counted, capped or not, so a signer that stops being trusted is measured by
//! what it already holds.
//!
//! A store made before the counts existed has records but no counts: on open they are counted
//! once ([`rebuild_if_missing`]), in one commit.

use std::collections::BTreeMap;

use delos_pool_protocol::signing::SignerId;

use crate::meta::{Commit, MetaError, MetaStore, Write};
use crate::records::RecordError;
use crate::schema::{ALL_SIGNERS_KEY, RECORDS, SIGNER_COUNTS, signer_of_key};

/// How many records an insert may bring a signer, and the store, to. A record that would take
/// a new slot past either limit is not stored
/// ([`RecordChange::OverCap`](crate::RecordChange::OverCap)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordCap {
    /// The most slots one signer may hold (`None`: no limit).
    pub per_signer: Option<u64>,
    /// The most slots the store may hold, of every signer (`None`: no limit).
    pub total: Option<u64>,
}

impl RecordCap {
    /// No limit: the node's own records, and those of signers it trusts.
    pub const UNLIMITED: RecordCap = RecordCap {
        per_signer: None,
        total: None,
    };

    /// At most `per_signer` slots for the record's signer and `total` in the store.
    pub fn new(per_signer: u64, total: u64) -> RecordCap {
        RecordCap {
            per_signer: Some(per_signer),
            total: Some(total),
        }
    }
}

/// One count as read: the stored bytes (the commit requires them unchanged) and the number.
#[derive(Debug)]
struct Count {
    key: Vec<u8>,
    stored: Option<Vec<u8>>,
    next: [u8; 8],
    value: u64,
}

impl Count {
    fn read(meta: &dyn MetaStore, key: &[u8]) -> Result<Count, RecordError> {
        let stored = meta.get(SIGNER_COUNTS, key)?;
        let value = match &stored {
            None => 0,
            Some(bytes) => decode(key, bytes)?,
        };
        Ok(Count {
            key: key.to_vec(),
            stored,
            next: value.saturating_add(1).to_be_bytes(),
            value,
        })
    }

    fn write(&self) -> Write<'_> {
        Write {
            tree: SIGNER_COUNTS,
            key: &self.key,
            expected: self.stored.as_deref(),
            value: &self.next,
        }
    }
}

/// The two counts a new slot raises by one: its signer's and the store's.
#[derive(Debug)]
pub(crate) struct CountUpdate {
    signer: Count,
    total: Count,
}

impl CountUpdate {
    /// Reads the counts of `signer` and of the store.
    pub(crate) fn read(meta: &dyn MetaStore, signer: &SignerId) -> Result<Self, RecordError> {
        Ok(CountUpdate {
            signer: Count::read(meta, signer.as_bytes())?,
            total: Count::read(meta, ALL_SIGNERS_KEY)?,
        })
    }

    /// Whether one more slot would pass `cap`.
    pub(crate) fn exceeds(&self, cap: RecordCap) -> bool {
        let full = |limit: Option<u64>, count: &Count| limit.is_some_and(|max| count.value >= max);
        full(cap.per_signer, &self.signer) || full(cap.total, &self.total)
    }

    /// The writes that raise both counts, each expecting the value read.
    pub(crate) fn writes(&self) -> [Write<'_>; 2] {
        [self.signer.write(), self.total.write()]
    }
}

/// The number of slots `key` (a signer, or [`ALL_SIGNERS_KEY`]) holds.
pub(crate) fn count(meta: &dyn MetaStore, key: &[u8]) -> Result<u64, RecordError> {
    Count::read(meta, key).map(|count| count.value)
}

fn decode(key: &[u8], bytes: &[u8]) -> Result<u64, RecordError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| RecordError::MalformedCount {
            key: String::from_utf8_lossy(key).into_owned(),
        })
}

/// Counts the records tree into the counts tree when the store has records but no counts yet
/// (made before the counts existed); one commit, so a crash leaves all counts or none.
pub(crate) fn rebuild_if_missing(meta: &dyn MetaStore) -> Result<(), MetaError> {
    if meta.get(SIGNER_COUNTS, ALL_SIGNERS_KEY)?.is_some() {
        return Ok(());
    }
    let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for item in meta.scan_prefix(RECORDS, &[])? {
        let (key, _) = item?;
        if let Some(signer) = signer_of_key(&key) {
            *counts.entry(signer.as_bytes().to_vec()).or_default() += 1;
            *counts.entry(ALL_SIGNERS_KEY.to_vec()).or_default() += 1;
        }
    }
    let values: Vec<(Vec<u8>, [u8; 8])> = counts
        .into_iter()
        .map(|(key, n)| (key, n.to_be_bytes()))
        .collect();
    let writes: Vec<Write<'_>> = values
        .iter()
        .map(|(key, value)| Write {
            tree: SIGNER_COUNTS,
            key,
            expected: None,
            value,
        })
        .collect();
    if !writes.is_empty() && meta.commit(&writes)? == Commit::Done {
        meta.flush()?;
    }
    Ok(())
}
