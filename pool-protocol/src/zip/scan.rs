//! [`ScannedEntries`]: a speculative pass over a zip while it is still arriving.
//!
//! A zip's central directory comes last, so its checks must wait for the whole file; but its
//! entries' data can be inflated and hashed as the bytes come in, front to back, from the
//! local headers alone. The scan records, for each entry it could follow, what it found at
//! that local header offset: the method, the compressed bytes the data took, the uncompressed
//! size, CRC-32 and SHA-256. Nothing here is trusted: [`verify_module_zip_contents`]
//! (super::verify_module_zip_contents) still applies every rule from the central directory,
//! and reuses a scanned digest only when the directory agrees on the offset, method,
//! compressed size, size and CRC-32, which makes it the digest of the very same bytes.
//! Anything else is inflated again.
//!
//! The scan never fails; it stops at the first thing it cannot follow (the central
//! directory, a stored entry whose size is only in a data descriptor, a zip64 size, a bad
//! header, a read error) or after inflating [`MAX_ZIP_BYTES`] in all.

use std::collections::HashMap;
use std::io::Read;

use flate2::{Decompress, FlushDecompress, Status};
use sha2::Digest as _;

use super::MAX_ZIP_BYTES;
use crate::hash::Sha256;

/// Local file header signature.
const LOCAL_HEADER: u32 = 0x0403_4b50;
/// Optional data descriptor signature.
const DESCRIPTOR: u32 = 0x0807_4b50;
/// Flag bit 3: sizes and CRC-32 follow the data, in a data descriptor.
const HAS_DESCRIPTOR: u16 = 0x0008;
/// The store method.
pub(super) const STORED: u16 = 0;
/// The deflate method.
pub(super) const DEFLATED: u16 = 8;
/// Read size of the scan's input buffer.
const INPUT_BYTES: usize = 128 << 10;

/// What the scan found of one entry's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ScannedData {
    /// The compression method of the local header.
    pub(super) method: u16,
    /// The bytes its data took in the file.
    pub(super) compressed_size: u64,
    /// The uncompressed size.
    pub(super) size: u64,
    /// The CRC-32 of the uncompressed bytes.
    pub(super) crc32: u32,
    /// The SHA-256 of the uncompressed bytes.
    pub(super) sha256: Sha256,
}

/// Digests of the entries a scan followed, by local header offset; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct ScannedEntries {
    by_offset: HashMap<u64, ScannedData>,
}

impl ScannedEntries {
    /// Scans `zip` from its first byte, reading it once, front to back (no seeking).
    pub fn scan(zip: impl Read) -> ScannedEntries {
        let mut input = Input::new(zip);
        let mut scanned = ScannedEntries::default();
        let mut budget = MAX_ZIP_BYTES;
        while let Some((offset, data)) = next_entry(&mut input, budget) {
            budget = budget.saturating_sub(data.size);
            scanned.by_offset.insert(offset, data);
        }
        input.drain();
        scanned
    }

    /// How many entries the scan followed.
    pub fn len(&self) -> usize {
        self.by_offset.len()
    }

    /// Whether the scan followed no entry.
    pub fn is_empty(&self) -> bool {
        self.by_offset.is_empty()
    }

    /// What the scan found at local header `offset`.
    pub(super) fn at(&self, offset: u64) -> Option<&ScannedData> {
        self.by_offset.get(&offset)
    }
}

/// Reads one local entry (header, data, descriptor); `None` where the scan must stop.
fn next_entry(input: &mut Input<impl Read>, budget: u64) -> Option<(u64, ScannedData)> {
    let offset = input.position;
    let header: [u8; 30] = input.array()?;
    if u32_at(&header, 0) != LOCAL_HEADER {
        return None;
    }
    let (flags, method) = (u16_at(&header, 6), u16_at(&header, 8));
    let compressed = u32_at(&header, 18);
    let skip = u64::from(u16_at(&header, 26)) + u64::from(u16_at(&header, 28));
    input.skip(skip)?;
    let data_start = input.position;
    let mut digest = Digest::new(budget);
    match method {
        STORED if flags & HAS_DESCRIPTOR == 0 && compressed != u32::MAX => {
            input.copy(u64::from(compressed), &mut digest)?;
        }
        DEFLATED => input.inflate(&mut digest)?,
        _ => return None,
    }
    let compressed_size = input.position - data_start;
    if flags & HAS_DESCRIPTOR != 0 {
        input.skip_descriptor()?;
    }
    Some((offset, digest.finish(method, compressed_size)))
}

/// Running digests of one entry's uncompressed bytes, within the scan's budget.
struct Digest {
    sha256: sha2::Sha256,
    crc32: crc32fast::Hasher,
    size: u64,
    budget: u64,
}

impl Digest {
    fn new(budget: u64) -> Digest {
        Digest {
            sha256: sha2::Sha256::new(),
            crc32: crc32fast::Hasher::new(),
            size: 0,
            budget,
        }
    }

    /// Adds bytes; `None` once the budget is spent.
    fn update(&mut self, bytes: &[u8]) -> Option<()> {
        self.size += bytes.len() as u64;
        if self.size > self.budget {
            return None;
        }
        self.sha256.update(bytes);
        self.crc32.update(bytes);
        Some(())
    }

    fn finish(self, method: u16, compressed_size: u64) -> ScannedData {
        ScannedData {
            method,
            compressed_size,
            size: self.size,
            crc32: self.crc32.finalize(),
            sha256: Sha256::from_bytes(self.sha256.finalize().into()),
        }
    }
}

/// The zip being scanned, through one buffer, with the position of its next unread byte.
struct Input<R> {
    reader: R,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    position: u64,
}

impl<R: Read> Input<R> {
    fn new(reader: R) -> Input<R> {
        Input {
            reader,
            buffer: vec![0; INPUT_BYTES],
            start: 0,
            end: 0,
            position: 0,
        }
    }

    /// The unread buffered bytes, refilled when empty; `None` at the end or on an error.
    fn available(&mut self) -> Option<&[u8]> {
        if self.start == self.end {
            let n = loop {
                match self.reader.read(&mut self.buffer) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Ok(0) | Err(_) => return None,
                    Ok(n) => break n,
                }
            };
            (self.start, self.end) = (0, n);
        }
        self.buffer.get(self.start..self.end)
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.position += n as u64;
    }

    /// The next `N` bytes.
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut out = [0u8; N];
        let mut filled = 0;
        while filled < N {
            let chunk = self.available()?;
            let n = chunk.len().min(N - filled);
            out[filled..filled + n].copy_from_slice(&chunk[..n]);
            self.consume(n);
            filled += n;
        }
        Some(out)
    }

    /// Passes `n` bytes to `sink` (`None` from it stops the scan).
    fn each(&mut self, mut n: u64, mut sink: impl FnMut(&[u8]) -> Option<()>) -> Option<()> {
        while n > 0 {
            let chunk = self.available()?;
            let take = usize::try_from(n).map_or(chunk.len(), |n| n.min(chunk.len()));
            sink(&chunk[..take])?;
            self.consume(take);
            n -= take as u64;
        }
        Some(())
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        self.each(n, |_| Some(()))
    }

    fn copy(&mut self, n: u64, digest: &mut Digest) -> Option<()> {
        self.each(n, |bytes| digest.update(bytes))
    }

    /// Inflates raw deflate data up to its final block, consuming exactly its bytes.
    fn inflate(&mut self, digest: &mut Digest) -> Option<()> {
        let mut inflater = Decompress::new(false);
        let mut output = vec![0u8; INPUT_BYTES];
        loop {
            let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
            let chunk = self.available()?;
            let status = inflater
                .decompress(chunk, &mut output, FlushDecompress::None)
                .ok()?;
            let used = usize::try_from(inflater.total_in() - in_before).ok()?;
            let made = usize::try_from(inflater.total_out() - out_before).ok()?;
            self.consume(used);
            digest.update(output.get(..made)?)?;
            if status == Status::StreamEnd {
                return Some(());
            }
            if used == 0 && made == 0 {
                return None;
            }
        }
    }

    /// A data descriptor with 32-bit sizes, its signature optional. (A zip64 descriptor is
    /// misread; the next header then fails to parse and the scan stops there.)
    fn skip_descriptor(&mut self) -> Option<()> {
        let first: [u8; 4] = self.array()?;
        let rest = match u32_at(&first, 0) == DESCRIPTOR {
            true => 12,
            false => 8,
        };
        self.skip(rest)
    }

    /// Reads what is left, so a writer feeding the scan through a pipe is never stuck.
    fn drain(&mut self) {
        while self.available().is_some() {
            self.consume(self.end - self.start);
        }
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    let mut le = [0u8; 2];
    le.copy_from_slice(bytes.get(at..at + 2).unwrap_or(&[0, 0]));
    u16::from_le_bytes(le)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut le = [0u8; 4];
    le.copy_from_slice(bytes.get(at..at + 4).unwrap_or(&[0, 0, 0, 0]));
    u32::from_le_bytes(le)
}
