//! Stored blobs mapped read-only into memory, for serving without copying through userspace.
//!
//! A map is made only after its bytes hashed to the blob's name, so a blob corrupted on disk is
//! never handed out (it is moved aside like [`BlobStore::open_verified`] does). Blobs are
//! content-addressed and immutable: written to a temp file, synced, renamed into place, and
//! never written to or truncated again by Delos, which is what makes a shared read-only map of
//! one sound (see [`map_read_only`]).

use std::fs::File;
use std::io;

use delos_pool_protocol::hash::Sha256;
use memmap2::Mmap;

use super::{BlobError, BlobStore, StagedBlob};

/// A stored blob mapped read-only, its bytes checked against its sha256 when it was mapped.
///
/// The map lives as long as this value; clones of the bytes (`bytes::Bytes::from_owner`) keep
/// it alive past any cache that evicts it.
pub struct MappedBlob {
    map: Mmap,
    sha256: Sha256,
}

impl MappedBlob {
    /// The blob's sha256 (its name, which its bytes matched when mapped).
    pub fn sha256(&self) -> &Sha256 {
        &self.sha256
    }

    /// The blob's size in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the blob is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl AsRef<[u8]> for MappedBlob {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl std::fmt::Debug for MappedBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedBlob")
            .field("sha256", &self.sha256.to_hex())
            .field("len", &self.map.len())
            .finish()
    }
}

impl BlobStore {
    /// Maps a stored blob read-only after hashing all of it.
    ///
    /// On a mismatch the file is moved aside (`<hex>.corrupt`, as [`Self::open_verified`]
    /// does), so the blob counts as missing, and [`BlobError::CorruptBlob`] is returned.
    pub fn map_verified(&self, sha256: &Sha256) -> Result<MappedBlob, BlobError> {
        let (file, path) = self.open_file(sha256)?;
        let map = map_read_only(&file).map_err(BlobError::io(&path))?;
        drop(file);
        if Sha256::digest(&map) != *sha256 {
            drop(map);
            self.quarantine(&path)?;
            return Err(BlobError::CorruptBlob(*sha256));
        }
        Ok(MappedBlob {
            map,
            sha256: *sha256,
        })
    }
}

impl StagedBlob {
    /// Maps the bytes written so far read-only, without hashing them again: they were hashed
    /// on their way to the file (or read back from it,
    /// [`UnhashedStaged::hash`](crate::UnhashedStaged::hash)), and
    /// [`sha256`](Self::sha256) is their hash. For serving a
    /// blob this process has just written, once, beside its [`commit`](Self::commit); a
    /// blob stored before is mapped with [`BlobStore::map_verified`]. Bytes written after
    /// the map are not in it.
    pub fn map_written(&self) -> Result<MappedBlob, BlobError> {
        let file = self.reopen()?;
        let map = map_read_only(&file).map_err(BlobError::io(self.path()))?;
        Ok(MappedBlob {
            map,
            sha256: self.sha256(),
        })
    }
}

/// A shared, read-only map of all of `file`.
#[allow(unsafe_code)]
fn map_read_only(file: &File) -> io::Result<Mmap> {
    // SAFETY: `Mmap::map` is unsafe because the bytes behind the returned slice change (or,
    // if the file shrinks, fault with SIGBUS) when the file is modified while mapped. Blob
    // files are never modified after they are renamed into place: the store only ever
    // creates them whole (temp file, fsync, rename) and moves corrupt ones aside with
    // `rename`, which leaves an existing map intact. A staged file is only ever appended to
    // (`StagedBlob`'s `Write`) until it is linked into place, which leaves mapped bytes as
    // they are. An outside process truncating a blob
    // under a running node is outside that contract, as documented in docs/operations.md.
    unsafe { Mmap::map(file) }
}
