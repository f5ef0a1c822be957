//! The tiled transparency log's arithmetic: record and node hashes, where each hash is stored,
//! what to store when a record is appended, and the hash of a tree of N records.
//!
//! The tree is RFC 6962's: a record's leaf hash is [`Hash::of_record`], an interior node is
//! [`Hash::of_node`] of its children, and a tree of n records splits into the largest
//! power-of-two subtree on the left and the rest on the right. Hashes are numbered by a
//! *stored hash index* (Crosby and Wallach's order, as Go's `tlog.StoredHashIndex`): record n
//! stores its leaf hash and then one hash for each subtree it completes, so a store appends to a
//! flat list of 32-byte hashes and never rewrites it.

mod hash;
mod reader;
mod sizes;
#[cfg(test)]
mod tests;

pub use hash::{Hash, InvalidHash};
pub use reader::{HashReader, HashReaderFn, IndexNotStored, TlogError};
pub use sizes::SizeError;

pub(crate) use reader::read_exact;
pub(crate) use sizes::{check_prefix, check_record_in_tree, check_tree_size};

/// The largest tree size: Go's tree heads carry the size as an `int64`.
///
/// Every function here computes in `u64` without overflow for nodes of trees up to this size.
pub const MAX_TREE_SIZE: u64 = i64::MAX as u64;

/// Where the hash of node `n` at `level` (level 0 holds the leaves) is stored.
///
/// Defined for nodes of trees of at most [`MAX_TREE_SIZE`] records (`(n + 1) << level` at most
/// 2^63); for others the result is meaningless (the arithmetic wraps rather than panics).
pub fn stored_hash_index(level: u8, n: u64) -> u64 {
    // The node is stored right after the last leaf below it and the `level` completed subtrees
    // that leaf closes. Leaf m is stored at 2m - popcount(m): each earlier leaf stored itself
    // and, on average, one subtree hash, less one for every set bit still waiting to complete.
    let last_leaf = (n.wrapping_add(1) << level).wrapping_sub(1);
    let leaf_index = last_leaf
        .wrapping_mul(2)
        .wrapping_sub(u64::from(last_leaf.count_ones()));
    leaf_index.wrapping_add(u64::from(level))
}

/// The inverse of [`stored_hash_index`]: the `(level, n)` of the hash stored at `index`.
pub fn split_stored_hash_index(index: u64) -> (u8, u64) {
    // Leaf m is stored at 2m - popcount(m) <= index, so the last leaf stored at or before
    // `index` is at least index / 2 and at most a few (log2 index) records further on.
    let mut leaf = index / 2;
    let mut leaf_index = stored_hash_index(0, leaf);
    loop {
        // Record `leaf` stores itself and one hash per trailing one bit of `leaf`.
        let stored = 1 + u64::from(leaf.trailing_ones());
        match leaf_index.checked_add(stored) {
            Some(next) if next <= index => leaf_index = next,
            _ => break,
        }
        leaf += 1;
    }
    // The hash is one of those record `leaf` stored: its leaf, then its parent, grandparent...
    let level = (index - leaf_index) as u8; // At most 64: the trailing ones of a u64.
    (level, leaf >> level)
}

/// How many hashes a tree of `size` records has stored.
pub fn stored_hash_count(size: u64) -> u64 {
    match size.checked_sub(1) {
        None => 0,
        Some(last) => stored_hash_index(0, last) + 1 + u64::from(last.trailing_ones()),
    }
}

/// The hashes to store when appending record `n` (counting from 0) whose leaf hash is
/// `record`: the leaf hash, then the hash of every subtree the record completes. They go at
/// [`stored_hash_index`]`(0, n)` onwards, in this order.
///
/// `stored` reads the hashes of the `n` records already appended (at most log2 n of them, in
/// one call). A store computes this, appends the result and only then counts the record.
pub fn stored_hashes<R: HashReader + ?Sized>(
    n: u64,
    record: Hash,
    stored: &R,
) -> Result<Vec<Hash>, TlogError<R::Error>> {
    check_tree_size(n.saturating_add(1))?;
    // Each trailing one bit of n is a left sibling subtree waiting for this record's side.
    let completed = n.trailing_ones() as u8;
    let siblings: Vec<u64> = (0..completed)
        .rev()
        .map(|level| stored_hash_index(level, (n >> level) - 1))
        .collect();
    let left = read_exact(stored, &siblings)?;
    let mut hashes = Vec::with_capacity(1 + left.len());
    let mut hash = record;
    hashes.push(hash);
    for sibling in left.iter().rev() {
        hash = Hash::of_node(sibling, &hash);
        hashes.push(hash);
    }
    Ok(hashes)
}

/// The hash of the tree of the first `size` records, from hashes stored by
/// [`stored_hashes`] (at most 1 + log2 size of them, read in one call).
pub fn tree_hash<R: HashReader + ?Sized>(
    size: u64,
    stored: &R,
) -> Result<Hash, TlogError<R::Error>> {
    check_tree_size(size)?;
    if size == 0 {
        return Ok(Hash::EMPTY_TREE);
    }
    let mut indexes = Vec::new();
    subtree_indexes(0, size, &mut indexes);
    let hashes = read_exact(stored, &indexes)?;
    Ok(fold_subtrees(&hashes))
}

/// Appends the stored indexes of the complete subtrees that make up the records `lo..hi`,
/// largest (leftmost) first. `lo` must be a multiple of the first subtree's size, as it is for
/// every range the tree's own splits produce.
pub(crate) fn subtree_indexes(lo: u64, hi: u64, out: &mut Vec<u64>) {
    let mut lo = lo;
    while lo < hi {
        let level = floor_log2(hi - lo);
        out.push(stored_hash_index(level, lo >> level));
        lo += 1 << level;
    }
}

/// How many hashes [`subtree_indexes`] lists for `lo..hi`.
pub(crate) fn subtree_count(lo: u64, hi: u64) -> usize {
    let mut count = 0;
    let mut lo = lo;
    while lo < hi {
        lo += 1 << floor_log2(hi - lo);
        count += 1;
    }
    count
}

/// The hash of a range from the hashes of its complete subtrees, largest first: each smaller
/// subtree hangs on the right of the larger one before it.
pub(crate) fn fold_subtrees(hashes: &[Hash]) -> Hash {
    let mut rest = hashes.iter().rev();
    let Some(last) = rest.next() else {
        return Hash::EMPTY_TREE;
    };
    rest.fold(*last, |right, left| Hash::of_node(left, &right))
}

/// The largest power of two strictly less than `width` (at least 2): where RFC 6962 splits a
/// range of `width` records into a complete left subtree and the rest.
pub(crate) fn split_point(width: u64) -> u64 {
    1 << floor_log2(width - 1)
}

/// The exponent of the largest power of two at most `n` (`n` at least 1).
fn floor_log2(n: u64) -> u8 {
    (63 - n.leading_zeros()) as u8
}
