//! An open stored blob: a file handle plus the size and name it was opened under.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use delos_pool_protocol::hash::Sha256;

/// A stored blob opened for reading. Reads stream from disk; nothing is buffered in memory.
///
/// Blob files are never written after they get their name, so the bytes read through this handle
/// are the bytes that were stored (and, from
/// [`BlobStore::open_verified`](super::BlobStore::open_verified), the bytes that were just
/// re-hashed).
#[derive(Debug)]
pub struct BlobReader {
    file: File,
    sha256: Sha256,
    size: u64,
}

impl BlobReader {
    pub(crate) fn new(file: File, sha256: Sha256, size: u64) -> Self {
        Self { file, sha256, size }
    }

    /// The blob's content address.
    pub fn sha256(&self) -> &Sha256 {
        &self.sha256
    }

    /// The blob's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Gives up the handle, for callers that want the raw file (e.g. to stream it with sendfile).
    pub fn into_file(self) -> File {
        self.file
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}
