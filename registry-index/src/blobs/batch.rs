//! [`BlobStore::write_batch`]: many small blobs made durable together, with two syncs of the
//! filesystem for the whole batch instead of two fsyncs per blob.
//!
//! The order is the one [`BlobStore::write`] keeps for a single blob, applied to the batch:
//! every temp file is written, then their contents are made durable (`syncfs`), then each is
//! linked under its sha256 name, then the names are made durable (`syncfs` again). A crash at
//! any point leaves only temp files (swept by the next open) and blobs whose bytes were durable
//! before they got their names, so the guarantee of `write` holds for every blob of the batch
//! when it returns.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::Path;

use delos_pool_protocol::hash::Sha256;
use sha2::Digest as _;

use super::temp_file::TempFile;
use super::{BlobError, BlobStore, StoredBlob, place};

impl BlobStore {
    /// Stores every blob in `contents` and returns their addresses, in the same order.
    ///
    /// For many small blobs (a bulk import, a benchmark store): the cost of durability is two
    /// `syncfs` calls per batch instead of two fsyncs per blob. When this returns `Ok`, every
    /// blob of the batch survives a crash or power loss. On error nothing new is linked after
    /// the failure; blobs linked before it are whole (their bytes were synced first) and simply
    /// unreferenced until stored again.
    pub fn write_batch<'a>(
        &self,
        contents: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<StoredBlob>, BlobError> {
        let mut written = Vec::new();
        for bytes in contents {
            written.push(self.write_unsynced(bytes)?);
        }
        sync_filesystem(&self.temp)?;
        let mut stored = Vec::with_capacity(written.len());
        for (temp, blob) in &written {
            let target = self.path_of(blob.sha256());
            if let Some(shard) = target.parent().filter(|shard| !shard.is_dir()) {
                fs::create_dir_all(shard).map_err(BlobError::io(shard))?;
            }
            place(temp, &target, blob.size())?;
            stored.push(*blob);
        }
        sync_filesystem(&self.objects)?;
        Ok(stored)
    }

    /// Writes `bytes` into a new temp file, not synced; returns it with the blob's address.
    fn write_unsynced(&self, bytes: &[u8]) -> Result<(TempFile, StoredBlob), BlobError> {
        let mut temp = TempFile::create_in(&self.temp).map_err(BlobError::io(&self.temp))?;
        temp.file_mut()
            .write_all(bytes)
            .map_err(BlobError::io(temp.path()))?;
        let sha256 = Sha256::from_bytes(sha2::Sha256::digest(bytes).into());
        Ok((temp, StoredBlob::new(sha256, bytes.len() as u64)))
    }
}

/// Makes everything written to the filesystem holding `dir` durable (`syncfs(2)`): file
/// contents, new names and new directories alike.
fn sync_filesystem(dir: &Path) -> Result<(), BlobError> {
    let handle = File::open(dir).map_err(BlobError::io(dir))?;
    nix::unistd::syncfs(&handle)
        .map_err(io::Error::from)
        .map_err(BlobError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_stored_readable_and_named_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let contents: [&[u8]; 3] = [b"one", b"two", b"one"];
        let stored = store.write_batch(contents).unwrap();
        assert_eq!(stored.len(), 3);
        assert_eq!(stored[0], stored[2], "same bytes, same blob");
        for (blob, bytes) in stored.iter().zip(contents) {
            assert_eq!(*blob, store.write(bytes).unwrap(), "same address as write");
            let mut read = Vec::new();
            std::io::Read::read_to_end(&mut store.open_verified(blob.sha256()).unwrap(), &mut read)
                .unwrap();
            assert_eq!(read, bytes);
        }
        let left: Vec<_> = fs::read_dir(dir.path().join("tmp")).unwrap().collect();
        assert!(left.is_empty(), "temp files removed: {left:?}");
    }
}
