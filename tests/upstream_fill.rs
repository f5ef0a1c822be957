//! Issue 19: fills from an upstream proxy over HTTP, without starting `go`. The upstream is a
//! GOPROXY file layout a real `go mod download` filled from the git fixtures, served by a test
//! server; the checksum database is the local test database, which the node reaches through
//! its relay. The node cannot reach any VCS, and its `go`-process counter proves it never
//! needed to.

use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::http::{ensure_never_served_whole, timed_get};
use crate::support::node::{NodeOptions, TestNode};
use crate::support::pool::wait_until;
use crate::support::shapes;
use crate::support::sumdb::TestSumdb;
use crate::support::upstream::{TestUpstream, UpstreamLayout, altered_zip};
use crate::warm_answers::{metrics, sample};

/// The test database's name (`.test` never resolves).
pub(crate) const NAME: &str = "sumdb.delos.test";

pub(crate) const HELLO: &str = "example.org/hello.git";

/// A node filling from `goproxy`, checking against `db` through its relay, reaching only the
/// VCS of `vcs`; HTTP(S) proxies point at a closed port, loopback is reached directly.
pub(crate) fn upstream_node(goproxy: &str, db: &TestSumdb, vcs: &GitWorld) -> Result<TestNode> {
    upstream_node_options(goproxy, db, vcs).start()
}

/// The options of an [`upstream_node`].
pub(crate) fn upstream_node_options(goproxy: &str, db: &TestSumdb, vcs: &GitWorld) -> NodeOptions {
    app::node_options(vcs)
        .env("NO_PROXY", "127.0.0.1")
        .args(["--upstream", goproxy, "--sumdb", &db.direct()])
        .gosumdb(db.verifier_key())
}

/// `go` with GOPROXY = the node only, verifying against `db` through the node.
pub(crate) fn client(world: &GitWorld, node: &TestNode, db: &TestSumdb) -> Result<GoEnv> {
    let mut go = GoEnv::new(world, &node.url())?;
    go.set_var("GOSUMDB", db.verifier_key());
    Ok(go)
}

pub(crate) fn fetch_stat(node: &TestNode, name: &str) -> Result<u64> {
    node.status()?["fetch"][name]
        .as_u64()
        .with_context(|| format!("no fetch.{name} in /status"))
}

/// `hello` at v1.0.0 and v1.1.0 in an upstream layout, and a database holding both.
pub(crate) fn hello_upstream(world: &GitWorld) -> Result<(UpstreamLayout, TestSumdb)> {
    shapes::hello(world)?;
    let layout = UpstreamLayout::fill(
        world,
        &[&format!("{HELLO}@v1.0.0"), &format!("{HELLO}@v1.1.0")],
    )?;
    let db = TestSumdb::start(NAME, layout.records()?)?;
    Ok((layout, db))
}

#[test]
fn every_fixture_shape_fills_over_http_with_the_sums_of_a_direct_download() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let m = |repo: &str| GitWorld::module_path(repo);
    let queries: Vec<String> = [
        (m("hello"), "v1.0.0"),
        (m("hello"), "v1.1.0"),
        (m("MixedCase"), "v1.0.0-RC1"),
        (m("MixedCase"), "v1.0.0"),
        (m("multi"), "v1.5.0"),
        (format!("{}/v2", m("multi")), "v2.0.0"),
        (m("legacy"), "v3.0.0"),
        (m("pseudo"), "main"),
        (m("mono"), "v1.0.0"),
        (format!("{}/sub", m("mono")), "v1.0.0"),
        (m("retract"), "v1.2.0"),
        (m("dirs"), "v1.0.0"),
        (m("greet"), "v1.0.0"),
        (m("big"), "v1.0.0"),
    ]
    .iter()
    .map(|(module, query)| format!("{module}@{query}"))
    .collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let layout = UpstreamLayout::fill(&world, &queries)?;
    let db = TestSumdb::start(NAME, layout.records()?)?;
    let upstream = TestUpstream::serve(&layout)?;
    let no_vcs = GitWorld::new()?;
    let node = upstream_node(&upstream.url(), &db, &no_vcs)?;

    let canonical: Vec<String> = layout
        .downloads()
        .iter()
        .map(|d| format!("{}@{}", d.path, d.version))
        .collect();
    let canonical: Vec<&str> = canonical.iter().map(String::as_str).collect();
    let go = client(&world, &node, &db)?;
    let through_node = go.mod_download(&canonical)?;
    for direct in layout.downloads() {
        let got = through_node
            .ok(&direct.path, &direct.version)
            .with_context(|| node.log())?;
        ensure!(
            (&got.sum, &got.go_mod_sum) == (&direct.sum, &direct.go_mod_sum),
            "{}@{}: {:?} {:?} through the node, {:?} {:?} direct",
            direct.path,
            direct.version,
            got.sum,
            got.go_mod_sum,
            direct.sum,
            direct.go_mod_sum
        );
    }
    assert_eq!(node.go_processes_started()?, 0, "{}", node.log());
    // A zip's last byte leaves once it is verified; its pin may follow a moment later.
    wait_until(Duration::from_secs(30), "every fill pinned", || {
        Ok(fetch_stat(&node, "upstream_fills")? == canonical.len() as u64)
    })?;
    let provenance = node.get(&format!("/provenance/{HELLO}/@v/v1.0.0"))?;
    let provenance: serde_json::Value = serde_json::from_slice(&provenance.body)?;
    let own = provenance["records"]
        .as_array()
        .and_then(|records| records.iter().find(|r| r["own"] == true))
        .context("no own record")?;
    ensure!(own["source"]["kind"] == "upstream", "{own}");
    ensure!(
        db.requests().iter().any(|p| p.starts_with("/lookup/")),
        "the node checked against the database: {:?}",
        db.requests()
    );
    Ok(())
}

#[test]
fn a_tampered_zip_or_mod_on_the_upstream_is_never_pinned_or_served() -> Result<()> {
    let world = GitWorld::new()?;
    let (layout, db) = hello_upstream(&world)?;
    let upstream = TestUpstream::serve(&layout)?;
    let no_vcs = GitWorld::new()?;
    let node = upstream_node(&upstream.url(), &db, &no_vcs)?;
    let zip_path = format!("/{HELLO}/@v/v1.0.0.zip");
    let mod_path = format!("/{HELLO}/@v/v1.1.0.mod");
    upstream.tamper(&zip_path, Some(altered_zip(&layout.file(&zip_path)?)?));
    let mut go_mod = layout.file(&mod_path)?;
    go_mod.extend_from_slice(b"// tampered\n");
    upstream.tamper(&mod_path, Some(go_mod));

    let go = client(&world, &node, &db)?;
    for version in ["v1.0.0", "v1.1.0"] {
        // A zip may start streaming before its check fails; then it is cut off.
        let zip_path = format!("/{HELLO}/@v/{version}.zip");
        ensure_never_served_whole(node.addr(), &zip_path, &format!("the {version} zip"))?;
        let info = node.get(&format!("/{HELLO}/@v/{version}.info"))?;
        assert_eq!(info.status, 502, "{version}: {}", info.text());
        ensure!(info.text().contains("checksum database"), "{}", info.text());
        let failed = go.mod_download(&[&format!("{HELLO}@{version}")])?;
        ensure!(
            failed.get(HELLO, version)?.error.is_some(),
            "{version} was served"
        );
    }
    assert_eq!(fetch_stat(&node, "upstream_fills")?, 0);
    ensure!(fetch_stat(&node, "upstream_mismatches")? >= 2);
    let pinned = node.get(&format!("/provenance/{HELLO}/@v/v1.0.0"))?;
    assert_eq!(pinned.status, 404, "nothing pinned: {}", pinned.text());

    // Honest again: the next request fills (nothing wrong was kept), with the direct sums.
    upstream.tamper(&zip_path, None);
    upstream.tamper(&mod_path, None);
    let fresh = client(&world, &node, &db)?;
    let got = fresh.mod_download(&[&format!("{HELLO}@v1.0.0"), &format!("{HELLO}@v1.1.0")])?;
    for direct in layout.downloads() {
        let through = got.ok(HELLO, &direct.version)?;
        assert_eq!(through.sum, direct.sum);
    }
    assert_eq!(node.go_processes_started()?, 0);
    Ok(())
}

/// While a fill asks the checksum database, the `.info` is answered (the database vouches for
/// nothing in it) and the `.mod` waits for the proof: with the database answering only after
/// [`SLOW_DB`], the `.info` comes well before it and the `.mod` not before it.
#[test]
fn the_info_does_not_wait_for_the_checksum_database_and_the_mod_does() -> Result<()> {
    const SLOW_DB: Duration = Duration::from_secs(3);
    let world = GitWorld::new()?;
    let (layout, db) = hello_upstream(&world)?;
    let upstream = TestUpstream::serve(&layout)?;
    let no_vcs = GitWorld::new()?;
    let node = upstream_node(&upstream.url(), &db, &no_vcs)?;
    db.set_delay(SLOW_DB);
    let base = format!("/{HELLO}/@v/v1.0.0");

    let started = std::time::Instant::now();
    let go_mod = std::thread::scope(|scope| {
        let go_mod = scope.spawn(|| {
            let got = node.get(&format!("{base}.mod"));
            (got, started.elapsed())
        });
        let info = node.get(&format!("{base}.info"))?;
        let info_took = started.elapsed();
        assert_eq!(info.status, 200, "{}", info.text());
        assert_eq!(info.body, layout.file(&format!("{base}.info"))?);
        ensure!(
            info_took < SLOW_DB / 2,
            ".info took {info_took:?}: it waited for the database"
        );
        go_mod
            .join()
            .map_err(|_| anyhow::anyhow!("the .mod request panicked"))
    })?;
    let (go_mod, mod_took) = go_mod;
    let go_mod = go_mod?;
    assert_eq!(go_mod.status, 200, "{}", go_mod.text());
    assert_eq!(go_mod.body, layout.file(&format!("{base}.mod"))?);
    ensure!(
        mod_took >= SLOW_DB,
        ".mod took {mod_took:?}: it was answered before the database proved it"
    );
    db.set_delay(Duration::ZERO);
    // The fill goes on to pin the version, whose answers come from the store from then on.
    let client = client(&world, &node, &db)?;
    let got = client.mod_download(&[&format!("{HELLO}@v1.0.0")])?;
    let direct = layout.downloads().first().context("no download")?;
    assert_eq!(got.ok(HELLO, "v1.0.0")?.sum, direct.sum);
    Ok(())
}

#[test]
fn with_the_checksum_database_off_the_info_waits_for_the_pin() -> Result<()> {
    // Four 64 KiB pieces at 64 KiB/s: the zip's last piece leaves three seconds after its first.
    const ZIP_BYTES: usize = 256 << 10;
    const RATE: u64 = 64 << 10;
    const ZIP_TAKES: Duration = Duration::from_secs(3);
    let world = GitWorld::new()?;
    app::random_module(&world, "slow", ZIP_BYTES)?;
    let layout = UpstreamLayout::fill(&world, &["example.org/slow.git@v1.0.0"])?;
    let upstream = TestUpstream::serve(&layout)?;
    upstream.set_zip_rate(Some(RATE));
    let no_vcs = GitWorld::new()?;
    // `--gosumdb off`: nothing but the node's own checks stands behind the version.
    let node = app::node_options(&no_vcs)
        .env("NO_PROXY", "127.0.0.1")
        .args(["--upstream", &upstream.url()])
        .start()?;
    let base = "/example.org/slow.git/@v/v1.0.0";

    let info = timed_get(node.addr(), &format!("{base}.info"))?;
    assert_eq!(info.status, 200);
    assert_eq!(info.body, layout.file(&format!("{base}.info"))?);
    ensure!(
        info.total >= ZIP_TAKES,
        ".info took {:?}: it was answered before the zip was in and checked",
        info.total
    );
    // The version was pinned before the .info went out: its zip comes from the store.
    let zip = timed_get(node.addr(), &format!("{base}.zip"))?;
    assert_eq!(zip.status, 200);
    assert_eq!(zip.body, layout.file(&format!("{base}.zip"))?);
    ensure!(
        zip.total < ZIP_TAKES / 3,
        "the zip took {:?}: it was not in the store",
        zip.total
    );
    let zips = upstream
        .requests()
        .iter()
        .filter(|path| path.ends_with(".zip"))
        .count();
    assert_eq!(zips, 1, "the zip was fetched once");
    Ok(())
}

#[test]
fn a_zip_just_filled_is_served_from_the_fills_own_map_and_checked_again_after_a_restart()
-> Result<()> {
    let world = GitWorld::new()?;
    let (layout, db) = hello_upstream(&world)?;
    let upstream = TestUpstream::serve(&layout)?;
    let no_vcs = GitWorld::new()?;
    let node = upstream_node(&upstream.url(), &db, &no_vcs)?;
    let base = format!("/{HELLO}/@v/v1.0.0");
    let (by_fills, mapped) = (
        "delos_http_zips_mapped_by_fills_total",
        "delos_http_zips_mapped_total",
    );
    // As `go` does: the `.info` starts the fill, the zip is asked for once it is pinned.
    let info = node.get(&format!("{base}.info"))?;
    assert_eq!(info.status, 200, "{}", info.text());
    wait_until(
        Duration::from_secs(30),
        "the fill handed its zip over",
        || Ok(sample(&metrics(&node)?, by_fills)? == 1.0),
    )?;
    let want = layout.file(&format!("{base}.zip"))?;
    for _ in 0..2 {
        let zip = node.get(&format!("{base}.zip"))?;
        assert_eq!(zip.status, 200, "{}", zip.text());
        assert_eq!(zip.body, want);
    }
    let after = metrics(&node)?;
    ensure!(
        sample(&after, mapped)? == 0.0,
        "the zip the fill had just written and hashed was mapped and hashed again"
    );
    // Stored before this process started: mapped from the store and checked when first asked.
    let node = node.restart()?;
    let zip = node.get(&format!("{base}.zip"))?;
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(zip.body, want);
    let restarted = metrics(&node)?;
    ensure!(
        sample(&restarted, by_fills)? == 0.0 && sample(&restarted, mapped)? == 1.0,
        "after the restart the stored zip was not mapped from the store and checked"
    );
    Ok(())
}

#[test]
fn the_goproxy_list_rules_hold_for_404_410_and_500() -> Result<()> {
    let world = GitWorld::new()?;
    let (layout, db) = hello_upstream(&world)?;
    let failing = TestUpstream::serve(&layout)?;
    let honest = TestUpstream::serve(&layout)?;
    let query = format!("{HELLO}@v1.0.0");
    let info = format!("/{HELLO}/@v/v1.0.0.info");
    // (status of the first proxy, separator, whether the second is reached)
    for (status, separator, falls_through) in [
        (404, ",", true),
        (410, ",", true),
        (500, ",", false),
        (500, "|", true),
    ] {
        failing.fail_with(Some(status));
        let before = honest.requests().len();
        let list = format!("{}{separator}{}", failing.url(), honest.url());
        let node = upstream_node(&list, &db, &world)?;
        let go = client(&world, &node, &db)?;
        let got = go.mod_download(&[&query])?;
        let outcome = got.get(HELLO, "v1.0.0")?;
        ensure!(
            outcome.error.is_none() == falls_through,
            "{status}{separator}: {:?}\n{}",
            outcome.error,
            node.log()
        );
        let reached = honest.requests().len() > before;
        ensure!(
            reached == falls_through,
            "{status}{separator}: second proxy asked: {reached}"
        );
        if !falls_through {
            ensure!(
                outcome.error.as_deref().is_some_and(|e| e.contains("502")),
                "{:?}",
                outcome.error
            );
        }
        assert_eq!(node.go_processes_started()?, 0, "{status}{separator}");
    }
    // A 5xx is asked once more before it counts; a 404 or 410 is not.
    let asked = failing.requests().iter().filter(|p| **p == info).count();
    assert_eq!(asked, 1 + 1 + 2 + 2, "the .info asked of the failing proxy");

    // `off` stops with go's own words; `direct` hands the rest to `go mod download`.
    failing.fail_with(Some(404));
    let off = upstream_node(&format!("{},off", failing.url()), &db, &world)?;
    let refused = off.get(&info)?;
    assert_eq!(refused.status, 404);
    ensure!(refused.text().contains("GOPROXY=off"), "{}", refused.text());
    let direct = upstream_node(&format!("{},direct", failing.url()), &db, &world)?;
    client(&world, &direct, &db)?
        .mod_download(&[&query])?
        .ok(HELLO, "v1.0.0")?;
    ensure!(direct.go_processes_started()? >= 1);
    assert_eq!(fetch_stat(&direct, "vcs_fills")?, 1);
    Ok(())
}
