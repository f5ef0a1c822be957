//! Property tests: every proof made from a log checks, and every one-bit change to the proof,
//! to the hashes it is checked against, or to a size or record index (with that size's true
//! hash, since a bare proof does not show the size) makes it fail.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::tests::flip;
use super::*;
use crate::sumdb::test_log::{head, leaf, store};

/// Records enough for the largest size a flipped bit can reach (300 with bit 10 set).
const STORED: u64 = 2048;

fn log() -> &'static Vec<Hash> {
    static LOG: OnceLock<Vec<Hash>> = OnceLock::new();
    LOG.get_or_init(|| store(STORED))
}

/// Every one-bit change of each of `hashes`, in turn.
fn each_flip(hashes: &[Hash]) -> impl Iterator<Item = Vec<Hash>> + '_ {
    (0..hashes.len()).flat_map(move |i| {
        (0..256).map(move |bit| {
            let mut changed = hashes.to_vec();
            changed[i] = flip(changed[i], bit);
            changed
        })
    })
}

/// `value` with one of its low 11 bits flipped, for each of them.
fn each_small_flip(value: u64) -> impl Iterator<Item = u64> {
    (0..11).map(move |bit| value ^ (1 << bit))
}

proptest! {
    // Each case checks thousands of changed proofs (every bit of every hash), so sixteen
    // cases cover much (in debug builds SHA-256 is slow).
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn record_proofs_check_and_every_change_breaks_them(size in 1..=300u64, pick in any::<u64>()) {
        let n = pick % size;
        let tree = head(log(), size);
        let record = Hash::of_record(&leaf(n));
        let proof = prove_record(size, n, log()).unwrap();
        prop_assert_eq!(check_record(&proof, &tree, n, record), Ok(()));
        for changed in each_flip(&proof.0) {
            prop_assert!(check_record(&RecordProof(changed), &tree, n, record).is_err());
        }
        for record in each_flip(&[record]) {
            prop_assert!(check_record(&proof, &tree, n, record[0]).is_err());
        }
        for hash in each_flip(&[tree.hash()]) {
            let other = TreeHead::new(size, hash[0]).unwrap();
            prop_assert!(check_record(&proof, &other, n, record).is_err());
        }
        for other in each_small_flip(size).filter(|&s| s <= STORED) {
            prop_assert!(check_record(&proof, &head(log(), other), n, record).is_err());
        }
        for other in each_small_flip(n) {
            prop_assert!(check_record(&proof, &tree, other, record).is_err());
        }
        let mut longer = proof.0.clone();
        longer.push(Hash::EMPTY_TREE);
        prop_assert!(check_record(&RecordProof(longer), &tree, n, record).is_err());
    }

    #[test]
    fn tree_proofs_check_and_every_change_breaks_them(size in 1..=300u64, pick in any::<u64>()) {
        let older = pick % size + 1;
        let (old, new) = (head(log(), older), head(log(), size));
        let proof = prove_tree(size, older, log()).unwrap();
        prop_assert_eq!(check_tree(&proof, &new, &old), Ok(()));
        for changed in each_flip(&proof.0) {
            prop_assert!(check_tree(&TreeProof(changed), &new, &old).is_err());
        }
        for hash in each_flip(&[old.hash()]) {
            let other = TreeHead::new(older, hash[0]).unwrap();
            prop_assert!(check_tree(&proof, &new, &other).is_err());
        }
        for hash in each_flip(&[new.hash()]) {
            let other = TreeHead::new(size, hash[0]).unwrap();
            prop_assert!(check_tree(&proof, &other, &old).is_err());
        }
        for other in each_small_flip(older).filter(|&s| s <= STORED) {
            prop_assert!(check_tree(&proof, &new, &head(log(), other)).is_err());
        }
        for other in each_small_flip(size).filter(|&s| s <= STORED) {
            prop_assert!(check_tree(&proof, &head(log(), other), &old).is_err());
        }
    }

    #[test]
    fn consistency_holds_along_one_history(older in 0..=300u64, grown in 0..=300u64) {
        let newer = (older + grown).min(STORED);
        let result = check_consistency(&head(log(), older), &head(log(), newer), log());
        prop_assert!(result.is_ok());
    }
}
