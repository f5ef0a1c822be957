//! `check_consistency`: does a newer tree head extend an older one? If not, a [`Fork`]: the
//! evidence that the log showed two histories.

use super::{TreeProof, check_tree, prove_tree};
use crate::sumdb::tlog::{Hash, HashReader, TlogError, check_prefix, tree_hash};
use crate::sumdb::tree_head::TreeHead;

/// Two tree heads of one log that cannot both be true, with the proof: the hash the newer tree
/// gives its first `older.size()` records, which is not the older head's hash, and the tree
/// proof that the newer tree does contain that other tree.
///
/// With the two signed notes this is what Go's client prints as "go.sum database server
/// misbehavior detected!": the log signed both heads, and anyone can check the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    older: TreeHead,
    newer: TreeHead,
    older_in_newer: Hash,
    proof: TreeProof,
}

/// Why [`check_consistency`] did not show the newer tree extending the older.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsistencyError<E> {
    /// The hashes of the newer tree could not be read, or the sizes are the wrong way round.
    #[error("checking tree#{older} against tree#{newer}")]
    Read {
        /// The older tree's size.
        older: u64,
        /// The newer tree's size.
        newer: u64,
        /// What went wrong.
        #[source]
        source: TlogError<E>,
    },
    /// The log has forked: the newer tree does not contain the older.
    #[error("go.sum database server misbehavior detected: {0}")]
    Fork(Box<Fork>),
}

/// Checks that `newer` extends `older` (or, at the same size, equals it), reading the hashes of
/// the newer tree from `newer_hashes` — for a relay, [`CheckedTiles`](crate::sumdb::CheckedTiles)
/// of a [`TilePlan::for_tree_size`](crate::sumdb::TilePlan::for_tree_size) of `newer`.
///
/// This is Go's client's `checkTrees`: recompute the older tree's hash from the newer tree; a
/// difference is a [`Fork`], proven with the hashes already read.
pub fn check_consistency<R: HashReader + ?Sized>(
    older: &TreeHead,
    newer: &TreeHead,
    newer_hashes: &R,
) -> Result<(), ConsistencyError<R::Error>> {
    let read_error = |source| ConsistencyError::Read {
        older: older.size(),
        newer: newer.size(),
        source,
    };
    check_prefix(older.size(), newer.size(), false).map_err(|e| read_error(e.into()))?;
    let older_in_newer = tree_hash(older.size(), newer_hashes).map_err(read_error)?;
    if older_in_newer == older.hash() {
        return Ok(());
    }
    let proof = match older.size() {
        // The empty tree's hash is fixed; an empty head with another hash needs no proof.
        0 => TreeProof(Vec::new()),
        size => prove_tree(newer.size(), size, newer_hashes).map_err(read_error)?,
    };
    Err(ConsistencyError::Fork(Box::new(Fork {
        older: *older,
        newer: *newer,
        older_in_newer,
        proof,
    })))
}

impl Fork {
    /// The older tree head, as signed.
    pub fn older(&self) -> &TreeHead {
        &self.older
    }

    /// The newer tree head, as signed.
    pub fn newer(&self) -> &TreeHead {
        &self.newer
    }

    /// The hash the newer tree gives its first `older().size()` records.
    pub fn older_in_newer(&self) -> Hash {
        self.older_in_newer
    }

    /// The proof that the newer tree contains a tree of that size with that hash.
    pub fn proof(&self) -> &TreeProof {
        &self.proof
    }

    /// Whether this is evidence: the hashes differ and the proof checks, so the two heads
    /// cannot both be true.
    pub fn is_proven(&self) -> bool {
        if self.older_in_newer == self.older.hash() {
            return false;
        }
        if self.older.size() == 0 {
            return self.older_in_newer == Hash::EMPTY_TREE && self.proof.0.is_empty();
        }
        TreeHead::new(self.older.size(), self.older_in_newer)
            .is_ok_and(|other| check_tree(&self.proof, &self.newer, &other).is_ok())
    }
}

impl std::fmt::Display for Fork {
    /// The heads and the proof, one hash a line, as Go's fork report lists them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "old {}, new {}; proof of misbehavior:\n\t{}",
            self.older, self.newer, self.older_in_newer
        )?;
        self.proof
            .0
            .iter()
            .try_for_each(|hash| write!(f, "\n\t{hash}"))
    }
}
