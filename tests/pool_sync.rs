//! Feed sync for late joiners and after partitions (issue 7, "done when"): a node started after
//! A filled 20 versions knows all 20 of A's records within 10 s, with no new gossip (A is idle
//! by then, so only the sync protocol can have carried them); a node restarted after missing
//! records catches up from its persisted cursor (it pulls only what it missed).

use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};
use crate::support::shapes::DAYS;

/// The module with many versions.
const MANY: &str = "example.org/many.git";

/// The bound for a late joiner to know the pool's records.
const LATE_JOINER_BOUND: Duration = Duration::from_secs(10);

/// `many.git` with tags v1.0.0 … v1.0.<count - 1>, one commit each.
fn many_versions(world: &GitWorld, count: usize) -> Result<Vec<String>> {
    let repo = world.create_repo("many")?;
    repo.write_file("go.mod", format!("module {MANY}\n\ngo 1.21\n"))?;
    let mut versions = Vec::new();
    for n in 0..count {
        let version = format!("v1.0.{n}");
        repo.write_file("many.go", format!("package many\n\nconst N = {n}\n"))?;
        repo.commit(&version, DAYS[n % DAYS.len()])?;
        repo.tag(&version)?;
        versions.push(version);
    }
    Ok(versions)
}

/// Fills `versions` of [`MANY`] into `node` with one `go mod download` through it.
fn fill(world: &GitWorld, node: &PoolNode, versions: &[String]) -> Result<()> {
    let go = GoEnv::new(world, &node.url())?;
    let queries: Vec<String> = versions.iter().map(|v| format!("{MANY}@{v}")).collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let got = go.mod_download(&queries)?;
    for version in versions {
        got.ok(MANY, version).with_context(|| node.log())?;
    }
    Ok(())
}

/// Waits until `node` knows `signer`'s record of every one of `versions`.
fn wait_for_all(
    node: &PoolNode,
    signer: &str,
    versions: &[String],
    bound: Duration,
) -> Result<Duration> {
    let waited = wait_until(bound, "every record synced", || {
        for version in versions {
            if !node.has_record(MANY, version, signer)? {
                return Ok(false);
            }
        }
        Ok(true)
    });
    waited.with_context(|| node.log())
}

#[test]
fn a_late_joiner_syncs_every_record_and_a_restarted_node_resumes_from_its_cursor() -> Result<()> {
    let world = GitWorld::new()?;
    let versions = many_versions(&world, 25)?;
    let (first, later) = versions.split_at(20);
    let a = PoolOptions::new(app::node_options(&world)).start()?;
    fill(&world, &a, first)?;

    let nothing = GitWorld::new()?;
    let d = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&a)?
        .start()?;
    wait_for_all(&d, a.signing_key(), first, LATE_JOINER_BOUND)?;
    ensure!(
        d.pool_stat("records_synced")? >= 20,
        "the records came by sync"
    );

    let d = d.restart_with(|| fill(&world, &a, later))?;
    wait_for_all(&d, a.signing_key(), later, LATE_JOINER_BOUND)?;
    let synced = d.pool_stat("records_synced")?;
    ensure!(
        synced < 20,
        "the restarted node pulled {synced} records: it should resume after the 20 it had"
    );
    Ok(())
}
