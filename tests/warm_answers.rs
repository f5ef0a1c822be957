//! Warm answers (issue 21): what a client sees of the node's in-memory answer cache and its
//! mapped zips. A warm answer is byte-identical to the first one, carries an `ETag` that
//! `If-None-Match` turns into `304`, and is counted as a hit in `/metrics`; a version pinned
//! after a `list` was answered is in the next `list` at once; a zip blob corrupted on disk
//! while the node was down is never sent as a `200` body (it is checked against its sha256
//! when first mapped after the start, moved aside and answered `500`); a zip a fill from a
//! peer just pinned is served from the map the fill made as it wrote it, not hashed again.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::pool_gossip_metrics::parse_prometheus_text;
use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::node::TestNode;
use crate::support::pool::{member_and_one_trusting_it, wait_until};
use crate::support::shapes;

const BASE: &str = "/example.org/hello.git/@v";

/// The node's `/metrics` samples.
pub(crate) fn metrics(node: &TestNode) -> Result<HashMap<String, f64>> {
    parse_prometheus_text(&node.get("/metrics")?.text())
}

pub(crate) fn sample(samples: &HashMap<String, f64>, name: &str) -> Result<f64> {
    samples
        .get(name)
        .copied()
        .with_context(|| format!("no {name} in /metrics"))
}

#[test]
fn warm_answers_are_the_same_bytes_with_etags_and_304s() -> Result<()> {
    let world = GitWorld::new()?;
    let hello = shapes::hello(&world)?;
    let node = app::node_options(&world).start()?;

    let files = ["v1.0.0.info", "v1.0.0.mod", "v1.0.0.zip", "list"];
    let mut first = Vec::new();
    for file in files {
        let answer = node.get(&format!("{BASE}/{file}"))?;
        ensure!(answer.status == 200, "{file} answered {}", answer.status);
        first.push(answer);
    }
    let before = metrics(&node)?;
    let go_runs = node.go_processes_started()?;
    for (file, cold) in files.iter().zip(&first) {
        let path = format!("{BASE}/{file}");
        let warm = node.get(&path)?;
        ensure!(warm.status == 200, "warm {file} answered {}", warm.status);
        ensure!(
            warm.body == cold.body,
            "warm {file} differs from the first answer"
        );
        for header in ["content-type", "cache-control", "etag"] {
            ensure!(
                warm.header(header) == cold.header(header) && warm.header(header).is_some(),
                "{file}: {header} {:?} then {:?}",
                cold.header(header),
                warm.header(header)
            );
        }
        let length = warm.header("content-length").context("no content-length")?;
        ensure!(
            length == warm.body.len().to_string(),
            "{file}: content-length {length}"
        );

        let etag = warm.header("etag").context("no etag")?;
        let unchanged = node.request("GET", &path, &[("If-None-Match", etag)])?;
        ensure!(
            unchanged.status == 304 && unchanged.body.is_empty(),
            "{file} with If-None-Match: {etag} answered {} with {} bytes",
            unchanged.status,
            unchanged.body.len()
        );
        ensure!(
            unchanged.header("etag") == Some(etag),
            "304 without the etag"
        );
        let other = node.request("GET", &path, &[("If-None-Match", "\"something-else\"")])?;
        ensure!(
            other.status == 200 && other.body == cold.body,
            "{file} with another etag answered {}",
            other.status
        );
        let head = node.request("HEAD", &path, &[])?;
        ensure!(
            head.status == 200
                && head.body.is_empty()
                && head.header("content-length") == Some(length),
            "HEAD {file}: {} {:?}",
            head.status,
            head.header("content-length")
        );
    }
    // A client that accepts gzip (as `go` does) gets an answer under 1 KiB as it is: gzip
    // would make it longer.
    let gzip = [("Accept-Encoding", "gzip")];
    let short = node.request("GET", &format!("{BASE}/v1.0.0.info"), &gzip)?;
    ensure!(
        short.header("content-encoding").is_none() && short.body == first[0].body,
        "a short .info for a gzip client: {:?}",
        short.headers
    );
    let zip_etag = first[2].header("etag").context("no zip etag")?;
    ensure!(
        zip_etag.len() == 66 && !zip_etag.starts_with("W/"),
        "a zip's etag is its blob's quoted sha256: {zip_etag}"
    );
    let after = metrics(&node)?;
    // Four requests of each pinned file (list is kept only for a second, and may be missed).
    let hits = "delos_http_answer_cache_hits_total";
    ensure!(
        sample(&after, hits)? - sample(&before, hits)? >= 12.0,
        "warm answers were not counted as hits: {} then {}",
        sample(&before, hits)?,
        sample(&after, hits)?
    );
    ensure!(
        sample(&after, "delos_http_zips_mapped_total")? == 1.0,
        "the zip was mapped more than once"
    );
    ensure!(
        node.go_processes_started()? == go_runs,
        "a warm answer ran go"
    );

    // An answer of 1 KiB or more comes from its kept gzipped copy, warm or not.
    let long_go_mod = format!(
        "{}{}",
        shapes::HELLO_V1_GO_MOD,
        "// A go.mod long enough to be worth gzipping.\n".repeat(32)
    );
    hello.repo.write_file("go.mod", &long_go_mod)?;
    hello.repo.commit("v1.3.0", shapes::DAYS[4])?;
    hello.repo.tag("v1.3.0")?;
    for _ in 0..2 {
        let gzipped = node.request("GET", &format!("{BASE}/v1.3.0.mod"), &gzip)?;
        ensure!(
            gzipped.status == 200
                && gzipped.header("content-encoding") == Some("gzip")
                && gzipped.header("vary") == Some("accept-encoding")
                && gzipped.body.len() < long_go_mod.len(),
            "a long .mod for a gzip client: {} {:?}\n{}",
            gzipped.status,
            gzipped.headers,
            node.log()
        );
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&gzipped.body[..]).read_to_end(&mut plain)?;
        ensure!(
            plain == long_go_mod.as_bytes(),
            "the gzipped .mod is another .mod"
        );
    }

    // A version tagged and pinned after `list` was answered is in the next `list` at once.
    hello
        .repo
        .write_file("hello.go", "package hello\n\nconst V = 2\n")?;
    hello.repo.commit("v1.2.0", shapes::DAYS[5])?;
    hello.repo.tag("v1.2.0")?;
    let pinned = node.get(&format!("{BASE}/v1.2.0.info"))?;
    ensure!(
        pinned.status == 200,
        "v1.2.0.info answered {}",
        pinned.status
    );
    let list = node.get(&format!("{BASE}/list"))?.text();
    ensure!(
        list.lines().any(|line| line == "v1.2.0"),
        "list after pinning v1.2.0:\n{list}"
    );
    Ok(())
}

#[test]
fn a_zip_corrupted_on_disk_is_never_served_whole() -> Result<()> {
    corrupted_zip_is_refused(&[])
}

/// The same with maps and the answer cache off: the zip is streamed from its file, after the
/// same check.
#[test]
fn a_zip_corrupted_on_disk_is_never_streamed_whole_with_maps_off() -> Result<()> {
    corrupted_zip_is_refused(&["--mapped-zips-mib", "0", "--answer-cache-mib", "0"])
}

/// Fills two zips, corrupts one's blob while the node is down, and checks that a node started
/// with `args` refuses it (500, moved aside, counted) and still serves the other.
fn corrupted_zip_is_refused(args: &[&str]) -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let mut node = app::node_options(&world)
        .args(args.iter().copied())
        .start()?;
    let path = format!("{BASE}/v1.1.0.zip");
    let good = node.get(&path)?;
    ensure!(good.status == 200, "the zip answered {}", good.status);
    let healthy = node.get(&format!("{BASE}/v1.0.0.zip"))?;
    ensure!(
        healthy.status == 200,
        "v1.0.0.zip answered {}",
        healthy.status
    );
    let store = node.data_dir().join("data/store");
    node.stop()?;
    let dir = node.into_dir()?;

    let blob = blob_with_bytes(&store, &good.body)?;
    let mut damaged = good.body.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    fs::write(&blob, &damaged)?;

    let node = app::node_options(&world)
        .args(args.iter().copied())
        .start_in(dir)?;
    for attempt in 0..2 {
        let answer = node.get(&path)?;
        ensure!(
            answer.status != 200 && answer.body != damaged,
            "attempt {attempt}: the corrupt zip answered {} with {} bytes",
            answer.status,
            answer.body.len()
        );
    }
    ensure!(
        blob.with_extension("corrupt").exists(),
        "the corrupt blob was not moved aside"
    );
    let samples = metrics(&node)?;
    ensure!(
        sample(&samples, "delos_http_corrupt_blobs_total")? == 1.0,
        "the corrupt blob was not counted once"
    );
    let other = node.get(&format!("{BASE}/v1.0.0.zip"))?;
    ensure!(
        other.status == 200 && other.body == healthy.body,
        "a healthy zip answered {}",
        other.status
    );
    Ok(())
}

/// The blob file under `store` holding exactly `bytes`.
fn blob_with_bytes(store: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let mut dirs = vec![store.join("blobs")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if fs::metadata(&path)?.len() == bytes.len() as u64 && fs::read(&path)? == bytes
            {
                return Ok(path);
            }
        }
    }
    anyhow::bail!("no blob of {} bytes under {}", bytes.len(), store.display())
}

#[test]
fn a_zip_a_peer_fill_just_pinned_is_served_from_the_fills_own_map() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let no_vcs = GitWorld::new()?;
    let (a, b) = member_and_one_trusting_it(&world, &no_vcs)?;
    let zip_path = format!("{BASE}/v1.0.0.zip");
    let want = a.http().get(&zip_path)?;
    ensure!(want.status == 200, "A's zip: {}", want.text());
    wait_until(Duration::from_secs(10), "B received A's record", || {
        b.has_record("example.org/hello.git", "v1.0.0", a.signing_key())
    })?;

    // As `go` does: the `.info` starts B's fill from A, the zip is asked for once pinned.
    let (by_fills, mapped) = (
        "delos_http_zips_mapped_by_fills_total",
        "delos_http_zips_mapped_total",
    );
    let info = b.http().get(&format!("{BASE}/v1.0.0.info"))?;
    ensure!(
        info.status == 200,
        "B's .info: {}\n{}",
        info.text(),
        b.log()
    );
    wait_until(
        Duration::from_secs(30),
        "B's peer fill handed its zip over",
        || Ok(sample(&metrics(b.http())?, by_fills)? == 1.0),
    )?;
    for _ in 0..2 {
        let zip = b.http().get(&zip_path)?;
        ensure!(
            zip.status == 200 && zip.body == want.body,
            "B's zip: {}",
            zip.status
        );
    }
    ensure!(
        sample(&metrics(b.http())?, mapped)? == 0.0,
        "the zip the peer fill had just written and checked was mapped and hashed again"
    );
    ensure!(
        b.http().go_processes_started()? == 0,
        "B ran go: the zip came from its VCS, not from A"
    );
    Ok(())
}
