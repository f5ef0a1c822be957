//! Benchmarks of issue 15, run by `scripts/bench-sumdb` (ignored in normal runs):
//!
//! - (a) a warm relay against nginx serving the very same bytes from disk: lookups and full
//!   tiles per second, with the same load generator (wrk), one target at a time;
//! - (b) the latency of a cold lookup through the relay (not cached yet; the relay has verified
//!   the tree and holds its tiles, as it does in steady use) against the same lookup straight
//!   from the test database, and of a lookup through a brand-new relay (everything cold).
//!
//! The test database serves a log of 700 synthetic records (two full level-0 hash tiles and
//! full data tiles), signed with a fresh key. It skips cleanly when nginx or wrk is missing.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use delos_pool_protocol::hash::Sha256;
use delos_pool_protocol::sumdb::RecordText;

use crate::support::http::http_exchange;
use crate::support::nginx::{Nginx, tool};
use crate::support::node::TestNode;
use crate::support::sumdb::TestSumdb;

const NAME: &str = "bench.delos.test";
const RECORDS: usize = 700;
/// Seconds of load per target.
const LOAD_SECONDS: u32 = 5;
/// Cold lookups timed per side and setting; the median is reported.
const COLD_LOOKUPS: usize = 50;

#[test]
#[ignore = "benchmark: run with scripts/bench-sumdb"]
#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn bench_sumdb_relay() -> Result<()> {
    let (Some(nginx), Some(wrk)) = (tool("nginx"), tool("wrk")) else {
        eprintln!("bench_sumdb: nginx or wrk not installed; skipped");
        return Ok(());
    };
    let db = TestSumdb::start(NAME, records())?;
    let node = TestNode::options()
        .args(["--sumdb", &db.direct()])
        .start()?;
    let lookup = format!("/sumdb/{NAME}/lookup/example.org/m7@v1.0.0");
    let tile = format!("/sumdb/{NAME}/tile/8/0/000");
    let served = tempfile::tempdir()?;
    for path in [&lookup, &tile] {
        let answer = node.get(path)?;
        ensure!(answer.status == 200, "{path}: {}", answer.text());
        let file = served.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().context("no parent")?)?;
        std::fs::write(&file, &answer.body)?;
    }
    let nginx = Nginx::serve_dir(&nginx, served.path())?;
    println!("wrk -t2 -c16 -d{LOAD_SECONDS}s, {} cores", cores());
    println!("| target | requests/s |\n|---|---|");
    let mut rates = Vec::new();
    for (what, path) in [("lookup", &lookup), ("full tile", &tile)] {
        let relay = wrk_rate(&wrk, &format!("{}{path}", node.url()))?;
        let plain = wrk_rate(&wrk, &format!("{}{path}", nginx.url))?;
        println!("| relay {what} | {relay:.0} |\n| nginx {what} | {plain:.0} |");
        rates.push((what, relay / plain));
    }
    for (what, ratio) in rates {
        println!("relay/nginx {what}: {ratio:.2} (goal >= 0.7)");
    }
    cold_lookups(&db, &node, 100)?;
    // The same across a network: 20 ms before every answer of the database.
    db.set_delay(Duration::from_millis(20));
    println!("\nwith 20 ms added to every answer of the database:");
    cold_lookups(&db, &node, 300)
}

/// Issue 16: lookups per second from a warm node's own checksum database (the version pinned
/// and logged, its head signed) against nginx serving the very same lookup body.
#[test]
#[ignore = "benchmark: run with scripts/bench-sumdb"]
#[allow(clippy::print_stdout)] // the benchmark's report is its output
fn bench_own_checksum_db() -> Result<()> {
    let (Some(nginx), Some(wrk)) = (tool("nginx"), tool("wrk")) else {
        eprintln!("bench_sumdb: nginx or wrk not installed; skipped");
        return Ok(());
    };
    let world = crate::support::git::GitWorld::new()?;
    crate::support::shapes::hello(&world)?;
    let node = crate::support::app::node_options(&world)
        .args(["--checksum-db", "sum.bench.example"])
        .start()?;
    let lookup = "/sumdb/sum.bench.example/lookup/example.org/hello.git@v1.0.0";
    let answer = node.get(lookup)?;
    ensure!(answer.status == 200, "{lookup}: {}", answer.text());
    let served = tempfile::tempdir()?;
    let file = served.path().join(lookup.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().context("no parent")?)?;
    std::fs::write(&file, &answer.body)?;
    let nginx = Nginx::serve_dir(&nginx, served.path())?;
    println!("wrk -t2 -c16 -d{LOAD_SECONDS}s, {} cores", cores());
    let own = wrk_rate(&wrk, &format!("{}{lookup}", node.url()))?;
    let plain = wrk_rate(&wrk, &format!("{}{lookup}", nginx.url))?;
    println!("| target | requests/s |\n|---|---|");
    println!("| node's own database, lookup | {own:.0} |\n| nginx, same bytes | {plain:.0} |");
    println!("own/nginx lookups: {:.2} (goal >= 0.7)", own / plain);
    Ok(())
}

#[allow(clippy::print_stdout)] // the benchmark's report is its output
/// (b): medians of cold lookups through the warm relay, straight from the database, and
/// through a new relay each time.
fn cold_lookups(db: &TestSumdb, node: &TestNode, first: usize) -> Result<()> {
    let addr = db
        .direct()
        .rsplit_once("http://")
        .context("no URL")?
        .1
        .parse()?;
    let (mut relay, mut direct) = (Vec::new(), Vec::new());
    for i in first..first + COLD_LOOKUPS {
        let key = format!("example.org/m{i}@v1.0.0");
        direct.push(timed(|| get_ok(addr, &format!("/lookup/{key}")))?);
        relay.push(timed(|| relay_ok(node, &key))?);
    }
    let mut fresh = Vec::new();
    for i in 0..5 {
        let new_node = TestNode::options()
            .args(["--sumdb", &db.direct()])
            .start()?;
        let key = format!("example.org/m{}@v1.0.0", first + COLD_LOOKUPS + i);
        fresh.push(timed(|| relay_ok(&new_node, &key))?);
    }
    let (relay, direct, fresh) = (median(relay), median(direct), median(fresh));
    println!("\n| cold lookup | median |\n|---|---|");
    println!("| straight from the database | {direct:?} |");
    println!("| through the warm relay (lookup not cached) | {relay:?} |");
    println!("| through a new relay (head, tiles, lookup all fetched) | {fresh:?} |");
    println!(
        "relay/direct: {:.2} (goal <= 1.3)",
        relay.as_secs_f64() / direct.as_secs_f64()
    );
    Ok(())
}

/// Synthetic records `example.org/m<i> v1.0.0`, with stand-in `h1:` values.
fn records() -> Vec<(String, RecordText)> {
    (0..RECORDS)
        .map(|i| {
            // Stand-ins: the relay and the log check record hashes, never the h1: values.
            let h1 = |what: &str| Sha256::digest(format!("{i}{what}").as_bytes()).to_hex();
            let text = format!(
                "example.org/m{i} v1.0.0 h1:{}\nexample.org/m{i} v1.0.0/go.mod h1:{}\n",
                h1("zip"),
                h1("mod")
            );
            let record = RecordText::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            (format!("example.org/m{i}@v1.0.0"), record)
        })
        .collect()
}

fn relay_ok(node: &TestNode, key: &str) -> Result<()> {
    let response = node.get(&format!("/sumdb/{NAME}/lookup/{key}"))?;
    ensure!(response.status == 200, "{key}: {}", response.text());
    Ok(())
}

fn get_ok(addr: std::net::SocketAddr, path: &str) -> Result<()> {
    let response = http_exchange(addr, "GET", path, &[])?;
    ensure!(response.status == 200, "{path}: {}", response.status);
    Ok(())
}

fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `wrk -t2 -c16`: requests per second.
fn wrk_rate(wrk: &str, url: &str) -> Result<f64> {
    let out = Command::new(wrk)
        .args(["-t2", "-c16", &format!("-d{LOAD_SECONDS}s"), url])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = text.lines().find(|l| l.contains("Non-2xx"));
    if let Some(line) = errors {
        bail!("{url}: {line}");
    }
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse().ok())
        .with_context(|| format!("wrk printed no rate:\n{text}"))
}
