//! The quorum rule end to end (issue 7, "done when"): a node that trusts no signer but asks for
//! a quorum of 2 takes a module version from peers only once two distinct signers agree on its
//! hashes. With one signer it falls back to the VCS, or answers "not found" when it has none.
//!
//! A signer may be trusted by its PeerId as well as by its signing key: B, without VCS access,
//! trusts A only through `--trusted-signer <A's PeerId>` and fills from A.
//!
//! A1 and A2 reach the git repositories. A1 fills hello v1.0.0 alone; both fill v1.1.0. Q (no
//! VCS, quorum 2) serves v1.1.0 from peers with the bytes `go` gets directly and refuses
//! v1.0.0; R (VCS, quorum 2) fills v1.0.0 from the VCS although A1 holds it.

use std::fs;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};
use crate::support::shapes;

const HELLO: &str = "example.org/hello.git";

/// How long a node may take to learn a record (gossip or sync).
const LEARN_TIMEOUT: Duration = Duration::from_secs(30);

/// Downloads `hello@version` through `node` with `go` (filling it there).
fn fill(world: &GitWorld, node: &PoolNode, version: &str) -> Result<()> {
    let go = GoEnv::new(world, &node.url())?;
    let got = go.mod_download(&[&format!("{HELLO}@{version}")])?;
    got.ok(HELLO, version).with_context(|| node.log())?;
    Ok(())
}

/// Waits until `node` knows `signer`'s record of `hello@version`.
fn wait_for_record(node: &PoolNode, version: &str, signer: &str) -> Result<()> {
    let what = format!("a record of {HELLO}@{version} by {signer}");
    wait_until(LEARN_TIMEOUT, &what, || {
        node.has_record(HELLO, version, signer)
    })
    .with_context(|| node.log())?;
    Ok(())
}

/// The source kind (`vcs`, `peer`, …) of `node`'s own record of `hello@version`.
fn own_source(node: &PoolNode, version: &str) -> Result<String> {
    let records = node.records(HELLO, version)?;
    let own = records
        .iter()
        .find(|r| r["signer"] == node.signing_key())
        .with_context(|| format!("no own record of {version}: {records:?}"))?;
    ensure!(own["agrees_with_pinned"] == true, "{own}");
    Ok(own["source"]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[test]
fn quorum_two_needs_two_agreeing_signers_before_taking_peer_bytes() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let direct = GoEnv::new(&world, "direct")?;
    let expected = direct.mod_download(&[&format!("{HELLO}@v1.1.0")])?;
    let expected_zip = fs::read(
        expected
            .ok(HELLO, "v1.1.0")?
            .zip
            .as_ref()
            .context("no zip from go")?,
    )?;

    let a1 = PoolOptions::new(app::node_options(&world)).start()?;
    let a2 = PoolOptions::new(app::node_options(&world))
        .bootstrap(&a1)?
        .start()?;
    fill(&world, &a1, "v1.0.0")?;
    fill(&world, &a1, "v1.1.0")?;
    fill(&world, &a2, "v1.1.0")?;

    let nothing = GitWorld::new()?;
    let q = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&a1)?
        .quorum(2)
        .start()?;
    for (version, signer) in [
        ("v1.0.0", a1.signing_key()),
        ("v1.1.0", a1.signing_key()),
        ("v1.1.0", a2.signing_key()),
    ] {
        wait_for_record(&q, version, signer)?;
    }
    let agreed = q.http().get("/example.org/hello.git/@v/v1.1.0.zip")?;
    ensure!(agreed.status == 200, "{}\n{}", agreed.text(), q.log());
    ensure!(agreed.body == expected_zip, "the zip differs from go's");
    ensure!(own_source(&q, "v1.1.0")? == "peer");
    let alone = q.http().get("/example.org/hello.git/@v/v1.0.0.zip")?;
    ensure!(
        alone.status == 404 || alone.status == 410,
        "one signer must not be enough: {} {}",
        alone.status,
        alone.text()
    );
    ensure!(q.records(HELLO, "v1.0.0")?.len() == 1, "nothing stored");

    let r = PoolOptions::new(app::node_options(&world))
        .bootstrap(&a1)?
        .quorum(2)
        .start()?;
    wait_for_record(&r, "v1.0.0", a1.signing_key())?;
    let started = r.http().go_processes_started()?;
    fill(&world, &r, "v1.0.0")?;
    ensure!(r.http().go_processes_started()? > started, "no VCS fill");
    ensure!(own_source(&r, "v1.0.0")? == "vcs");
    Ok(())
}

#[test]
fn a_signer_trusted_by_its_peer_id_fills_a_node_without_vcs() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let a = PoolOptions::new(app::node_options(&world)).start()?;
    fill(&world, &a, "v1.1.0")?;
    let expected_zip = a.http().get("/example.org/hello.git/@v/v1.1.0.zip")?;
    ensure!(expected_zip.status == 200, "{}", expected_zip.text());

    let nothing = GitWorld::new()?;
    let b = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&a)?
        .arg("--trusted-signer")
        .arg(a.peer_id())
        .start()?;
    wait_for_record(&b, "v1.1.0", a.signing_key())?;
    // One signer and the default quorum of 2: only the trust given by PeerId lets B fill.
    let zip = b.http().get("/example.org/hello.git/@v/v1.1.0.zip")?;
    ensure!(zip.status == 200, "{}\n{}", zip.text(), b.log());
    ensure!(zip.body == expected_zip.body, "B serves other bytes than A");
    ensure!(own_source(&b, "v1.1.0")? == "peer");
    ensure!(b.http().go_processes_started()? == 0, "B used no VCS");
    Ok(())
}
