//! Blob store behaviour on a real directory.

use std::fs;
use std::io::{Read, Write};

use sha2::Digest;

use super::*;

/// Sizes around the 64 KiB copy buffer: empty, one byte, one short of / exactly / one past a
/// buffer, and several buffers plus a tail.
const INTERESTING_SIZES: &[usize] = &[0, 1, 65_535, 65_536, 65_537, 3 * 65_536 + 17];

fn sha256_of(bytes: &[u8]) -> Sha256 {
    Sha256::from_bytes(sha2::Sha256::digest(bytes).into())
}

/// The stored blob `sha256`, re-hashed on open and read whole.
fn read_verified(store: &BlobStore, sha256: &Sha256) -> Vec<u8> {
    let mut bytes = Vec::new();
    store
        .open_verified(sha256)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn temp_files(dir: &Path) -> usize {
    fs::read_dir(dir.join(TEMP_DIR)).unwrap().count()
}

#[test]
fn round_trip_at_interesting_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    for &len in INTERESTING_SIZES {
        let bytes = pattern(len);
        let stored = store.write(bytes.as_slice()).unwrap();
        assert_eq!(stored.sha256(), &sha256_of(&bytes));
        assert_eq!(stored.size(), len as u64);
        let back = read_verified(&store, stored.sha256());
        assert_eq!(back, bytes);
    }
    assert_eq!(temp_files(dir.path()), 0);
}

#[test]
fn storing_the_same_bytes_twice_keeps_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let first = store.write(&b"same"[..]).unwrap();
    let second = store.write(&b"same"[..]).unwrap();
    assert_eq!(first, second);
    assert_eq!(store.stat(first.sha256()).unwrap(), Some(first));
    assert_eq!(temp_files(dir.path()), 0);
}

#[test]
fn over_limit_input_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let bytes = pattern(100_001);
    let err = store.write_limited(bytes.as_slice(), 100_000).unwrap_err();
    assert!(
        matches!(err, BlobError::TooLarge { max_bytes: 100_000 }),
        "{err:?}"
    );
    assert_eq!(store.stat(&sha256_of(&bytes)).unwrap(), None);
    assert_eq!(temp_files(dir.path()), 0);
    let exact = store.write_limited(&bytes[..100_000], 100_000).unwrap();
    assert_eq!(exact.size(), 100_000);
}

#[test]
fn failing_input_leaves_no_temp_file() {
    struct Broken(usize);
    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("peer went away"));
            }
            self.0 -= 1;
            buf[0] = 1;
            Ok(1)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let err = store.write(Broken(10)).unwrap_err();
    assert!(matches!(err, BlobError::ReadInput(_)), "{err:?}");
    assert_eq!(temp_files(dir.path()), 0);
}

#[test]
fn corrupt_blob_is_quarantined_and_can_be_stored_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let stored = store.write(&b"precious bytes"[..]).unwrap();
    let path = store.path_of(stored.sha256());
    fs::write(&path, b"precious bytez").unwrap();

    let err = store.open_verified(stored.sha256()).unwrap_err();
    assert!(
        matches!(err, BlobError::CorruptBlob(sha) if sha == *stored.sha256()),
        "{err:?}"
    );
    assert!(path.with_extension(CORRUPT_EXTENSION).exists());
    assert!(matches!(
        store.open_read(stored.sha256()),
        Err(BlobError::MissingBlob(_))
    ));

    store.write(&b"precious bytes"[..]).unwrap();
    store.open_verified(stored.sha256()).unwrap();
}

#[test]
fn damaged_blob_of_wrong_length_is_replaced_by_a_new_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let stored = store.write(&b"0123456789"[..]).unwrap();
    fs::write(store.path_of(stored.sha256()), b"01234").unwrap();
    store.write(&b"0123456789"[..]).unwrap();
    store.open_verified(stored.sha256()).unwrap();
}

#[test]
fn open_removes_stale_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    drop(BlobStore::open(dir.path()).unwrap());
    let stale = dir
        .path()
        .join(TEMP_DIR)
        .join(format!("999-1-00{TEMP_SUFFIX}"));
    fs::File::create(&stale)
        .unwrap()
        .write_all(b"half a blob")
        .unwrap();
    BlobStore::open(dir.path()).unwrap();
    assert!(!stale.exists());
}

#[test]
fn missing_blob_is_reported_by_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let absent = sha256_of(b"never stored");
    assert_eq!(store.stat(&absent).unwrap(), None);
    let err = store.open_read(&absent).unwrap_err();
    assert!(
        matches!(err, BlobError::MissingBlob(sha) if sha == absent),
        "{err:?}"
    );
}

#[test]
fn staged_blob_is_named_by_what_was_written_and_invisible_until_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let bytes = pattern(3 * 65_536 + 17);
    let mut staged = store.stage().unwrap();
    for piece in bytes.chunks(10_000) {
        staged.write_all(piece).unwrap();
    }
    let want = sha256_of(&bytes);
    assert_eq!(staged.sha256(), want);
    assert_eq!(staged.size(), bytes.len() as u64);
    assert_eq!(store.stat(&want).unwrap(), None, "visible before commit");
    let mut back = Vec::new();
    staged.reopen().unwrap().read_to_end(&mut back).unwrap();
    assert_eq!(back, bytes, "the staged file reads back what was written");
    staged.sync().unwrap();
    let stored = staged.commit().unwrap();
    assert_eq!(stored, StoredBlob::new(want, bytes.len() as u64));
    let read = read_verified(&store, &want);
    assert_eq!(read, bytes);
    assert_eq!(temp_files(dir.path()), 0);
}

/// A blob large enough to be synced behind its writer several times commits whole, and one
/// dropped half-way leaves nothing (the helper's own handle does not keep the name alive).
#[test]
fn large_staged_blobs_synced_behind_the_writer_commit_whole_or_leave_nothing() {
    use super::write_behind::WRITE_BEHIND_BYTES;
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let bytes = pattern(usize::try_from(3 * WRITE_BEHIND_BYTES).unwrap() + 4_097);
    let mut staged = store.stage().unwrap();
    for piece in bytes.chunks(256 << 10) {
        staged.write_all(piece).unwrap();
    }
    let stored = staged.commit().unwrap();
    let read = read_verified(&store, stored.sha256());
    assert!(
        read == bytes,
        "the committed blob differs from what was written"
    );

    let mut abandoned = store.stage().unwrap();
    for piece in bytes.chunks(256 << 10).take(40) {
        abandoned.write_all(piece).unwrap();
    }
    drop(abandoned);
    assert_eq!(temp_files(dir.path()), 0);
}

#[test]
fn dropped_staged_blob_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let mut staged = store.stage().unwrap();
    staged.write_all(b"half a zip").unwrap();
    assert_eq!(temp_files(dir.path()), 1);
    drop(staged);
    assert_eq!(temp_files(dir.path()), 0);
    assert_eq!(store.stat(&sha256_of(b"half a zip")).unwrap(), None);
}

#[test]
fn bytes_written_after_a_sync_are_synced_again_by_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let mut staged = store.stage().unwrap();
    staged.write_all(b"first ").unwrap();
    staged.sync().unwrap();
    staged.write_all(b"second").unwrap();
    let stored = staged.commit().unwrap();
    assert_eq!(stored.sha256(), &sha256_of(b"first second"));
    let read = read_verified(&store, stored.sha256());
    assert_eq!(read, b"first second");
}

#[test]
fn mapped_blob_has_the_stored_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    for &len in INTERESTING_SIZES.iter().filter(|&&len| len > 0) {
        let bytes = pattern(len);
        let stored = store.write(&bytes[..]).unwrap();
        let mapped = store.map_verified(stored.sha256()).unwrap();
        assert_eq!(mapped.as_ref(), &bytes[..], "len {len}");
        assert_eq!(mapped.len(), len);
        assert_eq!(mapped.sha256(), stored.sha256());
    }
}

#[test]
fn corrupt_blob_is_never_mapped_and_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let stored = store.write(&b"precious bytes"[..]).unwrap();
    let path = store.path_of(stored.sha256());
    fs::write(&path, b"precious bytez").unwrap();

    let err = store.map_verified(stored.sha256()).unwrap_err();
    assert!(
        matches!(err, BlobError::CorruptBlob(sha) if sha == *stored.sha256()),
        "{err:?}"
    );
    assert!(path.with_extension(CORRUPT_EXTENSION).exists());
    assert!(matches!(
        store.map_verified(stored.sha256()),
        Err(BlobError::MissingBlob(_))
    ));
}

#[test]
fn a_map_outlives_the_move_aside_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let bytes = pattern(3 * 65_536 + 17);
    let stored = store.write(&bytes[..]).unwrap();
    let mapped = store.map_verified(stored.sha256()).unwrap();
    let path = store.path_of(stored.sha256());
    fs::rename(&path, path.with_extension(CORRUPT_EXTENSION)).unwrap();
    assert_eq!(mapped.as_ref(), &bytes[..]);
}

#[test]
fn a_staged_blob_maps_what_was_written_and_the_map_outlives_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let bytes = pattern(2 * 65_536 + 5);
    let mut staged = store.stage().unwrap();
    staged.write_all(&bytes[..65_536]).unwrap();
    let early = staged.map_written().unwrap();
    staged.write_all(&bytes[65_536..]).unwrap();
    let mapped = staged.map_written().unwrap();
    let stored = staged.commit().unwrap();

    assert_eq!(
        early.as_ref(),
        &bytes[..65_536],
        "a map holds what was written then"
    );
    assert_eq!(early.sha256(), &sha256_of(&bytes[..65_536]));
    assert_eq!(
        mapped.as_ref(),
        &bytes[..],
        "the temp file's name is gone, its map is not"
    );
    assert_eq!(mapped.sha256(), stored.sha256());
    assert_eq!(temp_files(dir.path()), 0);
}

#[test]
fn an_unhashed_staged_blob_is_named_by_the_bytes_in_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let bytes = pattern(3 * 65_536 + 17);
    let mut unhashed = store.stage_unhashed().unwrap();
    for piece in bytes.chunks(10_000) {
        unhashed.write_all(piece).unwrap();
    }
    assert_eq!(unhashed.size(), bytes.len() as u64);
    let mut back = Vec::new();
    unhashed.reopen().unwrap().read_to_end(&mut back).unwrap();
    assert_eq!(back, bytes, "the file reads back what was written");
    let staged = unhashed.hash().unwrap();
    let want = sha256_of(&bytes);
    assert_eq!(staged.sha256(), want);
    assert_eq!(store.stat(&want).unwrap(), None, "visible before commit");
    let stored = staged.commit().unwrap();
    assert_eq!(stored, StoredBlob::new(want, bytes.len() as u64));
    assert_eq!(read_verified(&store, &want), bytes);
    assert_eq!(temp_files(dir.path()), 0);
}

#[test]
fn an_unhashed_staged_blob_whose_file_changed_length_is_refused_and_dropping_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let mut unhashed = store.stage_unhashed().unwrap();
    unhashed.write_all(&pattern(1000)).unwrap();
    let path = unhashed.path().to_path_buf();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"more")
        .unwrap();
    let err = unhashed.hash().unwrap_err();
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        source.is_some_and(|source| source.contains("1004 bytes, 1000 were written")),
        "{err:?}"
    );
    assert_eq!(
        temp_files(dir.path()),
        0,
        "the temp file outlived the refusal"
    );
    let dropped = store.stage_unhashed().unwrap();
    drop(dropped);
    assert_eq!(temp_files(dir.path()), 0);
}
