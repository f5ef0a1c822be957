//! Signer counts and the record cap: counted with every new slot, persistent, rebuilt for old
//! stores; a capped insert past the cap stores nothing.

use super::ZIP;
use super::provenance::{key, signed};
use crate::conformance::{Backend, module, version};
use crate::meta::Write;
use crate::schema::{RECORDS, signer_key};
use crate::{RecordCap, RecordChange, Sharing};

const MODULE: &str = "example.com/a/b";

fn at(minor: u32) -> (&'static str, String) {
    (MODULE, format!("v1.{minor}.0"))
}

pub(crate) fn signer_counts_follow_new_slots_and_survive_reopen(backend: &dyn Backend) {
    let (one, two) = (key(1), key(2));
    {
        let index = backend.open();
        let records = index.records();
        for minor in 0..3 {
            let (m, v) = at(minor);
            records
                .insert(&signed(&one, (m, &v), Some(ZIP), 1), Sharing::Public)
                .unwrap();
        }
        // A `.mod`-only record, then its upgrade: one slot, counted once.
        let (m, v) = at(0);
        let mod_only = signed(&two, (m, &v), None, 1);
        records.insert(&mod_only, Sharing::Private).unwrap();
        let full = signed(&two, (m, &v), Some(ZIP), 2);
        let upgraded = records.insert(&full, Sharing::Public).unwrap();
        assert_eq!(upgraded.change, RecordChange::Upgraded);
        records.insert(&full, Sharing::Public).unwrap();
        assert_eq!(records.count_of(&one.signer_id()).unwrap(), 3);
        assert_eq!(records.count_of(&two.signer_id()).unwrap(), 1);
        assert_eq!(records.count().unwrap(), 4);
    }
    let index = backend.open();
    let records = index.records();
    assert_eq!(records.count_of(&one.signer_id()).unwrap(), 3);
    assert_eq!(records.count_of(&two.signer_id()).unwrap(), 1);
    assert_eq!(records.count_of(&key(3).signer_id()).unwrap(), 0);
    assert_eq!(records.count().unwrap(), 4);
}

pub(crate) fn a_capped_insert_stores_nothing_past_the_cap(backend: &dyn Backend) {
    let index = backend.open();
    let records = index.records();
    let cap = RecordCap::new(2, 100);
    let one = key(1);
    for minor in 0..2 {
        let (m, v) = at(minor);
        let stored = records
            .insert_capped(&signed(&one, (m, &v), Some(ZIP), 1), Sharing::Public, cap)
            .unwrap();
        assert_eq!(stored.change, RecordChange::Inserted);
    }
    let (m, v) = at(2);
    let third = signed(&one, (m, &v), Some(ZIP), 1);
    let refused = records.insert_capped(&third, Sharing::Public, cap).unwrap();
    assert_eq!((refused.change, refused.seq), (RecordChange::OverCap, None));
    assert!(refused.new_conflicts.is_empty());
    assert!(
        records
            .for_version(&module(m), &version(&v))
            .unwrap()
            .is_empty()
    );
    assert_eq!(index.feed().last_seq(), 2);
    assert_eq!(records.count_of(&one.signer_id()).unwrap(), 2);

    // At the cap, what the signer already holds is still answered as before.
    let (m0, v0) = at(0);
    let again = signed(&one, (m0, &v0), Some(ZIP), 1);
    let same = records.insert_capped(&again, Sharing::Public, cap).unwrap();
    assert_eq!(same.change, RecordChange::AlreadyPresent);
    // Another signer has a cap of its own; an uncapped insert (a trusted signer) passes.
    let other = signed(&key(2), (m, &v), Some(ZIP), 1);
    let stored = records.insert_capped(&other, Sharing::Public, cap).unwrap();
    assert_eq!(stored.change, RecordChange::Inserted);
    let trusted = records.insert(&third, Sharing::Public).unwrap();
    assert_eq!(trusted.change, RecordChange::Inserted);
    assert_eq!(records.count_of(&one.signer_id()).unwrap(), 3);
}

pub(crate) fn the_total_cap_counts_every_signer(backend: &dyn Backend) {
    let index = backend.open();
    let records = index.records();
    let cap = RecordCap {
        per_signer: None,
        ..RecordCap::new(0, 3)
    };
    let (m, v) = at(0);
    for seed in 1..=3 {
        let record = signed(&key(seed), (m, &v), Some(ZIP), 1);
        let stored = records
            .insert_capped(&record, Sharing::Public, cap)
            .unwrap();
        assert_eq!(stored.change, RecordChange::Inserted);
    }
    let fourth = signed(&key(4), (m, &v), Some(ZIP), 1);
    let refused = records
        .insert_capped(&fourth, Sharing::Public, cap)
        .unwrap();
    assert_eq!(refused.change, RecordChange::OverCap);
    assert_eq!(records.count().unwrap(), 3);
    assert_eq!(records.count_of(&key(4).signer_id()).unwrap(), 0);
}

/// A store written before the counts existed holds records and no counts: they are counted on
/// the next open.
pub(crate) fn counts_are_rebuilt_for_a_store_made_before_them(backend: &dyn Backend) {
    {
        let index = backend.open();
        let mut pairs = Vec::new();
        for (seed, minor) in [(1, 0), (1, 1), (2, 0)] {
            let (m, v) = at(minor);
            let record = signed(&key(seed), (m, &v), Some(ZIP), 1);
            let slot = signer_key(&module(m), &version(&v), &key(seed).signer_id());
            pairs.push((slot, record.signed().to_wire().unwrap()));
        }
        let writes: Vec<Write<'_>> = pairs
            .iter()
            .map(|(slot, wire)| Write {
                tree: RECORDS,
                key: slot,
                expected: None,
                value: wire,
            })
            .collect();
        index.meta().commit(&writes).unwrap();
        index.meta().flush().unwrap();
    }
    let index = backend.open();
    let records = index.records();
    assert_eq!(records.count_of(&key(1).signer_id()).unwrap(), 2);
    assert_eq!(records.count_of(&key(2).signer_id()).unwrap(), 1);
    assert_eq!(records.count().unwrap(), 3);
}
