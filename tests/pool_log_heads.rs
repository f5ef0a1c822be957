//! The pool watching its members' checksum logs (issue 17, first part): a writer's signed
//! heads are gossiped; when the same key signs another history (a second node given the
//! writer's key, filling the same versions in the other order), the other members hold the
//! proof within 30 s, show it in `/status` and `/metrics`, write an evidence file, and that
//! file proves the fork offline with `delos audit --evidence`; a doctored file does not. A
//! member relaying the log cosigns the heads it verified, and once the fork is proved it, and
//! a member mirroring the log, stop believing it: a client verifying through either fails
//! closed. A fork between heads of different sizes is proved from the larger tree's tiles.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::support::checksum_db;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::NodeOptions;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};
use crate::support::shapes;

const NAME: &str = "sum.pool.example";
const HELLO: &str = "example.org/hello.git";
/// The bound on how soon members hold the proof.
const PROOF_WITHIN: Duration = Duration::from_secs(30);

/// Appends `versions` of hello to `node`'s log, in order, through lookups.
fn log_in_order(node: &PoolNode, versions: &[&str]) -> Result<()> {
    let versions: Vec<String> = versions.iter().map(|v| format!("{HELLO}@{v}")).collect();
    log_module_versions(node, &versions)
}

/// Appends `module@version`s (escaped) to `node`'s log, in order, through lookups.
fn log_module_versions(node: &PoolNode, versions: &[String]) -> Result<()> {
    for version in versions {
        let path = format!("/sumdb/{NAME}/lookup/{version}");
        let answer = node.http().get(&path)?;
        ensure!(answer.status == 200, "{path}: {}", answer.text());
    }
    Ok(())
}

/// The newest head `node` holds for the log `verifier`: its size, if any.
fn gossiped_size(node: &PoolNode, verifier: &str) -> Result<Option<u64>> {
    let status = node.http().status()?;
    let heads = status["pool"]["log_heads"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(heads
        .iter()
        .find(|head| head["verifier"] == verifier)
        .and_then(|head| head["size"].as_u64()))
}

fn evidence_files(node: &PoolNode) -> Result<Vec<PathBuf>> {
    let dir = node.http().data_dir().join("data").join("evidence");
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(files)
}

fn audit_evidence(file: &Path) -> Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_delos"))
        .args(["audit", "--evidence"])
        .arg(file)
        .output()?)
}

#[test]
fn members_prove_a_forked_log_and_the_evidence_verifies_offline() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("sumdb.key");
    let writer = PoolOptions::new(checksum_db::options(&world, NAME, &key_file)).start()?;
    let verifier = checksum_db::key_in(&key_file)?.to_string();
    // B also relays the writer's database to clients.
    let relayed = format!("{verifier} {}/sumdb/{NAME}", writer.url());
    let b = PoolOptions::new(NodeOptions::default().args(["--sumdb", &relayed]))
        .bootstrap(&writer)?
        .start()?;
    // C mirrors the writer's log over the pool.
    let c = PoolOptions::new(NodeOptions::default().args(["--mirror-log", &verifier]))
        .bootstrap(&b)?
        .start()?;

    log_in_order(&writer, &["v1.0.0", "v1.1.0"])?;
    // A client that verifies through B's relay of the log builds.
    let through_b = format!("{verifier} {}/sumdb/{NAME}", b.url());
    let client = || -> Result<GoEnv> {
        let mut go = GoEnv::new(&world, &writer.url())?;
        go.set_var("GOSUMDB", &through_b);
        Ok(go)
    };
    let first = client()?;
    first.run(&["mod", "download", &format!("{HELLO}@v1.0.0")])?;
    // B vouches for the head it verified: its witness cosignature is in what go kept.
    let latest = fs::read_to_string(first.gopath().join("pkg/sumdb").join(NAME).join("latest"))?;
    ensure!(
        latest.contains(&format!("\u{2014} {NAME} ")) && latest.contains("\u{2014} delos-witness-"),
        "{latest}"
    );
    for member in [&b, &c] {
        wait_until(PROOF_WITHIN, "the writer's head of size 2 gossiped", || {
            Ok(gossiped_size(member, &verifier)? == Some(2))
        })
        .with_context(|| member.log())?;
    }

    // A twin with the writer's key signs another history of the same versions.
    let twin = PoolOptions::new(checksum_db::options(&world, NAME, &key_file))
        .bootstrap(&c)?
        .start()?;
    log_in_order(&twin, &["v1.1.0", "v1.0.0"])?;
    for member in [&b, &c] {
        wait_until(PROOF_WITHIN, "the fork proved and shown", || {
            let status = member.http().status()?;
            let shown = status["pool"]["log_fork_evidence"]
                .as_array()
                .is_some_and(|forks| forks.iter().any(|f| f["verifier"] == verifier));
            Ok(shown && status["pool"]["log_forks"] == 1)
        })
        .with_context(|| member.log())?;
        let metrics = member.http().get("/metrics")?.text();
        ensure!(
            metrics.lines().any(|line| line == "delos_pool_log_forks 1"),
            "{metrics}"
        );
    }

    // B (relaying the log) and C (mirroring it) no longer believe it: a client verifying
    // through either fails closed.
    for member in [&b, &c] {
        let mut go = GoEnv::new(&world, &writer.url())?;
        go.set_var(
            "GOSUMDB",
            format!("{verifier} {}/sumdb/{NAME}", member.url()),
        );
        let err = go
            .run(&["mod", "download", &format!("{HELLO}@v1.1.0")])
            .expect_err("a proved fork must fail closed");
        let text = format!("{err:#}");
        ensure!(
            text.contains("502 Bad Gateway") && text.contains("is proved forked"),
            "{text}"
        );
    }

    // The evidence file proves the fork with nothing but itself.
    let files = evidence_files(&b)?;
    let file = files.first().context("no evidence file on B")?;
    let proved = audit_evidence(file)?;
    let stdout = String::from_utf8_lossy(&proved.stdout);
    ensure!(
        proved.status.success() && stdout.contains("FORK PROVED"),
        "{stdout}{}",
        String::from_utf8_lossy(&proved.stderr)
    );
    // One head twice proves nothing.
    let mut doctored: Value = serde_json::from_str(&fs::read_to_string(file)?)?;
    doctored["second"] = doctored["first"].clone();
    let doctored_file = keys.path().join("doctored.json");
    fs::write(&doctored_file, serde_json::to_string(&doctored)?)?;
    let refused = audit_evidence(&doctored_file)?;
    ensure!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stdout).contains("NOT A PROOF"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );

    // B's operator, told how the fork came about, lifts the distrust on the stopped node
    // (the twin gone): B serves the log again, and its evidence file stays.
    drop((twin, c));
    let b_data = b.http().data_dir().join("data");
    let lift = || -> Result<()> {
        let out = Command::new(env!("CARGO_BIN_EXE_delos"))
            .args(["lift-fork", &verifier, "--data-dir"])
            .arg(&b_data)
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure!(
            out.status.success() && stdout.contains("believed again"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    let b = b.restart_with(lift)?;
    ensure!(b.pool_stat("log_forks")? == 0, "{}", b.log());
    let mut go = GoEnv::new(&world, &writer.url())?;
    go.set_var("GOSUMDB", format!("{verifier} {}/sumdb/{NAME}", b.url()));
    go.run(&["mod", "download", &format!("{HELLO}@v1.1.0")])
        .with_context(|| b.log())?;
    let kept = evidence_files(&b)?;
    ensure!(
        files.iter().all(|file| kept.contains(file)),
        "evidence files gone: {files:?} then {kept:?}"
    );
    Ok(())
}

#[test]
fn members_prove_a_fork_between_heads_of_different_sizes_from_tiles() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::multi(&world)?;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("sumdb.key");
    // The writer pins two versions before its log exists, so the log starts with both in
    // one append: it never signs a head of size 1 that members could hold.
    let mut pinning = crate::support::app::node_options(&world).start()?;
    for version in ["v1.0.0", "v1.1.0"] {
        let zip = pinning.get(&format!("/{HELLO}/@v/{version}.zip"))?;
        ensure!(zip.status == 200, "{version}: {}", zip.text());
    }
    pinning.stop()?;
    let writer = PoolOptions::new(checksum_db::options(&world, NAME, &key_file))
        .start_in(pinning.into_dir()?)?;
    let verifier = checksum_db::key_in(&key_file)?.to_string();
    let b = PoolOptions::new(NodeOptions::default())
        .bootstrap(&writer)?
        .start()?;
    let c = PoolOptions::new(NodeOptions::default())
        .bootstrap(&b)?
        .start()?;
    log_module_versions(&writer, &[String::from("example.org/multi.git@v1.5.0")])?;
    for member in [&b, &c] {
        wait_until(PROOF_WITHIN, "the writer's head of size 3 gossiped", || {
            Ok(gossiped_size(member, &verifier)? == Some(3))
        })
        .with_context(|| member.log())?;
    }

    // A twin with the writer's key signs a history of one record that is not the writer's
    // first: only the writer's tiles of size 3 show it.
    let twin = PoolOptions::new(checksum_db::options(&world, NAME, &key_file))
        .bootstrap(&c)?
        .start()?;
    log_in_order(&twin, &["v1.1.0"])?;
    for member in [&b, &c] {
        wait_until(
            PROOF_WITHIN,
            "the fork across sizes proved and shown",
            || {
                let status = member.http().status()?;
                Ok(status["pool"]["log_forks"] == 1)
            },
        )
        .with_context(|| member.log())?;
    }

    // The evidence carries the tiles, and proves the fork offline; without them it does not.
    let files = [evidence_files(&b)?, evidence_files(&c)?].concat();
    let file = files.first().context("no evidence file")?;
    let evidence: Value = serde_json::from_str(&fs::read_to_string(file)?)?;
    ensure!(
        evidence["tiles"].as_array().is_some_and(|t| !t.is_empty()),
        "{evidence}"
    );
    let proved = audit_evidence(file)?;
    ensure!(
        proved.status.success() && String::from_utf8_lossy(&proved.stdout).contains("FORK PROVED"),
        "{}",
        String::from_utf8_lossy(&proved.stdout)
    );
    let mut doctored = evidence.clone();
    doctored
        .as_object_mut()
        .context("not an object")?
        .remove("tiles");
    let doctored_file = keys.path().join("no-tiles.json");
    fs::write(&doctored_file, serde_json::to_string(&doctored)?)?;
    let refused = audit_evidence(&doctored_file)?;
    ensure!(
        !refused.status.success(),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
    Ok(())
}
