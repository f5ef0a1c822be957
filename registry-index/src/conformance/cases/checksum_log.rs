//! The checksum log: records of pinned hashes only, batches durable whole, a tree and tiles the
//! Go-format checks accept, the first head per size kept.

use delos_pool_protocol::sumdb::{
    Hash, RecordText, Tile, TileLevel, TilePlan, TreeHead, format_data_tile, stored_hashes,
    tree_hash,
};

use super::GO_MOD;
use crate::conformance::{Backend, module, offer, version};
use crate::{LogError, ModuleVersion};

const MODULE: &str = "example.com/a/b";
const RECORDS: u64 = 300;

fn at(
    n: u64,
) -> (
    delos_pool_protocol::module_path::ModulePath,
    delos_pool_protocol::version::Version,
) {
    (module(MODULE), version(&format!("v1.0.{n}")))
}

/// Pins versions `0..n` whole, each with its own zip bytes.
fn pin_whole(index: &crate::Index, n: u64) {
    for i in 0..n {
        let (m, v) = at(i);
        let zip = format!("PK stand-in zip {i}");
        index
            .store(&m, &v, offer(index, GO_MOD, Some(zip.as_bytes())))
            .unwrap();
    }
}

/// The records the log must hold, computed from the pins as the Go format says.
fn expected_records(index: &crate::Index, n: u64) -> Vec<RecordText> {
    (0..n)
        .map(|i| {
            let (m, v) = at(i);
            let entry = index.get(&m, &v).unwrap().unwrap();
            RecordText::go_sum(&m, &v, entry.zip().unwrap().h1(), entry.go_mod().h1())
        })
        .collect()
}

pub(crate) fn the_checksum_log_appends_pins_in_batches_and_serves_checked_tiles(
    backend: &dyn Backend,
) {
    let expected;
    {
        let index = backend.open();
        pin_whole(&index, RECORDS);
        expected = expected_records(&index, RECORDS);
        let log = index.checksum_log();
        assert_eq!(log.size().unwrap(), 0);
        let all: Vec<_> = (0..RECORDS).map(at).collect();
        let first = log.append(&all[..1]).unwrap();
        assert_eq!(first.size, 1);
        let second = log.append(&all[..50]).unwrap();
        assert_eq!(second.size, 50, "the one already in the log is skipped");
        assert_eq!(second.ids.len(), 49);
        assert_eq!(second.ids[0].2, 1);
        let third = log.append(&all).unwrap();
        assert_eq!((third.size, third.ids.len()), (RECORDS, 250));
        assert_eq!(log.append(&all).unwrap().ids, Vec::new(), "idempotent");
    }
    let index = backend.open();
    let log = index.checksum_log();
    assert_eq!(log.size().unwrap(), RECORDS, "durable across a reopen");
    for (id, record) in expected.iter().enumerate() {
        assert_eq!(log.record(id as u64).unwrap().as_ref(), Some(record));
    }
    let (m, v) = at(123);
    assert_eq!(log.id_of(&m, &v).unwrap(), Some(123));

    // The same tree as the Go format computes from the records alone.
    let mut hashes: Vec<Hash> = Vec::new();
    for (n, record) in expected.iter().enumerate() {
        let more = stored_hashes(n as u64, record.hash(), &hashes).unwrap();
        hashes.extend(more);
    }
    for size in [1, 2, 7, 256, 257, RECORDS] {
        assert_eq!(
            log.tree_hash(size).unwrap(),
            tree_hash(size, &hashes).unwrap()
        );
    }
    let head = TreeHead::new(RECORDS, log.tree_hash(RECORDS).unwrap()).unwrap();

    // Tiles the log serves check against its head, and prove its records.
    for id in [0, 255, 256, 299] {
        let plan = TilePlan::for_record(head, 8, id).unwrap();
        let fetched = plan
            .tiles()
            .iter()
            .map(|tile| log.tile(tile, RECORDS).unwrap().unwrap())
            .collect();
        let tiles = plan.check(fetched).unwrap();
        tiles.check_record(id, &expected[id as usize]).unwrap();
    }
    let data = Tile::new(8, TileLevel::Data, 0, 256).unwrap();
    assert_eq!(
        log.tile(&data, RECORDS).unwrap().unwrap(),
        format_data_tile(&expected[..256])
    );
    let partial = Tile::new(8, TileLevel::Data, 1, 44).unwrap();
    assert_eq!(
        log.tile(&partial, RECORDS).unwrap().unwrap(),
        format_data_tile(&expected[256..])
    );
    let beyond = Tile::new(8, TileLevel::Data, 1, 45).unwrap();
    assert_eq!(log.tile(&beyond, RECORDS).unwrap(), None);
}

pub(crate) fn the_checksum_log_refuses_what_is_not_pinned_whole_and_keeps_the_first_head(
    backend: &dyn Backend,
) {
    let index = backend.open();
    let log = index.checksum_log();
    let (m, v) = at(0);
    assert!(matches!(
        log.append(&[(m.clone(), v.clone())]),
        Err(LogError::NotPinned(at)) if *at == ModuleVersion { module: m.clone(), version: v.clone() }
    ));
    index.store(&m, &v, offer(&index, GO_MOD, None)).unwrap();
    assert!(matches!(log.append(&[(m, v)]), Err(LogError::NoZip(_))));
    assert_eq!(log.size().unwrap(), 0, "a refused batch appends nothing");

    assert_eq!(log.latest_head().unwrap(), None);
    assert_eq!(log.store_head(5, b"first").unwrap(), b"first");
    assert_eq!(
        log.store_head(5, b"second").unwrap(),
        b"first",
        "the first head stays"
    );
    assert_eq!(log.store_head(7, b"later").unwrap(), b"later");
    assert_eq!(log.head(5).unwrap().as_deref(), Some(&b"first"[..]));
    assert_eq!(log.latest_head().unwrap(), Some((7, b"later".to_vec())));
}

pub(crate) fn a_version_a_public_database_contradicts_stays_out_of_the_log(backend: &dyn Backend) {
    let index = backend.open();
    pin_whole(&index, 3);
    let log = index.checksum_log();
    let (m, v) = at(1);
    let conflict = crate::PublicConflict {
        module: m.clone(),
        version: v.clone(),
        database: String::from("sum.golang.org"),
        lookup: b"stand-in lookup".to_vec(),
        found_at_unix_secs: 1,
    };
    assert!(log.add_public_conflict(&conflict).unwrap());
    let all: Vec<_> = (0..3).map(at).collect();
    let appended = log.append(&all).unwrap();
    assert_eq!(appended.size, 2, "the contradicted version is skipped");
    assert_eq!(log.id_of(&m, &v).unwrap(), None);
    assert_eq!(log.id_of(&at(2).0, &at(2).1).unwrap(), Some(1));
    drop(index);
    let index = backend.open();
    assert_eq!(
        index.checksum_log().public_conflicts().unwrap(),
        vec![conflict],
        "kept across a reopen"
    );
    assert_eq!(index.checksum_log().append(&all).unwrap().ids, Vec::new());
}
