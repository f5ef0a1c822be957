//! Gossipsub's own counters, as two real nodes show them: A fills one version from the VCS and
//! gossips its record to B, its only peer. Messages on the wire are then exact: A published
//! one and sent one (to B), received none; B received one, the first copy (no duplicate), and
//! sent none (its only peer is the record's source). `/status` and `/metrics` agree, and
//! `/metrics` stays one valid Prometheus text document with gossipsub's families in it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};
use crate::support::shapes::DAYS;

/// The module A fills.
const COUNTED: &str = "example.org/counted.git";

/// The gossip counters of `/status`'s pool section, in a fixed order.
const COUNTERS: [&str; 4] = [
    "gossip_messages_published",
    "gossip_messages_sent",
    "gossip_messages_received",
    "gossip_duplicates_received",
];

/// The node's [`COUNTERS`] now.
fn counters(node: &PoolNode) -> Result<[u64; 4]> {
    let mut values = [0; 4];
    for (value, name) in values.iter_mut().zip(COUNTERS) {
        *value = node.pool_stat(name)?;
    }
    Ok(values)
}

/// How far each of [`COUNTERS`] moved since `before`.
fn moved(node: &PoolNode, before: [u64; 4]) -> Result<[u64; 4]> {
    let now = counters(node)?;
    Ok(std::array::from_fn(|i| now[i] - before[i]))
}

/// Checks `text` line by line as Prometheus text (0.0.4) and returns every sample's value by
/// its `name{labels}`: each family's `# TYPE` once, each sample after its family's `# TYPE`
/// (histograms: `_bucket`, `_sum`, `_count`), `name{labels} value` with a number, no `# EOF`.
pub(crate) fn parse_prometheus_text(text: &str) -> Result<HashMap<String, f64>> {
    let mut families = HashSet::new();
    let mut family = String::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, _kind) = rest.split_once(' ').context(line.to_owned())?;
            ensure!(families.insert(name.to_owned()), "second # TYPE: {line}");
            family = name.to_owned();
            continue;
        }
        ensure!(line != "# EOF", "# EOF in Prometheus text");
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').context(line.to_owned())?;
        let name = series.split('{').next().unwrap_or(series);
        let valid_name = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        ensure!(valid_name && !name.is_empty(), "bad metric name: {line}");
        ensure!(
            series == name || (series.ends_with('}') && !series[name.len()..].contains(' ')),
            "bad labels: {line}"
        );
        let suffix = name.strip_prefix(family.as_str()).unwrap_or("-");
        ensure!(
            ["", "_bucket", "_sum", "_count"].contains(&suffix),
            "sample outside its family {family}: {line}"
        );
        let value: f64 = value.parse().with_context(|| format!("value of {line}"))?;
        ensure!(
            samples.insert(series.to_owned(), value).is_none(),
            "sample twice: {line}"
        );
    }
    Ok(samples)
}

/// The sum of every sample of metric `name` in `samples`.
fn sum(samples: &HashMap<String, f64>, name: &str) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| series.split('{').next() == Some(name))
        .map(|(_, value)| value)
        .sum()
}

/// Checks `node`'s `/metrics` and that its gossipsub counters equal `/status`'s.
fn metrics_agree_with_status(node: &PoolNode) -> Result<()> {
    let text = node.http().get("/metrics")?.text();
    let samples = parse_prometheus_text(&text).with_context(|| text.clone())?;
    let status = counters(node)?;
    for (name, value) in [
        ("topic_msg_published", status[0]),
        ("topic_msg_sent_counts", status[1]),
        ("topic_msg_recv_counts_unfiltered", status[2]),
    ] {
        let metric = format!("delos_gossipsub_{name}_total");
        ensure!(
            sum(&samples, &metric) == value as f64,
            "{metric} disagrees with /status ({value}):\n{text}"
        );
    }
    ensure!(
        text.contains("# TYPE delos_gossipsub_mesh_peer_counts gauge\n"),
        "{text}"
    );
    Ok(())
}

#[test]
fn a_gossiped_record_moves_each_nodes_message_counters_by_one_hop() -> Result<()> {
    let world = GitWorld::new()?;
    let repo = world.create_repo("counted")?;
    repo.write_file("go.mod", format!("module {COUNTED}\n\ngo 1.21\n"))?;
    repo.write_file("counted.go", "package counted\n")?;
    repo.commit("v1.0.0", DAYS[0])?;
    repo.tag("v1.0.0")?;
    let a = PoolOptions::new(app::node_options(&world)).start()?;
    let nothing = GitWorld::new()?;
    let b = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&a)?
        .start()?;
    wait_until(Duration::from_secs(30), "A and B in one mesh", || {
        Ok(a.pool_stat("gossip_mesh_peers")? == 1 && b.pool_stat("gossip_mesh_peers")? == 1)
    })?;
    let (a_before, b_before) = (counters(&a)?, counters(&b)?);

    let go = GoEnv::new(&world, &a.url())?;
    go.mod_download(&[&format!("{COUNTED}@v1.0.0")])?
        .ok(COUNTED, "v1.0.0")
        .with_context(|| a.log())?;
    wait_until(Duration::from_secs(10), "B received the record", || {
        b.has_record(COUNTED, "v1.0.0", a.signing_key())
    })
    .with_context(|| b.log())?;
    // Let a forward or a resend that should not happen have its chance to be counted.
    std::thread::sleep(Duration::from_secs(1));

    let (a_moved, b_moved) = (moved(&a, a_before)?, moved(&b, b_before)?);
    if a_moved != [1, 1, 0, 0] || b_moved != [0, 0, 1, 0] {
        bail!(
            "{COUNTERS:?} moved on A by {a_moved:?} (want [1, 1, 0, 0]), on B by {b_moved:?} (want [0, 0, 1, 0])"
        );
    }
    ensure!(
        b.pool_stat("records_received")? == 1,
        "B's records_received"
    );
    metrics_agree_with_status(&a)?;
    metrics_agree_with_status(&b)
}

#[test]
fn the_prometheus_text_check_catches_what_a_scraper_refuses() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n\
                # TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.5\nh_count 1\n";
    assert!(parse_prometheus_text(good).is_ok());
    for bad in [
        "# TYPE a counter\na 1\n# TYPE a counter\n",
        "# TYPE a counter\na 1\n# EOF\n",
        "# TYPE a counter\nb 1\n",
        "# TYPE a counter\na one\n",
        "# TYPE a counter\na{x=\"1\"} 1\na{x=\"1\"} 2\n",
    ] {
        assert!(parse_prometheus_text(bad).is_err(), "{bad}");
    }
}
