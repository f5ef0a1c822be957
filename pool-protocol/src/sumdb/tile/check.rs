//! `TilePlan` and `CheckedTiles`: authenticating tiles against a signed tree head without doing
//! any I/O (Go's `tlog.TileHashReader`, split at the fetch).

use super::{Tile, TileError, TileLevel, hash_from_tile, parse_data_tile, tile_hash};
use crate::sumdb::record::RecordText;
use crate::sumdb::tlog::{
    Hash, HashReader, check_prefix, check_record_in_tree, fold_subtrees, stored_hash_index,
    subtree_indexes,
};
use crate::sumdb::tree_head::TreeHead;

/// The tiles to fetch to read some hashes of a tree, in an order that lets each be checked.
///
/// The first tiles hold the tree's right edge: the complete subtrees whose hashes combine into
/// the tree hash. The others are full tiles, each listed after its parent tile, whose hash it
/// must match. Fetch [`tiles`](Self::tiles) (from a cache or a server; nothing is trusted
/// yet), then [`check`](Self::check) them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TilePlan {
    tree: TreeHead,
    height: u8,
    tiles: Vec<Tile>,
    /// The right edge's stored hash indexes, largest subtree first, each with the position in
    /// `tiles` of the tile it is read from.
    edge: Vec<(u64, usize)>,
    /// How many of the first `tiles` hold the right edge.
    edge_tiles: usize,
}

/// Tiles whose bytes were checked against a tree head: every hash read from them is the tree's.
///
/// They are the tiles a client may cache (Go's `SaveTiles`), and a [`HashReader`] for the
/// hashes in them: [`tree_hash`](crate::sumdb::tree_hash) of an older size for a consistency
/// check, [`prove_record`](crate::sumdb::prove_record) and the like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTiles {
    tree: TreeHead,
    height: u8,
    tiles: Vec<(Tile, Vec<u8>)>,
}

impl TilePlan {
    /// The tiles of `height` needed to read the hashes at the stored `indexes` of `tree`.
    pub fn new(tree: TreeHead, height: u8, indexes: &[u64]) -> Result<TilePlan, TileError> {
        let mut plan = TilePlan {
            tree,
            height,
            tiles: Vec::new(),
            edge: Vec::new(),
            edge_tiles: 0,
        };
        let mut edge = Vec::new();
        subtree_indexes(0, tree.size(), &mut edge);
        for index in edge {
            let tile = plan.tree_tile(index)?;
            let position = match plan.tiles.iter().position(|t| *t == tile) {
                Some(position) => position,
                None => {
                    plan.tiles.push(tile);
                    plan.tiles.len() - 1
                }
            };
            plan.edge.push((index, position));
        }
        plan.edge_tiles = plan.tiles.len();
        for &index in indexes {
            plan.add_path_to(index)?;
        }
        Ok(plan)
    }

    /// The tiles needed to check record `record` (a lookup's id) against `tree`.
    pub fn for_record(tree: TreeHead, height: u8, record: u64) -> Result<TilePlan, TileError> {
        check_record_in_tree(record, tree.size())?;
        TilePlan::new(tree, height, &[stored_hash_index(0, record)])
    }

    /// The tiles needed to compute, from `tree`, the hash of its first `size` records: to check
    /// that `tree` extends an older head of that size
    /// ([`check_consistency`](crate::sumdb::check_consistency)).
    pub fn for_tree_size(tree: TreeHead, height: u8, size: u64) -> Result<TilePlan, TileError> {
        check_prefix(size, tree.size(), false)?;
        let mut indexes = Vec::new();
        subtree_indexes(0, size, &mut indexes);
        TilePlan::new(tree, height, &indexes)
    }

    /// The tiles needed to check the bytes of `tile` (a hash or data tile, of the tile's height)
    /// against `tree` with [`CheckedTiles::check_tile`]. The plan holds the tile itself at the
    /// tree's width, which may be wider than `tile`.
    pub fn for_tile(tree: TreeHead, tile: &Tile) -> Result<TilePlan, TileError> {
        if !tile.is_in_tree(tree.size()) {
            return Err(TileError::TileNotInTree {
                tile: *tile,
                tree_size: tree.size(),
            });
        }
        TilePlan::new(tree, tile.height(), &tile.stored_indexes())
    }

    /// The tree the tiles are to be checked against.
    pub fn tree(&self) -> TreeHead {
        self.tree
    }

    /// The tiles to fetch, in the order [`check`](Self::check) wants their bytes.
    pub fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    /// Checks the fetched bytes of [`tiles`](Self::tiles), given in the same order:
    /// 1. one entry per tile, each exactly 32 bytes per hash;
    /// 2. the right edge's subtree hashes, read from the first tiles, combine into the tree
    ///    hash;
    /// 3. every other tile (each full) hashes to the entry its parent tile, checked before it,
    ///    holds for it. Go's `TileHashReader` starts this step at the wrong tile when several
    ///    edge hashes share a tile, and so lets some tiles through unchecked; here each is
    ///    checked.
    pub fn check(self, data: Vec<Vec<u8>>) -> Result<CheckedTiles, TileError> {
        if data.len() != self.tiles.len() {
            return Err(TileError::WrongTileCount {
                expected: self.tiles.len(),
                got: data.len(),
            });
        }
        for (tile, bytes) in self.tiles.iter().zip(&data) {
            if bytes.len() != tile.width() as usize * Hash::SIZE {
                return Err(TileError::WrongLength {
                    tile: *tile,
                    len: bytes.len(),
                });
            }
        }
        let edge = self
            .edge
            .iter()
            .map(|&(index, at)| hash_from_tile(&self.tiles[at], &data[at], index))
            .collect::<Result<Vec<_>, _>>()?;
        if fold_subtrees(&edge) != self.tree.hash() {
            return Err(TileError::Inconsistent { tile: None });
        }
        for at in self.edge_tiles..self.tiles.len() {
            self.check_against_parent(at, &data)?;
        }
        Ok(CheckedTiles {
            tree: self.tree,
            height: self.height,
            tiles: self.tiles.into_iter().zip(data).collect(),
        })
    }

    /// Checks the tile at `at` against the entry for it in its parent tile, listed earlier.
    fn check_against_parent(&self, at: usize, data: &[Vec<u8>]) -> Result<(), TileError> {
        let tile = self.tiles[at];
        let inconsistent = TileError::Inconsistent { tile: Some(tile) };
        let parent = tile
            .ancestor(1, self.tree.size())
            .ok_or(inconsistent.clone())?;
        let parent_at = self.tiles[..at]
            .iter()
            .position(|t| *t == parent)
            .ok_or(inconsistent.clone())?;
        let entry = stored_hash_index(parent.tree_level(), tile.index());
        let expected = hash_from_tile(&parent, &data[parent_at], entry)?;
        if tile.is_full() && tile_hash(&data[at]) == expected {
            Ok(())
        } else {
            Err(inconsistent)
        }
    }

    /// The tile of the plan's height holding stored hash `index`, at the tree's width.
    fn tree_tile(&self, index: u64) -> Result<Tile, TileError> {
        let not_in_tree = TileError::NotInTree {
            index,
            tree_size: self.tree.size(),
        };
        Tile::for_index(self.height, index)?
            .ancestor(0, self.tree.size())
            .ok_or(not_in_tree)
    }

    /// Adds the tiles from the one holding `index` up to the first already in the plan,
    /// parents first.
    fn add_path_to(&mut self, index: u64) -> Result<(), TileError> {
        let size = self.tree.size();
        let not_in_tree = TileError::NotInTree {
            index,
            tree_size: size,
        };
        if size == 0 || index >= stored_hash_index(0, size) {
            return Err(not_in_tree);
        }
        let least = self.tree_tile(index)?;
        let mut missing = Vec::new();
        // The walk ends at a right-edge tile at the latest: a tile without a parent in the
        // tree is a partial tile, and every partial tile of a tree holds part of its edge.
        for k in 0..=64 {
            let tile = least.ancestor(k, size).ok_or(not_in_tree.clone())?;
            if self.tiles.contains(&tile) {
                self.tiles.extend(missing.into_iter().rev());
                return Ok(());
            }
            missing.push(tile);
        }
        Err(not_in_tree)
    }
}

impl CheckedTiles {
    /// The tree the tiles were checked against.
    pub fn tree(&self) -> TreeHead {
        self.tree
    }

    /// The tiles and their bytes, to cache: every one of them is part of the tree.
    pub fn tiles(&self) -> impl Iterator<Item = (&Tile, &[u8])> {
        self.tiles
            .iter()
            .map(|(tile, data)| (tile, data.as_slice()))
    }

    /// The hash stored at `index`, if the checked tiles hold it.
    pub fn hash(&self, index: u64) -> Result<Hash, TileError> {
        let least = Tile::for_index(self.height, index)?;
        self.tiles
            .iter()
            .find(|(tile, _)| covers(tile, &least))
            .ok_or(TileError::NotCovered { index })
            .and_then(|(tile, data)| hash_from_tile(tile, data, index))
    }

    /// Checks that record `record` of the tree has the text `text`: its leaf hash must be the
    /// tree's (Go's client's `checkRecord`). The tiles must come from
    /// [`TilePlan::for_record`].
    pub fn check_record(&self, record: u64, text: &RecordText) -> Result<(), TileError> {
        check_record_in_tree(record, self.tree.size())?;
        if self.hash(stored_hash_index(0, record))? == text.hash() {
            Ok(())
        } else {
            Err(TileError::RecordMismatch { record })
        }
    }

    /// Checks downloaded bytes of `tile` against the tree: for a hash tile they must be the
    /// first bytes of the checked tile at its coordinates, for a data tile its records must hash
    /// to the tree's leaves. The tiles must come from [`TilePlan::for_tile`].
    pub fn check_tile(&self, tile: &Tile, data: &[u8]) -> Result<(), TileError> {
        let mismatch = TileError::Mismatch { tile: *tile };
        if tile.level() == TileLevel::Data {
            let records = parse_data_tile(tile, data)?;
            let leaves = tile.stored_indexes();
            for (record, index) in records.iter().zip(leaves) {
                if self.hash(index)? != record.hash() {
                    return Err(mismatch);
                }
            }
            return Ok(());
        }
        if data.len() != tile.width() as usize * Hash::SIZE {
            return Err(TileError::WrongLength {
                tile: *tile,
                len: data.len(),
            });
        }
        let (_, checked) = self
            .tiles
            .iter()
            .find(|(checked, _)| covers(checked, tile))
            .ok_or(TileError::TileNotInTree {
                tile: *tile,
                tree_size: self.tree.size(),
            })?;
        if checked.starts_with(data) {
            Ok(())
        } else {
            Err(mismatch)
        }
    }
}

/// Whether `checked` holds everything `wanted` does: same coordinates, at least as wide.
fn covers(checked: &Tile, wanted: &Tile) -> bool {
    checked.height() == wanted.height()
        && checked.level() == wanted.level()
        && checked.index() == wanted.index()
        && checked.width() >= wanted.width()
}

impl HashReader for CheckedTiles {
    type Error = TileError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TileError> {
        indexes.iter().map(|&index| self.hash(index)).collect()
    }
}
