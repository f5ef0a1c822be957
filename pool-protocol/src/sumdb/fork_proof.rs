//! Proof that a log forked, checkable offline by anyone with the log's verifier key: two tree
//! heads signed by that key that cannot both be true.
//!
//! - Two heads of **one size** with different hashes need nothing else.
//! - Heads of **different sizes** come with the records of the larger tree: they must hash to
//!   its signed head, and their prefix of the smaller size must not hash to the smaller head.
//!   (A failed consistency proof alone proves nothing: anyone can send bad proof hashes.)
//!   Or, much smaller, with the **tiles** of the larger tree that a consistency check reads
//!   ([`check_fork_with_tiles`]): they must check against the larger signed head, which makes
//!   every hash read from them that tree's, and the smaller tree's hash computed from them
//!   must differ from the smaller head's.

use super::note::Verifiers;
use super::proof::{ConsistencyError, check_consistency};
use super::record::RecordText;
use super::tile::{GO_TILE_HEIGHT, TileError, TilePlan};
use super::tlog::{Hash, stored_hashes, tree_hash};
use super::tree_head::{SignedTreeHead, TreeHead, TreeHeadError};

/// The most records a proof of a fork between heads of different sizes may carry.
pub const MAX_FORK_PROOF_RECORDS: u64 = 1 << 22;
/// The most tile bytes a tile-backed fork proof may carry (it fits one gossip message).
pub const MAX_FORK_PROOF_TILE_BYTES: usize = 48 << 10;

/// Two heads one key signed that cannot both be true, as [`check_fork`] proved them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvedFork {
    /// The head of the smaller (or equal) size.
    pub older: TreeHead,
    /// The other head.
    pub newer: TreeHead,
}

/// Why two heads (and records) do not prove a fork.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForkProofError {
    /// A note is not a tree head signed by the key.
    #[error("the {which} head does not open with the key")]
    Head {
        /// `first` or `second`.
        which: &'static str,
        /// Why.
        #[source]
        source: TreeHeadError,
    },
    /// The heads agree: one tree, or one a prefix of the other (by the records given).
    #[error("the heads do not contradict each other")]
    Consistent,
    /// Heads of different sizes came without the larger tree's records.
    #[error("heads of sizes {older} and {newer} need the {newer} records of the larger tree")]
    MissingRecords {
        /// The smaller size.
        older: u64,
        /// The larger size.
        newer: u64,
    },
    /// The records do not hash to the larger head: they are not that tree's.
    #[error("the records do not hash to the head of size {size}")]
    NotTheNewerTree {
        /// The larger size.
        size: u64,
    },
    /// Too many records to check.
    #[error("{count} records, more than the {max} a fork proof may carry")]
    TooManyRecords {
        /// How many came.
        count: u64,
        /// The limit.
        max: u64,
    },
    /// The tree functions refused (a size beyond their range).
    #[error("hashing the records: {0}")]
    Tree(String),
    /// The tiles are not the larger tree's (or not the ones its consistency check reads).
    #[error("the tiles do not check against the head of size {size}")]
    NotTheNewerTiles {
        /// The larger size.
        size: u64,
        /// Why.
        #[source]
        source: TileError,
    },
    /// More tile bytes than a proof may carry.
    #[error("{bytes} bytes of tiles, more than the {max} a fork proof may carry")]
    TooManyTileBytes {
        /// How many came.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

/// Checks that the signed heads `first` and `second` (either order), opened with
/// `verifiers`, prove a fork: one size and different hashes, or, for different sizes,
/// `records` (the larger tree's, in order) hash to the larger head while their prefix does not
/// hash to the smaller one.
pub fn check_fork(
    verifiers: &Verifiers,
    first: &[u8],
    second: &[u8],
    records: &[RecordText],
) -> Result<ProvedFork, ForkProofError> {
    let proved = open_pair(verifiers, first, second)?;
    let ProvedFork { older, newer } = proved;
    if older.size() == newer.size() {
        return match older.hash() == newer.hash() {
            true => Err(ForkProofError::Consistent),
            false => Ok(proved),
        };
    }
    let count = records.len() as u64;
    if count > MAX_FORK_PROOF_RECORDS {
        return Err(ForkProofError::TooManyRecords {
            count,
            max: MAX_FORK_PROOF_RECORDS,
        });
    }
    if count != newer.size() {
        return Err(ForkProofError::MissingRecords {
            older: older.size(),
            newer: newer.size(),
        });
    }
    let tree = |size: u64, hashes: &Vec<Hash>| {
        tree_hash(size, hashes).map_err(|e| ForkProofError::Tree(e.to_string()))
    };
    let mut hashes: Vec<Hash> = Vec::new();
    let mut older_hash = None;
    for (n, record) in records.iter().enumerate() {
        if n as u64 == older.size() {
            older_hash = Some(tree(older.size(), &hashes)?);
        }
        let added = stored_hashes(n as u64, record.hash(), &hashes)
            .map_err(|e| ForkProofError::Tree(e.to_string()))?;
        hashes.extend(added);
    }
    if tree(newer.size(), &hashes)? != newer.hash() {
        return Err(ForkProofError::NotTheNewerTree { size: newer.size() });
    }
    let older_hash = match older_hash {
        Some(hash) => hash,
        None => tree(older.size(), &hashes)?,
    };
    match older_hash == older.hash() {
        true => Err(ForkProofError::Consistent),
        false => Ok(proved),
    }
}

/// Opens both notes, smaller first: the pair and whether they are of one size.
fn open_pair(
    verifiers: &Verifiers,
    first: &[u8],
    second: &[u8],
) -> Result<ProvedFork, ForkProofError> {
    let open = |which, note: &[u8]| {
        SignedTreeHead::open(note, verifiers)
            .map(|signed| signed.head())
            .map_err(|source| ForkProofError::Head { which, source })
    };
    let (a, b) = (open("first", first)?, open("second", second)?);
    let (older, newer) = if a.size() <= b.size() { (a, b) } else { (b, a) };
    Ok(ProvedFork { older, newer })
}

/// The tiles (of Go's height 8) that prove or refute that the larger of two heads extends
/// the smaller: what [`check_fork_with_tiles`] wants, in its order. Heads of one size need
/// none.
pub fn fork_proof_tiles(older: TreeHead, newer: TreeHead) -> Result<TilePlan, TileError> {
    let (older, newer) = if older.size() <= newer.size() {
        (older, newer)
    } else {
        (newer, older)
    };
    TilePlan::for_tree_size(newer, GO_TILE_HEIGHT, older.size())
}

/// Checks that the signed heads `first` and `second` (either order) prove a fork, with the
/// tiles of the larger tree that its consistency check reads ([`fork_proof_tiles`], bytes in
/// that plan's order): they must check against the larger head, and the smaller tree's hash
/// computed from them must not be the smaller head's. Heads of one size need no tiles.
pub fn check_fork_with_tiles(
    verifiers: &Verifiers,
    first: &[u8],
    second: &[u8],
    tiles: Vec<Vec<u8>>,
) -> Result<ProvedFork, ForkProofError> {
    let proved = open_pair(verifiers, first, second)?;
    if proved.older.size() == proved.newer.size() {
        return check_fork(verifiers, first, second, &[]);
    }
    let bytes: usize = tiles.iter().map(Vec::len).sum();
    if bytes > MAX_FORK_PROOF_TILE_BYTES {
        return Err(ForkProofError::TooManyTileBytes {
            bytes,
            max: MAX_FORK_PROOF_TILE_BYTES,
        });
    }
    let not_newer = |source| ForkProofError::NotTheNewerTiles {
        size: proved.newer.size(),
        source,
    };
    let plan = fork_proof_tiles(proved.older, proved.newer).map_err(not_newer)?;
    let checked = plan.check(tiles).map_err(not_newer)?;
    match check_consistency(&proved.older, &proved.newer, &checked) {
        Ok(()) => Err(ForkProofError::Consistent),
        Err(ConsistencyError::Fork(_)) => Ok(proved),
        Err(ConsistencyError::Read { source, .. }) => Err(ForkProofError::Tree(source.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sumdb::{KeyName, SignerKey};

    fn records(names: &[&str]) -> Vec<RecordText> {
        names
            .iter()
            .map(|name| RecordText::parse(format!("{name} v1.0.0 h1:x=\n").as_bytes()).unwrap())
            .collect()
    }

    fn signed(signer: &SignerKey, records: &[RecordText]) -> Vec<u8> {
        let mut hashes = Vec::new();
        for (n, record) in records.iter().enumerate() {
            hashes.extend(stored_hashes(n as u64, record.hash(), &hashes).unwrap());
        }
        let size = records.len() as u64;
        TreeHead::new(size, tree_hash(size, &hashes).unwrap())
            .unwrap()
            .sign(signer)
            .to_bytes()
    }

    fn key() -> (SignerKey, Verifiers) {
        let signer = SignerKey::from_seed(KeyName::new("sum.test").unwrap(), [3; 32]);
        let verifiers = Verifiers::new([signer.verifier_key()]).unwrap();
        (signer, verifiers)
    }

    #[test]
    fn two_heads_of_one_size_with_different_hashes_are_a_fork() {
        let (signer, verifiers) = key();
        let honest = signed(&signer, &records(&["a", "b", "c"]));
        let forked = signed(&signer, &records(&["a", "c", "b"]));
        let fork = check_fork(&verifiers, &honest, &forked, &[]).unwrap();
        assert_eq!((fork.older.size(), fork.newer.size()), (3, 3));
        assert!(matches!(
            check_fork(&verifiers, &honest, &honest, &[]),
            Err(ForkProofError::Consistent)
        ));
    }

    #[test]
    fn heads_of_different_sizes_are_a_fork_only_with_the_larger_trees_records() {
        let (signer, verifiers) = key();
        let older = signed(&signer, &records(&["a", "b"]));
        let forked_records = records(&["b", "a", "c"]);
        let forked = signed(&signer, &forked_records);
        let fork = check_fork(&verifiers, &forked, &older, &forked_records).unwrap();
        assert_eq!((fork.older.size(), fork.newer.size()), (2, 3));
        assert!(matches!(
            check_fork(&verifiers, &older, &forked, &[]),
            Err(ForkProofError::MissingRecords { .. })
        ));
        // Records that are not the larger tree's prove nothing.
        let other = records(&["x", "y", "z"]);
        assert!(matches!(
            check_fork(&verifiers, &older, &forked, &other),
            Err(ForkProofError::NotTheNewerTree { size: 3 })
        ));
        // An honest extension is no fork.
        let extended_records = records(&["a", "b", "c"]);
        let extended = signed(&signer, &extended_records);
        assert!(matches!(
            check_fork(&verifiers, &older, &extended, &extended_records),
            Err(ForkProofError::Consistent)
        ));
    }

    /// The tiles of `records`' tree that the fork check between sizes `older` and the full
    /// tree reads.
    fn proof_tiles(signer_records: &[RecordText], older: &[u8], newer: &[u8]) -> Vec<Vec<u8>> {
        let (_, verifiers) = key();
        let open = |note: &[u8]| SignedTreeHead::open(note, &verifiers).unwrap().head();
        let mut hashes = Vec::new();
        for (n, record) in signer_records.iter().enumerate() {
            hashes.extend(stored_hashes(n as u64, record.hash(), &hashes).unwrap());
        }
        let plan = fork_proof_tiles(open(older), open(newer)).unwrap();
        plan.tiles()
            .iter()
            .map(|tile| crate::sumdb::read_tile_data(tile, &hashes).unwrap())
            .collect()
    }

    #[test]
    fn heads_of_different_sizes_are_a_fork_with_the_larger_trees_tiles() {
        let (signer, verifiers) = key();
        let older = signed(&signer, &records(&["a", "b"]));
        let forked_records = records(&["b", "a", "c"]);
        let forked = signed(&signer, &forked_records);
        let tiles = proof_tiles(&forked_records, &older, &forked);
        let fork = check_fork_with_tiles(&verifiers, &forked, &older, tiles).unwrap();
        assert_eq!((fork.older.size(), fork.newer.size()), (2, 3));
        // Tiles of another tree do not check against the larger head.
        let other = records(&["x", "y", "z"]);
        let wrong = proof_tiles(&other, &older, &forked);
        assert!(matches!(
            check_fork_with_tiles(&verifiers, &older, &forked, wrong),
            Err(ForkProofError::NotTheNewerTiles { size: 3, .. })
        ));
        // An honest extension is no fork.
        let extended_records = records(&["a", "b", "c"]);
        let extended = signed(&signer, &extended_records);
        let tiles = proof_tiles(&extended_records, &older, &extended);
        assert!(matches!(
            check_fork_with_tiles(&verifiers, &older, &extended, tiles),
            Err(ForkProofError::Consistent)
        ));
    }

    #[test]
    fn heads_another_key_signed_prove_nothing() {
        let (_, verifiers) = key();
        let stranger = SignerKey::from_seed(KeyName::new("sum.test").unwrap(), [4; 32]);
        let a = signed(&stranger, &records(&["a"]));
        let b = signed(&stranger, &records(&["b"]));
        assert!(matches!(
            check_fork(&verifiers, &a, &b, &[]),
            Err(ForkProofError::Head { .. })
        ));
    }
}
