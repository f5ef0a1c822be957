//! Batched stores (`Index::store_batch`, `Records::insert_batch`): the same outcomes as one
//! store at a time, durable and visible when the batch returns.

use super::provenance::{key, signed};
use super::{GO_MOD, ZIP};
use crate::conformance::{Backend, module, offer, version};
use crate::{Change, IndexError, RecordCap, RecordChange, RecordOffer, Sharing};

/// A batch pins new versions in one go (with pins numbered in order), repeats nothing for a
/// version already pinned, and stops at a conflict, keeping what came before it.
pub(crate) fn store_batch_matches_single_stores(backend: &impl Backend) {
    let index = backend.open();
    let m = module("example.com/a/b");
    let zips: Vec<Vec<u8>> = (0..3).map(|i| format!("PK zip {i}").into_bytes()).collect();
    let batch: Vec<_> = zips
        .iter()
        .enumerate()
        .map(|(i, zip)| {
            (
                m.clone(),
                version(&format!("v1.0.{i}")),
                offer(&index, GO_MOD, Some(zip)),
            )
        })
        .collect();
    let stored = index.store_batch(&batch).unwrap();
    assert!(stored.iter().all(|s| s.change == Change::Inserted));
    assert_eq!(index.pins().last_seq().unwrap(), 3);
    let again = index.store_batch(&batch[..1]).unwrap();
    assert_eq!(again[0].change, Change::AlreadyPresent);

    let conflicting = (
        m.clone(),
        version("v1.0.1"),
        offer(&index, GO_MOD, Some(b"PK other")),
    );
    let new = (
        m.clone(),
        version("v1.0.3"),
        offer(&index, GO_MOD, Some(ZIP)),
    );
    let err = index
        .store_batch(&[new.clone(), conflicting, batch[2].clone()])
        .unwrap_err();
    assert!(matches!(err, IndexError::Conflict(_)), "{err:?}");
    drop(index);
    let index = backend.open();
    assert_eq!(
        index.list_versions(&m).unwrap().len(),
        4,
        "v1.0.3 before the conflict"
    );
    assert_eq!(index.stats().versions, 4);
}

/// A batch of records fills the feed contiguously, keeps a contradiction as evidence, and
/// leaves the same state a record at a time would.
pub(crate) fn insert_batch_matches_single_inserts(backend: &impl Backend) {
    let index = backend.open();
    let (a, b) = (key(1), key(2));
    let records = [
        signed(&a, ("example.com/a/b", "v1.0.0"), Some(ZIP), 1),
        signed(&b, ("example.com/a/b", "v1.0.0"), Some(ZIP), 2),
        signed(&a, ("example.com/a/c", "v1.0.0"), None, 3),
        signed(&a, ("example.com/a/b", "v1.0.0"), Some(b"PK moved tag"), 4),
        signed(&a, ("example.com/a/b", "v1.0.0"), Some(ZIP), 1),
    ];
    let offers: Vec<RecordOffer<'_>> = records
        .iter()
        .map(|record| RecordOffer {
            record,
            sharing: Sharing::Public,
            cap: RecordCap::UNLIMITED,
        })
        .collect();
    let stored = index.records().insert_batch(&offers).unwrap();
    let changes: Vec<RecordChange> = stored.iter().map(|s| s.change).collect();
    assert_eq!(
        changes,
        [
            RecordChange::Inserted,
            RecordChange::Inserted,
            RecordChange::Inserted,
            RecordChange::Contradiction,
            RecordChange::AlreadyPresent,
        ]
    );
    let seqs: Vec<Option<u64>> = stored.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [Some(1), Some(2), Some(3), None, None]);
    assert_eq!(stored[3].new_conflicts.len(), 1);
    drop(index);
    let index = backend.open();
    assert_eq!(index.feed().last_seq(), 3);
    assert_eq!(index.feed().page(0, 10).unwrap().len(), 3);
    assert_eq!(index.records().count().unwrap(), 3);
    assert_eq!(index.conflicts().count(), 1);
}
