//! The relay's durable cache: full tiles, newest heads and fork evidence survive a reopen.

use crate::SumdbFork;
use crate::conformance::Backend;

pub(crate) fn sumdb_tiles_heads_and_forks_survive_reopen(backend: &dyn Backend) {
    let (db, other) = ("sum.example.org", "sum.example.org/2");
    let fork = SumdbFork {
        database: other.to_owned(),
        older: b"go.sum database tree\n5\nold\n".to_vec(),
        newer: b"go.sum database tree\n5\nnew\n".to_vec(),
    };
    {
        let index = backend.open();
        let cache = index.sumdb_cache();
        assert_eq!(cache.tile(db, "tile/8/0/000").unwrap(), None);
        cache.put_tile(db, "tile/8/0/000", &[1; 64]).unwrap();
        cache.put_tile(db, "tile/8/0/000", &[2; 64]).unwrap();
        assert!(cache.set_newest_head(db, None, b"head 1").unwrap());
        assert!(
            !cache.set_newest_head(db, None, b"head 2").unwrap(),
            "stale expectation"
        );
        assert!(
            cache
                .set_newest_head(db, Some(b"head 1"), b"head 2")
                .unwrap()
        );
        assert!(cache.add_fork(&fork).unwrap());
        assert!(
            !cache.add_fork(&fork).unwrap(),
            "the same evidence is kept once"
        );
    }
    let index = backend.open();
    let cache = index.sumdb_cache();
    assert_eq!(
        cache.tile(db, "tile/8/0/000").unwrap(),
        Some(vec![1; 64]),
        "the first bytes stay"
    );
    assert_eq!(cache.tile(other, "tile/8/0/000").unwrap(), None);
    assert_eq!(
        cache.newest_head(db).unwrap().as_deref(),
        Some(&b"head 2"[..])
    );
    assert_eq!(cache.newest_head(other).unwrap(), None);
    assert_eq!(cache.forks().unwrap(), [fork]);
}

pub(crate) fn forgotten_forks_stay_forgotten_and_spare_other_logs(backend: &dyn Backend) {
    let fork = |database: &str, tag: &str| SumdbFork {
        database: database.to_owned(),
        older: format!("go.sum database tree\n5\n{tag}a\n").into_bytes(),
        newer: format!("go.sum database tree\n5\n{tag}b\n").into_bytes(),
    };
    let (forked, other) = ("sum.example.org", "sum.example.org/2");
    {
        let index = backend.open();
        let heads = index.pool_log_heads();
        for fork in [fork(forked, "x"), fork(forked, "y"), fork(other, "z")] {
            assert!(heads.add_fork(&fork).unwrap());
        }
        assert!(heads.set_newest_head(forked, None, b"head").unwrap());
        assert_eq!(heads.forget_forks(forked).unwrap(), 2);
        assert_eq!(heads.forget_forks(forked).unwrap(), 0, "nothing left");
    }
    let index = backend.open();
    let heads = index.pool_log_heads();
    assert_eq!(heads.forks().unwrap(), [fork(other, "z")]);
    assert_eq!(heads.newest_head(forked).unwrap(), None);
}
