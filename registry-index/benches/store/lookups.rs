//! Lookups per second over 100,000 stored versions.

use std::path::Path;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, Source, VersionEntry};

use crate::{BenchResult, Row, shared_go_mod, timed};

const VERSIONS: u64 = 100_000;
const MODULES: u64 = 1_000;
const LOOKUPS: u64 = 200_000;

pub(crate) fn run(root: &Path) -> BenchResult<()> {
    let index = Index::open(root.join("lookups"))?;
    let go_mod = shared_go_mod(&index)?;
    let modules: Vec<ModulePath> = (0..MODULES)
        .map(|m| ModulePath::parse(&format!("example.com/org{}/repo{m}", m % 37)))
        .collect::<Result<_, _>>()?;
    let version = |n: u64| Version::parse(&format!("v1.{}.0", n / MODULES));
    let (_, fill) = timed(|| {
        for n in 0..VERSIONS {
            let entry = VersionEntry::new(b"{}".to_vec(), go_mod, 0, Source::Import);
            index.store(&modules[(n % MODULES) as usize], &version(n)?, entry)?;
        }
        Ok(())
    })?;
    let row = |what, ops, elapsed| Row {
        case: "100,000 versions",
        what,
        ops,
        bytes: 0,
        elapsed,
    };
    row("store `.mod`-only version (flush each)", VERSIONS, fill).print();

    let keys: Vec<(usize, Version)> = pseudo_random(LOOKUPS)
        .map(|n| Ok(((n % MODULES) as usize, version(n % VERSIONS)?)))
        .collect::<BenchResult<_>>()?;
    let (_, hits) = timed(|| {
        for (m, v) in &keys {
            index
                .get(&modules[*m], v)?
                .ok_or("stored version is missing")?;
        }
        Ok(())
    })?;
    row("`get` hit, random order", LOOKUPS, hits).print();
    let miss = Version::parse("v9.9.9")?;
    let (_, misses) = timed(|| {
        for (m, _) in &keys {
            assert!(index.get(&modules[*m], &miss)?.is_none());
        }
        Ok(())
    })?;
    row("`get` miss", LOOKUPS, misses).print();
    let (_, lists) = timed(|| {
        for m in &modules {
            index.list_versions(m)?;
        }
        Ok(())
    })?;
    row("`list_versions` (100 versions each)", MODULES, lists).print();
    Ok(())
}

/// A fixed xorshift sequence, so every run looks up the same keys.
fn pseudo_random(count: u64) -> impl Iterator<Item = u64> {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    (0..count).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    })
}
