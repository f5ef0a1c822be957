//! The node's own checksum database, judged by the real `go` command (issue 16): a client with
//! `GOPROXY=<node>` and `GOSUMDB=<the node's key>` and nothing in GOPRIVATE/GONOSUMDB builds an
//! application needing a private module (the node's `--private`) and public ones, verifying
//! every module against the node's signed log; its `go.sum` equals a direct build's. The same
//! with the explicit-URL form. A wrong key and a version the node cannot fill make `go` fail in
//! its own words.

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::checksum_db;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::TestNode;
use crate::support::shapes;

const NAME: &str = "sum.corp.example";
/// The application's private module (the node's `--private`).
const PRIVATE: &str = "example.org/mono.git";

/// The verifier key of the node's database, as `delos checksum-db key` prints it.
fn verifier_key(node: &TestNode) -> Result<String> {
    checksum_db::printed_key(&node.data_dir().join("data"), NAME)
}

/// `go mod tidy` and `go build` of a copy of the app through `node`, with `gosumdb`; the
/// go.sum it wrote (go kept the node's signed head: the client really verified).
fn build_verified(
    world: &GitWorld,
    node: &TestNode,
    template: &std::path::Path,
    gosumdb: &str,
) -> Result<String> {
    let built =
        checksum_db::build_verified(world, &node.url(), template, (NAME, gosumdb), || node.log())?;
    Ok(built.go_sum)
}

#[test]
fn go_verifies_an_app_with_a_private_module_against_the_nodes_own_database() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let (template, direct_sum) = app::direct_reference(&world)?;

    let node = app::node_options(&world)
        .args(["--checksum-db", NAME, "--private", PRIVATE])
        .start()?;
    let key = verifier_key(&node)?;
    ensure!(key.starts_with(&format!("{NAME}+")), "{key}");

    // Form A: the key alone; go finds the database through GOPROXY (/supported).
    let probed = build_verified(&world, &node, template.path(), &key)?;
    ensure!(
        probed == direct_sum,
        "go.sum:\n{probed}\ndirect:\n{direct_sum}"
    );
    // Form B: the key and the node's URL for the database.
    let explicit = format!("{key} {}/sumdb/{NAME}", node.url());
    let by_url = build_verified(&world, &node, template.path(), &explicit)?;
    ensure!(by_url == direct_sum, "go.sum (URL form):\n{by_url}");

    // The private module went through the log like the public ones.
    let (_, private_version) = crate::pool_fetch::go_sum_versions(&direct_sum)
        .into_iter()
        .find(|(module, _)| module == PRIVATE)
        .context("the app needs no private module")?;
    let lookup = node.get(&format!("/sumdb/{NAME}/lookup/{PRIVATE}@{private_version}"))?;
    ensure!(
        lookup.status == 200
            && lookup
                .text()
                .contains(&format!("{PRIVATE} {private_version} h1:")),
        "{}: {}",
        lookup.status,
        lookup.text()
    );

    // A wrong key (same name, another key) fails in go's own words.
    let other = delos_pool_protocol::sumdb::SignerKey::generate(
        delos_pool_protocol::sumdb::KeyName::new(NAME)?,
    )?;
    let app_dir = app::copy_app_sources(template.path())?;
    let mut go = GoEnv::new(&world, &node.url())?;
    go.set_var("GOSUMDB", other.verifier_key().to_string());
    let err = go
        .run_in(app_dir.path(), &["mod", "tidy"])
        .expect_err("a wrong key must fail");
    ensure!(
        format!("{err:#}").contains("note has no verifiable signatures"),
        "{err:#}"
    );

    // A version the node cannot fill: the database answers 404 (never a guess), and go,
    // which asks the proxy first, fails on the proxy's 404.
    let unknown = node.get(&format!(
        "/sumdb/{NAME}/lookup/example.org/hello.git@v9.9.9"
    ))?;
    ensure!(
        unknown.status == 404,
        "{}: {}",
        unknown.status,
        unknown.text()
    );
    let mut go = GoEnv::new(&world, &node.url())?;
    go.set_var("GOSUMDB", &key);
    let err = go
        .run(&["mod", "download", "example.org/hello.git@v9.9.9"])
        .expect_err("an unknown version must fail");
    ensure!(format!("{err:#}").contains("404"), "{err:#}");
    Ok(())
}

/// A history forked under the same key: a client that cached a head of the first history
/// gets go's "server misbehavior" from a node whose log holds the same versions in another
/// order, so a store rebuilt or tampered with behind the clients' backs fails loudly.
#[test]
fn a_forked_log_under_the_same_key_is_caught_by_go() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    app::greet(&world)?;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("sumdb.key");
    let options = checksum_db::options(&world, NAME, &key_file);
    let lookup = |node: &TestNode, version: &str| -> Result<()> {
        let path = format!("/sumdb/{NAME}/lookup/example.org/hello.git@{version}");
        let answer = node.get(&path)?;
        ensure!(answer.status == 200, "{path}: {}", answer.text());
        Ok(())
    };

    let first = options.clone().start()?;
    lookup(&first, "v1.0.0")?;
    lookup(&first, "v1.1.0")?;
    let key = checksum_db::key_in(&key_file)?.to_string();
    let mut client = GoEnv::new(&world, &first.url())?;
    client.set_var("GOSUMDB", &key);
    client.run(&[
        "mod",
        "download",
        "example.org/hello.git@v1.0.0",
        "example.org/hello.git@v1.1.0",
    ])?;
    drop(first);

    // The same versions in the other order, then one more: a different tree of size 3.
    let second = options.start()?;
    lookup(&second, "v1.1.0")?;
    lookup(&second, "v1.0.0")?;
    client.set_var("GOPROXY", second.url());
    let err = client
        .run(&["mod", "download", "example.org/greet.git@v1.0.0"])
        .expect_err("a forked log must fail");
    let text = format!("{err:#}");
    ensure!(
        text.contains("SECURITY ERROR") && text.contains("server misbehavior detected"),
        "{text}"
    );
    Ok(())
}

/// A version the node holds only `.mod`-only (its zip cannot be built) has no record in the
/// log: its lookup answers 404, and `go` reports that 404 while verifying the `.mod`, as the
/// README says a client sees.
#[test]
fn a_mod_only_version_has_no_record_and_go_reports_the_404() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::too_new(&world)?;
    let node = app::node_options(&world)
        .args(["--checksum-db", NAME])
        .start()?;
    let key = verifier_key(&node)?;
    let lookup = node.get(&format!(
        "/sumdb/{NAME}/lookup/example.org/toonew.git@v1.0.0"
    ))?;
    ensure!(lookup.status == 404, "{}: {}", lookup.status, lookup.text());
    let mut go = GoEnv::new(&world, &node.url())?;
    go.set_var("GOSUMDB", &key);
    let err = go
        .run(&["mod", "download", "example.org/toonew.git@v1.0.0"])
        .expect_err("no record, no verified download");
    let text = format!("{err:#}");
    ensure!(
        text.contains("/lookup/example.org/toonew.git@v1.0.0") && text.contains("404"),
        "{text}"
    );
    Ok(())
}
