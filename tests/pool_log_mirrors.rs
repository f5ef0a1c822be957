//! Mirrors of a member's checksum log (issue 17, "done when" (i)): A writes the log and
//! reaches the VCS; B and C reach no VCS and mirror A's log (`--mirror-log`), A trusting them
//! to see module names. An app built through A fills A's log; B and C sync verified copies.
//! A client with `GOPROXY` and `GOSUMDB` through C builds, verifying every module against the
//! log C serves; then A is stopped and a fresh client builds through B, its lookups and tiles
//! answered from B's copy with A's signatures. Both `go.sum`s equal a direct build's.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::checksum_db;
use crate::support::git::GitWorld;
use crate::support::node::NodeOptions;
use crate::support::pool::{PoolNode, PoolOptions, node_key_in, wait_until};

const NAME: &str = "sum.mirrored.example";
/// How long a mirror may take to sync a log it was told about.
const SYNC_WITHIN: Duration = Duration::from_secs(60);

/// The size of the newest head `node` serves for the log.
fn served_size(node: &PoolNode) -> Result<u64> {
    let latest = node.http().get(&format!("/sumdb/{NAME}/latest"))?;
    ensure!(latest.status == 200, "latest: {}", latest.text());
    let text = latest.text();
    let size = text.lines().nth(1).context("no size line")?;
    Ok(size.parse()?)
}

/// Whether `node` logged a sync of the mirrored log up to `size`.
fn synced_to(node: &PoolNode, size: u64) -> bool {
    node.log()
        .lines()
        .any(|line| line.contains("mirrored log synced") && line.contains(&format!("size={size}")))
}

/// Builds a copy of the app's sources through `node`, verifying every module against the log
/// `gosumdb` names; the go.sum it wrote, and the log head it kept.
fn build_verified(
    world: &GitWorld,
    node: &PoolNode,
    template: &Path,
    gosumdb: &str,
) -> Result<(String, String)> {
    let built =
        checksum_db::build_verified(world, &node.url(), template, (NAME, gosumdb), || node.log())?;
    Ok((built.go_sum, built.latest))
}

#[test]
fn mirrors_serve_a_members_log_with_the_writer_down() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let (template, direct_sum) = app::direct_reference(&world)?;

    let (b_dir, b_key) = node_key_in()?;
    let (c_dir, c_key) = node_key_in()?;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("sumdb.key");
    let a = PoolOptions::new(checksum_db::options(&world, NAME, &key_file))
        .arg("--trusted-signer")
        .arg(&b_key)
        .arg("--trusted-signer")
        .arg(&c_key)
        .start()?;
    let verifier = checksum_db::key_in(&key_file)?.to_string();
    let mirror =
        || PoolOptions::new(NodeOptions::default().args(["--mirror-log", &verifier])).trust(&a);
    let b = mirror().bootstrap(&a)?.start_in(b_dir)?;
    let c = mirror().bootstrap(&a)?.bootstrap(&b)?.start_in(c_dir)?;

    // The app built through A fills A's log (the client verifies against it too).
    let (through_a, _) = build_verified(&world, &a, template.path(), &verifier)?;
    ensure!(through_a == direct_sum, "through A:\n{through_a}");
    let size = served_size(&a)?;
    ensure!(size >= 3, "A's log holds {size} records");
    for member in [&b, &c] {
        wait_until(SYNC_WITHIN, "the mirror synced A's log", || {
            Ok(synced_to(member, size))
        })
        .with_context(|| member.log())?;
    }

    // Through C, no VCS: modules from the pool, every one verified against C's copy of the log.
    let (through_c, latest) = build_verified(&world, &c, template.path(), &verifier)?;
    ensure!(through_c == direct_sum, "through C:\n{through_c}");
    ensure!(
        latest.contains(&format!("\u{2014} {NAME} ")),
        "the head go kept is not signed by the log's key:\n{latest}"
    );

    // A stopped: a fresh client still builds through B, from B's copy.
    let mut a = a;
    a.stop()?;
    let (through_b, latest) =
        build_verified(&world, &b, template.path(), &verifier).with_context(|| b.log())?;
    ensure!(through_b == direct_sum, "through B:\n{through_b}");
    ensure!(
        latest.lines().nth(1) == Some(size.to_string().as_str()),
        "B served another head than A's newest:\n{latest}"
    );
    // B serves A's log read-only: it never signs a head as the writer.
    let served = b.http().get(&format!("/sumdb/{NAME}/latest"))?.text();
    let writer_lines = served
        .lines()
        .filter(|line| line.starts_with(&format!("\u{2014} {NAME} ")))
        .count();
    ensure!(writer_lines == 1, "{served}");
    Ok(())
}
