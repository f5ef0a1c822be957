//! Issue 15: the checksum database through the node. A local checksum database (serving a log
//! of the go.sum lines of real git fixtures, signed with a fresh key) is reachable by `go` only
//! through the node's `/sumdb/` relay: its name does not resolve. The real `go` is the judge of
//! every verification; each lie the relay refuses is shown to be one `go` refuses too.

use anyhow::{Result, ensure};
use delos_pool_protocol::sumdb::RecordText;

use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::TestNode;
use crate::support::shapes;
use crate::support::sumdb::{Lie, TestSumdb, go_sum_records};

/// The test database's name: `.test` never resolves, so `https://<name>` is no route.
const NAME: &str = "sumdb.delos.test";

struct World {
    world: GitWorld,
    module: String,
    records: Vec<(String, RecordText)>,
}

/// The `hello` fixture and the records of its v1.0.0 and v1.1.0.
fn world() -> Result<World> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let module = GitWorld::module_path("hello");
    let records = go_sum_records(&world, &[(&module, "v1.0.0"), (&module, "v1.1.0")])?;
    Ok(World {
        world,
        module,
        records,
    })
}

/// A node relaying `db` (with its URL), filling from `world`'s VCS.
fn relay_node(world: &World, db: &TestSumdb) -> Result<TestNode> {
    TestNode::options()
        .git_world(&world.world)
        .args(["--sumdb", &db.direct()])
        .start()
}

/// `go` with GOPROXY = the node only and `GOSUMDB = gosumdb`, fresh caches.
fn go_client(world: &World, node: &TestNode, gosumdb: &str) -> Result<GoEnv> {
    let mut go = GoEnv::new(&world.world, &node.url())?;
    go.set_var("GOSUMDB", gosumdb);
    Ok(go)
}

/// Runs `go mod download -json module@version`; requires it to fail and to say `needle`.
fn go_fails_saying(go: &GoEnv, query: &str, needle: &str) -> Result<()> {
    let out = go.command(&["mod", "download", "-json", query]).output()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(!out.status.success(), "go mod download {query} succeeded");
    ensure!(said.contains(needle), "go did not say {needle:?}:\n{said}");
    Ok(())
}

fn lookup_path(module: &str, version: &str) -> String {
    format!("/sumdb/{NAME}/lookup/{module}@{version}")
}

#[test]
fn go_verifies_through_the_relay_and_still_does_once_the_database_is_down() -> Result<()> {
    let w = world()?;
    let mut db = TestSumdb::start(NAME, w.records.clone())?;
    let node = relay_node(&w, &db)?;
    let query = format!("{}@v1.0.0", w.module);

    let go = go_client(&w, &node, db.verifier_key())?;
    let downloads = go.mod_download(&[&query])?;
    let got = downloads.ok(&w.module, "v1.0.0")?;
    let sum = got.sum.as_deref().unwrap_or_default();
    ensure!(w.records[0].1.as_str().contains(sum), "go.sum line {sum}");
    let timeline = go.gopath().join("pkg/sumdb").join(NAME).join("latest");
    ensure!(
        timeline.exists(),
        "go verified against {NAME}: {timeline:?}"
    );
    ensure!(
        db.requests().iter().any(|p| p.starts_with("/lookup/")),
        "the node asked the database: {:?}",
        db.requests()
    );
    assert_eq!(node.get(&format!("/sumdb/{NAME}/supported"))?.status, 200);
    assert_eq!(
        node.get("/sumdb/sum.example.invalid/supported")?.status,
        404
    );
    for bad in [
        format!("/sumdb/{NAME}/../../etc/passwd"),
        format!("/sumdb/{NAME}/lookup/{}@latest", w.module),
        format!("/sumdb/{NAME}/tile/8/0/x000/000.p/1"),
    ] {
        let status = node.get(&bad)?.status;
        ensure!((400..500).contains(&status), "{bad} answered {status}");
    }

    db.stop();
    let fresh = go_client(&w, &node, db.verifier_key())?;
    fresh.mod_download(&[&query])?.ok(&w.module, "v1.0.0")?;
    assert_eq!(node.get(&format!("/sumdb/{NAME}/latest"))?.status, 200);
    let beyond = node.get(&format!("/sumdb/{NAME}/tile/8/0/001"))?;
    assert_eq!(beyond.status, 404, "{}", beyond.text());
    Ok(())
}

#[test]
fn a_tampered_lookup_and_a_tampered_tile_are_refused_by_the_relay_and_by_go() -> Result<()> {
    let w = world()?;
    let db = TestSumdb::start(NAME, w.records.clone())?;
    let query = format!("{}@v1.0.0", w.module);
    let path = lookup_path(&w.module, "v1.0.0");
    for (lie, go_says) in [
        (Lie::Lookup, "cannot authenticate record data"),
        (Lie::Tile, "inconsistent tile"),
    ] {
        db.lie(lie);
        let node = relay_node(&w, &db)?;
        let refused = node.get(&path)?;
        assert_eq!(refused.status, 502, "{lie:?}: {}", refused.text());
        ensure!(
            refused.text().contains("failed verification"),
            "{lie:?}: {}",
            refused.text()
        );
        let through_node = go_client(&w, &node, db.verifier_key())?;
        go_fails_saying(&through_node, &query, "502 Bad Gateway")?;
        let direct = go_client(&w, &node, &db.direct())?;
        go_fails_saying(&direct, &query, go_says)?;
        let refusals = node.status()?["sumdb"]["refused"].as_u64().unwrap_or(0);
        ensure!(refusals >= 1, "{lie:?}: refusals counted: {refusals}");

        db.lie(Lie::None);
        let honest = node.get(&path)?;
        assert_eq!(
            honest.status,
            200,
            "{lie:?}: the lie was not cached: {}",
            honest.text()
        );
        let fresh = go_client(&w, &node, db.verifier_key())?;
        fresh.mod_download(&[&query])?.ok(&w.module, "v1.0.0")?;
    }
    Ok(())
}

#[test]
fn a_forked_head_is_refused_and_kept_as_evidence() -> Result<()> {
    let w = world()?;
    let db = TestSumdb::start(NAME, w.records.clone())?;
    let node = relay_node(&w, &db)?;
    let direct = go_client(&w, &node, &db.direct())?;
    direct
        .mod_download(&[&format!("{}@v1.0.0", w.module)])?
        .ok(&w.module, "v1.0.0")?;
    assert_eq!(node.get(&lookup_path(&w.module, "v1.0.0"))?.status, 200);

    db.lie(Lie::Fork);
    let forked = node.get(&lookup_path(&w.module, "v1.1.0"))?;
    assert_eq!(forked.status, 502, "{}", forked.text());
    ensure!(forked.text().contains("fork"), "{}", forked.text());
    let status = node.status()?;
    assert_eq!(status["sumdb"]["forks"], 1, "{status}");
    let evidence = &status["sumdb"]["fork_evidence"];
    assert_eq!(evidence.as_array().map(Vec::len), Some(1), "{evidence}");
    assert_eq!(evidence[0]["database"], NAME);
    ensure!(node.get("/metrics")?.text().contains("delos_sumdb_forks 1"));
    // go, which saw the first history, refuses the second as well.
    go_fails_saying(
        &direct,
        &format!("{}@v1.1.0", w.module),
        "misbehavior detected",
    )?;

    db.lie(Lie::None);
    let honest = node.get(&lookup_path(&w.module, "v1.1.0"))?;
    assert_eq!(
        honest.status,
        200,
        "the forked head was not adopted: {}",
        honest.text()
    );
    Ok(())
}

#[test]
fn private_lookups_get_403_and_never_reach_the_database() -> Result<()> {
    let w = world()?;
    let db = TestSumdb::start(NAME, w.records.clone())?;
    let node = TestNode::options()
        .args(["--sumdb", &db.direct(), "--private", "corp.example"])
        .start()?;
    for module in ["corp.example/secret", "corp.example/secret/v2"] {
        let refused = node.get(&lookup_path(module, "v1.0.0"))?;
        assert_eq!(refused.status, 403, "{}", refused.text());
        ensure!(
            refused
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/plain"))
        );
        ensure!(refused.text().contains("GONOSUMDB"), "{}", refused.text());
    }
    ensure!(
        db.requests()
            .iter()
            .all(|path| !path.contains("corp.example")),
        "{:?}",
        db.requests()
    );
    Ok(())
}

#[test]
fn fill_workers_that_cannot_reach_the_database_verify_through_the_relay() -> Result<()> {
    let w = world()?;
    let db = TestSumdb::start(NAME, w.records.clone())?;
    // The workers get only the key: on their own they would dial https://sumdb.delos.test.
    let node = TestNode::options()
        .git_world(&w.world)
        .args(["--sumdb", &db.direct()])
        .gosumdb(db.verifier_key())
        .start()?;
    let go = GoEnv::new(&w.world, &node.url())?;
    go.mod_download(&[&format!("{}@v1.0.0", w.module)])?
        .ok(&w.module, "v1.0.0")?;
    let lookup = format!("/lookup/{}@v1.0.0", w.module);
    ensure!(db.requests().contains(&lookup), "{:?}", db.requests());

    // The workers do verify: a lying database fails the next fill.
    db.lie(Lie::Lookup);
    let lied = go.mod_download(&[&format!("{}@v1.1.0", w.module)])?;
    ensure!(
        lied.get(&w.module, "v1.1.0")?.error.is_some(),
        "a fill verified against a lying database succeeded"
    );
    Ok(())
}
