//! Reading back: prefix isolation, ordering, iteration, counts.

use super::{GO_MOD, ZIP};
use crate::Stats;
use crate::conformance::{Backend, module, offer, version};

pub(crate) fn prefix_isolation(backend: &dyn Backend) {
    let index = backend.open();
    let stored = [
        ("example.com/a/b", "v1.0.0"),
        ("example.com/a/b", "v1.1.0"),
        ("example.com/a/b-c", "v1.0.0"),
        ("example.com/a/b/v2", "v2.0.0"),
        ("example.com/a/bc", "v1.0.0"),
        ("example.com/a", "v1.0.0"),
    ];
    for (m, v) in stored {
        index
            .store(&module(m), &version(v), offer(&index, GO_MOD, Some(ZIP)))
            .unwrap();
    }
    let list = |m: &str| -> Vec<String> {
        let versions = index.list_versions(&module(m)).unwrap();
        versions.iter().map(|v| v.as_str().to_owned()).collect()
    };
    assert_eq!(list("example.com/a/b"), ["v1.0.0", "v1.1.0"]);
    assert_eq!(list("example.com/a/b-c"), ["v1.0.0"]);
    assert_eq!(list("example.com/a/b/v2"), ["v2.0.0"]);
    assert_eq!(list("example.com/a"), ["v1.0.0"]);
    assert!(list("example.com/a/b/v3").is_empty());
    assert!(list("example.com").is_empty());
}

pub(crate) fn versions_list_in_semver_order(backend: &dyn Backend) {
    let index = backend.open();
    let m = module("example.com/a/b");
    for v in [
        "v1.10.0",
        "v1.9.0",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v0.0.0-20240101000000-abcdefabcdef",
    ] {
        index
            .store(&m, &version(v), offer(&index, GO_MOD, None))
            .unwrap();
    }
    let listed: Vec<String> = index
        .list_versions(&m)
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let expected = [
        "v0.0.0-20240101000000-abcdefabcdef",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v1.9.0",
        "v1.10.0",
    ];
    assert_eq!(listed, expected);
}

pub(crate) fn iterate_everything(backend: &dyn Backend) {
    let index = backend.open();
    let mut expected = Vec::new();
    for (m, v) in [
        ("golang.org/x/mod", "v0.20.0"),
        ("example.com/a/b", "v1.0.0"),
        ("example.com/a/b", "v1.2.0"),
    ] {
        let entry = offer(&index, m.as_bytes(), Some(v.as_bytes()));
        index.store(&module(m), &version(v), entry.clone()).unwrap();
        expected.push((module(m), version(v), entry));
    }
    let mut all: Vec<_> = index.iter().unwrap().collect::<Result<_, _>>().unwrap();
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(all, expected);
}

pub(crate) fn stats_count_versions_and_bytes(backend: &dyn Backend) {
    let index = backend.open();
    let m = module("example.com/a/b");
    index
        .store(&m, &version("v1.0.0"), offer(&index, GO_MOD, Some(ZIP)))
        .unwrap();
    index
        .store(&m, &version("v1.1.0"), offer(&index, GO_MOD, None))
        .unwrap();
    let expected = Stats {
        versions: 2,
        full_versions: 1,
        blob_bytes: (2 * GO_MOD.len() + ZIP.len()) as u64,
    };
    assert_eq!(index.stats(), expected);
    drop(index);
    assert_eq!(backend.open().stats(), expected);
}
