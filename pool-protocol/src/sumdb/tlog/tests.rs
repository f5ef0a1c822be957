//! Known answers from Go's `golang.org/x/mod/sumdb/tlog` tests and from x/mod `fe2ec04f`
//! (`docs/checksum-db.md` §3), and the index arithmetic's own laws.

use super::*;
use crate::sumdb::test_log::{hash, leaf, store};

/// Generated with x/mod fe2ec04f for the records "leaf 0".."leaf 7" (docs/checksum-db.md §3):
/// (N, RecordHash(leaf N-1), TreeHash(N), StoredHashIndex(0, N-1), StoredHashCount(N)).
const TABLE: [(u64, &str, &str, u64, u64); 8] = [
    (
        1,
        "G7l9zCFjXUfiZj79/QoXRobZjdcBNS3SzQbotD/T0wU=",
        "G7l9zCFjXUfiZj79/QoXRobZjdcBNS3SzQbotD/T0wU=",
        0,
        1,
    ),
    (
        2,
        "y1o86GLD4yHz999tJpBUnpNqjjdxNarp89afaR9UfVs=",
        "/F9riP+FVPdbsvnm85wxsZNtRLaSdu33sSBalVuXYeM=",
        1,
        3,
    ),
    (
        3,
        "qze6NNHf4pAV3nF6bVdkqPsCnDp6D1tkuTtUNRiFv3w=",
        "1Pksj7uJcg6ztVZ3x9fvrd/rENEaGoSguo8aIzN/qpU=",
        3,
        4,
    ),
    (
        4,
        "WL0UluFoSqySAcLmh+565PUclqiw2B7zWDYouT0800U=",
        "T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=",
        4,
        7,
    ),
    (
        5,
        "gxFfiUeVX6/cKifn9MCFS72Nonuxs+NAXbVxya+Nvho=",
        "NBUVmC1lDiNSDb1U1/zwr6G3DMOhakEdRk3JwayWwwE=",
        7,
        8,
    ),
    (
        6,
        "la3xW37122c4aouvvv7k0UVmKvpFB0DhhoVT6DSO06A=",
        "g2PDghzkHrtGIiEWpCzIPbp1OYSyPPyiaqrQpoZzNuo=",
        8,
        10,
    ),
    (
        7,
        "+3+GnOi3tR/fcZ/IwhpHNsmMwWCoJWBqgfeKf00iYdk=",
        "WmH8K1T5z6cXdPJDIUPdQMbLKxGUf69lp9PaXLZRmcg=",
        10,
        11,
    ),
    (
        8,
        "S0cR0FayJ4OSwjH9QYWK3qjKiTrQxwSPV9omggAoRf4=",
        "xcLIIO00L92ozolra5z1uMAKIcxLIHFMxuXTwFw1JAs=",
        11,
        15,
    ),
];

#[test]
fn record_hashes_tree_hashes_and_indexes_match_x_mod() {
    let store = store(8);
    for (size, record, tree, index, count) in TABLE {
        assert_eq!(
            Hash::of_record(&leaf(size - 1)),
            hash(record),
            "record {}",
            size - 1
        );
        assert_eq!(tree_hash(size, &store).unwrap(), hash(tree), "tree {size}");
        assert_eq!(
            stored_hash_index(0, size - 1),
            index,
            "index of {}",
            size - 1
        );
        assert_eq!(stored_hash_count(size), count, "count {size}");
    }
    assert_eq!(store.len(), 15);
}

#[test]
fn hello_world_record_hash() {
    // tlog/note_test.go TestFormatTree: RecordHash("hello world").
    assert_eq!(
        Hash::of_record(b"hello world"),
        hash("TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=")
    );
}

#[test]
fn a_go_sum_record_hashes_to_the_observed_one_record_tree() {
    // docs/checksum-db.md §1.2 and §3: the scratch database's record 0 and its size-1 tree.
    let text = "example.org/pub v1.0.0 h1:hroKYilh4yBYM8F6DNstA12PipYTgkhweLckqChDvsU=\n\
                example.org/pub v1.0.0/go.mod h1:Zo7xw5WturV+2MJbeVMYSEESKORXHhxjGmu3QDYx0WY=\n";
    assert_eq!(
        Hash::of_record(text.as_bytes()),
        hash("npnT5hMVEmuaVAULeqgcZ3e8Z74/wQc+ecqxBXxhZvQ=")
    );
}

#[test]
fn the_empty_tree_hashes_to_sha256_of_nothing() {
    // tlog_test.go TestEmptyTree; docs/checksum-db.md §1.4 for the base64.
    let no_reader: Vec<Hash> = Vec::new();
    let empty = tree_hash(0, &no_reader).unwrap();
    assert_eq!(empty, Hash::EMPTY_TREE);
    assert_eq!(
        empty.to_string(),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    assert_eq!(
        *empty.as_bytes(),
        *crate::hash::Sha256::digest(b"").as_bytes()
    );
}

#[test]
fn split_undoes_stored_hash_index() {
    // tlog_test.go TestSplitStoredHashIndex, and further out.
    for level in 0..10 {
        for n in 0..100 {
            let index = stored_hash_index(level, n);
            assert_eq!(split_stored_hash_index(index), (level, n));
        }
    }
    let n = (MAX_TREE_SIZE >> 20) - 1;
    assert_eq!(split_stored_hash_index(stored_hash_index(20, n)), (20, n));
}

#[test]
fn stored_indexes_are_dense_and_counts_agree() {
    // Every index below the count of a tree is some node of that tree, exactly once.
    let store = store(100);
    assert_eq!(stored_hash_count(100), store.len() as u64);
    for index in 0..store.len() as u64 {
        let (level, n) = split_stored_hash_index(index);
        assert_eq!(stored_hash_index(level, n), index);
        assert!((n + 1) << level <= 100, "{index} is ({level}, {n})");
    }
}

#[test]
fn hashes_parse_canonical_base64_only() {
    // tlog/note_test.go TestParseTree's bad hash, plus non-canonical padding bits.
    for bad in [
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=",
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb1=",
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0",
        "",
    ] {
        assert!(Hash::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn readers_must_return_one_hash_per_index() {
    let short = HashReaderFn(|_: &[u64]| Ok::<_, IndexNotStored>(Vec::new()));
    assert!(matches!(
        tree_hash(3, &short),
        Err(TlogError::WrongCount { asked: 2, got: 0 })
    ));
    let store = store(2);
    assert!(matches!(
        tree_hash(3, &store),
        Err(TlogError::Read(IndexNotStored {
            index: 3,
            stored: 3
        }))
    ));
    assert!(matches!(
        tree_hash(MAX_TREE_SIZE + 1, &store),
        Err(TlogError::Size(SizeError::TreeTooLarge { .. }))
    ));
}
