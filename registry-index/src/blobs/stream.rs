//! Copying a byte stream while hashing it, through one fixed-size buffer.

use std::io::{self, Read, Write};

use delos_pool_protocol::hash::Sha256;
use sha2::Digest;

/// Bytes read per step: big enough for throughput, small enough that memory stays flat.
const BUF_BYTES: usize = 64 * 1024;

/// Why a [`hash_copy`] stopped.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// The source failed.
    Read(io::Error),
    /// The destination failed.
    Write(io::Error),
    /// The source yielded more than the limit.
    TooLarge { max_bytes: u64 },
}

/// Copies `reader` into `writer`, returning the sha256 and length of what was copied.
///
/// With a `limit`, stops with [`StreamError::TooLarge`] as soon as one byte more than the limit
/// has been read, without writing that chunk.
pub(crate) fn hash_copy(
    reader: &mut impl Read,
    writer: &mut impl Write,
    limit: Option<u64>,
) -> Result<(Sha256, u64), StreamError> {
    let mut hasher = sha2::Sha256::new();
    let size = copy_seeing(reader, writer, limit, |chunk| hasher.update(chunk))?;
    Ok((Sha256::from_bytes(hasher.finalize().into()), size))
}

/// [`hash_copy`] for a writer that hashes what it is given itself: returns the length only.
pub(crate) fn copy_limited(
    reader: &mut impl Read,
    writer: &mut impl Write,
    limit: Option<u64>,
) -> Result<u64, StreamError> {
    copy_seeing(reader, writer, limit, |_| {})
}

/// The copy loop: every chunk is shown to `see`, then written.
pub(super) fn copy_seeing(
    reader: &mut impl Read,
    writer: &mut impl Write,
    limit: Option<u64>,
    mut see: impl FnMut(&[u8]),
) -> Result<u64, StreamError> {
    let mut buf = vec![0u8; BUF_BYTES];
    let mut size: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(StreamError::Read(err)),
        };
        size += n as u64;
        if let Some(max_bytes) = limit.filter(|max| size > *max) {
            return Err(StreamError::TooLarge { max_bytes });
        }
        let chunk = buf.get(..n).unwrap_or_default();
        see(chunk);
        writer.write_all(chunk).map_err(StreamError::Write)?;
    }
    Ok(size)
}
