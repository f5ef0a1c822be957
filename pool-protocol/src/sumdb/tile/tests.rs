//! Tile paths and tiles against Go's `tlog_test.go` / `tile_test.go` tables and x/mod-generated
//! vectors (`docs/checksum-db.md` §1.3 and §3), and Go's TestTree walk over checked tiles.

use super::*;
use crate::sumdb::proof::{check_record, check_tree, prove_record, prove_tree};
use crate::sumdb::record::RecordText;
use crate::sumdb::test_log::{head, leaf, store};
use crate::sumdb::tlog::{stored_hash_count, stored_hash_index, tree_hash};

fn tile(height: u8, level: TileLevel, index: u64, width: u32) -> Tile {
    Tile::new(height, level, index, width).unwrap()
}

const H: TileLevel = TileLevel::Hashes(0);

#[test]
fn tile_paths_match_go() {
    // tlog_test.go tilePaths (level -1 is data).
    let table = [
        ("tile/4/0/001", tile(4, H, 1, 16)),
        ("tile/4/0/001.p/5", tile(4, H, 1, 5)),
        (
            "tile/3/5/x123/x456/078",
            tile(3, TileLevel::Hashes(5), 123456078, 8),
        ),
        (
            "tile/3/5/x123/x456/078.p/2",
            tile(3, TileLevel::Hashes(5), 123456078, 2),
        ),
        ("tile/1/0/x003/x057/500", tile(1, H, 3057500, 2)),
        (
            "tile/1/data/x003/x057/500",
            tile(1, TileLevel::Data, 3057500, 2),
        ),
        // Generated with x/mod fe2ec04f (docs/checksum-db.md §3).
        ("tile/8/0/000.p/3", tile(8, H, 0, 3)),
        ("tile/8/0/x001/234", tile(8, H, 1234, 256)),
        ("tile/8/1/005.p/17", tile(8, TileLevel::Hashes(1), 5, 17)),
        (
            "tile/8/data/x001/x000/000",
            tile(8, TileLevel::Data, 1000000, 256),
        ),
    ];
    for (path, tile) in table {
        assert_eq!(tile.path(), path);
        assert_eq!(Tile::parse_path(path).unwrap(), tile, "{path}");
    }
}

#[test]
fn non_canonical_tile_paths_are_refused() {
    let bad = [
        // tlog_test.go tilePaths.
        "tile/3/5/123/456/078",
        "tile/3/-1/123/456/078",
        // docs/checksum-db.md §1.3, observed as 400 from x/mod's server.
        "tile/8/0/x000/000.p/1",
        // Widths: none, full written as partial, too wide; heights out of range.
        "tile/8/0/001.p/0",
        "tile/8/0/001.p/256",
        "tile/8/0/001.p/300",
        "tile/0/0/001",
        "tile/31/0/001",
        // Leading signs and zeros, short groups, stray elements.
        "tile/+8/0/001",
        "tile/8/00/001",
        "tile/8/0/01",
        "tile/8/0/0001",
        "tile/8/0/x1/001",
        "tile/8/0/001/",
        "tile/8/0/001.p/5/6",
        "tile/8/0",
        "tiles/8/0/001",
        "tile/8/0/x999/x999/x999/x999/x999/x999/x999/999",
    ];
    for path in bad {
        assert!(Tile::parse_path(path).is_err(), "{path}");
    }
}

#[test]
fn the_tile_for_an_index_is_the_least_wide_one() {
    // x/mod fe2ec04f: TileForIndex(8, StoredHashIndex(0, 300)).
    let tile = Tile::for_index(8, stored_hash_index(0, 300)).unwrap();
    assert_eq!(tile.path(), "tile/8/0/001.p/45");
    // A level-1 hash is computed from two level-0 entries of the level-0 tile.
    let tile = Tile::for_index(8, stored_hash_index(1, 3)).unwrap();
    assert_eq!(tile.path(), "tile/8/0/000.p/8");
}

#[test]
fn new_tiles_match_go() {
    // docs/checksum-db.md §1.3: NewTiles(8, 0, 300).
    let tiles: Vec<String> = new_tiles(8, 0, 300).iter().map(Tile::path).collect();
    assert_eq!(
        tiles,
        ["tile/8/0/000", "tile/8/0/001.p/44", "tile/8/1/000.p/1"]
    );
    // tile_test.go TestNewTilesForSize (height 10).
    let counts = [
        (1, 1, 0),
        (100, 101, 1),
        (1023, 1025, 3),
        (1024, 1030, 1),
        (1030, 2000, 1),
        (1030, 10000, 10),
        (49516517, 49516586, 3),
    ];
    for (old, new, count) in counts {
        assert_eq!(new_tiles(10, old, new).len(), count, "{old}..{new}");
    }
}

/// The tiles of height `height` a database of `size` records has published, with their bytes.
fn published(store: &Vec<Hash>, height: u8, size: u64) -> Vec<(Tile, Vec<u8>)> {
    new_tiles(height, 0, size)
        .into_iter()
        .map(|tile| (tile, read_tile_data(&tile, store).unwrap()))
        .collect()
}

/// Fetches a plan's tiles from `published` (a full tile also serves a narrower request, as a
/// client's cache does).
fn fetch(plan: &TilePlan, published: &[(Tile, Vec<u8>)]) -> Vec<Vec<u8>> {
    plan.tiles()
        .iter()
        .map(|want| {
            let (_, data) = published
                .iter()
                .find(|(have, _)| {
                    (have.level(), have.index()) == (want.level(), want.index())
                        && have.width() >= want.width()
                })
                .unwrap();
            data[..want.width() as usize * Hash::SIZE].to_vec()
        })
        .collect()
}

#[test]
fn tiles_serve_every_proof_as_go_test_tree_does() {
    // tlog_test.go TestTree, tile height 2, 100 records: tiles only ever grow, every stored hash
    // can be read from its tile, and records and trees proven from checked tiles check.
    const HEIGHT: u8 = 2;
    let store = store(100);
    let mut grown: Vec<(Tile, Vec<u8>)> = Vec::new();
    for size in 1..=100u64 {
        for tile in new_tiles(HEIGHT, size - 1, size) {
            let data = read_tile_data(&tile, &store).unwrap();
            if tile.width() > 1 {
                let earlier =
                    Tile::new(HEIGHT, tile.level(), tile.index(), tile.width() - 1).unwrap();
                let (_, old) = grown.iter().find(|(t, _)| *t == earlier).unwrap();
                assert!(
                    data.starts_with(old),
                    "{tile} does not extend its earlier width"
                );
            }
            grown.push((tile, data));
        }
        let published = published(&store, HEIGHT, size);
        for index in stored_hash_count(size - 1)..stored_hash_count(size) {
            let tile = Tile::for_index(HEIGHT, index).unwrap();
            let (_, data) = published.iter().find(|(t, _)| *t == tile).unwrap();
            assert_eq!(
                hash_from_tile(&tile, data, index).unwrap(),
                store[index as usize]
            );
        }
        let tree = head(&store, size);
        for record in 0..size {
            let plan = TilePlan::for_record(tree, HEIGHT, record).unwrap();
            let checked = plan.clone().check(fetch(&plan, &published)).unwrap();
            let text = String::from_utf8(leaf(record)).unwrap();
            assert_eq!(
                checked.hash(stored_hash_index(0, record)).unwrap(),
                Hash::of_record(text.as_bytes())
            );
            let proof = prove_record(size, record, &checked).unwrap();
            check_record(&proof, &tree, record, Hash::of_record(&leaf(record))).unwrap();
        }
        for older in 1..=size {
            let plan = TilePlan::for_tree_size(tree, HEIGHT, older).unwrap();
            let checked = plan.clone().check(fetch(&plan, &published)).unwrap();
            let older_head = head(&store, older);
            assert_eq!(tree_hash(older, &checked).unwrap(), older_head.hash());
            let proof = prove_tree(size, older, &checked).unwrap();
            check_tree(&proof, &tree, &older_head).unwrap();
        }
    }
}

#[test]
fn a_corrupt_tile_below_a_shared_edge_tile_is_caught() {
    // Regression for Go's TileHashReader (x/mod fe2ec04f): with 300 records and height 8, three
    // edge hashes share tile/8/0/001.p/44, so its check of child tiles starts one tile too late
    // and returns a hash from a corrupt tile/8/0/000 without an error.
    let store = store(300);
    let mut published = published(&store, 8, 300);
    published[0].1[5 * Hash::SIZE] ^= 1;
    let plan = TilePlan::for_record(head(&store, 300), 8, 5).unwrap();
    assert_eq!(plan.tiles()[2].path(), "tile/8/0/000");
    let error = plan.clone().check(fetch(&plan, &published)).unwrap_err();
    assert_eq!(
        error,
        TileError::Inconsistent {
            tile: Some(plan.tiles()[2])
        }
    );
}

#[test]
fn indexes_and_tiles_outside_the_tree_are_refused() {
    let store = store(10);
    let tree = head(&store, 10);
    assert!(matches!(
        TilePlan::new(tree, 2, &[stored_hash_index(0, 10)]),
        Err(TileError::NotInTree { .. })
    ));
    assert!(TilePlan::for_record(tree, 2, 10).is_err());
    assert!(TilePlan::for_tree_size(tree, 2, 11).is_err());
    let beyond = tile(2, H, 2, 3);
    assert!(!beyond.is_in_tree(10));
    assert!(TilePlan::for_tile(tree, &beyond).is_err());
    assert!(tile(2, H, 2, 2).is_in_tree(10));
}

#[test]
fn downloaded_tiles_are_checked_against_a_tree_even_when_narrower() {
    let store = store(300);
    let tree = head(&store, 300);
    let published = published(&store, 8, 300);
    for (wanted, width) in [
        (tile(8, H, 1, 44), 44),
        (tile(8, H, 1, 10), 10),
        (tile(8, H, 0, 256), 256),
    ] {
        let plan = TilePlan::for_tile(tree, &wanted).unwrap();
        let checked = plan.clone().check(fetch(&plan, &published)).unwrap();
        let honest = read_tile_data(&wanted, &store).unwrap();
        assert_eq!(honest.len(), width * Hash::SIZE);
        checked.check_tile(&wanted, &honest).unwrap();
        let mut forged = honest.clone();
        forged[7] ^= 0x80;
        assert_eq!(
            checked.check_tile(&wanted, &forged),
            Err(TileError::Mismatch { tile: wanted })
        );
    }
}

#[test]
fn data_tiles_hold_records_separated_by_blank_lines() {
    let records: Vec<RecordText> = (0..3)
        .map(|i| RecordText::parse(&[leaf(i), b"\n".to_vec()].concat()).unwrap())
        .collect();
    let data = format_data_tile(&records);
    assert_eq!(data, b"leaf 0\n\nleaf 1\n\nleaf 2\n\n");
    let data_tile = tile(8, TileLevel::Data, 0, 3);
    assert_eq!(parse_data_tile(&data_tile, &data).unwrap(), records);
    for bad in [
        &data[..data.len() - 1],
        b"leaf 0\n\nleaf 1\n\n",
        &[data.as_slice(), b"x"].concat(),
    ] {
        assert!(parse_data_tile(&data_tile, bad).is_err());
    }
}

#[test]
fn data_tiles_are_checked_against_the_tree() {
    // A log whose records are the data tile's texts.
    let texts: Vec<RecordText> = (0..5)
        .map(|i| RecordText::parse(format!("example.org/m v1.0.{i} h1:x=\n").as_bytes()).unwrap())
        .collect();
    let mut store = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let hashes = crate::sumdb::tlog::stored_hashes(i as u64, text.hash(), &store).unwrap();
        store.extend(hashes);
    }
    let tree = head(&store, 5);
    let data_tile = tile(8, TileLevel::Data, 0, 5);
    let plan = TilePlan::for_tile(tree, &data_tile).unwrap();
    let checked = plan
        .clone()
        .check(fetch(&plan, &published(&store, 8, 5)))
        .unwrap();
    checked
        .check_tile(&data_tile, &format_data_tile(&texts))
        .unwrap();
    let mut swapped = texts.clone();
    swapped.swap(1, 2);
    assert_eq!(
        checked.check_tile(&data_tile, &format_data_tile(&swapped)),
        Err(TileError::Mismatch { tile: data_tile })
    );
}

#[test]
fn the_empty_tree_needs_no_tiles() {
    let empty = crate::sumdb::tree_head::TreeHead::empty();
    let plan = TilePlan::new(empty, 8, &[]).unwrap();
    assert!(plan.tiles().is_empty());
    let checked = plan.check(Vec::new()).unwrap();
    assert_eq!(tree_hash(0, &checked).unwrap(), Hash::EMPTY_TREE);
}
