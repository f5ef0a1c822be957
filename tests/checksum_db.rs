//! The node's own checksum database (issue 16), as far as it is built: a node started with
//! `--checksum-db` on a store filled before appends every version pinned whole (and only
//! those), then each new fill; each record holds exactly the `go.sum` lines a direct
//! `go mod download` computes; the head it signs opens with the key `delos checksum-db key`
//! prints, and names the log's size and tree hash.

use anyhow::{Context, Result, ensure};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{RecordText, SignedTreeHead, VerifierKey, Verifiers};
use delos_pool_protocol::version::Version;

use crate::support::app;
use crate::support::checksum_db;
use crate::support::crash::open_index;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::TestNode;
use crate::support::shapes;

const NAME: &str = "sum.corp.example";

fn download(world: &GitWorld, node: &TestNode, queries: &[&str]) -> Result<()> {
    let go = GoEnv::new(world, &node.url())?;
    let downloads = go.mod_download(queries)?;
    for query in queries {
        let (module, version) = query.split_once('@').context("module@version")?;
        downloads.get(module, version).with_context(|| node.log())?;
    }
    Ok(())
}

#[test]
fn every_whole_pin_is_in_the_signed_log_once_with_direct_go_sum_lines() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::too_new(&world)?;
    let direct = GoEnv::new(&world, "direct")?.mod_download(&[
        "example.org/hello.git@v1.0.0",
        "example.org/hello.git@v1.1.0",
    ])?;

    // A store filled before the database was turned on.
    let node = app::node_options(&world).start()?;
    download(&world, &node, &["example.org/hello.git@v1.0.0"])?;
    let mut key_out = None;
    let node = node.restart_with(|data_dir| {
        key_out = Some(checksum_db::printed_key(data_dir, NAME)?);
        Ok(())
    })?;
    let key: VerifierKey = key_out.context("no key")?.trim().parse()?;

    let options = app::node_options(&world).args(["--checksum-db", NAME]);
    let dir = node.kill_tree()?;
    let node = options.start_in(dir)?;
    ensure!(
        node.log().contains("checksum database on"),
        "{}",
        node.log()
    );
    // A new whole version, and a .mod-only one that must stay out.
    download(
        &world,
        &node,
        &[
            "example.org/hello.git@v1.1.0",
            "example.org/toonew.git@v1.0.0",
        ],
    )?;
    // The epilogue handed the fill to the appender, which signed the head of size 2.
    crate::support::pool::wait_until(
        std::time::Duration::from_secs(10),
        "the head of size 2 is signed",
        || Ok(node.log().contains("checksum log head signed") && node.log().contains("size=2")),
    )
    .with_context(|| node.log())?;
    let dir = node.kill_tree()?;
    let index = open_index(&dir.path().join("data/store"))?;
    let log = index.checksum_log();
    ensure!(log.size()? == 2, "the log holds the two whole pins");
    let (size, head) = log.latest_head()?.context("no signed head")?;
    ensure!(size == 2);
    let signed = SignedTreeHead::open(&head, &Verifiers::new([key])?)?;
    ensure!(signed.head().size() == 2);
    ensure!(signed.head().hash() == log.tree_hash(2)?);
    for (id, version) in ["v1.0.0", "v1.1.0"].iter().enumerate() {
        let module = ModulePath::parse("example.org/hello.git")?;
        let version = Version::parse(version)?;
        let d = direct.ok("example.org/hello.git", version.as_str())?;
        let expected = format!(
            "example.org/hello.git {version} {}\nexample.org/hello.git {version}/go.mod {}\n",
            d.sum.as_deref().context("sum")?,
            d.go_mod_sum.as_deref().context("go.mod sum")?
        );
        ensure!(
            log.id_of(&module, &version)? == Some(id as u64),
            "pin order"
        );
        ensure!(log.record(id as u64)? == Some(RecordText::parse(expected.as_bytes())?));
    }
    let toonew = (
        ModulePath::parse("example.org/toonew.git")?,
        Version::parse("v1.0.0")?,
    );
    ensure!(
        index.get(&toonew.0, &toonew.1)?.is_some(),
        "toonew is pinned .mod-only"
    );
    ensure!(
        log.id_of(&toonew.0, &toonew.1)?.is_none(),
        "but not in the log"
    );
    Ok(())
}
