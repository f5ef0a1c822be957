//! [`StagedBlob`]: a blob written piece by piece (say, as it arrives from a peer), hashed as
//! the bytes pass, readable from its temp file before it is committed, and invisible under a
//! sha256 name until [`StagedBlob::commit`].

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use delos_pool_protocol::hash::Sha256;
use sha2::Digest as _;

use super::temp_file::TempFile;
use super::write_behind::WriteBehind;
use super::{BlobError, BlobStore, StoredBlob};

/// A blob being written into a store's temp area.
///
/// Every byte goes through [`Write`], which hashes it on its way to the file, so the name the
/// blob gets at [`commit`](Self::commit) is the hash of exactly the bytes written; no caller
/// can name a blob. Until then the bytes can be read back from [`path`](Self::path) (to
/// validate them), and dropping the staged blob deletes them.
#[derive(Debug)]
pub struct StagedBlob {
    store: BlobStore,
    temp: TempFile,
    hasher: sha2::Sha256,
    size: u64,
    /// Starts the disk on what was written while more arrives.
    write_behind: WriteBehind,
    /// Whether the file was fsynced after the last write.
    synced: AtomicBool,
}

impl StagedBlob {
    pub(super) fn new(store: BlobStore, temp: TempFile) -> Self {
        Self {
            store,
            temp,
            hasher: sha2::Sha256::new(),
            size: 0,
            write_behind: WriteBehind::default(),
            synced: AtomicBool::new(false),
        }
    }

    /// A staged blob whose bytes `hasher` has hashed already (read back from its file).
    pub(super) fn hashed(
        store: BlobStore,
        temp: TempFile,
        hasher: sha2::Sha256,
        size: u64,
        write_behind: WriteBehind,
    ) -> Self {
        Self {
            store,
            temp,
            hasher,
            size,
            write_behind,
            synced: AtomicBool::new(false),
        }
    }

    /// The temp file holding the bytes written so far, to open for reading.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// The number of bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
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
        let io_error = BlobError::io(self.temp.path());
        if let Some(failure) = self.write_behind.failure() {
            return Err(io_error(failure));
        }
        self.temp.file().sync_all().map_err(io_error)?;
        self.synced.store(true, Ordering::Release);
        Ok(())
    }

    /// Opens the file for reading: a handle of its own, with its own position.
    pub fn reopen(&self) -> Result<File, BlobError> {
        File::open(self.temp.path()).map_err(BlobError::io(self.temp.path()))
    }

    /// Stores the blob under the SHA-256 of the bytes written: fsync (unless
    /// [`sync`](Self::sync) ran after the last write), link under its name (an
    /// existing blob of that name is kept), fsync of the directory. After `Ok` the blob
    /// survives a crash; on error nothing is stored and the temp file is deleted.
    pub fn commit(self) -> Result<StoredBlob, BlobError> {
        if !self.synced.load(Ordering::Acquire) {
            self.sync()?;
        }
        self.store.link(&self.temp, self.sha256(), self.size)
    }
}

impl Write for StagedBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.temp.file_mut().write(buf)?;
        let written = buf.get(..n).unwrap_or_default();
        self.hasher.update(written);
        self.size += n as u64;
        self.write_behind.wrote(self.temp.file(), n);
        self.synced.store(false, Ordering::Release);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.file_mut().flush()
    }
}

impl BlobStore {
    /// Starts a blob to be written piece by piece; see [`StagedBlob`]. Blocks briefly (creates
    /// the temp file).
    pub fn stage(&self) -> Result<StagedBlob, BlobError> {
        let temp = TempFile::create_in(&self.temp).map_err(BlobError::io(&self.temp))?;
        Ok(StagedBlob::new(self.clone(), temp))
    }
}
