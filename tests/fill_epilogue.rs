//! Every fill ends in one epilogue (issue 14): a VCS fill on A and a peer fill on B each leave
//! exactly one signed record of the node's own, naming the right source, one announcement, and
//! one step of the fills-by-source counter, as `/status`, `/metrics` and `/provenance` show
//! after real fills by the real `go`. A second request is a store hit and moves none of them.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::pool_gossip_metrics::parse_prometheus_text;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::pool::{PoolNode, member_and_one_trusting_it, wait_until};
use crate::support::shapes;

const MODULE: &str = "example.org/hello.git";
const VERSION: &str = "v1.0.0";

/// What the epilogue of one node counted and signed.
#[derive(Debug, PartialEq, Eq)]
struct Epilogue {
    vcs_fills: u64,
    peer_fills: u64,
    /// `delos_fetch_fills_total{source="vcs"}` and `{source="peer"}` in `/metrics`.
    metric_vcs: u64,
    metric_peer: u64,
    announced: u64,
    published: u64,
    /// The `source.kind` of each of the node's own records of the version.
    own_sources: Vec<String>,
}

/// What one fill from `source` (`vcs` or `peer`) leaves: one count under that source, one
/// announcement (one gossip message), one own record naming that source.
fn one_fill_from(source: &str) -> Epilogue {
    let vcs = u64::from(source == "vcs");
    Epilogue {
        vcs_fills: vcs,
        peer_fills: 1 - vcs,
        metric_vcs: vcs,
        metric_peer: 1 - vcs,
        announced: 1,
        published: 1,
        own_sources: vec![source.to_owned()],
    }
}

fn epilogue(node: &PoolNode) -> Result<Epilogue> {
    let status = node.http().status()?;
    let fetch = &status["fetch"];
    let text = node.http().get("/metrics")?.text();
    let samples: HashMap<String, f64> = parse_prometheus_text(&text)?;
    let metric = |source: &str| {
        samples
            .get(&format!("delos_fetch_fills_total{{source=\"{source}\"}}"))
            .map(|v| *v as u64)
            .with_context(|| format!("no fills_total for {source}:\n{text}"))
    };
    let own_sources = node
        .records(MODULE, VERSION)?
        .iter()
        .filter(|record| record["own"] == true)
        .map(|record| record["source"]["kind"].as_str().unwrap_or("?").to_owned())
        .collect();
    Ok(Epilogue {
        vcs_fills: fetch["vcs_fills"].as_u64().context("fetch.vcs_fills")?,
        peer_fills: fetch["peer_fills"].as_u64().context("fetch.peer_fills")?,
        metric_vcs: metric("vcs")?,
        metric_peer: metric("peer")?,
        announced: node.pool_stat("records_announced")?,
        published: node.pool_stat("gossip_messages_published")?,
        own_sources,
    })
}

fn download(world: &GitWorld, node: &PoolNode) -> Result<()> {
    let go = GoEnv::new(world, &node.url())?;
    go.mod_download(&[&format!("{MODULE}@{VERSION}")])?
        .ok(MODULE, VERSION)
        .with_context(|| node.log())?;
    Ok(())
}

#[test]
fn a_vcs_fill_and_a_peer_fill_each_sign_announce_and_count_once() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let nothing = GitWorld::new()?;
    let (a, b) = member_and_one_trusting_it(&world, &nothing)?;

    download(&world, &a)?;
    wait_until(Duration::from_secs(10), "B received A's record", || {
        b.has_record(MODULE, VERSION, a.signing_key())
    })?;
    let after_vcs = one_fill_from("vcs");
    ensure!(
        epilogue(&a)? == after_vcs,
        "A: {:?}\n{}",
        epilogue(&a)?,
        a.log()
    );

    download(&world, &b)?;
    wait_until(Duration::from_secs(10), "A received B's record", || {
        a.has_record(MODULE, VERSION, b.signing_key())
    })?;
    let after_peer = one_fill_from("peer");
    ensure!(
        epilogue(&b)? == after_peer,
        "B: {:?}\n{}",
        epilogue(&b)?,
        b.log()
    );
    let b_own: Vec<Value> = b
        .records(MODULE, VERSION)?
        .into_iter()
        .filter(|record| record["own"] == true)
        .collect();
    ensure!(
        b_own[0]["source"]["signer"] == a.signing_key(),
        "B's record names A as its source: {}",
        b_own[0]
    );

    // Store hits: nothing is filled, signed or announced again.
    download(&world, &a)?;
    download(&world, &b)?;
    std::thread::sleep(Duration::from_millis(500));
    ensure!(
        epilogue(&a)? == after_vcs,
        "A after a hit: {:?}",
        epilogue(&a)?
    );
    ensure!(
        epilogue(&b)? == after_peer,
        "B after a hit: {:?}",
        epilogue(&b)?
    );
    Ok(())
}
