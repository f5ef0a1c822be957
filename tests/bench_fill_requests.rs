//! The benchmark of issue 18, run by `scripts/bench-fill-requests` (ignored in normal runs): a
//! cold `go build` of the application through B, a member without VCS access whose every
//! version a trusted member A fills at its request (then fetched and verified by B), against
//! the same cold build straight through a fresh A. Every round starts fresh nodes; the clock
//! covers `go build` alone; rounds alternate and the median is reported.

use std::time::Duration;

use anyhow::{Result, ensure};

use crate::bench_builds::median;
use crate::bench_pool::timed_build;
use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::node::NodeOptions;
use crate::support::pool::{PoolNode, PoolOptions, node_key_in, wait_until};

/// Rounds per side; the median is reported.
const ROUNDS: usize = 3;

/// A fresh A trusting a fresh B, B trusting A and connected to it.
fn filler_and_member(world: &GitWorld) -> Result<(PoolNode, PoolNode)> {
    let (b_dir, b_key) = node_key_in()?;
    let a = PoolOptions::new(app::node_options(world))
        .arg("--trusted-signer")
        .arg(&b_key)
        .start()?;
    let b = PoolOptions::new(NodeOptions::default())
        .trust(&a)
        .bootstrap(&a)?
        .start_in(b_dir)?;
    wait_until(Duration::from_secs(30), "B connected to A", || {
        let status = a.http().status()?;
        Ok(status["pool"]["peers"]
            .as_array()
            .is_some_and(|peers| !peers.is_empty()))
    })?;
    Ok((a, b))
}

#[test]
#[ignore = "benchmark: run with scripts/bench-fill-requests"]
#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn bench_cold_build_through_a_member_filled_by_a_trusted_filler() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let (template, _) = app::direct_reference(&world)?;
    let (mut direct, mut via_member) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let alone = PoolOptions::new(app::node_options(&world)).start()?;
        direct.push(timed_build(&world, &alone, template.path())?);
        drop(alone);
        let (a, b) = filler_and_member(&world)?;
        via_member.push(timed_build(&world, &b, template.path())?);
        ensure!(
            a.pool_stat("fill_requests_answered")? > 0,
            "B never asked A"
        );
    }
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let (a, b) = (median(&direct), median(&via_member));
    let ratio = b.as_secs_f64() / a.as_secs_f64().max(f64::EPSILON);
    println!(
        "\ncold `go build` of the application, fresh nodes and module cache, median of {ROUNDS}:\n"
    );
    println!("| build | straight through A | through B, filled by A | B / A | goal |");
    println!("|---|---|---|---|---|");
    println!("| cold | {} | {} | {ratio:.2} | ≤ 1.3 |", ms(a), ms(b));
    Ok(())
}
