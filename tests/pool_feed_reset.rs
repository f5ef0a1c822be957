//! A peer whose feed restarted (issue 7, gap 3): A wipes its store but keeps its key, so its
//! feed starts again at sequence number 1, under a new feed id. B's cursor for A still points
//! into the old feed. Without the id B would ask A only for numbers past its old cursor and
//! never see the records below it; with it B starts A over and gets them all within seconds.
//!
//! Every record here reaches A by `delos import-record` while A is stopped, so none is ever
//! gossiped: B can only learn them through sync. A's new feed holds more records than B's old
//! cursor, so a head below the cursor cannot give the reset away either. Once with B online
//! while A comes back (A dials B), once with B offline meanwhile (both find each other again
//! through a hub peer that stores and forwards nothing: a test peer with an empty feed).

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use delos_pool_protocol::signing::NodeKey;

use crate::pool_hostile::fake_record;
use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::liar::{Files, Liar};
use crate::support::pool::{PoolNode, PoolOptions, wait_until};

const MODULE: &str = "example.org/feed.git";

/// How long B may take to pull A's new feed after A is back.
const CATCH_UP_BOUND: Duration = Duration::from_secs(10);
/// How long B may take to find A through the hub (Kademlia) the first time.
const FIND_AND_CATCH_UP_BOUND: Duration = Duration::from_secs(30);

fn version(n: u32) -> String {
    format!("v1.0.{n}")
}

/// Signs records of [`MODULE`] at `versions` by `key`, and imports them into the stopped node
/// whose data dir is `data_dir`.
fn import(key: &NodeKey, data_dir: &Path, versions: std::ops::Range<u32>) -> Result<()> {
    let files = tempfile::tempdir()?;
    let mut paths = Vec::new();
    for n in versions {
        let path = files.path().join(format!("{n}.record"));
        fs::write(&path, fake_record(key, MODULE, &version(n))?.to_wire()?)?;
        paths.push(path);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_delos"))
        .args(["import-record", "--data-dir"])
        .arg(data_dir)
        .args(&paths)
        .env_remove("DELOS_PRIVATE")
        .output()?;
    ensure!(out.status.success(), "import-record failed: {out:?}");
    Ok(())
}

/// Waits until `node` holds a record by `signer` of every version in `versions`.
fn wait_for(node: &PoolNode, signer: &str, versions: std::ops::Range<u32>) -> Result<Duration> {
    wait_within(CATCH_UP_BOUND, node, signer, versions)
}

/// [`wait_for`] with another bound.
fn wait_within(
    bound: Duration,
    node: &PoolNode,
    signer: &str,
    versions: std::ops::Range<u32>,
) -> Result<Duration> {
    let waited = wait_until(bound, "every record synced", || {
        for n in versions.clone() {
            if !node.has_record(MODULE, &version(n), signer)? {
                return Ok(false);
            }
        }
        Ok(true)
    });
    waited.with_context(|| node.log())
}

#[test]
fn a_peer_that_wiped_its_store_is_synced_again_from_its_new_feed() -> Result<()> {
    let key = NodeKey::generate()?;
    let signer = key.signer_id().to_string();
    let nothing = GitWorld::new()?;
    let b = PoolOptions::new(app::node_options(&nothing)).start()?;
    let a = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&b)?
        .start()?;
    let a_data = a.http().data_dir().join("data");

    let a = a.restart_with(|| import(&key, &a_data, 0..3))?;
    wait_for(&b, &signer, 0..3)?;
    // The cursor is saved right after the page is stored.
    std::thread::sleep(Duration::from_secs(1));

    let a = wipe_and_import(a, &key, 3..9)?;
    ensure_new_feed_outgrows_old_cursor(&a)?;
    let waited = wait_for(&b, &signer, 3..9)?;
    eprintln!("B caught up with A's new feed in {waited:?}");
    ensure!(
        b.log().contains("peer's feed restarted"),
        "B noticed the new feed:\n{}",
        b.log()
    );
    Ok(())
}

/// A's new feed holds the 6 imported records, more than B's old cursor (3). Once A is up it may
/// already have pulled B's copies of the 3 old records back, so it holds 6 to 9.
fn ensure_new_feed_outgrows_old_cursor(a: &PoolNode) -> Result<()> {
    let known = a.pool_stat("records_known")?;
    ensure!(
        (6..=9).contains(&known),
        "A's new feed holds the 6 imported records (and at most B's 3 old ones): {known}"
    );
    Ok(())
}

/// Stops `a`, wipes its store (keeping its key), imports `versions` into the empty store and
/// starts it again.
fn wipe_and_import(a: PoolNode, key: &NodeKey, versions: std::ops::Range<u32>) -> Result<PoolNode> {
    let data = a.http().data_dir().join("data");
    a.restart_with(|| {
        fs::remove_dir_all(data.join("store"))?;
        ensure!(data.join("node.key").exists(), "the key stays");
        import(key, &data, versions)
    })
}

#[test]
fn a_node_back_from_offline_syncs_a_peer_whose_feed_restarted_meanwhile() -> Result<()> {
    let key = NodeKey::generate()?;
    let signer = key.signer_id().to_string();
    let hub = Liar::start(Files::new(), Vec::new())?;
    let nothing = GitWorld::new()?;
    let through_hub = || -> Result<PoolOptions> {
        Ok(PoolOptions::new(app::node_options(&nothing))
            .arg("--bootstrap")
            .arg(&hub.addr()?))
    };
    let b = through_hub()?.start()?;
    let a = through_hub()?.start()?;
    let a_data = a.http().data_dir().join("data");
    let a = a.restart_with(|| import(&key, &a_data, 0..3))?;
    wait_within(FIND_AND_CATCH_UP_BOUND, &b, &signer, 0..3)?;
    std::thread::sleep(Duration::from_secs(1));

    let mut a = Some(a);
    let b = b.restart_with(|| {
        let old = a.take().context("A is running")?;
        a = Some(wipe_and_import(old, &key, 3..9)?);
        Ok(())
    })?;
    let a = a.context("A came back")?;
    ensure_new_feed_outgrows_old_cursor(&a)?;
    let waited = wait_for(&b, &signer, 3..9)?;
    eprintln!("B, back online, found A and caught up with its new feed in {waited:?}");
    ensure!(b.log().contains("peer's feed restarted"), "{}", b.log());
    Ok(())
}
