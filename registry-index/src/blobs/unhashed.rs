//! [`UnhashedStaged`]: a blob written piece by piece into the store's temp area and hashed
//! only when [`UnhashedStaged::hash`] reads its bytes back, for a writer that should not spend
//! the CPU of a sha256 pass while the bytes arrive (a fill whose clients are served from the
//! temp file at once, and whose blob is named once their build is done). A [`StagedBlob`] is
//! one of these with a hasher in front.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use delos_pool_protocol::hash::Sha256;
use sha2::Digest as _;

use super::staged::StagedBlob;
use super::stream::{StreamError, copy_seeing};
use super::temp_file::TempFile;
use super::write_behind::WriteBehind;
use super::{BlobError, BlobStore, StoredBlob};

/// A blob being written into a store's temp area, not hashed yet.
///
/// It has no name until [`hash`](Self::hash) reads back every byte in its file and hashes
/// them, which gives the [`StagedBlob`] to commit: as with a staged blob, no caller can name
/// a blob. Until then the bytes can be read back from [`path`](Self::path), and dropping it
/// deletes them.
#[derive(Debug)]
pub struct UnhashedStaged {
    store: BlobStore,
    temp: TempFile,
    size: u64,
    /// Starts the disk on what was written while more arrives.
    write_behind: WriteBehind,
}

impl UnhashedStaged {
    /// The temp file holding the bytes written so far, to open for reading.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// The number of bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Opens the file for reading: a handle of its own, with its own position.
    pub fn reopen(&self) -> Result<File, BlobError> {
        File::open(self.temp.path()).map_err(BlobError::io(self.temp.path()))
    }

    /// Reads back every byte written and hashes it: the staged blob, named by those bytes,
    /// ready to [`commit`](StagedBlob::commit). Blocks on reading the file (from the page
    /// cache, as a rule). Fails if the file no longer holds exactly the bytes counted.
    pub fn hash(self) -> Result<StagedBlob, BlobError> {
        let path = self.temp.path();
        let mut file = self.reopen()?;
        let mut hasher = sha2::Sha256::new();
        let read = copy_seeing(&mut file, &mut io::sink(), None, |piece| {
            hasher.update(piece);
        })
        .map_err(|err| match err {
            StreamError::Read(err) | StreamError::Write(err) => BlobError::io(path)(err),
            StreamError::TooLarge { max_bytes } => BlobError::TooLarge { max_bytes },
        })?;
        if read != self.size {
            return Err(BlobError::io(path)(io::Error::other(format!(
                "the staged file holds {read} bytes, {} were written",
                self.size
            ))));
        }
        Ok(StagedBlob::hashed(self, hasher))
    }

    /// Makes the bytes written so far durable; see [`StagedBlob::sync`].
    pub(super) fn sync(&self) -> Result<(), BlobError> {
        let io_error = BlobError::io(self.temp.path());
        if let Some(failure) = self.write_behind.failure() {
            return Err(io_error(failure));
        }
        self.temp.file().sync_all().map_err(io_error)
    }

    /// Gives the synced file the name `sha256`, the hash of its bytes; see
    /// [`StagedBlob::commit`].
    pub(super) fn link(&self, sha256: Sha256) -> Result<StoredBlob, BlobError> {
        self.store.link(&self.temp, sha256, self.size)
    }
}

impl Write for UnhashedStaged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.temp.file_mut().write(buf)?;
        self.size += n as u64;
        self.write_behind.wrote(self.temp.file(), n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.file_mut().flush()
    }
}

impl BlobStore {
    /// Starts a blob to be written piece by piece and hashed only when written; see
    /// [`UnhashedStaged`]. Blocks briefly (creates the temp file).
    pub fn stage_unhashed(&self) -> Result<UnhashedStaged, BlobError> {
        let temp = TempFile::create_in(&self.temp).map_err(BlobError::io(&self.temp))?;
        Ok(UnhashedStaged {
            store: self.clone(),
            temp,
            size: 0,
            write_behind: WriteBehind::default(),
        })
    }
}
