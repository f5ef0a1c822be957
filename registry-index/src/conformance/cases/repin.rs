//! The operator's replacement of a poisoned `.mod`-only pin (see `crate::repin`).

use super::provenance::{key, signed, signed_with_go_mod};
use super::{GO_MOD, ZIP};
use crate::conformance::{Backend, module, offer, version};
use crate::{ConflictKind, IndexError, RepinError, Sharing};

const AB: (&str, &str) = ("example.com/a/b", "v1.0.0");
/// What a damaged VCS clone made `go` pin: the synthesized `.mod`.
const SYNTHESIZED: &[u8] = b"module example.com/a/b\n";

pub(crate) fn a_poisoned_mod_only_pin_is_replaced_once_keeping_the_old_record_as_evidence(
    backend: &dyn Backend,
) {
    let (m, v) = (module(AB.0), version(AB.1));
    let old_record = signed_with_go_mod(&key(1), AB, SYNTHESIZED, None, 100);
    let new_record = signed(&key(1), AB, Some(ZIP), 200);
    {
        let index = backend.open();
        let poisoned = offer(&index, SYNTHESIZED, None);
        index.store(&m, &v, poisoned.clone()).unwrap();
        index
            .records()
            .insert(&old_record, Sharing::Public)
            .unwrap();
        let replacement = offer(&index, GO_MOD, Some(ZIP));
        // Storing alone never replaces a pin.
        assert!(matches!(
            index.store(&m, &v, replacement.clone()),
            Err(IndexError::Conflict(_))
        ));
        let repinned = index
            .repin_mod_only(&m, &v, &replacement, &new_record, Sharing::Public)
            .unwrap();
        assert_eq!(repinned.previous, poisoned);
        assert_eq!(repinned.seq, Some(2));
        let evidence = repinned.evidence.unwrap();
        assert_eq!(evidence.disputed, old_record);
        assert_eq!(evidence.kind(), ConflictKind::WithPinned);
        assert_eq!(index.stats().versions, 1);
    }
    // Everything survives a reopen: the new pin, the new record in the slot, the evidence, the
    // feed item.
    let index = backend.open();
    let pinned = index.get(&m, &v).unwrap().unwrap();
    assert!(pinned.is_full());
    assert_eq!(pinned.go_mod().h1(), new_record.record().go_mod_h1());
    let slot = index.records().get(&m, &v, &key(1).signer_id()).unwrap();
    assert_eq!(slot, Some(new_record.clone()));
    let evidence = index.conflicts().for_version(&m, &v).unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!(evidence[0].disputed, old_record);
    assert_eq!(index.conflicts().count(), 1);
    let feed = index.feed().page(0, 10).unwrap();
    assert_eq!(feed.len(), 2);
    assert_eq!(index.feed().last_seq(), 2);
    // A whole pin is final, for the operator too.
    let again = offer(&index, GO_MOD, Some(ZIP));
    assert!(matches!(
        index.repin_mod_only(&m, &v, &again, &new_record, Sharing::Public),
        Err(RepinError::PinnedWhole(_))
    ));
}

pub(crate) fn repin_refuses_what_is_not_a_repair(backend: &dyn Backend) {
    let (m, v) = (module(AB.0), version(AB.1));
    let index = backend.open();
    let replacement = offer(&index, GO_MOD, Some(ZIP));
    let record = signed(&key(1), AB, Some(ZIP), 200);
    assert!(matches!(
        index.repin_mod_only(&m, &v, &replacement, &record, Sharing::Public),
        Err(RepinError::NotPinned(_))
    ));
    // A .mod-only pin with the same go.mod is upgraded by `store`, not replaced.
    index.store(&m, &v, offer(&index, GO_MOD, None)).unwrap();
    assert!(matches!(
        index.repin_mod_only(&m, &v, &replacement, &record, Sharing::Public),
        Err(RepinError::NotAReplacement(_))
    ));
    // The record must vouch for the replacement, and the replacement must have a zip.
    let other = signed(&key(1), AB, Some(b"other zip"), 200);
    assert!(matches!(
        index.repin_mod_only(&m, &v, &replacement, &other, Sharing::Public),
        Err(RepinError::RecordMismatch(_))
    ));
    let mod_only = offer(&index, GO_MOD, None);
    assert!(matches!(
        index.repin_mod_only(&m, &v, &mod_only, &record, Sharing::Public),
        Err(RepinError::NotAReplacement(_))
    ));
    // Nothing of that changed the pin.
    assert!(!index.get(&m, &v).unwrap().unwrap().is_full());
}
