//! What the tests of the node's own checksum database share: its verifier key, as `delos
//! checksum-db key` prints it or read from a key file, and node options with a key file.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, ensure};
use delos_pool_protocol::sumdb::{SignerKey, VerifierKey};

use super::git::GitWorld;
use super::node::NodeOptions;

/// The verifier key `delos checksum-db key` prints for the database `name` of `data_dir`.
pub(crate) fn printed_key(data_dir: &Path, name: &str) -> Result<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_delos"))
        .args(["checksum-db", "key", "--checksum-db", name, "--data-dir"])
        .arg(data_dir)
        .env_remove("DELOS_CHECKSUM_DB_KEY")
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// The verifier key of the note key in `key_file`.
pub(crate) fn key_in(key_file: &Path) -> Result<VerifierKey> {
    let key = SignerKey::parse(std::fs::read_to_string(key_file)?.trim())?;
    Ok(key.verifier_key())
}

/// Options of a node whose `go` sees `world`, running the database `name` signed with the key
/// in `key_file` (created on its first start).
pub(crate) fn options(world: &GitWorld, name: &str, key_file: &Path) -> NodeOptions {
    super::app::node_options(world).args([
        "--checksum-db".as_ref(),
        name.as_ref(),
        "--checksum-db-key".as_ref(),
        key_file.as_os_str(),
    ])
}

/// The sled database of the store of a node's data dir (the node stopped).
fn store_meta(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("store").join("meta-sled")
}

/// Doctors a stopped node's store: its checksum log (records, hashes, ids, heads, size)
/// becomes the one of the store in `from`, every other tree stays. Both nodes signed with
/// the same key, so the result is a log signed as the node's own that another store wrote.
pub(crate) fn transplant_log(from: &Path, into: &Path) -> Result<()> {
    let source = sled::open(store_meta(from))?;
    let target = sled::open(store_meta(into))?;
    let mut moved = 0;
    for name in source.tree_names() {
        if !name.starts_with(b"sumdb-log-") {
            continue;
        }
        let (from_tree, into_tree) = (source.open_tree(&name)?, target.open_tree(&name)?);
        into_tree.clear()?;
        for pair in from_tree.iter() {
            let (key, value) = pair?;
            into_tree.insert(key, value)?;
        }
        moved += 1;
    }
    ensure!(
        moved >= 4,
        "only {moved} checksum log trees in the source store"
    );
    target.flush()?;
    Ok(())
}

/// What a build verified against a checksum database left: the `go.sum` it wrote and the
/// signed head of the database `go` kept.
pub(crate) struct VerifiedBuild {
    /// The `go.sum`.
    pub(crate) go_sum: String,
    /// `$GOPATH/pkg/sumdb/<name>/latest`.
    pub(crate) latest: String,
}

/// `go mod tidy` and `go build` of a copy of the app's sources (go.mod with its requirements,
/// no go.sum) through the proxy at `goproxy`, fresh module cache, verifying every module
/// against the database `name` that `gosumdb` names; `log` is shown when `go` fails.
pub(crate) fn build_verified(
    world: &GitWorld,
    goproxy: &str,
    template: &Path,
    (name, gosumdb): (&str, &str),
    log: impl Fn() -> String,
) -> anyhow::Result<VerifiedBuild> {
    use anyhow::Context;
    let app_dir = super::app::copy_app_sources(template)?;
    let mut go = super::go::GoEnv::new(world, goproxy)?;
    go.set_var("GOSUMDB", gosumdb);
    go.run_in(app_dir.path(), &["mod", "tidy"])
        .with_context(log)?;
    go.run_in(app_dir.path(), &["build", "-o", "app", "."])?;
    let latest = std::fs::read_to_string(go.gopath().join("pkg/sumdb").join(name).join("latest"))
        .context("go kept no head of the database: it did not verify against it")?;
    let go_sum = std::fs::read_to_string(app_dir.path().join("go.sum"))?;
    Ok(VerifiedBuild { go_sum, latest })
}
