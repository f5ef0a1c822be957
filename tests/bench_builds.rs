//! Benchmarks (b) and (c) of issue 5, run by `scripts/bench-builds` (ignored in normal runs):
//! building the application of every module shape with a fresh client module cache,
//!
//! - (b) cold: through a fresh Delos node (which fills every miss with `go mod download` from the
//!   git repositories) against `GOPROXY=direct` (the client clones the same repositories);
//! - (c) warm: through a node that already holds everything against `GOPROXY=file://` of a
//!   module cache holding the same files.
//!
//! Every measurement is the wall time of `go build` alone (the node is started before the
//! clock starts); rounds alternate between the two sides and the median is reported. The Go
//! build cache is shared, so compilation is warm and the time is spent on module downloads.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;

/// Rounds per side; the median is reported.
const ROUNDS: usize = 5;

#[test]
#[ignore = "benchmark: run with scripts/bench-builds"]
fn bench_builds_through_a_node() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let template = app::write_app()?;
    // go.mod and go.sum complete, as in a real project: `go build` only downloads.
    let reference = GoEnv::new(&world, "direct")?;
    reference.run_in(template.path(), &["mod", "tidy"])?;
    build(&reference, template.path())?;

    let mut cold = Pair::default();
    let mut warm_node = None;
    for _ in 0..ROUNDS {
        cold.a.push(timed_build(
            &GoEnv::new(&world, "direct")?,
            template.path(),
        )?);
        let node = app::node_options(&world).start()?;
        let go = GoEnv::new(&world, &node.url())?;
        cold.b
            .push(timed_build(&go, template.path()).context(node.log())?);
        warm_node = Some(node);
    }
    let node = warm_node.context("no rounds")?;
    let file_proxy = format!(
        "file://{}",
        reference.gomodcache().join("cache/download").display()
    );
    let mut warm = Pair::default();
    for _ in 0..ROUNDS {
        warm.a.push(timed_build(
            &GoEnv::new(&world, &file_proxy)?,
            template.path(),
        )?);
        warm.b.push(timed_build(
            &GoEnv::new(&world, &node.url())?,
            template.path(),
        )?);
    }
    report(&cold, &warm);
    Ok(())
}

/// Wall times of side a (the baseline) and side b (Delos).
#[derive(Debug, Default)]
struct Pair {
    a: Vec<Duration>,
    b: Vec<Duration>,
}

fn build(go: &GoEnv, template: &Path) -> Result<()> {
    let app = app::copy_app(template)?;
    go.run_in(app.path(), &["build", "-o", "app", "."])?;
    Ok(())
}

fn timed_build(go: &GoEnv, template: &Path) -> Result<Duration> {
    let app = app::copy_app(template)?;
    let start = Instant::now();
    go.run_in(app.path(), &["build", "-o", "app", "."])?;
    Ok(start.elapsed())
}

/// The median of `times` (the upper one of an even count).
pub(crate) fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn report(cold: &Pair, warm: &Pair) {
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let row = |name: &str, baseline: &str, pair: &Pair, goal: &str| {
        let (a, b) = (median(&pair.a), median(&pair.b));
        let ratio = b.as_secs_f64() / a.as_secs_f64().max(f64::EPSILON);
        format!(
            "| {name} | {baseline} {} | Delos {} | {ratio:.2} | {goal} |",
            ms(a),
            ms(b)
        )
    };
    println!("\n`go build` of the application, fresh client module cache, median of {ROUNDS}:\n");
    println!("| build | baseline | through Delos | Delos / baseline | goal |");
    println!("|---|---|---|---|---|");
    println!("{}", row("(b) cold", "GOPROXY=direct", cold, "≤ 1.15"));
    println!("{}", row("(c) warm", "GOPROXY=file://", warm, "(none)"));
}
