//! Tile paths: `tile/<H>/<L or data>/<N in 3-digit groups>[.p/<W>]`.

use std::fmt;

use super::{Tile, TileError, TileLevel};
use crate::sumdb::text::excerpt;

/// N is written in base 1000, so no directory of tiles holds more than 3000 entries (`xNNN`,
/// `NNN` and `NNN.p`).
const GROUP: u64 = 1000;

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tile/{}/{}/", self.height, self.level)?;
        let mut groups = vec![self.index % GROUP];
        let mut rest = self.index / GROUP;
        while rest > 0 {
            groups.push(rest % GROUP);
            rest /= GROUP;
        }
        // Every group but the last is a directory, marked with an `x`.
        for group in groups.iter().skip(1).rev() {
            write!(f, "x{group:03}/")?;
        }
        write!(f, "{:03}", groups[0])?;
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// Parses a tile path, accepting only the form [`Tile`]'s `Display` writes.
pub(super) fn parse(path: &str) -> Result<Tile, TileError> {
    let invalid = || TileError::InvalidPath {
        path: excerpt(path.as_bytes()),
    };
    let mut elements: Vec<&str> = path.split('/').collect();
    if elements.len() < 4 || elements[0] != "tile" {
        return Err(invalid());
    }
    let height: u8 = elements[1].parse().map_err(|_| invalid())?;
    let level = match elements[2] {
        "data" => TileLevel::Data,
        level => TileLevel::Hashes(level.parse().map_err(|_| invalid())?),
    };
    let mut width = 1u32.checked_shl(u32::from(height)).ok_or_else(invalid)?;
    let last_group = elements.len() - 2;
    if let Some(group) = elements[last_group].strip_suffix(".p") {
        width = elements[last_group + 1].parse().map_err(|_| invalid())?;
        elements[last_group] = group;
        elements.pop();
    }
    let mut index = 0u64;
    for group in &elements[3..] {
        let digits = group.strip_prefix('x').unwrap_or(group);
        let value: u64 = digits.parse().map_err(|_| invalid())?;
        index = index
            .checked_mul(GROUP)
            .and_then(|index| index.checked_add(value))
            .filter(|_| value < GROUP)
            .ok_or_else(invalid)?;
    }
    let tile = Tile::new(height, level, index, width).map_err(|_| invalid())?;
    // Anything Display would have written differently (leading zeros or signs, a missing or
    // extra `x`, `.p/` on a full tile) is not the canonical path.
    if tile.to_string() != path {
        return Err(invalid());
    }
    Ok(tile)
}
