//! Property tests: tile paths survive formatting and parsing, a plan's honest tiles check and
//! give the log's hashes, and any one flipped bit in any of them is caught.

use proptest::prelude::*;

use super::*;
use crate::sumdb::test_log::{head, store};
use crate::sumdb::tlog::stored_hash_count;

/// Any tile: a height, a level (a tenth of them data), a number and a width that fit.
fn any_tile() -> impl Strategy<Value = Tile> {
    (
        1..=MAX_TILE_HEIGHT,
        0..8u8,
        any::<u64>(),
        any::<u32>(),
        any::<u64>(),
    )
        .prop_filter_map("no such tile", |(height, level, index, width, digits)| {
            let level = if level == 0 {
                TileLevel::Data
            } else {
                TileLevel::Hashes(level - 1)
            };
            let width = width % (1 << height) + 1;
            // Numbers of every length, mostly small enough to exist.
            let index = index >> (digits % 64);
            Tile::new(height, level, index, width).ok()
        })
}

proptest! {
    #[test]
    fn tile_paths_round_trip(tile in any_tile()) {
        prop_assert_eq!(Tile::parse_path(&tile.path()), Ok(tile));
    }

    #[test]
    fn only_canonical_paths_parse(path in "tile/[0-9+]{1,2}/(data|[0-9]{1,2})(/x?[0-9]{1,4}){1,3}(\\.p/[0-9+]{1,3})?") {
        if let Ok(tile) = Tile::parse_path(&path) {
            prop_assert_eq!(tile.path(), path);
        }
    }

    #[test]
    fn planned_tiles_check_and_any_flipped_bit_is_caught(
        size in 1..=400u64,
        height in 1..=4u8,
        picks in prop::collection::vec(any::<u64>(), 1..4),
        flip in any::<(usize, usize)>(),
    ) {
        let store = store(size);
        let tree = head(&store, size);
        let indexes: Vec<u64> = picks.iter().map(|p| p % stored_hash_count(size)).collect();
        let plan = TilePlan::new(tree, height, &indexes).unwrap();
        let data: Vec<Vec<u8>> = plan
            .tiles()
            .iter()
            .map(|tile| read_tile_data(tile, &store).unwrap())
            .collect();
        let checked = plan.clone().check(data.clone()).unwrap();
        for &index in &indexes {
            prop_assert_eq!(checked.hash(index), Ok(store[index as usize]));
        }
        let mut forged = data;
        let at = flip.0 % forged.len();
        let bit = flip.1 % (forged[at].len() * 8);
        forged[at][bit / 8] ^= 1 << (bit % 8);
        prop_assert!(plan.check(forged).is_err());
    }
}
