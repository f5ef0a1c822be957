//! The pin log: whole versions numbered in order, without gaps, with growing timestamps.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{GO_MOD, ZIP};
use crate::conformance::{Backend, module, offer, version};

pub(crate) fn the_pin_log_numbers_versions_as_they_become_whole(backend: &dyn Backend) {
    let m = module("example.com/a/b");
    {
        let index = backend.open();
        index
            .store(&m, &version("v1.0.0"), offer(&index, GO_MOD, None))
            .unwrap();
        assert_eq!(
            index.pins().last_seq().unwrap(),
            0,
            ".mod-only is not whole"
        );
        index
            .store(&m, &version("v2.0.0"), offer(&index, GO_MOD, Some(ZIP)))
            .unwrap();
        index
            .store(&m, &version("v1.0.0"), offer(&index, GO_MOD, Some(ZIP)))
            .unwrap();
        index
            .store(&m, &version("v2.0.0"), offer(&index, GO_MOD, Some(ZIP)))
            .unwrap();
    }
    let index = backend.open();
    let (pins, cursor) = index.pins().page(0, 10, 100, |_| true).unwrap();
    let seen: Vec<_> = pins
        .iter()
        .map(|pin| (pin.seq, pin.version.as_str()))
        .collect();
    assert_eq!(seen, [(1, "v2.0.0"), (2, "v1.0.0")]);
    assert_eq!(cursor, 2);
    assert!(pins[0].at_unix_nanos < pins[1].at_unix_nanos);
    let pins_api = index.pins();
    assert_eq!(pins_api.first_at_or_after(0).unwrap(), Some(1));
    assert_eq!(
        pins_api.first_at_or_after(pins[1].at_unix_nanos).unwrap(),
        Some(2)
    );
    assert_eq!(
        pins_api
            .first_at_or_after(pins[1].at_unix_nanos + 1)
            .unwrap(),
        None
    );
    let (after, cursor) = index.pins().page(1, 10, 100, |_| false).unwrap();
    assert!(after.is_empty());
    assert_eq!(cursor, 2, "the cursor passes pins the filter refused");
}

pub(crate) fn concurrent_stores_number_pins_without_gaps(backend: &dyn Backend) {
    let index = Arc::new(backend.open());
    let m = module("example.com/a/b");
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (index, m) = (Arc::clone(&index), m.clone());
            std::thread::spawn(move || {
                let entry = offer(&index, GO_MOD, Some(ZIP));
                index
                    .store(&m, &version(&format!("v1.0.{i}")), entry)
                    .unwrap();
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let (pins, _) = index.pins().page(0, 100, 100, |_| true).unwrap();
    let seqs: Vec<u64> = pins.iter().map(|pin| pin.seq).collect();
    assert_eq!(seqs, (1..=16).collect::<Vec<u64>>());
    let versions: BTreeSet<_> = pins.iter().map(|pin| pin.version.clone()).collect();
    assert_eq!(versions.len(), 16);
    assert!(
        pins.windows(2)
            .all(|w| w[0].at_unix_nanos < w[1].at_unix_nanos)
    );
}
