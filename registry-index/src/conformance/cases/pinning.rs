//! Storing and pinning: round trips, first write wins, idempotence, `.mod`-only upgrades.

use std::io::Read;
use std::sync::Arc;

use super::{GO_MOD, ZIP};
use crate::Change;
use crate::IndexError;
use crate::conformance::{Backend, module, offer, offer_with_h1, stand_in_h1, version};

pub(crate) fn round_trip(backend: &dyn Backend) {
    let index = backend.open();
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let entry = offer(&index, GO_MOD, Some(ZIP));
    let stored = index.store(&m, &v, entry.clone()).unwrap();
    assert_eq!(stored.change, Change::Inserted);
    assert_eq!(stored.entry, entry);
    assert_eq!(index.get(&m, &v).unwrap(), Some(entry.clone()));
    let zip = entry.zip().unwrap().blob();
    let mut bytes = Vec::new();
    index
        .blobs()
        .open_verified(zip.sha256())
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(bytes, ZIP);
    assert_eq!(index.get(&m, &version("v1.0.1")).unwrap(), None);
    assert_eq!(index.get(&module("example.com/a"), &v).unwrap(), None);
}

pub(crate) fn round_trip_survives_reopen(backend: &dyn Backend) {
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let entry = {
        let index = backend.open();
        let entry = offer(&index, GO_MOD, Some(ZIP));
        index.store(&m, &v, entry.clone()).unwrap();
        entry
    };
    let index = backend.open();
    assert!(index.open_report().damaged.is_empty());
    assert_eq!(index.get(&m, &v).unwrap(), Some(entry));
    assert_eq!(index.stats().versions, 1);
}

pub(crate) fn mod_only_entry_is_distinguishable(backend: &dyn Backend) {
    let index = backend.open();
    let m = module("example.com/a/b");
    index
        .store(&m, &version("v1.0.0"), offer(&index, GO_MOD, None))
        .unwrap();
    index
        .store(&m, &version("v1.1.0"), offer(&index, GO_MOD, Some(ZIP)))
        .unwrap();
    let mod_only = index.get(&m, &version("v1.0.0")).unwrap().unwrap();
    assert!(!mod_only.is_full());
    assert!(mod_only.zip().is_none());
    assert!(
        index
            .get(&m, &version("v1.1.0"))
            .unwrap()
            .unwrap()
            .is_full()
    );
}

pub(crate) fn mod_only_entry_upgrades_with_same_go_mod(backend: &dyn Backend) {
    let index = backend.open();
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let first = offer(&index, GO_MOD, None);
    index.store(&m, &v, first.clone()).unwrap();
    let full = offer(&index, GO_MOD, Some(ZIP));
    let stored = index.store(&m, &v, full.clone()).unwrap();
    assert_eq!(stored.change, Change::Upgraded);
    assert_eq!(stored.previous, Some(first.clone()));
    let now = index.get(&m, &v).unwrap().unwrap();
    assert_eq!(now.zip(), full.zip());
    assert_eq!(now.go_mod(), first.go_mod());
    assert_eq!(index.stats().full_versions, 1);
}

pub(crate) fn upgrade_with_other_go_mod_conflicts(backend: &dyn Backend) {
    let index = backend.open();
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let first = offer(&index, GO_MOD, None);
    index.store(&m, &v, first.clone()).unwrap();
    let other = offer(&index, b"module example.com/a/b\n\ngo 1.23\n", Some(ZIP));
    let err = index.store(&m, &v, other).unwrap_err();
    assert!(matches!(err, IndexError::Conflict(_)), "{err:?}");
    assert_eq!(index.get(&m, &v).unwrap(), Some(first));
}

pub(crate) fn first_write_wins_with_conflict(backend: &dyn Backend) {
    let index = backend.open();
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let first = offer(&index, GO_MOD, Some(ZIP));
    index.store(&m, &v, first.clone()).unwrap();
    let second = offer(&index, GO_MOD, Some(b"PK moved tag, other content"));
    match index.store(&m, &v, second.clone()).unwrap_err() {
        IndexError::Conflict(conflict) => {
            assert_eq!((&conflict.at.module, &conflict.at.version), (&m, &v));
            assert_eq!(conflict.existing, first);
            assert_eq!(conflict.offered, second);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    drop(index);
    let index = backend.open();
    assert_eq!(index.get(&m, &v).unwrap(), Some(first));
}

pub(crate) fn same_hashes_again_is_idempotent(backend: &dyn Backend) {
    let index = backend.open();
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let entry = offer(&index, GO_MOD, Some(ZIP));
    index.store(&m, &v, entry.clone()).unwrap();
    let stats = index.stats();
    for _ in 0..3 {
        let again = index
            .store(&m, &v, offer(&index, GO_MOD, Some(ZIP)))
            .unwrap();
        assert_eq!(again.change, Change::AlreadyPresent);
        assert_eq!(again.entry, entry);
    }
    assert_eq!(index.stats(), stats);
}

pub(crate) fn same_h1_other_zip_bytes_keeps_first_bytes(backend: &dyn Backend) {
    let index = backend.open();
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let h1 = stand_in_h1(ZIP);
    let first = offer_with_h1(&index, GO_MOD, Some((ZIP, h1)));
    index.store(&m, &v, first.clone()).unwrap();
    let recompressed = offer_with_h1(&index, GO_MOD, Some((b"PK same files, other deflate", h1)));
    let stored = index.store(&m, &v, recompressed).unwrap();
    assert_eq!(stored.change, Change::AlreadyPresent);
    assert_eq!(index.get(&m, &v).unwrap(), Some(first));
}

pub(crate) fn full_entry_ignores_mod_only_offer(backend: &dyn Backend) {
    let index = backend.open();
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let full = offer(&index, GO_MOD, Some(ZIP));
    index.store(&m, &v, full.clone()).unwrap();
    let stored = index.store(&m, &v, offer(&index, GO_MOD, None)).unwrap();
    assert_eq!(stored.change, Change::AlreadyPresent);
    assert_eq!(index.get(&m, &v).unwrap(), Some(full));
    let err = index
        .store(&m, &v, offer(&index, b"module other\n", None))
        .unwrap_err();
    assert!(matches!(err, IndexError::Conflict(_)), "{err:?}");
}

pub(crate) fn concurrent_stores_pin_exactly_one(backend: &dyn Backend) {
    let index = Arc::new(backend.open());
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let offers: Vec<_> = (0..8u8)
        .map(|i| offer(&index, GO_MOD, Some(&[b'P', b'K', i % 2])))
        .collect();
    let handles: Vec<_> = offers
        .into_iter()
        .map(|entry| {
            let (index, m, v) = (Arc::clone(&index), m.clone(), v.clone());
            std::thread::spawn(move || index.store(&m, &v, entry).map(|s| s.change))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let inserted = results
        .iter()
        .filter(|r| matches!(r, Ok(Change::Inserted)))
        .count();
    assert_eq!(inserted, 1, "{results:?}");
    let pinned = index.get(&m, &v).unwrap().unwrap();
    for result in &results {
        match result {
            Ok(change) => assert!(matches!(change, Change::Inserted | Change::AlreadyPresent)),
            Err(IndexError::Conflict(conflict)) => assert_eq!(conflict.existing, pinned),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(index.stats().versions, 1);
}

pub(crate) fn blobs_must_be_stored_first(backend: &dyn Backend) {
    let index = backend.open();
    let elsewhere = tempfile::tempdir().unwrap();
    let other = crate::Index::open(elsewhere.path()).unwrap();
    let entry = offer(&other, GO_MOD, Some(ZIP));
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let err = index.store(&m, &v, entry).unwrap_err();
    assert!(matches!(err, IndexError::BlobNotStored { .. }), "{err:?}");
    assert_eq!(index.get(&m, &v).unwrap(), None);
}

pub(crate) fn non_canonical_versions_are_refused(backend: &dyn Backend) {
    let index = backend.open();
    let m = module("example.com/a/b");
    for v in ["v1", "v1.2", "v1.2.3+build"] {
        let err = index
            .store(&m, &version(v), offer(&index, GO_MOD, None))
            .unwrap_err();
        assert!(
            matches!(err, IndexError::NonCanonicalVersion(_)),
            "{v}: {err:?}"
        );
    }
    assert!(index.list_versions(&m).unwrap().is_empty());
}
