//! Provenance records, the feed and conflict evidence.

use std::sync::Arc;

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::provenance::{
    InfoTime, ProvenanceRecord, RecordFields, Source, VcsOrigin, ZipFacts,
};
use delos_pool_protocol::signing::{NodeKey, SignedRecord, VerifiedRecord};

use super::{GO_MOD, ZIP};
use crate::conformance::{Backend, module, offer, stand_in_h1, version};
use crate::meta::{Commit, Write};
use crate::schema::{FEED, RECORDS};
use crate::{ConflictKind, RecordChange, Sharing};

const OTHER_ZIP: &[u8] = b"PK stand-in zip bytes, after the tag moved";

pub(super) fn key(seed: u8) -> NodeKey {
    NodeKey::from_secret_bytes([seed; 32])
}

/// A record signed by `key` for `module@version` with the stand-in hashes of the given bytes.
pub(super) fn signed(
    key: &NodeKey,
    at: (&str, &str),
    zip: Option<&[u8]>,
    obtained_at: u64,
) -> VerifiedRecord {
    signed_with_go_mod(key, at, GO_MOD, zip, obtained_at)
}

/// [`signed`], for a version whose `.mod` is `go_mod`.
pub(super) fn signed_with_go_mod(
    key: &NodeKey,
    at: (&str, &str),
    go_mod: &[u8],
    zip: Option<&[u8]>,
    obtained_at: u64,
) -> VerifiedRecord {
    let origin = VcsOrigin {
        vcs: "git".into(),
        url: "https://example.com/a/b".into(),
        subdir: None,
        hash: "0123456789abcdef0123456789abcdef01234567".into(),
        ref_name: Some("refs/tags/v1.0.0".into()),
    };
    let record = ProvenanceRecord::new(RecordFields {
        module: module(at.0),
        version: version(at.1),
        go_mod_h1: H1Hash::of_go_mod(go_mod),
        zip: zip.map(|bytes| ZipFacts {
            h1: stand_in_h1(bytes),
            sha256: Sha256::digest(bytes),
            size: bytes.len() as u64,
        }),
        info_time: InfoTime::parse("2024-01-02T03:04:05Z").unwrap(),
        source: Source::Vcs(origin),
        obtained_at,
    })
    .unwrap();
    key.sign(&record).unwrap().verify().unwrap()
}

const AB: (&str, &str) = ("example.com/a/b", "v1.0.0");

pub(crate) fn records_round_trip_with_exact_wire_bytes(backend: &dyn Backend) {
    let record = signed(&key(1), AB, Some(ZIP), 100);
    {
        let index = backend.open();
        let stored = index.records().insert(&record, Sharing::Public).unwrap();
        assert_eq!(
            (stored.change, stored.seq),
            (RecordChange::Inserted, Some(1))
        );
        assert!(stored.new_conflicts.is_empty());
    }
    let index = backend.open();
    let (m, v) = (module(AB.0), version(AB.1));
    assert_eq!(
        index.records().for_version(&m, &v).unwrap(),
        std::slice::from_ref(&record)
    );
    let got = index.records().get(&m, &v, &key(1).signer_id()).unwrap();
    assert_eq!(got, Some(record.clone()));
    assert_eq!(
        index.records().get(&m, &v, &key(2).signer_id()).unwrap(),
        None
    );
    let key_bytes = crate::schema::signer_key(&m, &v, &key(1).signer_id());
    let raw = index.meta().get(RECORDS, &key_bytes).unwrap().unwrap();
    assert_eq!(raw, record.signed().to_wire().unwrap());
    assert_eq!(index.feed().last_seq(), 1);
    assert_eq!(index.records().count().unwrap(), 1);
    let page = index.feed().page(0, 10).unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!((page[0].seq, &page[0].record), (1, record.signed()));
}

/// Only a record's exact stored bytes are held: a restatement, a forged signature over the
/// same bytes, another signer's record and undecodable bytes are not (each must be verified).
pub(crate) fn a_record_is_held_only_with_its_exact_bytes(backend: &dyn Backend) {
    let index = backend.open();
    let record = signed(&key(1), AB, Some(ZIP), 100);
    assert!(
        !index.records().holds(record.signed()).unwrap(),
        "not yet stored"
    );
    index.records().insert(&record, Sharing::Public).unwrap();
    assert!(index.records().holds(record.signed()).unwrap());

    let signed = record.signed();
    let mut signature = signed.signature();
    signature[0] ^= 1;
    let forged = SignedRecord::from_parts(signed.bytes().to_vec(), signature, signed.signer());
    let later = signed_record(&key(1), AB, 200);
    let other_signer = signed_record(&key(2), AB, 100);
    let garbage = SignedRecord::from_parts(b"not a record".to_vec(), [0; 64], signed.signer());
    for (what, offered) in [
        ("forged signature", &forged),
        ("later statement", &later),
        ("other signer", &other_signer),
        ("undecodable", &garbage),
    ] {
        assert!(!index.records().holds(offered).unwrap(), "{what}");
    }
}

fn signed_record(key: &NodeKey, at: (&str, &str), obtained_at: u64) -> SignedRecord {
    signed(key, at, Some(ZIP), obtained_at).signed().clone()
}

pub(crate) fn a_module_s_records_are_read_without_the_versions_skipped(backend: &dyn Backend) {
    let index = backend.open();
    let records = index.records();
    let at = |v| ("example.com/a/b", v);
    for (seed, v) in [(1, "v1.0.0"), (2, "v1.0.0"), (1, "v1.1.0"), (1, "v1.10.0")] {
        let record = signed(&key(seed), at(v), Some(ZIP), 100);
        records.insert(&record, Sharing::Public).unwrap();
    }
    let other = signed(&key(1), ("example.com/a/b/c", "v1.0.0"), Some(ZIP), 100);
    records.insert(&other, Sharing::Public).unwrap();
    let m = module(AB.0);
    let versions_of = |found: Vec<VerifiedRecord>| -> Vec<String> {
        let mut versions: Vec<String> = found
            .iter()
            .map(|r| r.record().version().as_str().to_owned())
            .collect();
        versions.sort();
        versions
    };
    assert_eq!(
        versions_of(records.for_module(&m).unwrap()),
        ["v1.0.0", "v1.0.0", "v1.1.0", "v1.10.0"]
    );
    let skipped = records
        .for_module_except(&m, &[version("v1.0.0"), version("v1.1")])
        .unwrap_or_default();
    assert_eq!(
        versions_of(skipped),
        ["v1.1.0", "v1.10.0"],
        "only exact versions are skipped, not prefixes"
    );
    let none = records
        .for_module_except(
            &m,
            &[version("v1.0.0"), version("v1.1.0"), version("v1.10.0")],
        )
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
}

pub(crate) fn same_signer_keeps_first_upgrades_mod_only_and_flags_contradiction(
    backend: &dyn Backend,
) {
    let index = backend.open();
    let records = index.records();
    let insert = |r: &VerifiedRecord| records.insert(r, Sharing::Public).unwrap();
    let mod_only = signed(&key(1), AB, None, 100);
    assert_eq!(insert(&mod_only).change, RecordChange::Inserted);
    assert_eq!(insert(&mod_only).change, RecordChange::AlreadyPresent);
    let later_mod_only = signed(&key(1), AB, None, 200);
    assert_eq!(insert(&later_mod_only).change, RecordChange::KeptFirst);
    let full = signed(&key(1), AB, Some(ZIP), 300);
    let upgraded = insert(&full);
    assert_eq!(
        (upgraded.change, upgraded.seq),
        (RecordChange::Upgraded, Some(2))
    );
    assert_eq!(insert(&mod_only).change, RecordChange::KeptFirst);
    assert_eq!(
        insert(&signed(&key(1), AB, Some(ZIP), 400)).change,
        RecordChange::KeptFirst
    );

    let liar = signed(&key(1), AB, Some(OTHER_ZIP), 500);
    let contradiction = insert(&liar);
    assert_eq!(
        (contradiction.change, contradiction.seq),
        (RecordChange::Contradiction, None)
    );
    let [evidence] = &contradiction.new_conflicts[..] else {
        panic!("{contradiction:?}");
    };
    assert_eq!(
        (&evidence.disputed, evidence.counter.as_ref()),
        (&liar, Some(&full))
    );
    assert_eq!(evidence.kind(), ConflictKind::SelfContradiction);
    let (m, v) = (module(AB.0), version(AB.1));
    assert_eq!(records.for_version(&m, &v).unwrap(), [full]);
    assert!(
        insert(&liar).new_conflicts.is_empty(),
        "evidence is created once"
    );
    assert_eq!(index.conflicts().count(), 1);
    assert_eq!(index.feed().last_seq(), 2);
}

pub(crate) fn feed_is_contiguous_and_never_holds_private_records(backend: &dyn Backend) {
    {
        let index = backend.open();
        for (i, m) in ["example.com/p1", "corp.example/secret", "example.com/p2"]
            .iter()
            .enumerate()
        {
            let sharing = if m.starts_with("corp") {
                Sharing::Private
            } else {
                Sharing::Public
            };
            let stored = index
                .records()
                .insert(
                    &signed(&key(1), (m, "v1.0.0"), Some(ZIP), i as u64),
                    sharing,
                )
                .unwrap();
            assert_eq!(stored.change, RecordChange::Inserted);
            assert_eq!(stored.seq.is_some(), sharing == Sharing::Public, "{m}");
        }
        let private = index
            .records()
            .for_version(&module("corp.example/secret"), &version("v1.0.0"));
        assert_eq!(
            private.unwrap().len(),
            1,
            "private records are stored, only not shared"
        );
    }
    let index = backend.open();
    let next = signed(&key(2), ("example.com/p3", "v1.0.0"), None, 9);
    assert_eq!(
        index.records().insert(&next, Sharing::Public).unwrap().seq,
        Some(3)
    );
    let seqs = |after, max| -> Vec<(u64, String)> {
        let page = index.feed().page(after, max).unwrap();
        page.iter()
            .map(|item| {
                let record = item.record.verify().unwrap();
                (item.seq, record.record().module().as_str().to_owned())
            })
            .collect()
    };
    let all = seqs(0, 100);
    let expected = [
        (1, "example.com/p1"),
        (2, "example.com/p2"),
        (3, "example.com/p3"),
    ];
    assert_eq!(all, expected.map(|(s, m)| (s, m.to_owned())));
    assert_eq!(seqs(1, 1), [(2, "example.com/p2".to_owned())]);
    assert!(seqs(3, 10).is_empty());
    assert!(seqs(u64::MAX, 10).is_empty());
    assert_eq!(index.feed().last_seq(), 3);
}

pub(crate) fn record_disagreeing_with_the_pin_is_evidence_and_pin_stays(backend: &dyn Backend) {
    let (m, v) = (module(AB.0), version(AB.1));
    let own = signed(&key(1), AB, Some(ZIP), 100);
    let moved = signed(&key(2), AB, Some(OTHER_ZIP), 200);
    let pinned_entry = {
        let index = backend.open();
        let entry = offer(&index, GO_MOD, Some(ZIP));
        index.store(&m, &v, entry.clone()).unwrap();
        let stored = index.records().insert(&own, Sharing::Public).unwrap();
        assert!(stored.new_conflicts.is_empty());
        let stored = index.records().insert(&moved, Sharing::Public).unwrap();
        assert_eq!(
            (stored.change, stored.seq),
            (RecordChange::Inserted, Some(2))
        );
        let [evidence] = &stored.new_conflicts[..] else {
            panic!("{stored:?}");
        };
        assert_eq!(evidence.kind(), ConflictKind::WithPinned);
        assert_eq!(
            (&evidence.disputed, evidence.counter.as_ref()),
            (&moved, Some(&own))
        );
        assert_eq!(evidence.pinned, Some(entry.claimed_hashes()));
        let again = index.records().insert(&moved, Sharing::Public).unwrap();
        assert!(again.new_conflicts.is_empty());
        entry
    };
    let index = backend.open();
    assert_eq!(index.conflicts().count(), 1);
    let listed = index.conflicts().list().unwrap();
    assert_eq!(listed, index.conflicts().for_version(&m, &v).unwrap());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].disputed, moved);
    assert!(
        index
            .conflicts()
            .for_version(&m, &version("v1.0.1"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(index.get(&m, &v).unwrap(), Some(pinned_entry));
    assert_eq!(index.records().for_version(&m, &v).unwrap().len(), 2);
}

pub(crate) fn record_seen_before_the_pin_becomes_evidence_with_the_own_record(
    backend: &dyn Backend,
) {
    let index = backend.open();
    let (m, v) = (module(AB.0), version(AB.1));
    let early = signed(&key(2), AB, Some(OTHER_ZIP), 50);
    let stored = index.records().insert(&early, Sharing::Public).unwrap();
    assert!(
        stored.new_conflicts.is_empty(),
        "nothing pinned yet: the trust policy decides"
    );
    let mod_only = signed(&key(3), AB, None, 60);
    index.records().insert(&mod_only, Sharing::Public).unwrap();

    index
        .store(&m, &v, offer(&index, GO_MOD, Some(ZIP)))
        .unwrap();
    let own = signed(&key(1), AB, Some(ZIP), 100);
    let stored = index.records().insert(&own, Sharing::Public).unwrap();
    let disputed: Vec<_> = stored
        .new_conflicts
        .iter()
        .map(|e| e.disputed.signer())
        .collect();
    assert_eq!(
        disputed,
        [key(2).signer_id()],
        ".mod-only with the same go.mod agrees"
    );
    assert_eq!(stored.new_conflicts[0].counter.as_ref(), Some(&own));
    assert_eq!(index.conflicts().count(), 1);
}

pub(crate) fn concurrent_inserts_number_the_feed_without_gaps(backend: &dyn Backend) {
    let index = Arc::new(backend.open());
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let index = index.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let at = (format!("example.com/t{t}"), format!("v1.0.{i}"));
                    let record = signed(&key(t + 1), (&at.0, &at.1), Some(ZIP), i);
                    index.records().insert(&record, Sharing::Public).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let page = index.feed().page(0, 1000).unwrap();
    let seqs: Vec<u64> = page.iter().map(|item| item.seq).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>());
    assert_eq!(index.feed().last_seq(), 40);
}

pub(crate) fn commit_writes_all_or_nothing(backend: &dyn Backend) {
    let index = backend.open();
    let meta = index.meta();
    let write = |tree, key: &'static [u8], expected, value: &'static [u8]| Write {
        tree,
        key,
        expected,
        value,
    };
    let first = [
        write(RECORDS, b"k", None, b"one"),
        write(FEED, b"\0\0\0\0\0\0\0\x01", None, b"one"),
    ];
    assert_eq!(meta.commit(&first).unwrap(), Commit::Done);
    let stale = [
        write(FEED, b"\0\0\0\0\0\0\0\x02", None, b"two"),
        write(RECORDS, b"k", None, b"two"),
    ];
    assert_eq!(meta.commit(&stale).unwrap(), Commit::Stale);
    assert_eq!(meta.get(FEED, b"\0\0\0\0\0\0\0\x02").unwrap(), None);
    assert_eq!(meta.get(RECORDS, b"k").unwrap(), Some(b"one".to_vec()));
    let swap = [write(RECORDS, b"k", Some(b"one"), b"two")];
    assert_eq!(meta.commit(&swap).unwrap(), Commit::Done);
    assert_eq!(meta.get(RECORDS, b"k").unwrap(), Some(b"two".to_vec()));
    let last = meta.last(FEED).unwrap().map(|(k, _)| k);
    assert_eq!(last, Some(b"\0\0\0\0\0\0\0\x01".to_vec()));
    let from: Vec<_> = meta
        .scan_from(RECORDS, b"j")
        .unwrap()
        .map(|kv| kv.unwrap().0)
        .collect();
    assert_eq!(from, [b"k".to_vec()]);
}
