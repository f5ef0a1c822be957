//! Benchmarks of issue 7 (ignored in normal runs; results in docs/benchmarks.md), with real
//! `delos` processes on loopback:
//!
//! - (a) `go build` of the application with a fresh client module cache, through a fresh B that
//!   fills every module from peer A, against through a fresh A that fills from the git
//!   repositories (same run, rounds alternate, median reported);
//! - (b) a 100 MiB module zip moved A→B over the pool (B's peer fill: transfer, `h1:` check,
//!   store, then served to the client) against the same zip over plain HTTP from A's node,
//!   and the same zip fetched from A over the pool's transfer protocol by a bare pool client
//!   in the test process (into memory, unverified, as the HTTP client reads it);
//! - (c) 1,000 records published into a chain of 5 nodes: time until every node holds all of
//!   them, and per record the gossip messages the 5 nodes sent and received on the wire
//!   (duplicates included) and the deliveries to the nodes after de-duplication.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use delos_pool_protocol::BlobKind;

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::liar::{Files, Liar};
use crate::support::pool::{PoolNode, PoolOptions, Transport, wait_until};
use crate::support::pool_scale::{gossip_settled, gossip_totals, spread_record};
use crate::support::shapes;

/// Rounds of benchmark (a); the median is reported.
const ROUNDS: usize = 3;

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Waits until `node` knows a record of every `(module, version)` of `go_sum`.
fn wait_for_go_sum_records(node: &PoolNode, go_sum: &str) -> Result<()> {
    for line in go_sum.lines() {
        let mut fields = line.split_whitespace();
        let (Some(module), Some(version)) = (fields.next(), fields.next()) else {
            continue;
        };
        let version = version.trim_end_matches("/go.mod");
        wait_until(Duration::from_secs(60), "records synced", || {
            Ok(!node.records(module, version)?.is_empty())
        })?;
    }
    Ok(())
}

/// The wall time of `go build` of a copy of the app (go.mod and go.sum complete) through
/// `node`, fresh module cache.
pub(crate) fn timed_build(
    world: &GitWorld,
    node: &PoolNode,
    template: &std::path::Path,
) -> Result<Duration> {
    let app_dir = app::copy_app(template)?;
    let go = GoEnv::new(world, &node.url())?;
    let start = Instant::now();
    go.run_in(app_dir.path(), &["build", "-o", "app", "."])
        .with_context(|| node.log())?;
    Ok(start.elapsed())
}

#[test]
#[ignore = "benchmark: cargo test --release -p delos-node --test e2e bench_pool -- --ignored --nocapture --test-threads=1"]
#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn bench_pool_a_cold_build_from_a_peer_vs_from_vcs() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let template = app::write_app()?;
    GoEnv::new(&world, "direct")?.run_in(template.path(), &["mod", "tidy"])?;
    let go_sum = std::fs::read_to_string(template.path().join("go.sum"))?;
    let nothing = GitWorld::new()?;
    let (mut from_vcs, mut from_peer) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let a = PoolOptions::new(app::node_options(&world)).start()?;
        from_vcs.push(timed_build(&world, &a, template.path())?);
        let b = PoolOptions::new(app::node_options(&nothing))
            .bootstrap(&a)?
            .trust(&a)
            .start()?;
        wait_for_go_sum_records(&b, &go_sum)?;
        from_peer.push(timed_build(&world, &b, template.path())?);
    }
    let (vcs, peer) = (median(&mut from_vcs), median(&mut from_peer));
    println!("\n(a) cold `go build` of the application, fresh client cache, median of {ROUNDS}:");
    println!("| through A, filled from VCS | through B, filled from peer A | B / A | goal |");
    println!("|---|---|---|---|");
    let ratio = peer.as_secs_f64() / vcs.as_secs_f64().max(f64::EPSILON);
    println!("| {} | {} | {ratio:.2} | ≤ 0.5 |", ms(vcs), ms(peer));
    Ok(())
}

/// Rounds of benchmark (b), each with a fresh B; medians are reported.
const ZIP_ROUNDS: usize = 5;

/// One round of benchmark (b): HTTP from A, the bare pool client from A, then a fresh B
/// filling from A.
struct ZipRound {
    http: Duration,
    /// The bare pool client's fetch from A.
    pool_client: Duration,
    /// B's fill by phase (transfer, verify, store), from its own metrics.
    phases: [Duration; 3],
    /// B's first GET: the fill, then serving.
    get: Duration,
}

#[test]
#[ignore = "benchmark: cargo test --release -p delos-node --test e2e bench_pool -- --ignored --nocapture --test-threads=1"]
#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn bench_pool_b_100_mib_zip_over_the_pool_vs_http() -> Result<()> {
    const SIZE: usize = 100 << 20;
    let world = GitWorld::new()?;
    shapes::big(&world, SIZE)?;
    let a = PoolOptions::new(app::node_options(&world)).start()?;
    let path = "/example.org/big.git/@v/v1.0.0.zip";
    let zip = a.http().get(path)?;
    ensure!(zip.status == 200, "A's fill: {}", a.log());
    let nothing = GitWorld::new()?;
    let client = Liar::start(Files::new(), Vec::new())?;
    client.dial(&a.addr(Transport::Tcp)?)?;
    let mut rounds = Vec::new();
    for _ in 0..ZIP_ROUNDS {
        rounds.push(zip_round(&a, &client, &nothing, path, &zip.body)?);
    }
    let mib = zip.body.len() as f64 / f64::from(1 << 20);
    report_zip_rounds(mib, &rounds);
    Ok(())
}

fn zip_round(
    a: &PoolNode,
    client: &Liar,
    nothing: &GitWorld,
    path: &str,
    want: &[u8],
) -> Result<ZipRound> {
    let start = Instant::now();
    let over_http = a.http().get(path)?;
    let http = start.elapsed();
    ensure!(over_http.status == 200 && over_http.body == want);
    let start = Instant::now();
    let fetched = client.fetch(a.peer_id(), "example.org/big.git", "v1.0.0", BlobKind::Zip)?;
    let pool_client = start.elapsed();
    ensure!(fetched == want, "the bare pool client got other bytes");
    let b = PoolOptions::new(app::node_options(nothing))
        .bootstrap(a)?
        .trust(a)
        .start()?;
    wait_until(Duration::from_secs(60), "B knows A's record", || {
        b.has_record("example.org/big.git", "v1.0.0", a.signing_key())
    })?;
    let start = Instant::now();
    let over_pool = b.http().get(path)?;
    let get = start.elapsed();
    ensure!(
        over_pool.status == 200 && over_pool.body == want,
        "{}",
        b.log()
    );
    let phases = peer_fill_phases(&b)?;
    Ok(ZipRound {
        http,
        pool_client,
        phases,
        get,
    })
}

#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn report_zip_rounds(mib: f64, rounds: &[ZipRound]) {
    let rate = |time: Duration| mib / time.as_secs_f64().max(f64::EPSILON);
    let pick = |f: &dyn Fn(&ZipRound) -> Duration| {
        let mut times: Vec<Duration> = rounds.iter().map(f).collect();
        median(&mut times)
    };
    let http = pick(&|r| r.http);
    let moved = pick(&|r| r.phases.iter().sum());
    let phases = [
        pick(&|r| r.phases[0]),
        pick(&|r| r.phases[1]),
        pick(&|r| r.phases[2]),
    ];
    let get = pick(&|r| r.get);
    let pool_client = pick(&|r| r.pool_client);
    println!(
        "\n(b) a {mib:.0} MiB module zip on loopback, medians of {ZIP_ROUNDS} rounds (a fresh B each):"
    );
    println!(
        "| plain HTTP from A | A→B over the pool (B's fill) | phases: transfer + verify + store | pool / HTTP | B's first GET (fill + serve) | GET / HTTP | goal |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} ({:.0} MiB/s) | {} ({:.0} MiB/s) | {} + {} + {} | {:.2} | {} ({:.0} MiB/s) | {:.2} | ≥ 0.6 |",
        ms(http),
        rate(http),
        ms(moved),
        rate(moved),
        ms(phases[0]),
        ms(phases[1]),
        ms(phases[2]),
        rate(moved) / rate(http),
        ms(get),
        rate(get),
        rate(get) / rate(http)
    );
    println!(
        "\nThe transport alone: a bare pool client in the test process fetches the zip from A"
    );
    println!("| plain HTTP from A | pool transfer protocol from A | pool / HTTP | goal |");
    println!("|---|---|---|---|");
    println!(
        "| {} ({:.0} MiB/s) | {} ({:.0} MiB/s) | {:.2} | ≥ 0.6 |",
        ms(http),
        rate(http),
        ms(pool_client),
        rate(pool_client),
        rate(pool_client) / rate(http)
    );
}

/// B's `delos_fetch_peer_fill_seconds_total` by phase: transfer, verify, store.
fn peer_fill_phases(node: &PoolNode) -> Result<[Duration; 3]> {
    let metrics = node.http().get("/metrics")?;
    let text = String::from_utf8(metrics.body)?;
    let phase = |name: &str| -> Result<Duration> {
        let prefix = format!("delos_fetch_peer_fill_seconds_total{{phase=\"{name}\"}} ");
        let line = text.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
        let seconds: f64 = line.context("no peer fill time in /metrics")?.parse()?;
        Ok(Duration::from_secs_f64(seconds))
    };
    Ok([phase("transfer")?, phase("verify")?, phase("store")?])
}

#[test]
#[ignore = "benchmark: cargo test --release -p delos-node --test e2e bench_pool -- --ignored --nocapture --test-threads=1"]
#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn bench_pool_c_1000_records_across_5_nodes() -> Result<()> {
    const RECORDS: u32 = 1000;
    let nothing = GitWorld::new()?;
    let mut nodes: Vec<PoolNode> = vec![PoolOptions::new(app::node_options(&nothing)).start()?];
    for _ in 1..5 {
        let last = nodes.last().context("no node")?;
        let next = PoolOptions::new(app::node_options(&nothing))
            .bootstrap(last)?
            .start()?;
        nodes.push(next);
    }
    let publisher = Liar::start(Files::new(), Vec::new())?;
    publisher.dial(&nodes[0].addr(crate::support::pool::Transport::Tcp)?)?;
    let first = spread_record(publisher.key(), RECORDS)?;
    wait_until(Duration::from_secs(30), "a first record spreads", || {
        publisher.publish(first.clone());
        Ok(nodes
            .iter()
            .all(|n| n.pool_stat("records_known").is_ok_and(|k| k >= 1)))
    })?;
    let base = gossip_totals(&nodes)?;
    let payloads: Vec<Vec<u8>> = (0..RECORDS)
        .map(|n| spread_record(publisher.key(), n))
        .collect::<Result<_>>()?;
    let start = Instant::now();
    let refused = payloads
        .into_iter()
        .filter(|p| !publisher.publish(p.clone()))
        .count();
    ensure!(refused == 0, "{refused} records could not be published");
    let published = start.elapsed();
    let mut has_all: Vec<Option<Duration>> = vec![None; nodes.len()];
    wait_until(
        Duration::from_secs(120),
        "every node has every record",
        || {
            for (node, done) in nodes.iter().zip(&mut has_all) {
                if done.is_none() && node.pool_stat("records_known")? > u64::from(RECORDS) {
                    *done = Some(start.elapsed());
                }
            }
            Ok(has_all.iter().all(Option::is_some))
        },
    )?;
    let all = start.elapsed();
    let has_all: Vec<String> = has_all.into_iter().flatten().map(ms).collect();
    let settled = gossip_settled(&nodes)?;
    let per_record = |i: usize| (settled[i] - base[i]) as f64 / f64::from(RECORDS);
    println!("\n(c) {RECORDS} records published into a chain of 5 nodes:");
    println!(
        "| published in | every node has all | gossip messages sent per record | received per record | of those duplicates | deliveries per record | goal |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | < 5 s |",
        ms(published),
        ms(all),
        per_record(0),
        per_record(1),
        per_record(2),
        per_record(3),
    );
    let peers =
        |stat: &str| -> Result<Vec<u64>> { nodes.iter().map(|n| n.pool_stat(stat)).collect() };
    println!(
        "each node has all after {}; connected peers per node {:?}, gossip mesh peers per node {:?}",
        has_all.join(", "),
        peers("connected_peers")?,
        peers("gossip_mesh_peers")?
    );
    Ok(())
}
