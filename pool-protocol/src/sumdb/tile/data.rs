//! Data tiles: the record texts behind a level-0 tile, each followed by a blank line.

use super::{Tile, TileError, TileLevel};
use crate::sumdb::record::RecordText;

/// The bytes of a data tile holding `records`: each record's text followed by a newline (Go's
/// `FormatRecord` without the id line), concatenated.
pub fn format_data_tile(records: &[RecordText]) -> Vec<u8> {
    let mut data = Vec::new();
    for record in records {
        data.extend_from_slice(record.as_str().as_bytes());
        data.push(b'\n');
    }
    data
}

/// Splits the bytes of data tile `tile` into its records: exactly as many as the tile's width,
/// each a valid record text followed by a blank line, and nothing after the last.
pub fn parse_data_tile(tile: &Tile, data: &[u8]) -> Result<Vec<RecordText>, TileError> {
    if tile.level() != TileLevel::Data {
        return Err(TileError::HashTile { tile: *tile });
    }
    let width = tile.width() as usize;
    let mut records = Vec::with_capacity(width);
    let mut rest = data;
    while records.len() < width {
        let bad = TileError::BadDataTile {
            tile: *tile,
            record: records.len(),
        };
        let end = rest
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .ok_or(bad.clone())?;
        records.push(RecordText::parse(&rest[..=end]).map_err(|_| bad)?);
        rest = &rest[end + 2..];
    }
    if !rest.is_empty() {
        return Err(TileError::BadDataTile {
            tile: *tile,
            record: width,
        });
    }
    Ok(records)
}
