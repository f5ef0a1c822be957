//! `kill -9` of a node running its own checksum database, with its `go` and `git` children,
//! at random moments during a stream of fills (issue 16): after every restart the signed head
//! verifies, is consistent with every head the node handed out before (proved with the
//! Go-format proofs from the node's own tiles), and every version pinned whole is in the log
//! exactly once. `DELOS_CHECKSUM_CRASH_ROUNDS` sets the rounds (default
//! [`DEFAULT_ROUNDS`]); failures name the seed.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use delos_pool_protocol::sumdb::{
    GO_TILE_HEIGHT, SignedTreeHead, TilePlan, TreeHead, Verifiers, check_consistency,
};
use tempfile::TempDir;

use crate::support::app;
use crate::support::checksum_db;
use crate::support::crash::{Rng, open_index};
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::TestNode;

const NAME: &str = "sum.crash.example";
const DEFAULT_ROUNDS: u64 = 4;
const MAX_KILL_DELAY_MS: u64 = 1_500;

#[test]
fn kill_9_during_fills_never_forks_or_loses_the_log() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let template = app::write_app()?;
    GoEnv::new(&world, "direct")?.run_in(template.path(), &["mod", "tidy"])?;
    let go_sum = std::fs::read_to_string(template.path().join("go.sum"))?;
    let queries: Vec<String> = crate::pool_fetch::go_sum_versions(&go_sum)
        .into_iter()
        .map(|(m, v)| format!("{m}@{v}"))
        .collect();
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("sumdb.key");
    let options = checksum_db::options(&world, NAME, &key_file);
    let rounds = std::env::var("DELOS_CHECKSUM_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let mut rng = Rng::seeded();
    let seed = rng.seed();
    // Every head handed out, by size: one head per size, ever.
    let handed_out: Arc<Mutex<HashMap<u64, Vec<u8>>>> = Arc::default();
    let mut dir: Option<TempDir> = None;
    for round in 0..rounds {
        let node = match dir.take() {
            Some(dir) => options.clone().start_in(dir)?,
            None => options.clone().start()?,
        };
        let verifiers = verifiers(&key_file)?;
        check_against_handed_out(&node, &verifiers, &handed_out)
            .with_context(|| format!("round {round} (seed {seed})\n{}", node.log()))?;
        let client = GoEnv::new(&world, &node.url())?;
        let queries = queries.clone();
        let downloading = thread::spawn(move || {
            let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
            let _ = client.mod_download(&queries);
        });
        // Collect heads while the fills run, until the kill.
        let stop = Arc::new(AtomicBool::new(false));
        let url = node.url();
        let (collect_stop, collected) = (Arc::clone(&stop), Arc::clone(&handed_out));
        let collector = thread::spawn(move || collect_heads(&url, &collect_stop, &collected));
        thread::sleep(rng.delay_below_ms(MAX_KILL_DELAY_MS));
        dir = Some(node.kill_tree()?);
        stop.store(true, Ordering::Release);
        let forked = collector
            .join()
            .map_err(|_| anyhow::anyhow!("collector panicked"))?;
        ensure!(forked.is_none(), "round {round} (seed {seed}): {forked:?}");
        let _ = downloading.join();
    }
    // A last start: the log catches up, then every whole pin is in it exactly once.
    let node = options.start_in(dir.take().context("no data dir")?)?;
    check_against_handed_out(&node, &verifiers(&key_file)?, &handed_out)
        .with_context(|| format!("after the last restart (seed {seed})"))?;
    let dir = node.kill_tree()?;
    let index = open_index(&dir.path().join("data/store"))?;
    let log = index.checksum_log();
    let mut whole = 0;
    let mut ids = BTreeSet::new();
    for listed in index.iter()? {
        let (module, version, entry) = listed?;
        if entry.is_full() {
            whole += 1;
            let id = log.id_of(&module, &version)?.with_context(|| {
                format!("{module}@{version} is pinned whole but not in the log (seed {seed})")
            })?;
            ensure!(ids.insert(id), "two versions share record {id}");
        }
    }
    ensure!(
        log.size()? == whole,
        "{} records for {whole} whole pins",
        log.size()?
    );
    ensure!(whole > 0, "nothing was filled (seed {seed})");
    let heads = handed_out
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .len();
    ensure!(
        heads > 1,
        "only {heads} heads were handed out to check (seed {seed})"
    );
    Ok(())
}

fn verifiers(key_file: &std::path::Path) -> Result<Verifiers> {
    Ok(Verifiers::new([checksum_db::key_in(key_file)?])?)
}

/// Polls `/latest` until `stop`, keeping every head; returns a description of a second head
/// for a size already seen, if one came.
fn collect_heads(
    url: &str,
    stop: &AtomicBool,
    handed_out: &Mutex<HashMap<u64, Vec<u8>>>,
) -> Option<String> {
    let addr: std::net::SocketAddr = url.strip_prefix("http://")?.parse().ok()?;
    while !stop.load(Ordering::Acquire) {
        let path = format!("/sumdb/{NAME}/latest");
        if let Ok(answer) = crate::support::http::http_exchange(addr, "GET", &path, &[])
            && answer.status == 200
            && let Some(size) = head_size(&answer.body)
        {
            let mut heads = handed_out.lock().ok()?;
            match heads.get(&size) {
                Some(seen) if *seen != answer.body => {
                    return Some(format!("two heads for size {size}"));
                }
                Some(_) => {}
                None => {
                    heads.insert(size, answer.body);
                }
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The size line of a tree-head note, without checking its signature.
fn head_size(note: &[u8]) -> Option<u64> {
    std::str::from_utf8(note).ok()?.lines().nth(1)?.parse().ok()
}

/// The node's head verifies, and extends (or equals) every head handed out before.
fn check_against_handed_out(
    node: &TestNode,
    verifiers: &Verifiers,
    handed_out: &Mutex<HashMap<u64, Vec<u8>>>,
) -> Result<()> {
    let latest = node.get(&format!("/sumdb/{NAME}/latest"))?;
    ensure!(latest.status == 200, "{}", latest.text());
    let newer = SignedTreeHead::open(&latest.body, verifiers)?.head();
    let heads = handed_out
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    for (size, note) in heads {
        let older = SignedTreeHead::open(&note, verifiers)?.head();
        ensure!(older.size() == size);
        ensure!(
            older.size() <= newer.size(),
            "the log shrank from {size} to {}",
            newer.size()
        );
        prove_extends(node, &older, &newer)?;
    }
    Ok(())
}

/// Proves `newer` extends `older` from the node's tiles, as the go command does.
fn prove_extends(node: &TestNode, older: &TreeHead, newer: &TreeHead) -> Result<()> {
    if older.size() == 0 {
        return Ok(());
    }
    let plan = TilePlan::for_tree_size(*newer, GO_TILE_HEIGHT, older.size())?;
    let mut fetched = Vec::new();
    for tile in plan.tiles() {
        let answer = node.get(&format!("/sumdb/{NAME}/{}", tile.path()))?;
        ensure!(answer.status == 200, "{}: {}", tile.path(), answer.text());
        fetched.push(answer.body);
    }
    let tiles = plan.check(fetched)?;
    check_consistency(older, newer, &tiles)?;
    Ok(())
}
