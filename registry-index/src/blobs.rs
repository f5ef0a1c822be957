//! Content-addressed blob files: named by their sha256 only, written durably, verified on read.
//!
//! Layout under the store's directory:
//!
//! ```text
//! sha256/ab/abcd…          one file per blob, named by the lowercase hex sha256 of its bytes
//! sha256/ab/abcd….corrupt  a blob that failed verification, moved aside for inspection
//! tmp/<pid>-<n>-<random>.part  writes in progress; every one is deleted by `BlobStore::open`
//! ```
//!
//! No name is ever derived from a module path, a version or anything else a request contains.

mod batch;
mod error;
mod mapped;
mod reader;
mod staged;
mod stream;
mod temp_file;
mod unhashed;
mod write_behind;

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use delos_pool_protocol::hash::Sha256;

pub use self::error::BlobError;
pub use self::mapped::MappedBlob;
pub use self::reader::BlobReader;
pub use self::staged::StagedBlob;
use self::stream::{StreamError, copy_limited, hash_copy};
use self::temp_file::{TEMP_SUFFIX, TempFile};
pub use self::unhashed::UnhashedStaged;

/// Directory (under the store root) holding the blob files.
const OBJECTS_DIR: &str = "sha256";
/// Directory (under the store root) holding writes in progress.
const TEMP_DIR: &str = "tmp";
/// Extension given to a blob that failed verification.
const CORRUPT_EXTENSION: &str = "corrupt";

/// A blob that is durably stored: its file has been fsynced and linked under its sha256 name.
///
/// Only the store hands these out, so holding one means the bytes were on disk when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoredBlob {
    sha256: Sha256,
    size: u64,
}

impl StoredBlob {
    pub(crate) fn new(sha256: Sha256, size: u64) -> Self {
        Self { sha256, size }
    }

    /// The sha256 of the blob's bytes, which is also its name on disk.
    pub fn sha256(&self) -> &Sha256 {
        &self.sha256
    }

    /// The blob's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// A directory of content-addressed blobs.
///
/// All methods block on disk I/O (including fsync); async callers run them in
/// `spawn_blocking`. One process at a time may use a store directory: `open` deletes every temp
/// file it finds, including those of another live writer.
#[derive(Debug, Clone)]
pub struct BlobStore {
    objects: PathBuf,
    temp: PathBuf,
}

impl BlobStore {
    /// Opens (creating if needed) the store in `dir` and deletes temp files left by a crash.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, BlobError> {
        let dir = dir.as_ref();
        let store = Self {
            objects: dir.join(OBJECTS_DIR),
            temp: dir.join(TEMP_DIR),
        };
        for sub in [&store.objects, &store.temp] {
            fs::create_dir_all(sub).map_err(BlobError::io(sub))?;
        }
        sync_dir(dir)?;
        store.sweep_temp_files()?;
        Ok(store)
    }

    /// Stores everything `reader` yields and returns its address; see [`Self::write_limited`].
    pub fn write(&self, reader: impl Read) -> Result<StoredBlob, BlobError> {
        self.write_inner(reader, None)
    }

    /// Stores everything `reader` yields, refusing (while streaming) input over `max_bytes`.
    ///
    /// The bytes stream through a 64 KiB buffer into a temp file while being hashed; the file is
    /// fsynced, linked under its sha256 name (an existing file of that name already holds the
    /// same bytes and is kept), and the directory is fsynced. When this returns `Ok`, the blob
    /// survives a crash or power loss. On any error the temp file is deleted.
    pub fn write_limited(
        &self,
        reader: impl Read,
        max_bytes: u64,
    ) -> Result<StoredBlob, BlobError> {
        self.write_inner(reader, Some(max_bytes))
    }

    fn write_inner(
        &self,
        mut reader: impl Read,
        limit: Option<u64>,
    ) -> Result<StoredBlob, BlobError> {
        // Staged, so a large blob is synced behind the copy and named by what was written.
        let mut staged = self.stage()?;
        let temp_path = staged.path().to_path_buf();
        copy_limited(&mut reader, &mut staged, limit).map_err(|err| match err {
            StreamError::Read(source) => BlobError::ReadInput(source),
            StreamError::Write(source) => BlobError::Io {
                path: temp_path,
                source,
            },
            StreamError::TooLarge { max_bytes } => BlobError::TooLarge { max_bytes },
        })?;
        staged.commit()
    }

    /// Gives an fsynced temp file holding the blob `sha256` its name, durably.
    fn link(&self, temp: &TempFile, sha256: Sha256, size: u64) -> Result<StoredBlob, BlobError> {
        let target = self.path_of(&sha256);
        let shard = self.ensure_shard_dir(&target)?;
        place(temp, &target, size)?;
        sync_dir(&shard)?;
        Ok(StoredBlob::new(sha256, size))
    }

    /// Whether a blob is stored, and its size; `None` when its file is absent.
    pub fn stat(&self, sha256: &Sha256) -> Result<Option<StoredBlob>, BlobError> {
        let path = self.path_of(sha256);
        match fs::metadata(&path) {
            Ok(meta) => Ok(Some(StoredBlob::new(*sha256, meta.len()))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(BlobError::io(path)(err)),
        }
    }

    /// Opens a stored blob for streaming, without re-hashing it.
    pub fn open_read(&self, sha256: &Sha256) -> Result<BlobReader, BlobError> {
        let (file, path) = self.open_file(sha256)?;
        let size = file.metadata().map_err(BlobError::io(&path))?.len();
        Ok(BlobReader::new(file, *sha256, size))
    }

    /// The stored blob's file, opened for reading, and its path.
    fn open_file(&self, sha256: &Sha256) -> Result<(File, PathBuf), BlobError> {
        let path = self.path_of(sha256);
        match File::open(&path) {
            Ok(file) => Ok((file, path)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                Err(BlobError::MissingBlob(*sha256))
            }
            Err(err) => Err(BlobError::io(path)(err)),
        }
    }

    /// Opens a stored blob after re-hashing all of it (streaming, flat memory).
    ///
    /// On a mismatch the file is renamed to `<hex>.corrupt`, so the blob counts as missing and a
    /// later write of the right bytes restores it, and [`BlobError::CorruptBlob`] is returned.
    /// The returned reader is the very handle that was hashed, rewound to the start.
    pub fn open_verified(&self, sha256: &Sha256) -> Result<BlobReader, BlobError> {
        let mut reader = self.open_read(sha256)?;
        let path = self.path_of(sha256);
        let (actual, _) =
            hash_copy(&mut reader, &mut io::sink(), None).map_err(|err| match err {
                StreamError::Read(source) | StreamError::Write(source) => {
                    BlobError::io(&path)(source)
                }
                StreamError::TooLarge { max_bytes } => BlobError::TooLarge { max_bytes },
            })?;
        if actual != *sha256 {
            drop(reader);
            self.quarantine(&path)?;
            return Err(BlobError::CorruptBlob(*sha256));
        }
        reader
            .seek(SeekFrom::Start(0))
            .map_err(BlobError::io(&path))?;
        Ok(reader)
    }

    fn quarantine(&self, path: &Path) -> Result<(), BlobError> {
        let aside = path.with_extension(CORRUPT_EXTENSION);
        fs::rename(path, &aside).map_err(BlobError::io(path))?;
        match path.parent() {
            Some(dir) => sync_dir(dir),
            None => Ok(()),
        }
    }

    /// `sha256/ab/<hex>`: one level of 256 directories.
    ///
    /// One level, not two (`ab/cd/`): a new directory costs extra directory fsyncs, and with
    /// 65,536 second-level directories most writes of a young store would create one. A
    /// million blobs still make only ~4,000 entries per directory, which ext4 and xfs index.
    fn path_of(&self, sha256: &Sha256) -> PathBuf {
        let hex = sha256.to_hex();
        self.objects.join(&hex[..2]).join(&hex)
    }

    /// Creates the blob's shard directory if needed, fsyncing its parent when it is new.
    fn ensure_shard_dir(&self, target: &Path) -> Result<PathBuf, BlobError> {
        let shard = target.parent().unwrap_or(&self.objects).to_path_buf();
        if shard.is_dir() {
            return Ok(shard);
        }
        fs::create_dir_all(&shard).map_err(BlobError::io(&shard))?;
        sync_dir(&self.objects)?;
        Ok(shard)
    }

    fn sweep_temp_files(&self) -> Result<(), BlobError> {
        let entries = fs::read_dir(&self.temp).map_err(BlobError::io(&self.temp))?;
        for entry in entries {
            let path = entry.map_err(BlobError::io(&self.temp))?.path();
            if path.to_string_lossy().ends_with(TEMP_SUFFIX) {
                fs::remove_file(&path).map_err(BlobError::io(&path))?;
            }
        }
        sync_dir(&self.temp)
    }
}

/// Gives the fsynced temp file its final name without overwriting an existing blob.
///
/// A hard link fails if the name exists, which makes "create if absent" atomic. An existing file
/// with that name holds the same bytes (the name is their hash) unless it was damaged; a wrong
/// length proves damage, so only then is it replaced (by an atomic rename).
fn place(temp: &TempFile, target: &Path, size: u64) -> Result<(), BlobError> {
    match fs::hard_link(temp.path(), target) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            let existing = fs::metadata(target).map_err(BlobError::io(target))?;
            if existing.len() == size {
                return Ok(());
            }
            fs::rename(temp.path(), target).map_err(BlobError::io(target))
        }
        Err(err) => Err(BlobError::io(target)(err)),
    }
}

/// Makes a directory's entries (new names, renames) durable.
fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(BlobError::io(dir))
}

#[cfg(test)]
mod tests;
