//! Pools of many real `delos serve` processes on loopback (issue 22, item 4), and what is
//! measured on them.
//!
//! [`start_pool`] starts node 0 alone, then waves each as large as every node before it; each
//! node bootstraps to a few earlier nodes picked pseudo-randomly (never a full mesh), and
//! Kademlia and the gossip mesh do the rest. [`watch`] polls every node's `records_known` until
//! each holds a target count, recording when each got there and the share of the wanted
//! records held over time (for the plot). The gossip counters and the signed test records are
//! those of `bench_pool` (c).

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, Source};
use delos_pool_protocol::signing::NodeKey;
use delos_pool_protocol::{ModulePath, Version};

use super::pool::{PoolNode, PoolOptions, wait_until};

/// Nodes started at once within a wave: starting is mostly waiting for a process to log its
/// addresses, but 2 cores gain nothing from more.
const STARTS_AT_ONCE: usize = 8;

/// How often [`watch`] polls every node (after each sweep).
const POLL_PAUSE: Duration = Duration::from_millis(20);

/// Starts `count` nodes from `options`: node 0 alone, then waves as large as all before them,
/// each node bootstrapping to `fanout` distinct earlier nodes chosen by `seed`.
pub(crate) fn start_pool(
    options: &PoolOptions,
    count: usize,
    fanout: usize,
    seed: u64,
) -> Result<Vec<PoolNode>> {
    let mut nodes: Vec<PoolNode> = Vec::with_capacity(count);
    while nodes.len() < count {
        let wave_end = (nodes.len() * 2).clamp(1, count);
        let wave = (nodes.len()..wave_end)
            .map(|i| bootstrapped(options, &nodes, fanout, seed ^ i as u64))
            .collect::<Result<Vec<_>>>()?;
        nodes.extend(start_all(wave)?);
    }
    Ok(nodes)
}

/// `options` bootstrapping to `fanout` distinct nodes of `earlier` (all of them when fewer),
/// chosen by `seed`.
pub(crate) fn bootstrapped(
    options: &PoolOptions,
    earlier: &[PoolNode],
    fanout: usize,
    seed: u64,
) -> Result<PoolOptions> {
    let mut picked: Vec<usize> = Vec::new();
    let mut state = seed;
    while picked.len() < fanout.min(earlier.len()) {
        let i = (splitmix64(&mut state) % earlier.len() as u64) as usize;
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked
        .into_iter()
        .try_fold(options.clone(), |options, i| options.bootstrap(&earlier[i]))
}

/// One step of SplitMix64: a small, well-mixed pseudo-random sequence from any seed.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Starts every node of `wave`, [`STARTS_AT_ONCE`] at a time, in order.
fn start_all(wave: Vec<PoolOptions>) -> Result<Vec<PoolNode>> {
    let mut started = Vec::with_capacity(wave.len());
    for chunk in wave.chunks(STARTS_AT_ONCE) {
        let results: Vec<Result<PoolNode>> = thread::scope(|scope| {
            let starts: Vec<_> = chunk
                .iter()
                .map(|options| scope.spawn(|| options.clone().start()))
                .collect();
            starts
                .into_iter()
                .map(|start| {
                    start
                        .join()
                        .unwrap_or_else(|_| bail!("a node start panicked"))
                })
                .collect()
        });
        for result in results {
            started.push(result?);
        }
    }
    Ok(started)
}

/// What [`watch`] saw: when each node reached its target, and the share of the wanted
/// records held by the nodes together after each sweep.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arrivals {
    /// Per node, the time from the start until a poll saw it at its target.
    pub(crate) done: Vec<Duration>,
    /// After each sweep: the time and the share (0 to 1) of the records the nodes still
    /// lacked at the start that they hold now.
    pub(crate) held: Vec<(Duration, f64)>,
}

impl Arrivals {
    /// When the last node reached its target.
    pub(crate) fn all(&self) -> Duration {
        self.done.iter().max().copied().unwrap_or_default()
    }

    /// After each sweep, the time and the share (0 to 1) of nodes at their target.
    pub(crate) fn complete(&self) -> Vec<(Duration, f64)> {
        let mut done = self.done.clone();
        done.sort_unstable();
        let n = done.len().max(1) as f64;
        let at = |t: Duration| done.iter().filter(|d| **d <= t).count() as f64 / n;
        self.held.iter().map(|(t, _)| (*t, at(*t))).collect()
    }
}

/// Polls `nodes` (every node not yet there at once, one thread each, then a 20 ms pause) until
/// each one's `records_known` is at least `target`; `from` is each node's count when `start`
/// was taken. Polled one after the other, 100 nodes starved of CPU took up to a minute a
/// sweep, which hid when each got there.
pub(crate) fn watch(
    nodes: &[&PoolNode],
    from: &[u64],
    target: u64,
    start: Instant,
    timeout: Duration,
) -> Result<Arrivals> {
    let wanted: u64 = from.iter().map(|f| target.saturating_sub(*f)).sum();
    let mut known = from.to_vec();
    let mut done: Vec<Option<Duration>> = vec![None; nodes.len()];
    let mut held = Vec::new();
    while done.iter().any(Option::is_none) {
        thread::scope(|scope| -> Result<()> {
            let polls: Vec<_> = (nodes.iter().zip(&mut known).zip(&mut done))
                .filter(|(_, done)| done.is_none())
                .map(|((node, count), done)| {
                    scope.spawn(move || -> Result<()> {
                        *count = node.pool_stat("records_known")?;
                        *done = (*count >= target).then(|| start.elapsed());
                        Ok(())
                    })
                })
                .collect();
            for poll in polls {
                poll.join().unwrap_or_else(|_| bail!("a poll panicked"))?;
            }
            Ok(())
        })?;
        let gained: u64 = known
            .iter()
            .zip(from)
            .map(|(k, f)| k.min(&target).saturating_sub(*f))
            .sum();
        held.push((start.elapsed(), gained as f64 / wanted.max(1) as f64));
        if start.elapsed() > timeout && done.iter().any(Option::is_none) {
            let behind = done.iter().filter(|d| d.is_none()).count();
            bail!("{behind} nodes short of {target} records after {timeout:?}: {known:?}");
        }
        thread::sleep(POLL_PAUSE);
    }
    let done = done.into_iter().flatten().collect();
    Ok(Arrivals { done, held })
}

/// Each node's `records_known` now.
pub(crate) fn records_known(nodes: &[&PoolNode]) -> Result<Vec<u64>> {
    nodes.iter().map(|n| n.pool_stat("records_known")).collect()
}

/// A validly signed record of `example.org/spread.git@v1.0.<n>` with made-up hashes (signers
/// agree on them: the `go.mod` hash depends on `n` only).
pub(crate) fn spread_record(key: &NodeKey, n: u32) -> Result<Vec<u8>> {
    let h1 = H1Hash::of_go_mod(format!("module example.org/spread.git // {n}\n").as_bytes());
    let record = ProvenanceRecord::new(RecordFields {
        module: ModulePath::parse("example.org/spread.git")?,
        version: Version::parse(&format!("v1.0.{n}"))?,
        go_mod_h1: h1,
        zip: None,
        info_time: InfoTime::parse("2026-01-01T00:00:00Z")?,
        source: Source::Import,
        obtained_at: 1_800_000_000,
    })?;
    Ok(key.sign(&record)?.to_wire()?)
}

/// The gossip counters summed over nodes: messages sent and received on the wire, duplicates
/// among those received, and records handed to the node (`records_received`).
pub(crate) const SPREAD_COUNTERS: [&str; 4] = [
    "gossip_messages_sent",
    "gossip_messages_received",
    "gossip_duplicates_received",
    "records_received",
];

/// [`SPREAD_COUNTERS`] summed over `nodes` (one `/status` of each).
pub(crate) fn gossip_totals(nodes: &[PoolNode]) -> Result<[u64; 4]> {
    let mut totals = [0; 4];
    for node in nodes {
        let status = node.http().status()?;
        for (total, name) in totals.iter_mut().zip(SPREAD_COUNTERS) {
            *total += status["pool"][name]
                .as_u64()
                .with_context(|| format!("no pool.{name} in /status"))?;
        }
    }
    Ok(totals)
}

/// [`gossip_totals`] once they stopped moving for three heartbeats (late forwards and
/// IHAVE/IWANT-driven resends are counted too).
pub(crate) fn gossip_settled(nodes: &[PoolNode]) -> Result<[u64; 4]> {
    let mut last = gossip_totals(nodes)?;
    let mut still = Instant::now();
    wait_until(Duration::from_secs(60), "gossip counters settle", || {
        let now = gossip_totals(nodes)?;
        if now != last {
            (last, still) = (now, Instant::now());
        }
        Ok(still.elapsed() >= Duration::from_secs(3))
    })?;
    Ok(last)
}

/// The peak resident memory (`VmHWM`) of a running node, in KiB.
pub(crate) fn peak_rss_kib(node: &PoolNode) -> Result<u64> {
    node.http().proc_status_kib("VmHWM")
}

/// The CPU time (user and system) a running node has used, from `/proc/<pid>/stat`, whose
/// counts are in USER_HZ (100 a second on Linux).
pub(crate) fn cpu_time(node: &PoolNode) -> Result<Duration> {
    let pid = node.http().pid().context("the node is not running")?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14.
    let after_name = stat.rsplit_once(')').context("no command name")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks =
        |i: usize| -> Result<u64> { Ok(fields.get(i - 3).context("short /proc stat")?.parse()?) };
    Ok(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}

/// The CPU time `nodes` have used together.
pub(crate) fn total_cpu_time(nodes: &[PoolNode]) -> Result<Duration> {
    nodes.iter().map(cpu_time).sum()
}

/// A pool counter of every node, for reporting the spread of peer counts.
pub(crate) fn pool_stats(nodes: &[PoolNode], name: &str) -> Result<Vec<u64>> {
    nodes.iter().map(|n| n.pool_stat(name)).collect()
}

/// The minimum, median and maximum of `values` (zeros for none).
pub(crate) fn min_median_max(values: &[u64]) -> (u64, u64, u64) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let pick = |i: usize| sorted.get(i).copied().unwrap_or_default();
    (
        pick(0),
        pick(sorted.len() / 2),
        pick(sorted.len().saturating_sub(1)),
    )
}
