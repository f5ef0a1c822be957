//! A node killed together with its `go` and `git` children in the middle of fills, as a
//! restart under systemd (`KillMode=control-group`) or a container runtime does, never pins
//! or serves a wrong version afterwards.
//!
//! Each round starts the node on the same data dir, lets a client download every version the
//! application needs through it, and kills the node's whole process tree at a random moment.
//! Then the node is started without VCS access and with it, and every version it answers must
//! be byte-identical to a direct `go mod download` (`.mod`, `.info`, the zip's `h1:`); a version
//! it cannot answer must be absent (404/410), never something else. After the last round the
//! whole application builds through the node with the `go.sum` of a direct build.
//!
//! `DELOS_FILL_CRASH_ROUNDS` sets the number of rounds (default [`DEFAULT_ROUNDS`], sized for
//! CI); every failure names the random seed.

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::thread;

use anyhow::{Context, Result, bail, ensure};
use delos_node::fetch::{ZipFailure, classify_zip_failure};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_pool_protocol::zip::verify_module_zip;
use tempfile::TempDir;

use crate::pool_fetch::go_sum_versions;
use crate::support::app;
use crate::support::crash::Rng;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::TestNode;
use crate::support::shapes;

/// Rounds of fill, kill and check in a default run.
const DEFAULT_ROUNDS: u64 = 6;
/// Kill delays, counted from the moment the client starts downloading, are drawn below this.
const MAX_KILL_DELAY_MS: u64 = 1_500;

/// What a direct `go mod download` produced for one version.
#[derive(Debug)]
struct Reference {
    go_mod: Vec<u8>,
    info: Vec<u8>,
    zip_h1: String,
}

#[test]
fn a_node_killed_with_its_go_and_git_children_never_serves_a_wrong_version() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let no_vcs = GitWorld::new()?;
    let template = app::write_app()?;
    let direct = GoEnv::new(&world, "direct")?;
    direct.run_in(template.path(), &["mod", "tidy"])?;
    let reference = reference(&direct, template.path())?;
    let queries: Vec<String> = reference
        .keys()
        .map(|(module, version)| format!("{module}@{version}"))
        .collect();

    let rounds = std::env::var("DELOS_FILL_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let mut rng = Rng::seeded();
    let seed = rng.seed();
    let mut dir: Option<TempDir> = None;
    for round in 0..rounds {
        let node = start(&world, dir.take())?;
        let client = GoEnv::new(&world, &node.url())?;
        let queries = queries.clone();
        // The client's result does not matter: it is cut off by the kill.
        let downloading = thread::spawn(move || {
            let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
            let _ = client.mod_download(&queries);
        });
        thread::sleep(rng.delay_below_ms(MAX_KILL_DELAY_MS));
        let killed_dir = node.kill_tree()?;
        let _ = downloading.join();
        dir = Some(killed_dir);
        for (vcs, world) in [("without VCS", &no_vcs), ("with VCS", &world)] {
            let node = start(world, dir.take())?;
            check_answers(&node, &reference).with_context(|| {
                format!(
                    "round {round} (seed {seed}), restarted {vcs}\n{}",
                    node.log()
                )
            })?;
            dir = Some(node.kill_tree()?);
        }
    }

    let node = start(&world, dir.take())?;
    let app_dir = app::copy_app(template.path())?;
    let client = GoEnv::new(&world, &node.url())?;
    client
        .run_in(app_dir.path(), &["build", "-o", "app", "."])
        .with_context(|| format!("seed {seed}\n{}", node.log()))?;
    let got = fs::read_to_string(app_dir.path().join("go.sum"))?;
    let expected = fs::read_to_string(template.path().join("go.sum"))?;
    ensure!(
        got == expected,
        "go.sum through the node:\n{got}\ndirect:\n{expected}"
    );
    Ok(())
}

/// A node whose `go` sees `world`, on the data dir of `dir` when given.
fn start(world: &GitWorld, dir: Option<TempDir>) -> Result<TestNode> {
    let options = app::node_options(world);
    match dir {
        Some(dir) => options.start_in(dir),
        None => options.start(),
    }
}

/// Every version of the direct build's `go.sum`, downloaded directly.
fn reference(
    direct: &GoEnv,
    app_dir: &std::path::Path,
) -> Result<BTreeMap<(String, String), Reference>> {
    let go_sum = fs::read_to_string(app_dir.join("go.sum"))?;
    let versions = go_sum_versions(&go_sum);
    let queries: Vec<String> = versions.iter().map(|(m, v)| format!("{m}@{v}")).collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let downloads = direct.mod_download(&queries)?;
    let mut reference = BTreeMap::new();
    for (module, version) in versions {
        let download = downloads.ok(&module, &version)?;
        let read = |path: &Option<std::path::PathBuf>| -> Result<Vec<u8>> {
            let path = path.as_ref().context("go wrote no file")?;
            fs::read(path).with_context(|| format!("reading {}", path.display()))
        };
        let entry = Reference {
            go_mod: read(&download.go_mod)?,
            info: read(&download.info)?,
            zip_h1: download.sum.clone().context("go reported no zip sum")?,
        };
        reference.insert((module, version), entry);
    }
    Ok(reference)
}

/// Every version `node` answers equals the reference; the others are absent.
fn check_answers(node: &TestNode, reference: &BTreeMap<(String, String), Reference>) -> Result<()> {
    for ((module, version), expected) in reference {
        let path = ModulePath::parse(module)?;
        let parsed = Version::parse(version)?;
        let base = format!("/{}/@v/{}", path.escape(), parsed.escape());
        let what = format!("{module}@{version}");
        if let Some(go_mod) = answered(node, &format!("{base}.mod"))? {
            ensure!(
                go_mod == expected.go_mod,
                "{what}: the node serves the .mod {:?}, direct go has {:?}",
                String::from_utf8_lossy(&go_mod),
                String::from_utf8_lossy(&expected.go_mod)
            );
        }
        if let Some(info) = answered(node, &format!("{base}.info"))? {
            ensure!(
                info == expected.info,
                "{what}: the node serves the .info {:?}, direct go has {:?}",
                String::from_utf8_lossy(&info),
                String::from_utf8_lossy(&expected.info)
            );
        }
        if let Some(zip) = answered(node, &format!("{base}.zip"))? {
            let verified = verify_module_zip(Cursor::new(zip), &path, &parsed)
                .with_context(|| format!("{what}: the node serves an invalid zip"))?;
            ensure!(
                verified.h1.to_string() == expected.zip_h1,
                "{what}: the node's zip hashes to {}, direct go has {}",
                verified.h1,
                expected.zip_h1
            );
        }
    }
    Ok(())
}

/// The body of a 200 answer, `None` for 404 or 410, an error for anything else.
fn answered(node: &TestNode, path: &str) -> Result<Option<Vec<u8>>> {
    let response = node.get(path)?;
    match response.status {
        200 => Ok(Some(response.body)),
        404 | 410 => Ok(None),
        status => bail!("{path} answered {status}: {}", response.text()),
    }
}

/// The errors the real `go mod download -json` prints beside a `.mod` and `.info`, classified:
/// a Go from the future and a zip rule violation are facts about the version; a VCS clone that
/// lost the `go.mod` blob (a `git fetch` killed half-way) is a failed fill, although `go` then
/// hands over the synthesized `.mod`.
#[test]
fn go_errors_are_classified() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::too_new(&world)?;
    let collide = world.create_repo("collide")?;
    collide
        .write_file("go.mod", "module example.org/collide.git\n\ngo 1.21\n")?
        .write_file("a.go", "package c\n")?
        .write_file("A.go", "package c\n")?;
    collide.commit("collide", shapes::DAYS[0])?;
    collide.tag("v1.0.0")?;
    app::big(&world)?;
    let go = GoEnv::new(&world, "direct")?;

    let too_new = go.mod_download(&["example.org/toonew.git@v1.0.0"])?;
    let error = error_of(&too_new, "example.org/toonew.git")?;
    match classify_zip_failure(&error) {
        ZipFailure::NeedsNewerGo { required } => assert_eq!(required, "1.999", "{error}"),
        other => bail!("{error:?} classified as {other:?}"),
    }
    let collides = go.mod_download(&["example.org/collide.git@v1.0.0"])?;
    let error = error_of(&collides, "example.org/collide.git")?;
    assert_eq!(
        classify_zip_failure(&error),
        ZipFailure::BreaksZipRules,
        "{error}"
    );

    // Fill the clone, then take the go.mod blob out of it and forget the download.
    go.mod_download(&["example.org/big.git@v1.0.0"])?
        .ok("example.org/big.git", "v1.0.0")?;
    let big = world.repo("big")?;
    let blob = big.git(&["rev-parse", "v1.0.0:go.mod"])?.trim().to_owned();
    let vcs = go.gomodcache().join("cache/vcs");
    let mut removed = 0;
    for clone in fs::read_dir(&vcs)? {
        let object = clone?
            .path()
            .join("objects")
            .join(&blob[..2])
            .join(&blob[2..]);
        if object.exists() {
            fs::remove_file(&object)?;
            removed += 1;
        }
    }
    ensure!(removed == 1, "the go.mod blob was in {removed} clones");
    fs::remove_dir_all(go.gomodcache().join("cache/download"))?;
    let damaged = go.mod_download(&["example.org/big.git@v1.0.0"])?;
    let download = damaged.get("example.org/big.git", "v1.0.0")?;
    let go_mod = fs::read(download.go_mod.as_ref().context("no .mod")?)?;
    assert_eq!(
        go_mod, b"module example.org/big.git\n",
        "go synthesized the .mod"
    );
    let error = error_of(&damaged, "example.org/big.git")?;
    assert_eq!(
        classify_zip_failure(&error),
        ZipFailure::FillFailed,
        "{error}"
    );
    Ok(())
}

/// The `Error` go printed for `module@v1.0.0`, beside a `.mod` and `.info`.
fn error_of(downloads: &crate::support::go_json::Downloads, module: &str) -> Result<String> {
    let download = downloads.get(module, "v1.0.0")?;
    ensure!(
        download.go_mod.is_some() && download.info.is_some(),
        "{module}: go wrote no .mod or .info"
    );
    download.error.clone().context("go reported no error")
}
