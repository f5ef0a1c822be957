//! `TileError`: why a tile path, a tile's bytes or a set of tiles was refused.

use super::{Tile, TileLevel};
use crate::sumdb::tlog::SizeError;

/// Why a tile path, a tile's bytes or a set of tiles was refused. Each variant names the tile
/// or index at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// Not the canonical path of a tile (Go's server answers 400).
    #[error("malformed tile path {path:?}")]
    InvalidPath {
        /// The rejected path.
        path: String,
    },
    /// Coordinates that are no tile of any tree: a height outside 1..=30, a width outside
    /// 1..=2^height, or entries beyond the largest tree.
    #[error("no tile has height {height}, level {level}, number {index} and width {width}")]
    InvalidTile {
        /// The height asked for.
        height: u8,
        /// The level asked for.
        level: TileLevel,
        /// The number asked for.
        index: u64,
        /// The width asked for.
        width: u32,
    },
    /// A stored hash index that no tile of this height holds.
    #[error("stored hash index {index} is in no tile of height {height}")]
    NotInTile {
        /// The stored hash index.
        index: u64,
        /// The tile height.
        height: u8,
    },
    /// A stored hash index asked of a tile that does not hold it.
    #[error("stored hash index {index} is not in {tile}")]
    IndexNotInTile {
        /// The stored hash index.
        index: u64,
        /// The tile it was asked of.
        tile: Tile,
    },
    /// A data tile where a hash tile is needed.
    #[error("{tile} holds record texts, not hashes")]
    DataTile {
        /// The data tile.
        tile: Tile,
    },
    /// A hash tile where a data tile is needed.
    #[error("{tile} holds hashes, not record texts")]
    HashTile {
        /// The hash tile.
        tile: Tile,
    },
    /// Tile bytes of the wrong length (a hash tile has 32 bytes per entry).
    #[error("{tile} cannot be {len} bytes long")]
    WrongLength {
        /// The tile.
        tile: Tile,
        /// How many bytes it had.
        len: usize,
    },
    /// A stored hash index beyond the tree the tiles are checked against.
    #[error("stored hash index {index} is not in a tree of {tree_size} records")]
    NotInTree {
        /// The stored hash index.
        index: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// A record beyond the tree, or an older tree larger than it.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// A tile with entries beyond the tree it is checked against.
    #[error("{tile} is not in a tree of {tree_size} records")]
    TileNotInTree {
        /// The tile.
        tile: Tile,
        /// The tree size.
        tree_size: u64,
    },
    /// Tile bytes for another number of tiles than the plan lists.
    #[error("{got} tiles given for a plan of {expected}")]
    WrongTileCount {
        /// How many tiles the plan lists.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// The tiles do not combine into the signed tree hash (`tile` is `None` when the tiles
    /// along the tree's right edge disagree with it; which of them is wrong cannot be told).
    #[error("downloaded inconsistent tile{}", tile.map(|t| format!(" {t}")).unwrap_or_default())]
    Inconsistent {
        /// The tile whose hash disagrees with its authenticated parent, if known.
        tile: Option<Tile>,
    },
    /// A hash asked of checked tiles that do not hold it (it was not in their plan).
    #[error("stored hash index {index} is not in the checked tiles")]
    NotCovered {
        /// The stored hash index.
        index: u64,
    },
    /// Tile bytes that differ from the authenticated tile at the same coordinates.
    #[error("{tile} does not match the tree it claims to be part of")]
    Mismatch {
        /// The tile.
        tile: Tile,
    },
    /// A record text whose hash is not the tree's leaf hash for its index.
    #[error("cannot authenticate record data for record {record}")]
    RecordMismatch {
        /// The record index.
        record: u64,
    },
    /// A data tile that is not its width's record texts, each followed by a blank line.
    #[error("{tile}: record {record} is missing or malformed")]
    BadDataTile {
        /// The data tile.
        tile: Tile,
        /// The position of the first bad record in the tile.
        record: usize,
    },
}
