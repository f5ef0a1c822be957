//! `SizeError`: tree sizes and record indexes that do not fit together, and the checks that
//! find them.

use super::MAX_TREE_SIZE;

/// A tree size, record index or pair of tree sizes that makes no sense together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizeError {
    /// A tree size beyond [`MAX_TREE_SIZE`], which Go's tree heads cannot express.
    #[error("tree size {size} is larger than the largest tree ({MAX_TREE_SIZE} records)")]
    TreeTooLarge {
        /// The size.
        size: u64,
    },
    /// A record that is not in the tree.
    #[error("record {record} is not in a tree of {tree_size} records")]
    RecordNotInTree {
        /// The record index.
        record: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// An older tree that is not a prefix of the newer one's size (larger, or, for a
    /// consistency proof, empty).
    #[error("a tree of {older} records cannot be checked against one of {newer}")]
    TreeSizes {
        /// The older tree's size.
        older: u64,
        /// The newer tree's size.
        newer: u64,
    },
}

/// Checks that a tree of `size` records can exist.
pub(crate) fn check_tree_size(size: u64) -> Result<(), SizeError> {
    if size > MAX_TREE_SIZE {
        return Err(SizeError::TreeTooLarge { size });
    }
    Ok(())
}

/// Checks that record `record` is in a tree of `tree_size` records.
pub(crate) fn check_record_in_tree(record: u64, tree_size: u64) -> Result<(), SizeError> {
    check_tree_size(tree_size)?;
    if record >= tree_size {
        return Err(SizeError::RecordNotInTree { record, tree_size });
    }
    Ok(())
}

/// Checks that a tree of `older` records can be a prefix of one of `newer` (with `nonempty`,
/// that `older` is at least 1, as a consistency proof needs).
pub(crate) fn check_prefix(older: u64, newer: u64, nonempty: bool) -> Result<(), SizeError> {
    check_tree_size(newer)?;
    if older > newer || (nonempty && older == 0) {
        return Err(SizeError::TreeSizes { older, newer });
    }
    Ok(())
}
