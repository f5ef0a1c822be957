//! A peer whose feed restarted (issue 7, gap 3): A wipes its store but keeps its key, so its
//! feed starts again at sequence number 1, under a new feed id. B's cursor for A still points
//! into the old feed. Without the id B would ask A only for numbers past its old cursor and
//! never see the records below it; with it B starts A over and gets them all within seconds.
//!
//! Every record here reaches A by `delos import-record` while A is stopped, so none is ever
//! gossiped: B can only learn them through sync. A's new feed holds more records than B's old
//! cursor, so a head below the cursor cannot give the reset away either.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use delos_pool_protocol::signing::NodeKey;

use crate::pool_hostile::fake_record;
use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};

const MODULE: &str = "example.org/feed.git";

/// How long B may take to pull A's new feed after A is back.
const CATCH_UP_BOUND: Duration = Duration::from_secs(10);

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
    let waited = wait_until(CATCH_UP_BOUND, "every record synced", || {
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

    let a = a.restart_with(|| {
        fs::remove_dir_all(a_data.join("store"))?;
        ensure!(a_data.join("node.key").exists(), "the key stays");
        import(&key, &a_data, 3..9)
    })?;
    ensure!(a.pool_stat("records_known")? == 6, "A's new feed holds 6");
    let waited = wait_for(&b, &signer, 3..9)?;
    eprintln!("B caught up with A's new feed in {waited:?}");
    ensure!(
        b.log().contains("peer's feed restarted"),
        "B noticed the new feed:\n{}",
        b.log()
    );
    Ok(())
}
