//! The open-time check deferred to a pass beside the serving: damage is never served before
//! the pass gets to it, and stores made during the pass are counted exactly once.

use super::damage::{repair_and_see_it_counted, store_two_and_lose_a_zip};
use super::{GO_MOD, ZIP};
use crate::conformance::{Backend, module, offer, version};
use crate::{Damage, OpenCheck};

pub(crate) fn a_deferred_check_hides_damage_at_once_and_reports_it_when_done(
    backend: &dyn Backend,
) {
    let (m, v, entry, zip_sha) = store_two_and_lose_a_zip(backend);

    let index = backend.open_checking(OpenCheck::Deferred);
    assert!(!index.open_check_done());
    assert_eq!(index.get(&m, &v).unwrap(), None, "checked on first use");
    assert_eq!(index.list_versions(&m).unwrap(), vec![version("v1.1.0")]);
    assert!(index.open_report().damaged.is_empty(), "not reported yet");

    index.finish_open_check().unwrap();
    assert!(index.open_check_done());
    let expected = Damage::MissingBlob {
        module: m.clone(),
        version: v.clone(),
        sha256: zip_sha,
    };
    assert_eq!(index.open_report().damaged, vec![expected]);
    assert_eq!(index.stats().versions, 1);
    repair_and_see_it_counted(&index, &m, &v, entry);
}

pub(crate) fn stores_beside_a_deferred_check_are_counted_once(backend: &dyn Backend) {
    // More versions than the pass reads in one step, so stores land before, inside and after
    // the part it has checked.
    const BEFORE: usize = 600;
    let m = module("example.com/a/b");
    let v = |n: usize| version(&format!("v1.0.{n}"));
    {
        let index = backend.open();
        for n in 0..BEFORE {
            let zip = (n % 2 == 0).then_some(ZIP);
            index.store(&m, &v(n), offer(&index, GO_MOD, zip)).unwrap();
        }
    }

    let index = backend.open_checking(OpenCheck::Deferred);
    std::thread::scope(|scope| {
        let pass = scope.spawn(|| index.finish_open_check());
        for n in (0..BEFORE + 300).rev() {
            // Upgrades of the .mod-only versions, the same content again, and new versions.
            index
                .store(&m, &v(n), offer(&index, GO_MOD, Some(ZIP)))
                .unwrap();
        }
        pass.join().unwrap().unwrap();
    });
    let counted = index.stats();
    drop(index);
    let recounted = backend.open().stats();
    assert_eq!(counted, recounted);
    assert_eq!(counted.versions, (BEFORE + 300) as u64);
    assert_eq!(counted.full_versions, (BEFORE + 300) as u64);
}
