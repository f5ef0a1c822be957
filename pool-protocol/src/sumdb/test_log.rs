//! A log for tests: the records `"leaf 0"`, `"leaf 1"`, … that Go's `tlog_test.go` TestTree and
//! the x/mod-generated vectors in `docs/checksum-db.md` §3 use.

use super::tlog::{Hash, stored_hashes, tree_hash};
use super::tree_head::TreeHead;

/// The data of record `i`.
pub(crate) fn leaf(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

/// The stored hashes of a log of `size` such records, appended one by one.
pub(crate) fn store(size: u64) -> Vec<Hash> {
    let mut store = Vec::new();
    for i in 0..size {
        let hashes = stored_hashes(i, Hash::of_record(&leaf(i)), &store).unwrap();
        store.extend(hashes);
    }
    store
}

/// The head of the tree of the first `size` records in `store`.
pub(crate) fn head(store: &[Hash], size: u64) -> TreeHead {
    TreeHead::new(size, tree_hash(size, store).unwrap()).unwrap()
}

/// A hash from its base64 (test vectors).
pub(crate) fn hash(base64: &str) -> Hash {
    Hash::parse(base64).unwrap()
}
