//! Tiles: the fixed-size pieces a checksum database serves its tree in, named by paths such as
//! `tile/8/0/x001/234.p/5`.
//!
//! A tile of height H at level L, number N and width W holds W consecutive hashes of tree level
//! L·H, from node N·2^H on: a full tile (W = 2^H) is the bottom row of a complete subtree of
//! height H, a partial tile (`.p/W`) the first W hashes of what will be the full tile. The
//! levels between L·H and (L+1)·H are not stored anywhere: they are recomputed from the tile.
//! A data tile (level `data`) holds the texts of records N·2^H onwards instead of their hashes.
//! Go's clients use height 8 ([`GO_TILE_HEIGHT`]).
//!
//! [`TilePlan`] and [`CheckedTiles`] authenticate tiles against a signed tree, the way Go's
//! `tlog.TileHashReader` does, without doing I/O: the plan lists the tiles to fetch, the caller
//! fetches them however it likes, and only tiles that combine up to the tree hash come back as
//! `CheckedTiles`.

mod check;
mod data;
mod error;
mod path;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;

pub use check::{CheckedTiles, TilePlan};
pub use data::{format_data_tile, parse_data_tile};
pub use error::TileError;

use super::tlog::{
    Hash, HashReader, MAX_TREE_SIZE, TlogError, read_exact, split_stored_hash_index,
    stored_hash_index,
};

/// The tile height the `go` command asks for (`tile/8/...`), and so the one to serve.
pub const GO_TILE_HEIGHT: u8 = 8;

/// The largest tile height Go accepts in a tile path.
pub const MAX_TILE_HEIGHT: u8 = 30;

/// What a tile holds: the hashes of one tile level, or record texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TileLevel {
    /// Hashes of tree level `level × height` (tile level 0 holds record hashes).
    Hashes(u8),
    /// Record texts, the data behind the level-0 hashes (path element `data`).
    Data,
}

/// The coordinates of a tile: height, level, number and width.
///
/// Every `Tile` is a tile of some tree of at most [`MAX_TREE_SIZE`] records, with a height from 1
/// to [`MAX_TILE_HEIGHT`] and a width from 1 to 2^height; `Display` gives its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tile {
    height: u8,
    level: TileLevel,
    index: u64,
    width: u32,
}

impl Tile {
    /// The tile of `height` at `level`, number `index`, holding `width` entries.
    pub fn new(height: u8, level: TileLevel, index: u64, width: u32) -> Result<Tile, TileError> {
        let invalid = TileError::InvalidTile {
            height,
            level,
            index,
            width,
        };
        if !(1..=MAX_TILE_HEIGHT).contains(&height) || width == 0 || width > 1 << height {
            return Err(invalid);
        }
        // The tile's last entry must be a node of a tree of at most MAX_TREE_SIZE records, which
        // keeps all arithmetic on its coordinates inside a u64.
        let tree_level = match level {
            TileLevel::Hashes(level) => u32::from(level) * u32::from(height),
            TileLevel::Data => 0,
        };
        let end = ((u128::from(index) << height) + u128::from(width)).checked_shl(tree_level);
        match end {
            Some(end) if tree_level < 64 && end <= u128::from(MAX_TREE_SIZE) => Ok(Tile {
                height,
                level,
                index,
                width,
            }),
            _ => Err(invalid),
        }
    }

    /// The least wide tile of `height` that holds the hash stored at `index`: the tile whose
    /// level holds it, or, for the levels a tile does not store, the tile it is computed from.
    pub fn for_index(height: u8, index: u64) -> Result<Tile, TileError> {
        locate(height, index).map(|(tile, _)| tile)
    }

    /// The height: a full tile has 2^height entries.
    pub fn height(&self) -> u8 {
        self.height
    }

    /// The level: which tree level's hashes the tile holds, or record data.
    pub fn level(&self) -> TileLevel {
        self.level
    }

    /// The tile's number within its level (N in the path).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many hashes (or records) the tile holds.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Whether the tile is full (no `.p/W` in its path); a full tile never changes.
    pub fn is_full(&self) -> bool {
        self.width == 1 << self.height
    }

    /// The tile's path, such as `tile/8/0/x001/234.p/5` (Go's `Tile.Path`).
    pub fn path(&self) -> String {
        self.to_string()
    }

    /// Parses a tile path. Only the canonical form [`path`](Self::path) gives is accepted, as
    /// Go's `ParseTilePath` does.
    pub fn parse_path(path: &str) -> Result<Tile, TileError> {
        path::parse(path)
    }

    /// Whether every entry of this tile exists in a tree of `size` records, so that a database
    /// of that size can serve it (otherwise: 404).
    pub fn is_in_tree(&self, size: u64) -> bool {
        (self.first_node() + u64::from(self.width)) << self.tree_level() <= size
    }

    /// The data tile holding the records whose hashes this level-0 tile holds.
    pub fn data_tile(&self) -> Option<Tile> {
        (self.level == TileLevel::Hashes(0)).then_some(Tile {
            level: TileLevel::Data,
            ..*self
        })
    }

    /// The tree level of the hashes the tile holds (0 for a data tile's record hashes).
    fn tree_level(&self) -> u8 {
        match self.level {
            TileLevel::Hashes(level) => level * self.height,
            TileLevel::Data => 0,
        }
    }

    /// The node number (at the tile's tree level) of the tile's first entry.
    fn first_node(&self) -> u64 {
        self.index << self.height
    }

    /// The stored hash indexes of the tile's entries (for a data tile, of its records' hashes).
    pub(crate) fn stored_indexes(&self) -> Vec<u64> {
        let level = self.tree_level();
        let first = self.first_node();
        (0..u64::from(self.width))
            .map(|i| stored_hash_index(level, first + i))
            .collect()
    }

    /// This hash tile's `k`-th ancestor tile, as wide as a tree of `size` records makes it, or
    /// `None` if that tree does not have it. (`k` = 0 gives this tile at that tree's width.)
    pub(crate) fn ancestor(&self, k: u8, size: u64) -> Option<Tile> {
        let TileLevel::Hashes(level) = self.level else {
            return None;
        };
        let level = level.checked_add(k)?;
        let tree_level = u32::from(level) * u32::from(self.height);
        let index = self
            .index
            .checked_shr(u32::from(k) * u32::from(self.height))?;
        let nodes = size.checked_shr(tree_level).unwrap_or(0);
        let first = index << self.height;
        let available = nodes.checked_sub(first).filter(|&n| n > 0)?;
        let width = available.min(1 << self.height) as u32;
        Tile::new(self.height, TileLevel::Hashes(level), index, width).ok()
    }
}

impl fmt::Display for TileLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TileLevel::Hashes(level) => write!(f, "{level}"),
            TileLevel::Data => f.write_str("data"),
        }
    }
}

/// The tiles of `height` that a database publishes when it grows from `old_size` to
/// `new_size` records: every tile that is new or wider (Go's `tlog.NewTiles`). Data tiles are
/// not listed: each level-0 tile has one ([`Tile::data_tile`]).
pub fn new_tiles(height: u8, old_size: u64, new_size: u64) -> Vec<Tile> {
    let mut tiles = Vec::new();
    if !(1..=MAX_TILE_HEIGHT).contains(&height) || new_size > MAX_TREE_SIZE {
        return tiles;
    }
    let full = 1u64 << height;
    for level in 0u8.. {
        let shift = u32::from(level) * u32::from(height);
        let new_nodes = new_size.checked_shr(shift).unwrap_or(0);
        if new_nodes == 0 {
            break;
        }
        let old_nodes = old_size.checked_shr(shift).unwrap_or(0);
        if old_nodes >= new_nodes {
            continue;
        }
        let tile = |index: u64, width: u64| {
            Tile::new(height, TileLevel::Hashes(level), index, width as u32).ok()
        };
        tiles.extend((old_nodes >> height..new_nodes >> height).filter_map(|n| tile(n, full)));
        let last = new_nodes >> height;
        let width = new_nodes - (last << height);
        if width > 0 {
            tiles.extend(tile(last, width));
        }
    }
    tiles
}

/// The bytes of hash tile `tile`: its hashes, read from a store by their stored indexes (Go's
/// `tlog.ReadTileData`). Data tiles come from the record store instead
/// ([`format_data_tile`]).
pub fn read_tile_data<R: HashReader + ?Sized>(
    tile: &Tile,
    stored: &R,
) -> Result<Vec<u8>, TlogError<R::Error>> {
    if tile.level == TileLevel::Data {
        return Err(TlogError::DataTile { tile: tile.path() });
    }
    let hashes = read_exact(stored, &tile.stored_indexes())?;
    Ok(hashes.iter().flat_map(|hash| *hash.as_bytes()).collect())
}

/// The hash stored at `index`, read out of the bytes `data` of `tile` (Go's
/// `tlog.HashFromTile`). The tile must be [`Tile::for_index`] of the index, or a wider tile at the
/// same coordinates.
pub fn hash_from_tile(tile: &Tile, data: &[u8], index: u64) -> Result<Hash, TileError> {
    if tile.level == TileLevel::Data {
        return Err(TileError::DataTile { tile: *tile });
    }
    if data.len() < tile.width as usize * Hash::SIZE {
        return Err(TileError::WrongLength {
            tile: *tile,
            len: data.len(),
        });
    }
    let (least, bytes) = locate(tile.height, index)?;
    if least.level != tile.level || least.index != tile.index || least.width > tile.width {
        return Err(TileError::IndexNotInTile { index, tile: *tile });
    }
    Ok(tile_hash(&data[bytes]))
}

/// Finds the least wide tile of `height` holding stored hash `index`, and the bytes of it whose
/// hashes combine into that hash.
fn locate(height: u8, index: u64) -> Result<(Tile, Range<usize>), TileError> {
    let invalid = TileError::NotInTile { index, height };
    if !(1..=MAX_TILE_HEIGHT).contains(&height) {
        return Err(invalid);
    }
    let (level, n) = split_stored_hash_index(index);
    let tile_level = level / height;
    // A hash `within` levels above the tile's level covers 2^within of the tile's entries.
    let within = level % height;
    let first = u128::from(n) << within;
    let tile_index = u64::try_from(first >> height).map_err(|_| invalid.clone())?;
    let offset = (first - (u128::from(tile_index) << height)) as usize;
    let count = 1usize << within;
    let width = (offset + count) as u32;
    let tile =
        Tile::new(height, TileLevel::Hashes(tile_level), tile_index, width).map_err(|_| invalid)?;
    Ok((tile, offset * Hash::SIZE..(offset + count) * Hash::SIZE))
}

/// The hash of the subtree whose bottom row is the 2^k hashes in `data`.
pub(crate) fn tile_hash(data: &[u8]) -> Hash {
    if data.len() <= Hash::SIZE {
        return Hash::from_slice(data).unwrap_or(Hash::EMPTY_TREE);
    }
    let (left, right) = data.split_at(data.len() / 2);
    Hash::of_node(&tile_hash(left), &tile_hash(right))
}
