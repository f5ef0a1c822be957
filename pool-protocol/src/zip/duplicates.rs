//! Counting repeated names in the raw central directory.
//!
//! The `zip` crate keys entries by name, so a name that appears twice is kept once. Go's
//! `HashZip` lists every entry, and `CheckZip` allows a repeated directory but not a repeated
//! file, so when the crate reports duplicates we re-read the central directory headers
//! ourselves, only to count names.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};

/// Signature of a central directory file header.
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;

/// Fixed length of a central directory file header, before its variable fields.
const CENTRAL_HEADER_BYTES: usize = 46;

/// Names that occur more than once in the central directory, with their number of entries.
pub(super) type RepeatedNames = HashMap<Vec<u8>, usize>;

/// How many times each name occurring more than once appears in the central directory
/// headers that follow one another from `start` (the `zip` crate has already checked them).
pub(super) fn repeated_names(
    reader: &mut (impl Read + Seek),
    start: u64,
) -> io::Result<RepeatedNames> {
    reader.seek(SeekFrom::Start(start))?;
    let mut counts = RepeatedNames::new();
    let mut header = [0u8; CENTRAL_HEADER_BYTES];
    while reader.read_exact(&mut header).is_ok()
        && u32::from_le_bytes([header[0], header[1], header[2], header[3]])
            == CENTRAL_HEADER_SIGNATURE
    {
        let field = |at: usize| u64::from(u16::from_le_bytes([header[at], header[at + 1]]));
        let mut name = vec![0u8; usize::from(u16::from_le_bytes([header[28], header[29]]))];
        reader.read_exact(&mut name)?;
        let skip = field(30) + field(32);
        reader.seek(SeekFrom::Current(i64::try_from(skip).unwrap_or(i64::MAX)))?;
        *counts.entry(name).or_default() += 1;
    }
    counts.retain(|_, count| *count > 1);
    Ok(counts)
}
