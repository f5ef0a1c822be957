//! Air gap (issue 20, deliverable 3): a module cache written by a real `go mod download` of the
//! fixture app is imported into a node with no VCS and no peers, and the app then builds
//! through it with the `go.sum` of a direct build; `export` then `import` into a third store
//! round-trips byte for byte; `verify` finds a blob corrupted on disk, and the node then
//! answers 404 for it rather than bad bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::cli::{delos, delos_command};
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::{NodeOptions, TestNode};

/// Every file under `root`, by relative path, with its bytes.
fn files_under(root: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).with_context(|| dir.display().to_string())? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(root)?.to_path_buf();
                files.insert(relative, fs::read(&path)?);
            }
        }
    }
    Ok(files)
}

fn stdout_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `delos export <out> --data-dir <data>`.
fn export(world: &GitWorld, data: &Path, out: &Path) -> Result<String> {
    let output = delos_command(world, data)?
        .arg("export")
        .arg(out)
        .arg("--data-dir")
        .arg(data)
        .output()?;
    let text = stdout_of(&output);
    ensure!(output.status.success(), "delos export failed:\n{text}");
    Ok(text)
}

/// `delos import <source>` into `data`; requires success.
fn import(world: &GitWorld, data: &Path, source: &Path) -> Result<String> {
    let source = source.to_str().context("a non-UTF-8 path")?;
    let output = delos(world, &["import", source], data)?;
    let text = stdout_of(&output);
    ensure!(output.status.success(), "delos import failed:\n{text}");
    Ok(text)
}

/// A node on `data` that can reach no VCS and no peer, and never starts `go`.
fn sealed_node(dir: tempfile::TempDir) -> Result<TestNode> {
    NodeOptions::default()
        .args(["--upstream", "off"])
        .start_in(dir)
}

#[test]
fn a_module_cache_imports_builds_exports_round_trips_and_verifies() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let template = app::write_app()?;
    let direct_app = app::copy_app_sources(template.path())?;
    let direct = GoEnv::new(&world, "direct")?;
    direct.run_in(direct_app.path(), &["mod", "tidy"])?;
    direct.run_in(direct_app.path(), &["mod", "download"])?;
    direct.run_in(direct_app.path(), &["build", "-o", "app", "."])?;
    let direct_sum = fs::read_to_string(direct_app.path().join("go.sum"))?;

    // 1. Import the module cache into a fresh store; its node reaches no VCS and no peer.
    let node_dir = tempfile::Builder::new().prefix("delos-airgap-").tempdir()?;
    let data = node_dir.path().join("data");
    fs::create_dir_all(&data)?;
    let imported = import(&world, &data, &direct.gomodcache())?;
    println!("import: {}", imported.lines().last().unwrap_or_default());
    ensure!(imported.contains("refused 0"), "{imported}");
    let again = import(&world, &data, &direct.gomodcache())?;
    ensure!(
        again.contains("imported 0,"),
        "a second import pinned again: {again}"
    );

    let node = sealed_node(node_dir)?;
    let via_node = GoEnv::new(&world, &node.url())?;
    let node_app = app::copy_app(direct_app.path())?;
    fs::remove_file(node_app.path().join("go.sum"))?;
    via_node
        .run_in(node_app.path(), &["build", "-o", "app", "."])
        .with_context(|| format!("node log:\n{}", node.log()))?;
    let node_sum = fs::read_to_string(node_app.path().join("go.sum"))?;
    assert_eq!(node_sum, direct_sum, "go.sum through the imported node");

    // 2. Export, import into a third store, export again: the same bytes.
    let mut node = node;
    node.stop()?;
    let exported = tempfile::tempdir()?;
    println!("export: {}", export(&world, &data, exported.path())?.trim());
    let third = tempfile::tempdir()?;
    import(&world, third.path(), exported.path())?;
    let exported_again = tempfile::tempdir()?;
    export(&world, third.path(), exported_again.path())?;
    let (first, second) = (
        files_under(exported.path())?,
        files_under(exported_again.path())?,
    );
    ensure!(!first.is_empty(), "nothing was exported");
    ensure!(
        first == second,
        "the round trip changed files: {:?} vs {:?}",
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    // A tree whose .mod is not what its zip implies: that version is refused, with why.
    let hello_mod = exported.path().join("example.org/hello.git/@v/v1.1.0.mod");
    let mut tampered = fs::read(&hello_mod)?;
    tampered.extend_from_slice(b"// tampered\n");
    fs::write(&hello_mod, tampered)?;
    let fourth = tempfile::tempdir()?;
    let source = exported.path().to_str().context("a non-UTF-8 path")?;
    let refused = delos(&world, &["import", source], fourth.path())?;
    let text = stdout_of(&refused);
    ensure!(
        !refused.status.success(),
        "a tampered .mod was imported:\n{text}"
    );
    ensure!(
        text.contains("refused example.org/hello.git@v1.1.0: ") && text.contains("refused 1"),
        "the tampered .mod was not refused with its reason:\n{text}"
    );
    println!(
        "{}",
        text.lines()
            .find(|l| l.starts_with("refused "))
            .unwrap_or_default()
    );
    let big_zip = exported.path().join("example.org/big.git/@v/v1.0.0.zip");
    ensure!(big_zip.is_file(), "no {}", big_zip.display());

    // 3. Corrupt the big zip's blob on disk: verify finds it, the node answers 404 for it.
    let zip_bytes = fs::read(&big_zip)?;
    let blob = find_blob(&data.join("store"), zip_bytes.len())?;
    let mut damaged = fs::read(&blob)?;
    damaged[zip_bytes.len() / 2] ^= 0xff;
    fs::write(&blob, damaged)?;
    let verified = delos(&world, &["verify"], &data)?;
    let report = stdout_of(&verified);
    ensure!(
        !verified.status.success(),
        "verify passed a corrupt blob:\n{report}"
    );
    ensure!(
        report.contains("BAD example.org/big.git@v1.0.0.zip: corrupt"),
        "verify did not name the corrupt zip:\n{report}"
    );
    let node = sealed_node(node.into_dir()?)?;
    let answer = node.get("/example.org/big.git/@v/v1.0.0.zip")?;
    ensure!(
        answer.status == 404,
        "the corrupt zip answered {}",
        answer.status
    );
    let healthy = node.get("/example.org/hello.git/@v/v1.1.0.zip")?;
    ensure!(
        healthy.status == 200,
        "a healthy zip answered {}",
        healthy.status
    );
    Ok(())
}

/// The blob file under `store` with exactly `size` bytes (the big zip is the only one).
fn find_blob(store: &Path, size: usize) -> Result<PathBuf> {
    let blobs = store.join("blobs");
    for (relative, bytes) in files_under(&blobs)? {
        if bytes.len() == size && !relative.to_string_lossy().contains("tmp") {
            return Ok(blobs.join(relative));
        }
    }
    anyhow::bail!("no blob of {size} bytes under {}", blobs.display())
}
