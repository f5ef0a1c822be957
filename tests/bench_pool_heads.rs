//! Benchmark of issue 17 (ignored in normal runs; results in docs/benchmarks.md): the traffic
//! of checksum-log head gossip at rest, in a pool of 20 real `delos` processes on loopback,
//! each writing its own log (20 logs), chained by bootstrap addresses (node i dials node
//! i − 1, so messages cross many hops). Once every node holds all 20 heads, the heads topic's
//! message bytes each node sent and received, duplicates included (gossipsub's per-topic
//! counters: payloads, not envelopes or control frames) are read twice, [`AT_REST`] apart, and
//! reported per node per minute.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::support::node::NodeOptions;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};

const NODES: usize = 20;
/// How long the pool is measured at rest: two of the writers' republish rounds (5 minutes).
const AT_REST: Duration = Duration::from_secs(600);
/// The heads topic's name in gossipsub's metric labels.
const HEADS_TOPIC: &str = "delos/public/heads/v1";

/// The heads topic's message bytes `node` sent and received so far.
fn heads_bytes(node: &PoolNode) -> Result<(u64, u64)> {
    let metrics = node.http().get("/metrics")?.text();
    let mut totals: HashMap<&str, u64> = HashMap::new();
    for line in metrics.lines().filter(|line| line.contains(HEADS_TOPIC)) {
        for name in ["topic_msg_sent_bytes", "topic_msg_recv_bytes_unfiltered"] {
            if line.starts_with(&format!("delos_gossipsub_{name}_total")) {
                let value = line.rsplit(' ').next().unwrap_or_default();
                *totals.entry(name).or_default() += value.parse::<u64>()?;
            }
        }
    }
    Ok((
        totals.get("topic_msg_sent_bytes").copied().unwrap_or(0),
        totals
            .get("topic_msg_recv_bytes_unfiltered")
            .copied()
            .unwrap_or(0),
    ))
}

#[test]
#[ignore = "benchmark: cargo test --release -p delos-node --test e2e bench_pool_heads -- --ignored --nocapture --test-threads=1"]
#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn bench_pool_heads_at_rest_20_nodes_20_logs() -> Result<()> {
    let keys = tempfile::tempdir()?;
    let mut nodes: Vec<PoolNode> = Vec::new();
    for i in 0..NODES {
        let key_file = keys.path().join(format!("log-{i}.key"));
        let node = NodeOptions::default().args([
            "--checksum-db".as_ref(),
            format!("sum.log{i}.example").as_ref(),
            "--checksum-db-key".as_ref(),
            key_file.as_os_str(),
        ]);
        let mut options = PoolOptions::new(node);
        if let Some(previous) = nodes.last() {
            options = options.bootstrap(previous)?;
        }
        nodes.push(options.start()?);
    }
    for node in &nodes {
        wait_until(
            Duration::from_secs(300),
            "every log's head gossiped",
            || {
                let status = node.http().status()?;
                let heads = status["pool"]["log_heads"].as_array().map_or(0, Vec::len);
                Ok(heads == NODES)
            },
        )
        .with_context(|| node.log())?;
    }
    let before: Vec<(u64, u64)> = nodes.iter().map(heads_bytes).collect::<Result<_>>()?;
    std::thread::sleep(AT_REST);
    let after: Vec<(u64, u64)> = nodes.iter().map(heads_bytes).collect::<Result<_>>()?;
    let minutes = AT_REST.as_secs_f64() / 60.0;
    let per_node: Vec<f64> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| ((a.0 - b.0) + (a.1 - b.1)) as f64 / minutes / 1024.0)
        .collect();
    let max = per_node.iter().copied().fold(0.0, f64::max);
    let mean = per_node.iter().sum::<f64>() / per_node.len() as f64;
    println!(
        "{NODES} nodes, {NODES} logs, {:.0} s at rest: heads-topic bytes sent + received per node \
         per minute: mean {mean:.2} KiB, max {max:.2} KiB (goal < 50 KiB)",
        AT_REST.as_secs_f64()
    );
    for (i, kib) in per_node.iter().enumerate() {
        println!("node {i}: {kib:.2} KiB/min");
    }
    Ok(())
}
