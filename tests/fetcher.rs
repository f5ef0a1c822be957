//! The [`Fetcher`] in the test process, on real git repositories: what it stores equals what
//! `go mod download` (direct) computes, and an offline fetcher serves exactly the store without
//! ever starting `go`.

use std::ffi::OsString;
use std::sync::Arc;

use anyhow::{Context, Result};
use delos_node::fetch::{FetchConfig, FetchError, Fetcher, Want};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::version::Version;
use tempfile::TempDir;

use crate::support::git::GitWorld;
use crate::support::go::{GoEnv, go_binary};
use crate::support::shapes;

/// A fetcher on a fresh index in `dir`, whose `go` sees only `world`.
fn fetcher(world: &GitWorld, dir: &TempDir, offline: bool) -> Result<Fetcher> {
    // Waits out sled's lock, which a fork of another test may hold for a moment.
    let index = Arc::new(crate::support::crash::open_index(&dir.path().join("data"))?);
    let mut config = FetchConfig::new(dir.path().join("fetch"));
    config.gosumdb = String::from("off");
    config.offline = offline;
    config.private = PrivatePatterns::from_patterns(["example.org/mono.git"]);
    config.pass_env = world
        .git_env()
        .into_iter()
        .map(|(key, value)| (OsString::from(key), value))
        .collect();
    config
        .pass_env
        .push((OsString::from("PATH"), path_with_go()?));
    config
        .pass_env
        .push(("HTTPS_PROXY".into(), "http://127.0.0.1:9".into()));
    Ok(Fetcher::new(index, config)?)
}

fn path_with_go() -> Result<OsString> {
    let go_dir = go_binary()?.parent().context("go has no directory")?;
    let mut paths = vec![go_dir.to_path_buf()];
    paths.extend(
        std::env::var_os("PATH").map_or_else(Vec::new, |p| std::env::split_paths(&p).collect()),
    );
    Ok(std::env::join_paths(paths)?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Leaves what a crashed process would: an extracted read-only tree, a download and a VCS
/// clone in the shared module cache of earlier versions, and a run's own module cache.
fn plant_leftovers(dir: &TempDir) -> Result<Vec<std::path::PathBuf>> {
    use std::os::unix::fs::PermissionsExt;
    let cache = dir.path().join("fetch/gopath/pkg/mod");
    let tree = cache.join("example.org/left.git@v1.0.0");
    let download = cache.join("cache/download/example.org/left.git/@v");
    let clone = cache.join("cache/vcs/0123");
    let run_clone = dir
        .path()
        .join("fetch/runs/7/pkg/mod/cache/vcs/4567/objects");
    for made in [&tree, &download, &clone, &run_clone] {
        std::fs::create_dir_all(made)?;
    }
    std::fs::write(tree.join("left.go"), "package left\n")?;
    std::fs::set_permissions(tree.join("left.go"), std::fs::Permissions::from_mode(0o444))?;
    std::fs::write(download.join("v1.0.0.zip"), "zip")?;
    std::fs::write(run_clone.join("pack"), "half a pack")?;
    std::fs::set_permissions(
        run_clone.join("pack"),
        std::fs::Permissions::from_mode(0o444),
    )?;
    Ok(vec![tree, download, clone, run_clone])
}

/// A file in the workers' build cache, which survives a clean stop only.
fn plant_build_cache(dir: &TempDir) -> Result<std::path::PathBuf> {
    let gocache = dir.path().join("fetch/gocache/00");
    std::fs::create_dir_all(&gocache)?;
    std::fs::write(gocache.join("entry"), "built")?;
    Ok(gocache.join("entry"))
}

#[test]
fn a_new_fetcher_removes_every_module_cache_a_crashed_process_left() -> Result<()> {
    let world = GitWorld::new()?;
    let dir = tempfile::tempdir()?;
    let planted = plant_leftovers(&dir)?;
    let built = plant_build_cache(&dir)?;
    let first = fetcher(&world, &dir, false)?;
    for path in &planted {
        assert!(!path.exists(), "{} left behind", path.display());
    }
    assert!(
        built.exists(),
        "no unclean stop seen yet: the build cache is kept"
    );
    // The first fetcher was never released: the next one sees an unclean stop.
    drop(first);
    let _fetcher = fetcher(&world, &dir, false)?;
    assert!(
        !built.exists(),
        "after an unclean stop the build cache is wiped"
    );
    Ok(())
}

#[test]
fn a_released_work_area_keeps_its_build_cache() -> Result<()> {
    let world = GitWorld::new()?;
    let dir = tempfile::tempdir()?;
    fetcher(&world, &dir, false)?.release_work_area();
    let built = plant_build_cache(&dir)?;
    let _fetcher = fetcher(&world, &dir, false)?;
    assert!(built.exists(), "a clean stop keeps the build cache");
    Ok(())
}

#[test]
fn stored_hashes_equal_go_direct_and_offline_serves_only_the_store() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::mono(&world)?;
    let direct = GoEnv::new(&world, "direct")?;
    let wanted = [
        ("example.org/hello.git", "v1.0.0"),
        ("example.org/mono.git/sub", "v1.0.0"),
    ];
    let queries: Vec<String> = wanted.iter().map(|(m, v)| format!("{m}@{v}")).collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let expected = direct.mod_download(&queries)?;
    let dir = tempfile::tempdir()?;
    let rt = runtime()?;
    {
        let online = fetcher(&world, &dir, false)?;
        for (module, version) in wanted {
            let go = expected.ok(module, version)?;
            let entry = rt.block_on(online.version(
                &ModulePath::parse(module)?,
                &Version::parse(version)?,
                Want::Zip,
            ))?;
            assert_eq!(
                Some(entry.go_mod().h1().to_string()),
                go.go_mod_sum,
                "{module}"
            );
            assert_eq!(entry.zip().map(|z| z.h1().to_string()), go.sum, "{module}");
        }
        assert_eq!(online.stats().go_processes_started, 2);
        assert!(online.is_private(&ModulePath::parse("example.org/mono.git/sub")?));
        assert!(!online.is_private(&ModulePath::parse("example.org/hello.git")?));
        let not_a_fit = Version::parse("v2.0.0")?;
        let refused = rt.block_on(online.version(
            &ModulePath::parse("example.org/hello.git")?,
            &not_a_fit,
            Want::Zip,
        ));
        assert!(
            matches!(refused, Err(FetchError::NotFound { .. })),
            "{refused:?}"
        );
        assert_eq!(
            online.stats().go_processes_started,
            2,
            "refused without running go"
        );
    }
    let offline = fetcher(&world, &dir, true)?;
    let hello = ModulePath::parse("example.org/hello.git")?;
    let stored = rt.block_on(offline.version(&hello, &Version::parse("v1.0.0")?, Want::Zip))?;
    assert!(stored.is_full());
    assert_eq!(
        rt.block_on(offline.list(&hello))?,
        vec![Version::parse("v1.0.0")?]
    );
    assert_eq!(
        rt.block_on(offline.latest(&hello))?.0,
        Version::parse("v1.0.0")?
    );
    let missing = rt.block_on(offline.version(&hello, &Version::parse("v1.1.0")?, Want::Metadata));
    assert!(
        matches!(missing, Err(FetchError::Offline { .. })),
        "{missing:?}"
    );
    assert!(missing.is_err_and(|err| err.is_not_found()));
    assert_eq!(offline.stats().go_processes_started, 0);
    Ok(())
}
