//! Fill from peers end to end (issue 7, first "done when"): node A reaches the git
//! repositories, B and C do not (their git config maps nothing and their HTTP proxies are a
//! closed port) and trust A's signing key. After the application builds through A, it builds
//! through B with a fresh client module cache: every module version comes from the pool, B
//! signs its own record with a peer source, and `go` checks every hash against the `go.sum` a
//! direct build wrote (a mismatch is a `SECURITY ERROR`). Then through C, which knows only B's
//! address and may fill from A or B. Over TCP, and once over QUIC only.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::pool::{PoolNode, PoolOptions, Transport, wait_until};
use crate::support::shapes;

/// How long a new node may take to learn A's records (sync on connect).
const LEARN_TIMEOUT: Duration = Duration::from_secs(30);

/// The (module, version) pairs of a `go.sum`.
pub(crate) fn go_sum_versions(go_sum: &str) -> BTreeSet<(String, String)> {
    go_sum
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let module = fields.next()?;
            let version = fields.next()?;
            let version = version.strip_suffix("/go.mod").unwrap_or(version);
            Some((module.to_owned(), version.to_owned()))
        })
        .collect()
}

/// The application, resolved and downloaded directly from the repositories: its dir holds the
/// reference go.mod and go.sum.
fn reference_app(world: &GitWorld) -> Result<tempfile::TempDir> {
    let template = app::write_app()?;
    GoEnv::new(world, "direct")?.run_in(template.path(), &["mod", "tidy"])?;
    Ok(template)
}

/// Builds a copy of the application (go.mod and go.sum complete) through `node` with a fresh
/// module cache, and checks that `go` left go.sum as the direct build wrote it.
fn build_through(world: &GitWorld, node: &PoolNode, template: &Path) -> Result<()> {
    let app_dir = app::copy_app(template)?;
    let go = GoEnv::new(world, &node.url())?;
    go.run_in(app_dir.path(), &["build", "-o", "app", "."])
        .with_context(|| node.log())?;
    let expected = fs::read_to_string(template.join("go.sum"))?;
    let got = fs::read_to_string(app_dir.path().join("go.sum"))?;
    ensure!(
        got == expected,
        "go.sum changed:\n{got}\nvs direct:\n{expected}"
    );
    Ok(())
}

/// Waits until `node` knows a record signed by `signer` for every version of `versions`.
fn wait_for_records(
    node: &PoolNode,
    signer: &str,
    versions: &BTreeSet<(String, String)>,
) -> Result<()> {
    let mut missing = versions.clone();
    let waited = wait_until(LEARN_TIMEOUT, "the new node knows every record", || {
        let mut still = BTreeSet::new();
        for (module, version) in &missing {
            if !node.has_record(module, version, signer)? {
                still.insert((module.clone(), version.clone()));
            }
        }
        missing = still;
        Ok(missing.is_empty())
    });
    waited.with_context(|| format!("missing {missing:?}\n{}", node.log()))?;
    Ok(())
}

/// Every version in `versions` has `node`'s own record, filled from a peer.
fn check_filled_from_peers(node: &PoolNode, versions: &BTreeSet<(String, String)>) -> Result<()> {
    for (module, version) in versions {
        let records = node.records(module, version)?;
        let own = records
            .iter()
            .find(|r| r["signer"] == node.signing_key())
            .with_context(|| format!("no own record of {module}@{version}: {records:?}"))?;
        ensure!(
            own["source"]["kind"] == "peer",
            "{module}@{version} was not filled from a peer: {own}"
        );
        ensure!(
            own["agrees_with_pinned"] == true,
            "{module}@{version}: {own}"
        );
    }
    let status = node.http().status()?;
    ensure!(
        status["fetch"]["peer_fills"].as_u64() > Some(0)
            && status["fetch"]["vcs_fills"] == 0
            && status["pool"]["bytes_from_peers"].as_u64() > Some(0),
        "/status does not show fills from peers: {status}"
    );
    let metrics = String::from_utf8(node.http().get("/metrics")?.body)?;
    let transfer_seconds = metrics
        .lines()
        .find_map(|l| l.strip_prefix("delos_fetch_peer_fill_seconds_total{phase=\"transfer\"} "))
        .context("no peer fill transfer time in /metrics")?
        .parse::<f64>()?;
    ensure!(
        transfer_seconds > 0.0,
        "peer fills took no transfer time: {metrics}"
    );
    Ok(())
}

/// A (VCS) and B (no VCS, trusts A, bootstraps A) over `transports`; the app built through A,
/// then through B. Returns the world, the reference app, and the nodes.
fn a_then_b(transports: &[Transport]) -> Result<(GitWorld, tempfile::TempDir, PoolNode, PoolNode)> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let template = reference_app(&world)?;
    let versions = go_sum_versions(&fs::read_to_string(template.path().join("go.sum"))?);
    ensure!(versions.len() >= 10, "{versions:?}");

    let a = PoolOptions::new(app::node_options(&world))
        .transports(transports)
        .start()?;
    build_through(&world, &a, template.path())?;

    let nothing = GitWorld::new()?;
    let b = PoolOptions::new(app::node_options(&nothing))
        .transports(transports)
        .bootstrap(&a)?
        .trust(&a)
        .start()?;
    wait_for_records(&b, a.signing_key(), &versions)?;
    build_through(&world, &b, template.path())
        .with_context(|| format!("building through B; A's log:\n{}", a.log()))?;
    check_filled_from_peers(&b, &versions)?;
    Ok((world, template, a, b))
}

#[test]
fn b_and_c_build_the_app_from_peers_over_tcp() -> Result<()> {
    let (world, template, a, b) = a_then_b(&[Transport::Tcp])?;
    let versions = go_sum_versions(&fs::read_to_string(template.path().join("go.sum"))?);

    let nothing = GitWorld::new()?;
    let c = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&b)?
        .trust(&a)
        .start()?;
    wait_for_records(&c, a.signing_key(), &versions)?;
    build_through(&world, &c, template.path()).context("building through C")?;
    check_filled_from_peers(&c, &versions)?;
    check_queries_from_pool_knowledge(&b)?;
    Ok(())
}

/// `node` (no VCS) answers `list` and `@latest` from the versions of records it trusts.
fn check_queries_from_pool_knowledge(node: &PoolNode) -> Result<()> {
    let list = node.http().get("/example.org/greet.git/@v/list")?;
    ensure!(
        list.status == 200 && list.text().lines().any(|l| l == "v1.0.0"),
        "list: {} {}",
        list.status,
        list.text()
    );
    let latest = node.http().get("/example.org/greet.git/@latest")?;
    let info: serde_json::Value = serde_json::from_slice(&latest.body)
        .with_context(|| format!("@latest: {} {}", latest.status, latest.text()))?;
    ensure!(info["Version"] == "v1.0.0", "@latest: {info}");
    Ok(())
}

#[test]
fn b_builds_the_app_from_a_over_quic_only() -> Result<()> {
    a_then_b(&[Transport::Quic])?;
    Ok(())
}

/// A version whose zip no node can build: A (VCS) holds its `.mod` and `.info` only and signs
/// a `.mod`-only record. B (no VCS, trusts A) answers the `.mod` and `.info` with A's bytes,
/// filled from A once its own VCS failed, and 404s the zip with the reason.
#[test]
fn a_node_without_vcs_fills_a_mod_only_version_from_a_peer() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::too_new(&world)?;
    let a = PoolOptions::new(app::node_options(&world)).start()?;
    let base = "/example.org/toonew.git/@v/v1.0.0";
    let (a_mod, a_info) = (
        a.http().get(&format!("{base}.mod"))?,
        a.http().get(&format!("{base}.info"))?,
    );
    ensure!(a_mod.status == 200 && a_info.status == 200, "{}", a.log());
    ensure!(a.http().get(&format!("{base}.zip"))?.status == 404);

    let nothing = GitWorld::new()?;
    let b = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&a)?
        .trust(&a)
        .start()?;
    wait_until(LEARN_TIMEOUT, "B knows A's .mod-only record", || {
        b.has_record("example.org/toonew.git", "v1.0.0", a.signing_key())
    })?;
    let b_mod = b.http().get(&format!("{base}.mod"))?;
    ensure!(b_mod.status == 200, "{}: {}", b_mod.text(), b.log());
    assert_eq!(b_mod.body, a_mod.body);
    assert_eq!(b.http().get(&format!("{base}.info"))?.body, a_info.body);
    let zip = b.http().get(&format!("{base}.zip"))?;
    assert_eq!(zip.status, 404);
    assert!(
        zip.text().contains("vouches only for the .mod"),
        "{}",
        zip.text()
    );
    let fetch = &b.http().status()?["fetch"];
    assert_eq!(
        (fetch["peer_fills"].as_u64(), fetch["vcs_fills"].as_u64()),
        (Some(1), Some(0))
    );
    let records = b.records("example.org/toonew.git", "v1.0.0")?;
    let own = records
        .iter()
        .find(|r| r["signer"] == b.signing_key())
        .context("B signed no record of its fill")?;
    assert_eq!(own["source"]["kind"], "peer", "{own}");
    Ok(())
}
