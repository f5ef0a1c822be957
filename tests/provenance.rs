//! Signed provenance end to end (issue 6): after a build through a real node, every module
//! version it served has the node's own signed record, naming the commit `git rev-parse` gives
//! and the hashes the client wrote to `go.sum`. A second, validly signed record with other
//! hashes (what a node that fetched after the tag moved signs), imported with
//! `delos import-record` while the node is stopped, becomes conflict evidence visible in
//! `/provenance`, `/status` and `/metrics`, and the first bytes keep being served.
//!
//! Why an offline CLI import and not an HTTP endpoint: the store is one process's (sled locks
//! it), the operator action is rare, and a CLI needs no authentication story; records from
//! peers arrive through the pool later, verified the same way.

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::provenance::{
    InfoTime, ProvenanceRecord, RecordFields, Source, VcsOrigin, ZipFacts,
};
use delos_pool_protocol::signing::NodeKey;
use delos_pool_protocol::{ModulePath, Version};
use serde_json::Value;

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::go_json::ModDownload;
use crate::support::node::TestNode;
use crate::support::shapes;

/// The `go.sum` lines, by (module, version): (zip `h1:` if listed, go.mod `h1:`).
type SumLines = BTreeMap<(String, String), (Option<String>, Option<String>)>;

fn parse_go_sum(go_sum: &str) -> SumLines {
    let mut sums = SumLines::new();
    for line in go_sum.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [module, version, hash] = fields[..] else {
            continue;
        };
        let (version, is_mod) = match version.strip_suffix("/go.mod") {
            Some(version) => (version, true),
            None => (version, false),
        };
        let entry = sums
            .entry((module.to_owned(), version.to_owned()))
            .or_default();
        let slot = if is_mod { &mut entry.1 } else { &mut entry.0 };
        *slot = Some(hash.to_owned());
    }
    sums
}

/// The revision a test repository's module version was made from: the commit of a
/// pseudo-version, else the tag (with the subdirectory prefix of a nested module).
fn repo_and_rev(module: &str, version: &str) -> Result<(String, String)> {
    let rest = module
        .strip_prefix("example.org/")
        .context("not a test module")?;
    let (name, sub) = rest
        .split_once(".git")
        .context("no .git in the module path")?;
    let sub = sub.trim_start_matches('/');
    let parts: Vec<&str> = version.split('-').collect();
    let is_pseudo = parts.len() >= 3
        && parts[parts.len() - 1].len() == 12
        && parts[parts.len() - 2].ends_with(|c: char| c.is_ascii_digit());
    let rev = if is_pseudo {
        parts[parts.len() - 1].to_owned()
    } else {
        let major_suffix = sub.starts_with('v') && sub[1..].chars().all(|c| c.is_ascii_digit());
        let prefix = if sub.is_empty() || major_suffix {
            String::new()
        } else {
            format!("{sub}/")
        };
        format!("{prefix}{}", version.trim_end_matches("+incompatible"))
    };
    Ok((name.to_owned(), rev))
}

/// `GET /provenance/...` of `module@version`, as JSON.
fn provenance(node: &TestNode, module: &str, version: &str) -> Result<Value> {
    let module = ModulePath::parse(module)?.escape();
    let version = Version::parse(version)?.escape();
    let response = node.get(&format!("/provenance/{module}/@v/{version}"))?;
    ensure!(
        response.status == 200,
        "{}: {}",
        response.status,
        response.text()
    );
    Ok(serde_json::from_slice(&response.body)?)
}

/// The one record of `json` whose `own` is true.
fn own_record(json: &Value) -> Result<&Value> {
    let own: Vec<&Value> = json["records"]
        .as_array()
        .context("no records array")?
        .iter()
        .filter(|r| r["own"] == true)
        .collect();
    ensure!(own.len() == 1, "not exactly one own record: {json}");
    Ok(own[0])
}

fn check_own_record(
    world: &GitWorld,
    node: &TestNode,
    key: &str,
    at: (&str, &str),
    sums: &(Option<String>, Option<String>),
) -> Result<()> {
    let (module, version) = at;
    let json = provenance(node, module, version)?;
    let own = own_record(&json)?;
    ensure!(own["signer"] == key, "{module}@{version}: {own}");
    ensure!(
        own["agrees_with_pinned"] == true,
        "{module}@{version}: {json}"
    );
    if let Some(go_mod) = &sums.1 {
        ensure!(
            own["go_mod_h1"] == go_mod.as_str(),
            "{module}@{version} go.mod: {own}"
        );
        ensure!(json["pinned"]["go_mod_h1"] == go_mod.as_str(), "{json}");
    }
    if let Some(zip) = &sums.0 {
        ensure!(
            own["zip"]["h1"] == zip.as_str(),
            "{module}@{version} zip: {own}"
        );
        ensure!(json["pinned"]["zip_h1"] == zip.as_str(), "{json}");
    }
    let (repo, rev) = repo_and_rev(module, version)?;
    let commit = world.repo(&repo)?.rev_parse(&rev)?;
    ensure!(own["source"]["kind"] == "vcs", "{own}");
    ensure!(
        own["source"]["hash"] == commit.as_str(),
        "{module}@{version}: {own} vs {rev} = {commit}"
    );
    ensure!(
        json["conflicts"].as_array().is_some_and(Vec::is_empty),
        "{json}"
    );
    Ok(())
}

#[test]
fn a_build_leaves_signed_records_and_a_moved_tag_leaves_evidence() -> Result<()> {
    let world = GitWorld::new()?;
    let all = shapes::all(&world)?;
    app::greet(&world)?;
    app::big(&world)?;
    let node = app::node_options(&world).start()?;
    let app_dir = app::write_app()?;
    let go = GoEnv::new(&world, &node.url())?;
    go.run_in(app_dir.path(), &["mod", "tidy"])?;
    go.run_in(app_dir.path(), &["build", "-o", "app", "."])?;
    let sums =
        parse_go_sum(&fs::read_to_string(app_dir.path().join("go.sum")).context("reading go.sum")?);
    ensure!(sums.len() >= 10, "{sums:?}");

    let key = crate::support::pool::signing_key(&node)?;
    for unknown in [
        "example.org/hello.git/@v/v9.9.9",
        "example.org/hello.git/@v/v1.1",
    ] {
        let response = node.get(&format!("/provenance/{unknown}"))?;
        ensure!(response.status == 404, "{unknown}: {}", response.status);
    }
    for ((module, version), hashes) in &sums {
        check_own_record(&world, &node, &key, (module, version), hashes)?;
    }

    let (module, version) = ("example.org/hello.git", "v1.1.0");
    let served_zip = node.get("/example.org/hello.git/@v/v1.1.0.zip")?;
    ensure!(served_zip.status == 200);
    all.hello.repo.move_tag(version, &all.hello.commits[2])?;
    let direct = GoEnv::new(&world, "direct")?;
    let moved = direct.mod_download(&[&format!("{module}@{version}")])?;
    let moved = moved.ok(module, version)?;
    let first = &sums[&(module.to_owned(), version.to_owned())];
    ensure!(
        moved.sum != first.0,
        "the moved tag must change the zip hash"
    );

    let other = NodeKey::generate()?;
    let wire = other
        .sign(&moved_record(module, version, moved)?)?
        .to_wire()?;
    let record_file = app_dir.path().join("moved.record");
    fs::write(&record_file, wire)?;
    let mut import_log = String::new();
    let node = node.restart_with(|data_dir| {
        let out = Command::new(env!("CARGO_BIN_EXE_delos"))
            .args(["import-record", "--data-dir"])
            .arg(data_dir)
            .arg(&record_file)
            .env_remove("DELOS_PRIVATE")
            .output()?;
        import_log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(out.status.success(), "import-record failed: {import_log}");
        Ok(())
    })?;
    let other_id = other.signer_id().to_string();
    ensure!(import_log.contains("new conflicts: 1"), "{import_log}");
    ensure!(
        import_log.contains("conflicting provenance records")
            && import_log.contains(&other_id)
            && import_log.contains(&key),
        "one warning naming both signers: {import_log}"
    );

    let json = provenance(&node, module, version)?;
    let conflicts = json["conflicts"].as_array().context("conflicts")?;
    ensure!(conflicts.len() == 1, "{json}");
    let conflict = &conflicts[0];
    ensure!(conflict["kind"] == "with_pinned", "{conflict}");
    ensure!(
        conflict["disputed"]["signer"] == other_id.as_str(),
        "{conflict}"
    );
    ensure!(
        conflict["disputed"]["zip"]["h1"] == moved.sum.as_deref().unwrap_or(""),
        "{conflict}"
    );
    ensure!(conflict["counter"]["signer"] == key.as_str(), "{conflict}");
    let theirs = json["records"]
        .as_array()
        .context("records")?
        .iter()
        .find(|r| r["signer"] == other_id.as_str());
    ensure!(
        theirs.is_some_and(|r| r["agrees_with_pinned"] == false),
        "{json}"
    );
    ensure!(
        own_record(&json)?["zip"]["h1"] == first.0.as_deref().unwrap_or(""),
        "{json}"
    );
    ensure!(
        json["pinned"]["zip_h1"] == first.0.as_deref().unwrap_or(""),
        "{json}"
    );

    ensure!(
        node.status()?["provenance"]["conflicts"] == 1,
        "{}",
        node.status()?
    );
    let metrics = node.get("/metrics")?.text();
    ensure!(
        metrics.lines().any(|l| l == "delos_provenance_conflicts 1"),
        "{metrics}"
    );
    let again = node.get("/example.org/hello.git/@v/v1.1.0.zip")?;
    ensure!(
        again.status == 200 && again.body == served_zip.body,
        "the first bytes are served"
    );
    Ok(())
}

/// The record a node that fetched `module@version` after the tag moved would sign, built from
/// what `go mod download -json` reported for the moved tag.
fn moved_record(module: &str, version: &str, moved: &ModDownload) -> Result<ProvenanceRecord> {
    let zip = fs::read(moved.zip.as_ref().context("no zip")?)?;
    let info: Value = serde_json::from_slice(&fs::read(moved.info.as_ref().context("no info")?)?)?;
    let origin = moved.origin.as_ref().context("no Origin")?;
    let origin = VcsOrigin {
        vcs: origin.vcs.clone().context("no VCS")?,
        url: origin.url.clone().context("no URL")?,
        subdir: origin.subdir.clone(),
        hash: origin.hash.clone().context("no Hash")?,
        ref_name: origin.reference.clone(),
    };
    Ok(ProvenanceRecord::new(RecordFields {
        module: ModulePath::parse(module)?,
        version: Version::parse(version)?,
        go_mod_h1: H1Hash::parse(moved.go_mod_sum.as_deref().context("no GoModSum")?)?,
        zip: Some(ZipFacts {
            h1: H1Hash::parse(moved.sum.as_deref().context("no Sum")?)?,
            sha256: Sha256::digest(&zip),
            size: zip.len() as u64,
        }),
        info_time: InfoTime::parse(info["Time"].as_str().context("no Time")?)?,
        source: Source::Vcs(origin),
        obtained_at: 1_800_000_000,
    })?)
}
