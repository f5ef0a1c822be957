//! Entries whose blobs went missing: reported, hidden, repaired.

use super::{GO_MOD, ZIP};
use crate::conformance::{Backend, module, offer, offer_with_h1, stand_in_h1, version};
use delos_pool_protocol::hash::Sha256;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use crate::{Change, Damage, Index, IndexError, VersionEntry};

/// Pins `example.com/a/b` v1.0.0 whole and v1.1.0 `.mod`-only, then deletes v1.0.0's zip blob
/// file; returns the module, v1.0.0, its entry and the deleted blob's sha256.
pub(super) fn store_two_and_lose_a_zip(
    backend: &dyn Backend,
) -> (ModulePath, Version, VersionEntry, Sha256) {
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let entry = {
        let index = backend.open();
        let entry = offer(&index, GO_MOD, Some(ZIP));
        index.store(&m, &v, entry.clone()).unwrap();
        index
            .store(&m, &version("v1.1.0"), offer(&index, GO_MOD, None))
            .unwrap();
        entry
    };
    let zip_sha = *entry.zip().unwrap().blob().sha256();
    remove_blob_file(backend, &zip_sha.to_hex());
    (m, v, entry, zip_sha)
}

pub(crate) fn missing_blob_is_reported_hidden_and_repaired(backend: &dyn Backend) {
    let (m, v, entry, zip_sha) = store_two_and_lose_a_zip(backend);
    let index = backend.open();
    let expected = Damage::MissingBlob {
        module: m.clone(),
        version: v.clone(),
        sha256: zip_sha,
    };
    assert_eq!(index.open_report().damaged, vec![expected]);
    assert_eq!(index.get(&m, &v).unwrap(), None);
    assert_eq!(index.list_versions(&m).unwrap(), vec![version("v1.1.0")]);
    assert_eq!(index.stats().versions, 1);
    let err = index
        .store(&m, &v, offer(&index, GO_MOD, Some(b"PK other")))
        .unwrap_err();
    assert!(
        matches!(err, IndexError::Conflict(_)),
        "the pin outlives its blob: {err:?}"
    );

    repair_and_see_it_counted(&index, &m, &v, entry);
}

/// Stores the lost zip again: the entry is repaired, served and counted (2 versions).
pub(super) fn repair_and_see_it_counted(
    index: &Index,
    m: &ModulePath,
    v: &Version,
    entry: VersionEntry,
) {
    let stored = index.store(m, v, offer(index, GO_MOD, Some(ZIP))).unwrap();
    assert_eq!(stored.change, Change::Repaired);
    assert_eq!(index.get(m, v).unwrap(), Some(entry));
    assert_eq!(index.stats().versions, 2);
}

pub(crate) fn missing_zip_is_repaired_by_other_bytes_with_same_h1(backend: &dyn Backend) {
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let h1 = stand_in_h1(ZIP);
    let first = {
        let index = backend.open();
        let first = offer_with_h1(&index, GO_MOD, Some((ZIP, h1)));
        index.store(&m, &v, first.clone()).unwrap();
        first
    };
    remove_blob_file(backend, &first.zip().unwrap().blob().sha256().to_hex());
    let index = backend.open();
    let rebuilt = offer_with_h1(&index, GO_MOD, Some((b"PK same files, other deflate", h1)));
    let stored = index.store(&m, &v, rebuilt.clone()).unwrap();
    assert_eq!(stored.change, Change::Repaired);
    let now = index.get(&m, &v).unwrap().unwrap();
    assert_eq!(
        now.zip(),
        rebuilt.zip(),
        "the lost bytes are replaced by the new ones"
    );
    assert_eq!(now.info(), first.info());
    assert_eq!(now.go_mod(), first.go_mod());
}

pub(crate) fn mod_only_offer_cannot_repair_missing_zip(backend: &dyn Backend) {
    let (m, v) = (module("example.com/a/b"), version("v1.0.0"));
    let entry = {
        let index = backend.open();
        let entry = offer(&index, GO_MOD, Some(ZIP));
        index.store(&m, &v, entry.clone()).unwrap();
        entry
    };
    remove_blob_file(backend, &entry.zip().unwrap().blob().sha256().to_hex());
    let index = backend.open();
    let err = index
        .store(&m, &v, offer(&index, GO_MOD, None))
        .unwrap_err();
    assert!(matches!(err, IndexError::BlobNotStored { .. }), "{err:?}");
    assert_eq!(index.get(&m, &v).unwrap(), None);
}

/// Deletes a blob file behind the store's back, as a disk fault or an operator might.
pub(super) fn remove_blob_file(backend: &dyn Backend, hex: &str) {
    let path = backend.dir().join("blobs/sha256").join(&hex[..2]).join(hex);
    std::fs::remove_file(path).unwrap();
}
