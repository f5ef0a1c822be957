//! Discovery (issue 7, "done when"): with only one bootstrap address, nodes find each other
//! through Kademlia.

use std::time::Duration;

use anyhow::{Context, Result};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};

/// How long discovery may take.
const FIND_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `node` logged a connection to the peer `peer_id`.
fn connected_to(node: &PoolNode, peer_id: &str) -> bool {
    let needle = format!("peer={peer_id}");
    node.log()
        .lines()
        .any(|l| l.contains(": connected ") && l.contains(&needle))
}

/// Waits until `a` or `b` logged a connection to the other.
fn wait_connected(a: &PoolNode, b: &PoolNode) -> Result<Duration> {
    let what = format!("{} and {} connect", a.peer_id(), b.peer_id());
    wait_until(FIND_TIMEOUT, &what, || {
        Ok(connected_to(a, b.peer_id()) || connected_to(b, a.peer_id()))
    })
    .with_context(|| format!("{}\n---\n{}", a.log(), b.log()))
}

#[test]
fn nodes_given_one_bootstrap_address_find_each_other_through_kademlia() -> Result<()> {
    let nothing = GitWorld::new()?;
    let seed = PoolOptions::new(app::node_options(&nothing)).start()?;
    let b = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&seed)?
        .start()?;
    wait_connected(&seed, &b)?;
    let c = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&seed)?
        .start()?;
    wait_connected(&b, &c)?;
    Ok(())
}
