//! Record proofs (RFC 6962 inclusion proofs: a record is in a tree) and tree proofs
//! (consistency proofs: a tree extends an older one), made from stored hashes and checked
//! against tree heads, as Go's `tlog.ProveRecord`, `CheckRecord`, `ProveTree` and `CheckTree`.
//!
//! A go client never asks for these proofs: it reads the same hashes out of tiles checked against
//! the signed head ([`CheckedTiles`](super::CheckedTiles)). They are what a fork report carries
//! ([`Fork`]) and what a node can hand to another that has no tiles.
//!
//! A proof does not show the tree's size: the proof of record 0 in a tree of 5 records is
//! combined exactly as one in a tree of 7. The size is bound to the hash by the signature on
//! the tree head, which is why proofs are checked against a [`TreeHead`], not a bare hash.

mod fork;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use fork::{ConsistencyError, Fork, check_consistency};

use super::tlog::{
    Hash, HashReader, SizeError, TlogError, check_prefix, check_record_in_tree, fold_subtrees,
    read_exact, split_point, subtree_count, subtree_indexes,
};
use super::tree_head::TreeHead;

/// The proof that a tree contains a record: the hashes of the subtrees beside the path from the
/// record up to the root, nearest first (RFC 6962's audit path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordProof(pub Vec<Hash>);

/// The proof that a tree contains an older, smaller tree as its prefix (RFC 6962's consistency
/// proof).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TreeProof(pub Vec<Hash>);

/// Why a proof did not check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidProof {
    /// The record is not inside the tree, or the sizes make no older and newer tree.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// The proof has another number of hashes than these sizes need.
    #[error("proof has {got} hashes where {expected} are needed")]
    WrongLength {
        /// How many the sizes need.
        expected: usize,
        /// How many the proof has.
        got: usize,
    },
    /// The hashes do not combine into the tree hash (or, for a tree proof, the older hash).
    #[error("invalid transparency proof")]
    Mismatch,
}

/// One step down from a tree's root towards a record (or the older tree's end): the subtree
/// beside the path, and whether the path went left.
struct Step {
    beside: (u64, u64),
    went_left: bool,
}

/// The steps from the root of a tree of `size` records down to record `n`.
fn record_path(size: u64, n: u64) -> Vec<Step> {
    let (mut lo, mut hi) = (0, size);
    let mut steps = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        let went_left = n < mid;
        let beside = if went_left { (mid, hi) } else { (lo, mid) };
        steps.push(Step { beside, went_left });
        (lo, hi) = if went_left { (lo, mid) } else { (mid, hi) };
    }
    steps
}

/// The steps from the root of a tree of `size` records down to the subtree that ends where an
/// older tree of `older` records ends, and that subtree's range.
fn tree_path(size: u64, older: u64) -> (Vec<Step>, (u64, u64)) {
    let (mut lo, mut hi) = (0, size);
    let mut steps = Vec::new();
    while older != hi {
        let mid = lo + split_point(hi - lo);
        let went_left = older <= mid;
        let beside = if went_left { (mid, hi) } else { (lo, mid) };
        steps.push(Step { beside, went_left });
        (lo, hi) = if went_left { (lo, mid) } else { (mid, hi) };
    }
    (steps, (lo, hi))
}

/// Reads the hashes of `ranges` (each a range of records the tree's splits produce) in one call.
fn read_ranges<R: HashReader + ?Sized>(
    ranges: &[(u64, u64)],
    stored: &R,
) -> Result<Vec<Hash>, TlogError<R::Error>> {
    let mut indexes = Vec::new();
    for &(lo, hi) in ranges {
        subtree_indexes(lo, hi, &mut indexes);
    }
    let hashes = read_exact(stored, &indexes)?;
    let mut rest = hashes.as_slice();
    let mut out = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges {
        let (these, after) = rest.split_at(subtree_count(lo, hi));
        out.push(fold_subtrees(these));
        rest = after;
    }
    Ok(out)
}

/// The proof that the tree of `size` records contains record `n`, from stored hashes.
pub fn prove_record<R: HashReader + ?Sized>(
    size: u64,
    n: u64,
    stored: &R,
) -> Result<RecordProof, TlogError<R::Error>> {
    check_record_in_tree(n, size)?;
    let ranges: Vec<_> = record_path(size, n)
        .iter()
        .rev()
        .map(|s| s.beside)
        .collect();
    Ok(RecordProof(read_ranges(&ranges, stored)?))
}

/// Checks that `proof` shows record `n`, whose leaf hash is `record`, in the tree `tree`.
pub fn check_record(
    proof: &RecordProof,
    tree: &TreeHead,
    n: u64,
    record: Hash,
) -> Result<(), InvalidProof> {
    check_record_in_tree(n, tree.size())?;
    let steps = record_path(tree.size(), n);
    expect_length(steps.len(), proof.0.len())?;
    let root = steps
        .iter()
        .rev()
        .zip(&proof.0)
        .fold(record, |hash, (step, beside)| match step.went_left {
            true => Hash::of_node(&hash, beside),
            false => Hash::of_node(beside, &hash),
        });
    if root == tree.hash() {
        Ok(())
    } else {
        Err(InvalidProof::Mismatch)
    }
}

/// The proof that the tree of `size` records contains the tree of its first `older` records,
/// from stored hashes. `older` must be at least 1 and at most `size`.
pub fn prove_tree<R: HashReader + ?Sized>(
    size: u64,
    older: u64,
    stored: &R,
) -> Result<TreeProof, TlogError<R::Error>> {
    check_prefix(older, size, true)?;
    let (steps, end) = tree_path(size, older);
    // The subtree where the two trees part comes first, unless it is the whole older tree,
    // whose hash the checker has.
    let first = (end.0 != 0).then_some(end);
    let ranges: Vec<_> = first
        .into_iter()
        .chain(steps.iter().rev().map(|s| s.beside))
        .collect();
    Ok(TreeProof(read_ranges(&ranges, stored)?))
}

/// Checks that `proof` shows the tree `newer` containing `older` as its prefix.
pub fn check_tree(
    proof: &TreeProof,
    newer: &TreeHead,
    older: &TreeHead,
) -> Result<(), InvalidProof> {
    check_prefix(older.size(), newer.size(), true)?;
    let (steps, end) = tree_path(newer.size(), older.size());
    let shared = usize::from(end.0 != 0);
    expect_length(shared + steps.len(), proof.0.len())?;
    let (start, besides) = proof.0.split_at(shared);
    // Both trees' hashes are rebuilt upwards from the subtree they share: the older one only
    // takes in subtrees to the left of the path, the newer one all of them.
    let bottom = start.first().copied().unwrap_or(older.hash());
    let (old_root, new_root) =
        steps
            .iter()
            .rev()
            .zip(besides)
            .fold((bottom, bottom), |(old, new), (step, beside)| {
                match step.went_left {
                    true => (old, Hash::of_node(&new, beside)),
                    false => (Hash::of_node(beside, &old), Hash::of_node(beside, &new)),
                }
            });
    if old_root == older.hash() && new_root == newer.hash() {
        Ok(())
    } else {
        Err(InvalidProof::Mismatch)
    }
}

fn expect_length(expected: usize, got: usize) -> Result<(), InvalidProof> {
    if expected == got {
        Ok(())
    } else {
        Err(InvalidProof::WrongLength { expected, got })
    }
}
