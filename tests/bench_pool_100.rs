//! Benchmark of issue 22, item 4 (ignored in normal runs; results in docs/benchmarks.md): the
//! scenario of `pool_scale` with 100 real `delos` processes on loopback and 1,000 records,
//! reported as a table on stdout and a plot written to `docs/img/pool-100.svg`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use delos_node::pool::sync::SYNC_INTERVAL;

use crate::pool_scale::{Measured, Scale, run};
use crate::support::plot::{Panel, Series, render};
use crate::support::pool_scale::{Arrivals, min_median_max};

/// Where the plot goes, relative to the workspace root.
const PLOT: &str = "docs/img/pool-100.svg";

#[test]
#[ignore = "benchmark: cargo test --release -p delos-node --test e2e bench_pool_100 -- --ignored --nocapture --test-threads=1"]
#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn bench_pool_100_nodes() -> Result<()> {
    let measured = run(Scale {
        nodes: 100,
        records: 1000,
        fanout: 3,
        timeout: Duration::from_secs(300),
    })?;
    report(&measured);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(PLOT);
    std::fs::create_dir_all(path.parent().unwrap_or(&path))?;
    std::fs::write(&path, render(&panels(&measured)))?;
    println!("plot written to {PLOT}");
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The first, median and last arrival of `arrivals`.
fn spread_of(arrivals: &Arrivals) -> String {
    let millis: Vec<u64> = arrivals.done.iter().map(|d| d.as_millis() as u64).collect();
    let (min, median, max) = min_median_max(&millis);
    format!("first {min} ms, median {median} ms, last {max} ms")
}

#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn report(m: &Measured) {
    let Scale { nodes, records, .. } = m.scale;
    let [sent, received, duplicates, deliveries] = m.gossip;
    println!("\n{nodes} nodes, {records} records:");
    println!("| measurement | result | goal |");
    println!("|---|---|---|");
    println!(
        "| {records} records reach every node (from the first publish; published in {}) | {} | < 10 s |",
        secs(m.published),
        secs(m.spread.all())
    );
    println!(
        "| gossip messages per record per node: sent + received | {sent:.2} + {received:.2} = {:.2} | ≤ 10 |",
        sent + received
    );
    println!(
        "| a late joiner holds all {} records (from its launch) | {} | ≤ {} (the sync interval) |",
        records + 1,
        secs(m.late.all()),
        secs(SYNC_INTERVAL)
    );
    println!(
        "| a 50/50 partition heals (from the bridge's launch until all {} nodes hold all {} records) | {} | < 30 s |",
        nodes + 1,
        records + 2,
        secs(m.heal.all()),
    );
    let (min, median, max) = min_median_max(&m.peak_rss_kib);
    println!(
        "| peak RSS per node (VmHWM) | min {} / median {} / max {} MiB | |",
        min / 1024,
        median / 1024,
        max / 1024
    );
    println!("\nspread: each node has all: {}", spread_of(&m.spread));
    println!("partition: each half has its own: {}", spread_of(&m.apart));
    println!("heal: each node has all: {}", spread_of(&m.heal));
    let (heal_cpu, synced) = m.heal_cost;
    println!(
        "heal: CPU of all nodes {}, records pulled by feed sync {synced} ({:.1} per node per record missing)",
        secs(heal_cpu),
        synced as f64 / ((nodes + 1) as f64 * f64::from(records) / 2.0)
    );
    let per_record_per_node =
        m.spread_cpu.as_secs_f64() * 1e6 / (nodes as f64 * f64::from(records));
    println!(
        "CPU of all nodes during the spread: {} ({per_record_per_node:.0} µs per record per node)",
        secs(m.spread_cpu)
    );
    println!(
        "gossip per record per node: {duplicates:.2} of the received were duplicates, {deliveries:.2} deliveries"
    );
    let (connected, mesh) = (min_median_max(&m.peers.0), min_median_max(&m.peers.1));
    println!(
        "connected peers per node (min, median, max): {connected:?}; gossip mesh peers: {mesh:?}"
    );
}

/// The plot: the spread, the late joiner and the heal, each as the share of the wanted
/// records held and the share of nodes holding them all.
fn panels(m: &Measured) -> Vec<Panel> {
    let Scale { nodes, records, .. } = m.scale;
    vec![
        panel(
            format!("{records} records published into {nodes} nodes"),
            &m.spread,
        ),
        panel(format!("a late joiner ({} records)", records + 1), &m.late),
        panel(
            format!(
                "a {}/{} partition healed by a bridge",
                nodes / 2,
                nodes - nodes / 2
            ),
            &m.heal,
        ),
    ]
}

fn panel(title: String, arrivals: &Arrivals) -> Panel {
    let seconds = |points: Vec<(Duration, f64)>| -> Vec<(f64, f64)> {
        points
            .into_iter()
            .map(|(t, share)| (t.as_secs_f64(), share))
            .collect()
    };
    Panel {
        title,
        series: vec![
            Series {
                label: "records held (all nodes)".to_owned(),
                color: "#1f77b4",
                points: seconds(arrivals.held.clone()),
            },
            Series {
                label: "nodes holding all".to_owned(),
                color: "#d62728",
                points: seconds(arrivals.complete()),
            },
        ],
    }
}
