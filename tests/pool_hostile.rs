//! Hostile peers (issue 7, "done when"), played by [`Liar`]s in the test process:
//!
//! - a peer V trusts signs a record with the true hashes of hello v1.1.0 but serves a tampered
//!   zip: not a byte of it reaches V's store or the client; V falls back to its VCS, serves
//!   exactly the bytes `go` gets directly, and counts the liar as a bad peer;
//! - a peer announcing a record whose hashes disagree with the trusted signer's (and serving
//!   the matching tampered zip) gets nothing through either: V fills from the honest peer and
//!   keeps the lie as disagreeing evidence;
//! - forged, malformed, oversized and replayed-with-altered-bytes records are rejected by V,
//!   not stored, and never forwarded to W, a third node connected to V.

use std::collections::HashMap;
use std::fs;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::messages::BlobKind;
use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, Source, ZipFacts};
use delos_pool_protocol::signing::{NodeKey, SignedRecord};
use delos_pool_protocol::{Canonical, ModulePath, Version};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::go_json::ModDownload;
use crate::support::liar::{Files, Liar};
use crate::support::pool::{PoolNode, PoolOptions, wait_until};
use crate::support::shapes;

const HELLO: &str = "example.org/hello.git";

/// How long a node may take to learn a record or react to a payload.
const REACT_TIMEOUT: Duration = Duration::from_secs(30);

/// A record by `key` of `module@version` claiming `go_mod_h1` and the zip facts of `zip`.
fn record(
    key: &NodeKey,
    module: &str,
    version: &str,
    go_mod_h1: &str,
    zip: (&str, &[u8]),
) -> Result<SignedRecord> {
    let record = ProvenanceRecord::new(RecordFields {
        module: ModulePath::parse(module)?,
        version: Version::parse(version)?,
        go_mod_h1: H1Hash::parse(go_mod_h1)?,
        zip: Some(ZipFacts {
            h1: H1Hash::parse(zip.0)?,
            sha256: Sha256::digest(zip.1),
            size: zip.1.len() as u64,
        }),
        info_time: InfoTime::parse("2026-01-01T00:00:00Z")?,
        source: Source::Import,
        obtained_at: 1_800_000_000,
    })?;
    Ok(key.sign(&record)?)
}

/// The files of `got` as a liar serves them, with the zip's middle byte flipped.
fn tampered_files(got: &ModDownload) -> Result<Files> {
    let read = |path: &Option<std::path::PathBuf>| -> Result<Vec<u8>> {
        Ok(fs::read(path.as_ref().context("no file")?)?)
    };
    let mut zip = read(&got.zip)?;
    let middle = zip.len() / 2;
    zip[middle] ^= 0x55;
    let key = |kind| (HELLO.to_owned(), got.version.clone(), kind);
    Ok(HashMap::from([
        (key(BlobKind::Info), read(&got.info)?),
        (key(BlobKind::Mod), read(&got.go_mod)?),
        (key(BlobKind::Zip), zip),
    ]))
}

#[test]
fn a_trusted_peer_serving_a_tampered_zip_gets_no_byte_through() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let direct = GoEnv::new(&world, "direct")?;
    let downloads = direct.mod_download(&[&format!("{HELLO}@v1.1.0")])?;
    let got = downloads.ok(HELLO, "v1.1.0")?;
    let true_zip = fs::read(got.zip.as_ref().context("no zip")?)?;
    let sum = got.sum.clone().context("no Sum")?;
    let go_mod_sum = got.go_mod_sum.clone().context("no GoModSum")?;

    let key = NodeKey::generate()?;
    let claim = record(&key, HELLO, "v1.1.0", &go_mod_sum, (&sum, &true_zip))?;
    let liar = Liar::start_with_key(key, tampered_files(got)?, vec![claim])?;
    let v = PoolOptions::new(app::node_options(&world))
        .arg("--bootstrap")
        .arg(&liar.addr()?)
        .arg("--trusted-signer")
        .arg(&liar.signer())
        .start()?;
    wait_until(REACT_TIMEOUT, "V knows the liar's record", || {
        v.has_record(HELLO, "v1.1.0", &liar.signer())
    })
    .with_context(|| v.log())?;

    let client = GoEnv::new(&world, &v.url())?;
    let through_v = client.mod_download(&[&format!("{HELLO}@v1.1.0")])?;
    let served = through_v.ok(HELLO, "v1.1.0").with_context(|| v.log())?;
    ensure!(served.sum.as_deref() == Some(sum.as_str()), "{served:?}");
    let zip = v.http().get("/example.org/hello.git/@v/v1.1.0.zip")?;
    ensure!(
        zip.status == 200 && zip.body == true_zip,
        "V serves other bytes"
    );
    ensure!(
        v.http().go_processes_started()? >= 1,
        "V fell back to its VCS"
    );
    ensure!(v.pool_stat("bad_peers")? >= 1, "the liar is counted");
    let metrics = v.http().get("/metrics")?.text();
    ensure!(
        metrics
            .lines()
            .any(|l| l.contains("bad_peers") && !l.starts_with('#') && !l.ends_with(" 0")),
        "no bad peers in /metrics:\n{metrics}"
    );
    let records = v.records(HELLO, "v1.1.0")?;
    let own = records.iter().find(|r| r["signer"] == v.signing_key());
    ensure!(
        own.is_some_and(|r| r["source"]["kind"] == "vcs"),
        "V's own record names the VCS: {records:?}"
    );
    Ok(())
}

#[test]
fn a_peer_announcing_disagreeing_hashes_gets_no_byte_through() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let direct = GoEnv::new(&world, "direct")?;
    let downloads = direct.mod_download(&[&format!("{HELLO}@v1.1.0")])?;
    let got = downloads.ok(HELLO, "v1.1.0")?;
    let true_zip = fs::read(got.zip.as_ref().context("no zip")?)?;
    let a = PoolOptions::new(app::node_options(&world)).start()?;
    ensure!(a.http().get("/example.org/hello.git/@v/v1.1.0.zip")?.status == 200);

    let key = NodeKey::generate()?;
    let files = tampered_files(got)?;
    let tampered = &files[&(HELLO.to_owned(), "v1.1.0".to_owned(), BlobKind::Zip)];
    let made_up = H1Hash::of_go_mod(tampered).to_string();
    let go_mod_sum = got.go_mod_sum.clone().context("no GoModSum")?;
    let lie = record(&key, HELLO, "v1.1.0", &go_mod_sum, (&made_up, tampered))?;
    let liar = Liar::start_with_key(key, files, vec![lie])?;

    let nothing = GitWorld::new()?;
    let v = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&a)?
        .arg("--bootstrap")
        .arg(&liar.addr()?)
        .trust(&a)
        .start()?;
    for signer in [a.signing_key().to_owned(), liar.signer()] {
        wait_until(REACT_TIMEOUT, "V knows both records", || {
            v.has_record(HELLO, "v1.1.0", &signer)
        })
        .with_context(|| v.log())?;
    }
    let client = GoEnv::new(&world, &v.url())?;
    let through_v = client.mod_download(&[&format!("{HELLO}@v1.1.0")])?;
    let served = through_v.ok(HELLO, "v1.1.0").with_context(|| v.log())?;
    ensure!(served.sum == got.sum, "{served:?}");
    let zip = v.http().get("/example.org/hello.git/@v/v1.1.0.zip")?;
    ensure!(
        zip.status == 200 && zip.body == true_zip,
        "V serves other bytes"
    );
    let records = v.records(HELLO, "v1.1.0")?;
    let theirs = records
        .iter()
        .find(|r| r["signer"] == liar.signer().as_str());
    ensure!(
        theirs.is_some_and(|r| r["agrees_with_pinned"] == false),
        "the lie is kept as disagreeing evidence: {records:?}"
    );
    Ok(())
}

/// A bad gossip payload and the module version it names, if any.
type Bad = (Vec<u8>, Option<(String, String)>);

/// One bad gossip payload, variant `n` (a fresh one per attempt: gossipsub drops duplicates),
/// and the module version it names, if any.
type BadPayload = fn(&NodeKey, u32) -> Result<Bad>;

fn forged(key: &NodeKey, n: u32) -> Result<Bad> {
    let (module, version) = ("example.org/forged.git", format!("v1.0.{n}"));
    let genuine = fake_record(key, module, &version)?;
    let mut signature = genuine.signature();
    signature[7] ^= 0x01;
    let forged = SignedRecord::from_parts(genuine.bytes().to_vec(), signature, genuine.signer());
    Ok((forged.to_wire()?, Some((module.to_owned(), version))))
}

fn malformed(_: &NodeKey, n: u32) -> Result<Bad> {
    let junk: Vec<u8> = (0..300u32)
        .map(|i| (i.wrapping_mul(31) ^ n) as u8)
        .collect();
    Ok((junk, None))
}

fn oversized(_: &NodeKey, n: u32) -> Result<Bad> {
    Ok((
        vec![n as u8; SignedRecord::MAX_BYTES + 1 + n as usize],
        None,
    ))
}

fn altered(key: &NodeKey, n: u32) -> Result<Bad> {
    let version = format!("v1.0.{n}");
    let genuine = fake_record(key, "example.org/replay.git", &version)?;
    let other = fake_record(key, "example.org/altered.git", &version)?;
    let replayed = SignedRecord::from_parts(
        other.bytes().to_vec(),
        genuine.signature(),
        genuine.signer(),
    );
    Ok((
        replayed.to_wire()?,
        Some(("example.org/altered.git".to_owned(), version)),
    ))
}

/// A validly signed record of `module@version` with made-up hashes.
pub(crate) fn fake_record(key: &NodeKey, module: &str, version: &str) -> Result<SignedRecord> {
    let go_mod_h1 = H1Hash::of_go_mod(format!("module {module}\n").as_bytes()).to_string();
    record(key, module, version, &go_mod_h1, (&go_mod_h1, b"not a zip"))
}

/// How many `rejecting gossiped record` lines `node` logged about `peer`.
fn rejections(node: &PoolNode, peer: &str) -> usize {
    let needle = format!("peer={peer}");
    node.log()
        .lines()
        .filter(|l| l.contains("rejecting gossiped record") && l.contains(&needle))
        .count()
}

/// A fresh liar connected to `v` publishes variants of `bad` until V rejects one.
fn publish_until_rejected(
    v: &PoolNode,
    bad: BadPayload,
    named: &mut Vec<(String, String)>,
) -> Result<()> {
    let liar = Liar::start(Files::new(), Vec::new())?;
    liar.dial(&v.addr(crate::support::pool::Transport::Tcp)?)?;
    let mut n = 0;
    wait_until(REACT_TIMEOUT, "V rejects the bad payload", || {
        if rejections(v, &liar.peer_id()) > 0 {
            return Ok(true);
        }
        let (payload, at) = bad(liar.key(), n)?;
        n += 1;
        named.extend(at);
        liar.publish(payload);
        std::thread::sleep(Duration::from_millis(200));
        Ok(false)
    })
    .with_context(|| v.log())?;
    Ok(())
}

#[test]
fn bad_records_are_rejected_not_stored_and_not_forwarded() -> Result<()> {
    let nothing = GitWorld::new()?;
    let v = PoolOptions::new(app::node_options(&nothing)).start()?;
    let w = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&v)?
        .start()?;

    let honest = Liar::start(Files::new(), Vec::new())?;
    honest.dial(&v.addr(crate::support::pool::Transport::Tcp)?)?;
    let control = fake_record(honest.key(), "example.org/control.git", "v1.0.0")?;
    let wire = control.to_wire()?;
    wait_until(
        REACT_TIMEOUT,
        "W learns a valid record through the pool",
        || {
            honest.publish(wire.clone());
            w.has_record("example.org/control.git", "v1.0.0", &honest.signer())
        },
    )
    .with_context(|| w.log())?;

    let mut named = Vec::new();
    let kinds: [BadPayload; 4] = [forged, malformed, oversized, altered];
    for bad in kinds {
        publish_until_rejected(&v, bad, &mut named)?;
    }
    for (module, version) in &named {
        ensure!(
            v.records(module, version)?.is_empty(),
            "V stored {module}@{version}"
        );
        ensure!(
            w.records(module, version)?.is_empty(),
            "W stored {module}@{version}"
        );
    }
    ensure!(
        rejections(&w, v.peer_id()) == 0,
        "V forwarded a bad record to W:\n{}",
        w.log()
    );
    ensure!(
        v.pool_stat("records_rejected")? >= 4,
        "V counts its rejections"
    );
    Ok(())
}
