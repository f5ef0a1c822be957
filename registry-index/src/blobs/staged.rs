//! [`StagedBlob`]: a blob written piece by piece (say, as it arrives from a peer), hashed as
//! the bytes pass, readable from its temp file before it is committed, and invisible under a
//! sha256 name until [`StagedBlob::commit`].

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use delos_pool_protocol::hash::Sha256;
use sha2::Digest as _;

use super::unhashed::UnhashedStaged;
use super::{BlobError, BlobStore, StoredBlob};

/// A blob being written into a store's temp area.
///
/// Every byte goes through [`Write`], which hashes it on its way to the file, so the name the
/// blob gets at [`commit`](Self::commit) is the hash of exactly the bytes written; no caller
/// can name a blob. Until then the bytes can be read back from [`path`](Self::path) (to
/// validate them), and dropping the staged blob deletes them.
#[derive(Debug)]
pub struct StagedBlob {
    /// The temp file and what was written to it.
    file: UnhashedStaged,
    hasher: sha2::Sha256,
    /// Whether the file was fsynced after the last write.
    synced: AtomicBool,
}

impl StagedBlob {
    /// `file`, whose bytes so far `hasher` has hashed (none, or all of them read back).
    pub(super) fn hashed(file: UnhashedStaged, hasher: sha2::Sha256) -> Self {
        Self {
            file,
            hasher,
            synced: AtomicBool::new(false),
        }
    }

    /// The temp file holding the bytes written so far, to open for reading.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The number of bytes written so far.
    pub fn size(&self) -> u64 {
        self.file.size()
    }

    /// The SHA-256 of the bytes written so far (the name the blob will have).
    pub fn sha256(&self) -> Sha256 {
        Sha256::from_bytes(self.hasher.clone().finalize().into())
    }

    /// Makes the bytes written so far durable, so that [`commit`](Self::commit) only has to
    /// link the file. Blocks on the disk; takes `&self` so it can run on one thread while
    /// another reads the file back. A large blob was synced in the background as it was
    /// written, so this mostly waits for its last few megabytes.
    pub fn sync(&self) -> Result<(), BlobError> {
        self.file.sync()?;
        self.synced.store(true, Ordering::Release);
        Ok(())
    }

    /// Opens the file for reading: a handle of its own, with its own position.
    pub fn reopen(&self) -> Result<File, BlobError> {
        self.file.reopen()
    }

    /// Stores the blob under the SHA-256 of the bytes written: fsync (unless
    /// [`sync`](Self::sync) ran after the last write), link under its name (an
    /// existing blob of that name is kept), fsync of the directory. After `Ok` the blob
    /// survives a crash; on error nothing is stored and the temp file is deleted.
    pub fn commit(self) -> Result<StoredBlob, BlobError> {
        if !self.synced.load(Ordering::Acquire) {
            self.sync()?;
        }
        let sha256 = self.sha256();
        self.file.link(sha256)
    }
}

impl Write for StagedBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.synced.store(false, Ordering::Release);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobStore {
    /// Starts a blob to be written piece by piece; see [`StagedBlob`]. Blocks briefly (creates
    /// the temp file).
    pub fn stage(&self) -> Result<StagedBlob, BlobError> {
        let file = self.stage_unhashed()?;
        Ok(StagedBlob::hashed(file, sha2::Sha256::new()))
    }
}
