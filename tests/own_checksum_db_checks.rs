//! What keeps the node's own checksum database honest, judged by the real `go` command
//! (issue 16): public versions enter the log only when the public database agrees (a
//! contradicted one stays out, shown in `/provenance`, `/status` and `/metrics`, and `go`
//! gets the reason); and a log record that disagrees with the zip the node serves, made by
//! doctoring a copy of a store, makes `go` fail with its own security error.

use std::process::Command;

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::support::app;
use crate::support::checksum_db;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::TestNode;
use crate::support::shapes;
use crate::support::sumdb::{TestSumdb, go_sum_records, other_zip_hash};

const NAME: &str = "sum.corp.example";
const PUBLIC: &str = "sum.public.example";
const HELLO: &str = "example.org/hello.git";
/// A private module (the node's `--private`): never looked up in the public database.
const GREET: &str = "example.org/greet.git";

#[test]
fn a_version_the_public_database_contradicts_stays_out_of_the_log() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    app::greet(&world)?;
    let mut records = go_sum_records(&world, &[(HELLO, "v1.0.0"), (HELLO, "v1.1.0")])?;
    // The public database saw another v1.1.0 (a moved tag, or a tampered store here).
    records[1].1 = other_zip_hash(&records[1].1)?;
    let contradicting = records[1].1.clone();
    let public = TestSumdb::start(PUBLIC, records)?;
    // The node's HTTP client honours HTTP_PROXY, which the app's options point nowhere.
    let node = app::node_options(&world)
        .env("NO_PROXY", "127.0.0.1")
        .args(["--sumdb", &public.direct()])
        .args(["--checksum-db", NAME, "--checksum-db-check", PUBLIC])
        .args(["--private", GREET])
        .start()?;
    let key = checksum_db::printed_key(&node.data_dir().join("data"), NAME)?;
    let mut go = GoEnv::new(&world, &node.url())?;
    go.set_var("GOSUMDB", &key);

    // Agreed by the public database, or private: verified by go against the node's log.
    go.run(&[
        "mod",
        "download",
        &format!("{HELLO}@v1.0.0"),
        &format!("{GREET}@v1.0.0"),
    ])
    .with_context(|| node.log())?;
    // Contradicted: go gets the node's reason instead of a record.
    let err = go
        .run(&["mod", "download", &format!("{HELLO}@v1.1.0")])
        .expect_err("a contradicted version has no record");
    let text = format!("{err:#}");
    ensure!(
        text.contains("410 Gone") && text.contains("kept out of this checksum database"),
        "{text}"
    );
    ensure!(
        !public.requests().iter().any(|path| path.contains("greet")),
        "the private module reached the public database: {:?}",
        public.requests()
    );

    // The evidence: the public database's own signed lookup, beside what the node pinned.
    let provenance = node.get(&format!("/provenance/{HELLO}/@v/v1.1.0"))?;
    ensure!(provenance.status == 200, "{}", provenance.text());
    let provenance: Value = serde_json::from_str(&provenance.text())?;
    let in_log = &provenance["checksum_db"];
    ensure!(in_log["record_id"].is_null(), "{in_log}");
    let conflict = &in_log["public_conflict"];
    ensure!(conflict["database"] == PUBLIC, "{conflict}");
    let public_lookup = conflict["public_lookup"].as_str().unwrap_or_default();
    ensure!(
        public_lookup.contains(contradicting.as_str()) && public_lookup.contains(PUBLIC),
        "{conflict}"
    );
    let pinned = conflict["pinned_record"].as_str().unwrap_or_default();
    ensure!(
        pinned.starts_with(&format!("{HELLO} v1.1.0 h1:")) && pinned != contradicting.as_str(),
        "{conflict}"
    );
    let agreed = node.get(&format!("/provenance/{HELLO}/@v/v1.0.0"))?.text();
    let agreed: Value = serde_json::from_str(&agreed)?;
    ensure!(agreed["checksum_db"]["record_id"].is_u64(), "{agreed}");

    let shown = |node: &TestNode| -> Result<()> {
        let status = node.status()?;
        let section = &status["checksum_db"];
        ensure!(section["public_conflicts"] == 1, "{section}");
        ensure!(section["public_check"] == PUBLIC, "{section}");
        let listed = &section["public_conflict_list"][0];
        ensure!(
            listed["module"] == HELLO && listed["version"] == "v1.1.0",
            "{section}"
        );
        let metrics = node.get("/metrics")?.text();
        ensure!(
            metrics
                .lines()
                .any(|line| line == "delos_checksum_db_public_conflicts 1"),
            "{metrics}"
        );
        Ok(())
    };
    shown(&node)?;

    // The conflict is durable: after a restart the version is still out, and still shown.
    let node = node.restart()?;
    shown(&node)?;
    let lookup = node.get(&format!("/sumdb/{NAME}/lookup/{HELLO}@v1.1.0"))?;
    ensure!(lookup.status == 410, "{}: {}", lookup.status, lookup.text());
    let lookup = node.get(&format!("/sumdb/{NAME}/lookup/{HELLO}@v1.0.0"))?;
    ensure!(lookup.status == 200, "{}: {}", lookup.status, lookup.text());
    Ok(())
}

/// Two nodes sign with one key: B pinned `v1.0.0` while its tag pointed at another commit,
/// A after the tag moved back. A copy of A's store with B's log (a consistent log, signed with
/// the right key, whose record is not the zip A serves) is caught by `go`.
#[test]
fn a_log_record_disagreeing_with_the_served_zip_fails_go() -> Result<()> {
    let world = GitWorld::new()?;
    let hello = shapes::hello(&world)?;
    let (v100, v110) = (hello.commits[0].clone(), hello.commits[1].clone());
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("sumdb.key");
    let options = checksum_db::options(&world, NAME, &key_file);
    let logged = |node: &TestNode| -> Result<String> {
        let path = format!("/sumdb/{NAME}/lookup/{HELLO}@v1.0.0");
        let answer = node.get(&path)?;
        ensure!(answer.status == 200, "{path}: {}", answer.text());
        Ok(answer.text())
    };

    hello.repo.move_tag("v1.0.0", &v110)?;
    let mut b = options.clone().start()?;
    let b_record = logged(&b)?;
    b.stop()?;
    hello.repo.move_tag("v1.0.0", &v100)?;
    let mut a = options.clone().start()?;
    let a_record = logged(&a)?;
    a.stop()?;
    ensure!(a_record != b_record, "both logs say {a_record}");

    let doctored = tempfile::Builder::new().prefix("delos-node-").tempdir()?;
    let copied = Command::new("cp")
        .arg("-a")
        .arg(a.data_dir().join("."))
        .arg(doctored.path())
        .status()?;
    ensure!(copied.success(), "cp -a failed");
    checksum_db::transplant_log(&b.data_dir().join("data"), &doctored.path().join("data"))?;
    let node = options.clone().start_in(doctored)?;
    ensure!(logged(&node)? == b_record, "the doctored log is not B's");

    let key = checksum_db::key_in(&key_file)?.to_string();
    let mut go = GoEnv::new(&world, &node.url())?;
    go.set_var("GOSUMDB", &key);
    let err = go
        .run(&["mod", "download", &format!("{HELLO}@v1.0.0")])
        .expect_err("a zip its log contradicts must fail");
    let text = format!("{err:#}");
    ensure!(
        text.contains("checksum mismatch") && text.contains("SECURITY ERROR"),
        "{text}"
    );
    // `delos audit` finds it too, from the stopped store alone.
    let mut node = node;
    node.stop()?;
    let audit = |data_dir: &std::path::Path| -> Result<std::process::Output> {
        Ok(Command::new(env!("CARGO_BIN_EXE_delos"))
            .args(["audit", "--checksum-db", NAME, "--checksum-db-key"])
            .arg(&key_file)
            .arg("--data-dir")
            .arg(data_dir)
            .output()?)
    };
    let found = audit(&node.data_dir().join("data"))?;
    let report = String::from_utf8_lossy(&found.stdout);
    ensure!(
        !found.status.success()
            && report.contains(&format!("({HELLO}@v1.0.0) is not what the store pins")),
        "{report}"
    );
    let clean = audit(&a.data_dir().join("data"))?;
    let report = String::from_utf8_lossy(&clean.stdout);
    ensure!(
        clean.status.success() && report.contains("0 disagreements"),
        "{report}{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    // A's own store and log verify (a new client: this one keeps the doctored head, which
    // A's honest head of the same size would contradict).
    let honest = options.start_in(a.into_dir()?)?;
    let mut go = GoEnv::new(&world, &honest.url())?;
    go.set_var("GOSUMDB", &key);
    go.run(&["mod", "download", &format!("{HELLO}@v1.0.0")])
        .with_context(|| honest.log())?;
    Ok(())
}
