//! Issue 19: `list`, `@latest` and version queries answered from an upstream proxy over HTTP,
//! cached, and served stale at once, positive or negative, while one refresh runs behind them.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::node::TestNode;
use crate::support::pool::wait_until;
use crate::support::shapes;
use crate::support::sumdb::TestSumdb;
use crate::support::upstream::{TestUpstream, UpstreamLayout};
use crate::upstream_fill::{NAME, client, upstream_node};

const HELLO: &str = "example.org/hello.git";

#[test]
fn the_app_tidies_and_builds_through_the_node_with_the_go_sum_of_a_direct_build() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let direct_app = app::write_app()?;
    let layout = UpstreamLayout::tidy(&world, direct_app.path())?;
    let db = TestSumdb::start(NAME, layout.records()?)?;
    let upstream = TestUpstream::serve(&layout)?;
    let node = upstream_node(&upstream.url(), &db, &GitWorld::new()?)?;

    let through_node = app::write_app()?;
    let go = client(&world, &node, &db)?;
    go.run_in(through_node.path(), &["mod", "tidy"])?;
    go.run_in(through_node.path(), &["build", "./..."])?;
    let direct_sum = std::fs::read_to_string(direct_app.path().join("go.sum"))?;
    let node_sum = std::fs::read_to_string(through_node.path().join("go.sum"))?;
    assert_eq!(node_sum, direct_sum, "go.sum through the node and direct");
    assert_eq!(node.go_processes_started()?, 0, "{}", node.log());
    ensure!(
        upstream.requests().iter().any(|p| p.ends_with("/@v/list")),
        "lists came from the upstream: {:?}",
        upstream.requests()
    );
    Ok(())
}

/// `GET path` on `node`, timed.
fn timed_get(node: &TestNode, path: &str) -> Result<(u16, String, Duration)> {
    let started = Instant::now();
    let response = node.get(path)?;
    Ok((response.status, response.text(), started.elapsed()))
}

#[test]
fn aged_answers_positive_and_negative_are_served_at_once_while_one_refresh_runs() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let layout = UpstreamLayout::fill(
        &world,
        &[&format!("{HELLO}@v1.0.0"), &format!("{HELLO}@v1.1.0")],
    )?;
    let db = TestSumdb::start(NAME, layout.records()?)?;
    let upstream = TestUpstream::serve(&layout)?;
    let node = app::node_options(&GitWorld::new()?)
        .env("NO_PROXY", "127.0.0.1")
        .args([
            "--upstream",
            &upstream.url(),
            "--sumdb",
            &db.direct(),
            "--list-ttl",
            "1s",
        ])
        .gosumdb(db.verifier_key())
        .start()?;
    let list = format!("/{HELLO}/@v/list");
    let prefix = "/example.org/@v/list";
    let (status, body, _) = timed_get(&node, &list)?;
    assert_eq!((status, body.as_str()), (200, "v1.0.0\nv1.1.0\n"));
    assert_eq!(timed_get(&node, prefix)?.0, 404);
    let latest = node.get(&format!("/{HELLO}/@latest"))?;
    assert_eq!(latest.status, 200, "{}", latest.text());
    ensure!(latest.text().contains("v1.1.0"), "{}", latest.text());

    // Aged, with a slow upstream that now lists one more version.
    std::thread::sleep(Duration::from_millis(1500));
    let delay = Duration::from_secs(3);
    upstream.set_delay(delay);
    upstream.tamper(&list, Some(b"v1.0.0\nv1.1.0\nv1.2.0\n".to_vec()));
    let asked_before = upstream.requests().len();
    let (status, body, took) = timed_get(&node, &list)?;
    assert_eq!(
        (status, body.as_str()),
        (200, "v1.0.0\nv1.1.0\n"),
        "the stale list"
    );
    ensure!(took < delay / 2, "the stale list waited {took:?}");
    let (status, _, took) = timed_get(&node, prefix)?;
    assert_eq!(status, 404, "the stale 404");
    ensure!(took < delay / 2, "the stale 404 waited {took:?}");
    wait_until(Duration::from_secs(2), "both refreshes asked", || {
        let asked = upstream.requests();
        let after = &asked[asked_before..];
        Ok(after.contains(&list) && after.iter().any(|p| p == prefix))
    })?;
    // A second request while the refresh runs does not ask again.
    timed_get(&node, &list)?;
    let refreshes = upstream.requests()[asked_before..]
        .iter()
        .filter(|p| **p == list)
        .count();
    assert_eq!(refreshes, 1, "one refresh at a time");
    wait_until(Duration::from_secs(10), "the refreshed list served", || {
        Ok(node.get(&list)?.text() == "v1.0.0\nv1.1.0\nv1.2.0\n")
    })?;
    assert_eq!(node.go_processes_started()?, 0);
    Ok(())
}
