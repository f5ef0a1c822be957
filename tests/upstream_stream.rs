//! Issue 19: a zip filled from an upstream proxy reaches every client waiting for it while it
//! arrives, from one download; one that fails its check is cut off, never delivered whole,
//! and a client that received none of it yet gets the fill's 502 with the reason.

use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::http::{TimedResponse, ensure_never_served_whole, timed_get};
use crate::support::node::TestNode;
use crate::support::pool::wait_until;
use crate::support::shapes;
use crate::support::sumdb::TestSumdb;
use crate::support::upstream::{TestUpstream, UpstreamLayout, altered_zip};
use crate::upstream_fill::{NAME, client, upstream_node};

const BIG: &str = "example.org/big.git";
/// The upstream's zip rate: `big`'s ~10 MiB zip takes about 2.5 s.
const RATE: u64 = 4 << 20;

struct Setup {
    world: GitWorld,
    layout: UpstreamLayout,
    db: TestSumdb,
    upstream: TestUpstream,
    zip_path: String,
}

/// `big` (and `hello`, so the database has two records) behind a slow upstream.
fn slow_big_upstream() -> Result<Setup> {
    let world = GitWorld::new()?;
    app::big(&world)?;
    shapes::hello(&world)?;
    let layout = UpstreamLayout::fill(
        &world,
        &[&format!("{BIG}@v1.0.0"), "example.org/hello.git@v1.0.0"],
    )?;
    let db = TestSumdb::start(NAME, layout.records()?)?;
    let upstream = TestUpstream::serve(&layout)?;
    upstream.set_zip_rate(Some(RATE));
    Ok(Setup {
        world,
        layout,
        db,
        upstream,
        zip_path: format!("/{BIG}/@v/v1.0.0.zip"),
    })
}

impl Setup {
    /// How many times the upstream was asked for the zip.
    fn zip_downloads(&self) -> usize {
        let requests = self.upstream.requests();
        requests.iter().filter(|p| **p == self.zip_path).count()
    }

    /// Makes the upstream serve an altered zip (the checksum database still names the real
    /// one) and starts a node in front of it; the altered bytes.
    fn tampered_node(&self) -> Result<(TestNode, Vec<u8>)> {
        let tampered = altered_zip(&self.layout.file(&self.zip_path)?)?;
        self.upstream.tamper(&self.zip_path, Some(tampered.clone()));
        let node = upstream_node(&self.upstream.url(), &self.db, &GitWorld::new()?)?;
        Ok((node, tampered))
    }
}

/// `count` clients asking `node` for `path` at once.
fn concurrent_gets(node: &TestNode, path: &str, count: usize) -> Result<Vec<TimedResponse>> {
    let addr = node.addr();
    let clients: Vec<_> = (0..count)
        .map(|_| {
            let path = path.to_owned();
            std::thread::spawn(move || timed_get(addr, &path))
        })
        .collect();
    clients
        .into_iter()
        .map(|client| {
            client
                .join()
                .map_err(|_| anyhow::anyhow!("client panicked"))?
        })
        .collect()
}

#[test]
fn concurrent_clients_receive_the_zip_as_it_arrives_from_one_download() -> Result<()> {
    let s = slow_big_upstream()?;
    let node = upstream_node(&s.upstream.url(), &s.db, &GitWorld::new()?)?;
    let want = s.layout.file(&s.zip_path)?;
    let responses = concurrent_gets(&node, &s.zip_path, 3)?;
    for got in &responses {
        assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
        ensure!(
            got.complete && got.body == want,
            "a client got {} of {} bytes",
            got.body.len(),
            want.len()
        );
        ensure!(
            got.total >= Duration::from_secs(2) && got.first_byte < got.total / 2,
            "streamed: first byte after {:?}, all after {:?}",
            got.first_byte,
            got.total
        );
    }
    assert_eq!(s.zip_downloads(), 1, "one download served every client");
    let stored = node.get(&s.zip_path)?;
    assert_eq!(stored.status, 200);
    ensure!(stored.body == want, "the store serves the same bytes");
    assert_eq!(node.go_processes_started()?, 0);
    Ok(())
}

#[test]
fn a_zip_that_fails_its_check_is_cut_off_and_never_pinned() -> Result<()> {
    let s = slow_big_upstream()?;
    let (node, tampered) = s.tampered_node()?;
    for got in concurrent_gets(&node, &s.zip_path, 2)? {
        // Each client was streaming the zip as it arrived, and was cut off before its end.
        assert_eq!(got.status, 200);
        ensure!(
            !got.complete && !got.body.is_empty() && got.body.len() < tampered.len(),
            "a client received {} of {} bytes, complete: {}",
            got.body.len(),
            tampered.len(),
            got.complete
        );
    }
    let status = node.status()?;
    ensure!(
        status["fetch"]["upstream_mismatches"].as_u64() >= Some(1),
        "{status}"
    );
    assert_eq!(status["fetch"]["upstream_fills"], 0);
    let pinned = node.get(&format!("/provenance/{BIG}/@v/v1.0.0"))?;
    assert_eq!(pinned.status, 404, "{}", pinned.text());
    let go = client(&s.world, &node, &s.db)?;
    let failed = go.mod_download(&[&format!("{BIG}@v1.0.0")])?;
    failed
        .get(BIG, "v1.0.0")?
        .error
        .as_ref()
        .context("go downloaded the tampered zip")?;
    Ok(())
}

#[test]
fn the_info_and_mod_are_answered_while_the_zip_still_arrives() -> Result<()> {
    let s = slow_big_upstream()?;
    let node = upstream_node(&s.upstream.url(), &s.db, &GitWorld::new()?)?;
    // `go` asks for the `.info` and `.mod` before the zip: once the checksum database proved
    // the `.mod`, neither waits for the zip's ~2.5 s.
    for file in ["info", "mod"] {
        let path = format!("/{BIG}/@v/v1.0.0.{file}");
        let started = std::time::Instant::now();
        let early = node.get(&path)?;
        let took = started.elapsed();
        assert_eq!(early.status, 200, "{}", early.text());
        ensure!(
            early.body == s.layout.file(&path)?,
            "{path}: {}",
            early.text()
        );
        ensure!(
            took < Duration::from_millis(1250),
            "{path} waited {took:?} for the zip"
        );
        assert_eq!(
            early.header("cache-control"),
            Some("no-store"),
            "{path}: not pinned yet, so no cache keeps it"
        );
    }
    // The fill goes on without the client: one download, pinned, then served from the store.
    let zip = node.get(&s.zip_path)?;
    assert_eq!(zip.status, 200);
    ensure!(zip.body == s.layout.file(&s.zip_path)?, "the zip");
    // The zip's last byte left once it was verified; the pin may follow a moment later.
    wait_until(Duration::from_secs(30), "the version pinned", || {
        Ok(node.status()?["fetch"]["upstream_fills"] == 1)
    })?;
    let pinned = node.get(&format!("/{BIG}/@v/v1.0.0.info"))?;
    assert_eq!(
        pinned.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(s.zip_downloads(), 1, "one download");
    assert_eq!(node.status()?["fetch"]["upstream_fills"], 1);
    assert_eq!(node.go_processes_started()?, 0);
    Ok(())
}

#[test]
fn metadata_answered_early_is_not_kept_when_the_zip_fails() -> Result<()> {
    let s = slow_big_upstream()?;
    let (node, _) = s.tampered_node()?;
    let info_path = format!("/{BIG}/@v/v1.0.0.info");
    // The `.mod` is the one the database names, so the `.info` is answered while the zip
    // arrives; the zip then fails its check.
    let early = node.get(&info_path)?;
    assert_eq!(early.status, 200, "{}", early.text());
    ensure_never_served_whole(node.addr(), &s.zip_path, "the tampered zip")?;
    // Nothing of that fill is pinned, and a version that just failed a check is answered only
    // after a whole fill: the `.info` is no longer served.
    let pinned = node.get(&format!("/provenance/{BIG}/@v/v1.0.0"))?;
    assert_eq!(pinned.status, 404, "{}", pinned.text());
    let after = node.get(&info_path)?;
    assert_eq!(after.status, 502, "{}", after.text());
    Ok(())
}

#[test]
fn a_zip_cut_before_its_first_byte_is_answered_as_a_failed_fill_then_filled_whole() -> Result<()> {
    let s = slow_big_upstream()?;
    s.upstream.cut_after_head(&s.zip_path, true);
    let node = upstream_node(&s.upstream.url(), &s.db, &GitWorld::new()?)?;
    // The upstream promised the zip, then closed before its first byte: the client received
    // nothing of it, so it gets the failed fill's status and reason, not a `200` cut short.
    let cut = timed_get(node.addr(), &s.zip_path)?;
    let reason = String::from_utf8_lossy(&cut.body).into_owned();
    assert_eq!(cut.status, 502, "{reason}");
    ensure!(cut.complete, "the 502 arrived whole: {reason}");
    ensure!(
        reason.contains(BIG) && reason.contains(&s.upstream.url()),
        "the reason names the module and the upstream: {reason}"
    );
    let pinned = node.get(&format!("/provenance/{BIG}/@v/v1.0.0"))?;
    assert_eq!(pinned.status, 404, "{}", pinned.text());
    assert_eq!(node.status()?["fetch"]["upstream_fills"], 0);
    // Nothing of the failed fill stays in the way: once the upstream serves the zip whole,
    // the next request fills it.
    s.upstream.cut_after_head(&s.zip_path, false);
    let whole = timed_get(node.addr(), &s.zip_path)?;
    assert_eq!(
        whole.status,
        200,
        "{}",
        String::from_utf8_lossy(&whole.body)
    );
    ensure!(
        whole.complete && whole.body == s.layout.file(&s.zip_path)?,
        "the zip, whole"
    );
    wait_until(Duration::from_secs(30), "the version pinned", || {
        Ok(node.status()?["fetch"]["upstream_fills"] == 1)
    })?;
    assert_eq!(node.go_processes_started()?, 0);
    Ok(())
}

#[test]
fn a_zip_that_fails_its_check_before_a_first_byte_is_answered_502_with_the_reason() -> Result<()> {
    let s = slow_big_upstream()?;
    // One byte: all of it is held back until the check, which it fails.
    s.upstream.tamper(&s.zip_path, Some(b"x".to_vec()));
    let node = upstream_node(&s.upstream.url(), &s.db, &GitWorld::new()?)?;
    let failed = timed_get(node.addr(), &s.zip_path)?;
    let reason = String::from_utf8_lossy(&failed.body).into_owned();
    assert_eq!(failed.status, 502, "{reason}");
    ensure!(failed.complete, "the 502 arrived whole: {reason}");
    ensure!(
        reason.contains(BIG)
            && reason.contains(&s.upstream.url())
            && reason.contains("invalid module zip"),
        "the reason names the module, the upstream and the failed check: {reason}"
    );
    let status = node.status()?;
    assert_eq!(status["fetch"]["upstream_fills"], 0, "{status}");
    let pinned = node.get(&format!("/provenance/{BIG}/@v/v1.0.0"))?;
    assert_eq!(pinned.status, 404, "{}", pinned.text());
    Ok(())
}
