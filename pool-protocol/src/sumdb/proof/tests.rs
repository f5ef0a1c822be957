//! Proofs against x/mod-generated vectors (`docs/checksum-db.md` §3) and Go's TestTree rule
//! that a flipped proof hash fails; consistency checks and fork evidence.

use super::*;
use crate::sumdb::test_log::{hash, head, leaf, store};
use crate::sumdb::tlog::{SizeError, stored_hashes};

#[test]
fn record_proof_matches_x_mod() {
    // x/mod fe2ec04f: ProveRecord(8, 5) over "leaf 0".."leaf 7".
    let store = store(8);
    let proof = prove_record(8, 5, &store).unwrap();
    let expected = [
        "gxFfiUeVX6/cKifn9MCFS72Nonuxs+NAXbVxya+Nvho=",
        "brzFS2cQ7gYQp/yCzeUXE9soDj3IRRW96WMqGbZaC5M=",
        "T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=",
    ];
    assert_eq!(proof, RecordProof(expected.map(hash).to_vec()));
    check_record(&proof, &head(&store, 8), 5, Hash::of_record(&leaf(5))).unwrap();
}

#[test]
fn tree_proof_matches_x_mod() {
    // x/mod fe2ec04f: ProveTree(8, 3) over "leaf 0".."leaf 7".
    let store = store(8);
    let proof = prove_tree(8, 3, &store).unwrap();
    let expected = [
        "qze6NNHf4pAV3nF6bVdkqPsCnDp6D1tkuTtUNRiFv3w=",
        "WL0UluFoSqySAcLmh+565PUclqiw2B7zWDYouT0800U=",
        "/F9riP+FVPdbsvnm85wxsZNtRLaSdu33sSBalVuXYeM=",
        "w+azuR86E7mkJwss2RFiOrs6eoVa9ebktxyE+ZDNxGk=",
    ];
    assert_eq!(proof, TreeProof(expected.map(hash).to_vec()));
    check_tree(&proof, &head(&store, 8), &head(&store, 3)).unwrap();
}

#[test]
fn every_proof_of_a_hundred_records_checks_and_a_flipped_byte_fails() {
    // tlog_test.go TestTree: all record and tree proofs for sizes 1..=100, each proof hash
    // corrupted in turn.
    let store = store(100);
    for size in 1..=100 {
        let tree = head(&store, size);
        for n in 0..size {
            let mut proof = prove_record(size, n, &store).unwrap();
            let leaf = Hash::of_record(&leaf(n));
            check_record(&proof, &tree, n, leaf).unwrap();
            for i in 0..proof.0.len() {
                proof.0[i] = flip(proof.0[i], 0);
                assert!(check_record(&proof, &tree, n, leaf).is_err());
                proof.0[i] = flip(proof.0[i], 0);
            }
            let older = head(&store, n + 1);
            let mut proof = prove_tree(size, n + 1, &store).unwrap();
            check_tree(&proof, &tree, &older).unwrap();
            for i in 0..proof.0.len() {
                proof.0[i] = flip(proof.0[i], 0);
                assert!(check_tree(&proof, &tree, &older).is_err());
                proof.0[i] = flip(proof.0[i], 0);
            }
        }
    }
}

/// `hash` with bit `bit` flipped.
pub(super) fn flip(hash: Hash, bit: usize) -> Hash {
    let mut bytes = *hash.as_bytes();
    bytes[bit / 8] ^= 1 << (bit % 8);
    Hash::from_bytes(bytes)
}

#[test]
fn proofs_need_sizes_that_make_sense() {
    let store = store(4);
    assert!(matches!(
        prove_record(4, 4, &store),
        Err(TlogError::Size(SizeError::RecordNotInTree {
            record: 4,
            tree_size: 4
        }))
    ));
    assert!(matches!(
        prove_tree(4, 0, &store),
        Err(TlogError::Size(SizeError::TreeSizes { .. }))
    ));
    assert!(matches!(
        prove_tree(4, 5, &store),
        Err(TlogError::Size(SizeError::TreeSizes { .. }))
    ));
    let tree = head(&store, 4);
    let empty = RecordProof(Vec::new());
    assert_eq!(
        check_record(&empty, &tree, 4, Hash::EMPTY_TREE),
        Err(InvalidProof::Size(SizeError::RecordNotInTree {
            record: 4,
            tree_size: 4
        }))
    );
    assert_eq!(
        check_record(&empty, &tree, 0, Hash::of_record(&leaf(0))),
        Err(InvalidProof::WrongLength {
            expected: 2,
            got: 0
        })
    );
    let same = TreeProof(Vec::new());
    assert_eq!(check_tree(&same, &tree, &tree), Ok(()));
}

#[test]
fn a_head_that_extends_an_older_one_is_consistent() {
    let store = store(20);
    for older in 0..=20 {
        for newer in older..=20 {
            check_consistency(&head(&store, older), &head(&store, newer), &store).unwrap();
        }
    }
}

#[test]
fn a_rewritten_history_is_a_proven_fork() {
    // The newer log replaced record 3: from size 4 on the histories differ.
    let honest = store(20);
    let mut forked = Vec::new();
    for i in 0..20 {
        let data = if i == 3 { b"forged".to_vec() } else { leaf(i) };
        forked.extend(stored_hashes(i, Hash::of_record(&data), &forked).unwrap());
    }
    let older = head(&honest, 6);
    for (newer_size, also_older) in [(6, true), (9, true), (20, true)] {
        let newer = head(&forked, newer_size);
        let Err(ConsistencyError::Fork(fork)) = check_consistency(&older, &newer, &forked) else {
            panic!("no fork found for size {newer_size}");
        };
        assert_eq!(fork.is_proven(), also_older);
        assert_eq!(fork.older_in_newer(), head(&forked, 6).hash());
        assert!(fork.to_string().contains("proof of misbehavior"));
    }
    // The histories agree on their first three records.
    check_consistency(&head(&honest, 3), &head(&forked, 20), &forked).unwrap();
}

#[test]
fn an_empty_head_with_another_hash_is_a_fork() {
    let store = store(5);
    let bad_empty = TreeHead::new(0, Hash::of_record(b"not empty")).unwrap();
    let Err(ConsistencyError::Fork(fork)) = check_consistency(&bad_empty, &head(&store, 5), &store)
    else {
        panic!("no fork");
    };
    assert!(fork.is_proven());
}

#[test]
fn a_newer_head_smaller_than_the_older_is_refused() {
    let store = store(5);
    let result = check_consistency(&head(&store, 5), &head(&store, 4), &store);
    assert!(matches!(result, Err(ConsistencyError::Read { .. })));
}
