//! Reading one entry's data: inflate (or copy) it through fixed buffers while counting bytes
//! and computing its CRC-32 and SHA-256, stopping one byte past the declared size.
//!
//! Nothing here grows with the entry: the buffers are allocated once per zip, and an entry
//! that inflates to more than it declares is cut off at `declared + 1` bytes, so a zip bomb
//! costs at most its declared total (itself capped at 500 MiB) to refute.

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};
use sha2::Digest as _;
use zip::CompressionMethod;

use super::ZipError;
use crate::hash::Sha256;

/// Size of each of the two fixed buffers.
const BUFFER_BYTES: usize = 128 << 10;

/// The input and output buffers reused for every entry of one zip.
#[derive(Debug)]
pub(super) struct Buffers {
    input: Vec<u8>,
    output: Vec<u8>,
}

impl Buffers {
    /// Allocates both buffers.
    pub(super) fn new() -> Buffers {
        Buffers {
            input: vec![0; BUFFER_BYTES],
            output: vec![0; BUFFER_BYTES],
        }
    }

    /// The output buffer alone, for passes that only read.
    pub(super) fn scratch(&mut self) -> &mut [u8] {
        &mut self.output
    }
}

/// What the central directory says about an entry's data.
#[derive(Debug, Clone)]
pub(super) struct Declared<'a> {
    /// The full entry name, for errors.
    pub(super) entry: &'a str,
    /// How the data is stored (only store and deflate get this far).
    pub(super) method: CompressionMethod,
    /// Declared uncompressed size.
    pub(super) size: u64,
    /// Declared CRC-32.
    pub(super) crc32: u32,
    /// Whether to compare the CRC-32: as Go's reader, always with a data descriptor, otherwise
    /// only when the header's CRC-32 is not zero.
    pub(super) check_crc32: bool,
}

/// Running totals over an entry's uncompressed bytes.
struct Running {
    sha256: sha2::Sha256,
    crc32: crc32fast::Hasher,
    count: u64,
}

impl Running {
    fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.crc32.update(bytes);
        self.count += bytes.len() as u64;
    }

    /// How many bytes to ask for next: never past `declared + 1`.
    fn room(&self, declared: u64, buffer: usize) -> usize {
        let left = declared.saturating_add(1).saturating_sub(self.count);
        usize::try_from(left).map_or(buffer, |left| left.min(buffer))
    }
}

/// Reads the entry's data from `src` (its raw, still compressed bytes) and returns the SHA-256
/// of the uncompressed content after checking its size and CRC-32.
pub(super) fn digest_entry(
    src: impl Read,
    declared: &Declared<'_>,
    buffers: &mut Buffers,
) -> Result<Sha256, ZipError> {
    let mut running = Running {
        sha256: sha2::Sha256::new(),
        crc32: crc32fast::Hasher::new(),
        count: 0,
    };
    if declared.method == CompressionMethod::Stored {
        copy_stored(src, declared, buffers, &mut running)?;
    } else {
        inflate(src, declared, buffers, &mut running)?;
    }
    if running.count != declared.size {
        return Err(ZipError::SizeMismatch {
            entry: declared.entry.to_owned(),
            declared: declared.size,
            actual: running.count,
        });
    }
    let crc32 = running.crc32.finalize();
    if declared.check_crc32 && crc32 != declared.crc32 {
        return Err(ZipError::ChecksumMismatch {
            entry: declared.entry.to_owned(),
            declared: declared.crc32,
            actual: crc32,
        });
    }
    Ok(Sha256::from_bytes(running.sha256.finalize().into()))
}

/// A stored entry: its bytes are the content.
fn copy_stored(
    mut src: impl Read,
    declared: &Declared<'_>,
    buffers: &mut Buffers,
    running: &mut Running,
) -> Result<(), ZipError> {
    loop {
        let room = running.room(declared.size, buffers.output.len());
        let n = read_some(&mut src, &mut buffers.output[..room])?;
        if n == 0 {
            return Ok(());
        }
        running.update(&buffers.output[..n]);
        if running.count > declared.size {
            return Ok(());
        }
    }
}

/// A deflated entry: raw deflate (no zlib header), which must reach its final block.
fn inflate(
    mut src: impl Read,
    declared: &Declared<'_>,
    buffers: &mut Buffers,
    running: &mut Running,
) -> Result<(), ZipError> {
    let mut inflater = Decompress::new(false);
    let (mut start, mut end, mut input_done) = (0, 0, false);
    loop {
        if start == end && !input_done {
            (start, end) = (0, read_some(&mut src, &mut buffers.input)?);
            input_done = end == 0;
        }
        let room = running.room(declared.size, buffers.output.len());
        let flush = match input_done {
            true => FlushDecompress::Finish,
            false => FlushDecompress::None,
        };
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let status = inflater
            .decompress(
                &buffers.input[start..end],
                &mut buffers.output[..room],
                flush,
            )
            .map_err(|source| ZipError::Inflate {
                entry: declared.entry.to_owned(),
                source,
            })?;
        start += delta(in_before, inflater.total_in());
        let produced = delta(out_before, inflater.total_out());
        running.update(&buffers.output[..produced]);
        if status == Status::StreamEnd || running.count > declared.size {
            return Ok(());
        }
        if produced == 0 && start == end && input_done {
            return Err(ZipError::TruncatedDeflate {
                entry: declared.entry.to_owned(),
            });
        }
    }
}

/// Bytes the inflater moved during one call (bounded by a buffer length).
fn delta(before: u64, after: u64) -> usize {
    usize::try_from(after - before).unwrap_or(usize::MAX)
}

/// One `read`, retried on interruption.
fn read_some(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match src.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn declared(method: CompressionMethod, data: &[u8]) -> Declared<'static> {
        Declared {
            entry: "m@v1.0.0/f",
            method,
            size: data.len() as u64,
            crc32: crc32fast::hash(data),
            check_crc32: true,
        }
    }

    #[test]
    fn stored_and_deflated_give_the_content_hash() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut buffers = Buffers::new();
        let stored = declared(CompressionMethod::Stored, &data);
        let got = digest_entry(&data[..], &stored, &mut buffers).unwrap();
        assert_eq!(got, Sha256::digest(&data));
        let deflated = declared(CompressionMethod::Deflated, &data);
        let got = digest_entry(&deflate(&data)[..], &deflated, &mut buffers).unwrap();
        assert_eq!(got, Sha256::digest(&data));
    }

    #[test]
    fn longer_than_declared_stops_one_byte_past() {
        let data = vec![7u8; 1 << 20];
        let mut claim = declared(CompressionMethod::Deflated, &data);
        claim.size = 10;
        let err = digest_entry(&deflate(&data)[..], &claim, &mut Buffers::new()).unwrap_err();
        assert!(matches!(
            err,
            ZipError::SizeMismatch {
                declared: 10,
                actual: 11,
                ..
            }
        ));
    }

    #[test]
    fn shorter_than_declared_and_bad_crc() {
        let data = b"hello";
        let mut claim = declared(CompressionMethod::Stored, data);
        claim.size = 6;
        let err = digest_entry(&data[..], &claim, &mut Buffers::new()).unwrap_err();
        assert!(matches!(
            err,
            ZipError::SizeMismatch {
                declared: 6,
                actual: 5,
                ..
            }
        ));
        let mut claim = declared(CompressionMethod::Stored, data);
        claim.crc32 ^= 1;
        let err = digest_entry(&data[..], &claim, &mut Buffers::new()).unwrap_err();
        assert!(matches!(err, ZipError::ChecksumMismatch { .. }));
    }

    #[test]
    fn truncated_and_corrupt_deflate() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 13) as u8).collect();
        let compressed = deflate(&data);
        let claim = declared(CompressionMethod::Deflated, &data);
        let cut = &compressed[..compressed.len() / 2];
        let err = digest_entry(cut, &claim, &mut Buffers::new()).unwrap_err();
        assert!(matches!(err, ZipError::TruncatedDeflate { .. }), "{err:?}");
        let err = digest_entry(&[0xffu8; 64][..], &claim, &mut Buffers::new()).unwrap_err();
        assert!(matches!(err, ZipError::Inflate { .. }), "{err:?}");
    }
}
