//! The way out for a store poisoned before the fill path's cross-checks (issue 13): `delos
//! verify` reports a `.mod`-only pin whose VCS now yields the whole version with another
//! `go.mod`, and `delos repin` replaces it with a validated fresh fill, keeping the node's old
//! record as conflict evidence. The poisoned store is made as the bug made it: the synthesized
//! `.mod` pinned `.mod`-only and signed with the node's own key.

use anyhow::{Context, Result, ensure};
use delos_node::keys::NodeKeys;
use delos_node::provenance::OwnRecords;
use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::{HashedBlob, Sharing, Source, VersionEntry};

use crate::support::app;
use crate::support::cli::delos;
use crate::support::crash::open_index;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;

const MODULE: &str = "example.org/big.git";
const VERSION: &str = "v1.0.0";
const BASE: &str = "/example.org/big.git/@v/v1.0.0";

#[test]
fn verify_finds_a_poisoned_mod_only_pin_and_repin_replaces_it() -> Result<()> {
    let world = GitWorld::new()?;
    app::big(&world)?;
    let direct = GoEnv::new(&world, "direct")?;
    let downloads = direct.mod_download(&[&format!("{MODULE}@{VERSION}")])?;
    let reference = downloads.ok(MODULE, VERSION)?;
    let info = std::fs::read(reference.info.as_ref().context("no .info")?)?;
    let go_mod = std::fs::read(reference.go_mod.as_ref().context("no .mod")?)?;

    // A node that has filled nothing, then the poisoned pin, made while it is stopped.
    let node = app::node_options(&world).start()?;
    let node = node.restart_with(|data_dir| poison(data_dir, &info))?;
    let poisoned = node.get(&format!("{BASE}.mod"))?;
    ensure!(
        poisoned.body == b"module example.org/big.git\n",
        "{}",
        poisoned.text()
    );
    ensure!(node.get(&format!("{BASE}.zip"))?.status == 404);

    let mut verify_out = None;
    let node = node.restart_with(|data_dir| {
        verify_out = Some(delos(&world, &["verify", "--vcs"], data_dir)?);
        Ok(())
    })?;
    let out = verify_out.context("verify did not run")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        !out.status.success(),
        "verify must fail on a poisoned pin: {text}"
    );
    ensure!(
        text.contains(&format!("{MODULE}@{VERSION}: POISONED"))
            && text.contains(&H1Hash::of_go_mod(&go_mod).to_string()),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut repin_out = None;
    let node = node.restart_with(|data_dir| {
        repin_out = Some(delos(
            &world,
            &["repin", &format!("{MODULE}@{VERSION}")],
            data_dir,
        )?);
        Ok(())
    })?;
    let out = repin_out.context("repin did not run")?;
    ensure!(
        out.status.success(),
        "repin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Now the node serves what a direct download yields, and a client checks it.
    ensure!(node.get(&format!("{BASE}.mod"))?.body == go_mod);
    let client = GoEnv::new(&world, &node.url())?;
    let through = client.mod_download(&[&format!("{MODULE}@{VERSION}")])?;
    let through = through.ok(MODULE, VERSION).with_context(|| node.log())?;
    assert_eq!(through.sum, reference.sum);
    assert_eq!(through.go_mod_sum, reference.go_mod_sum);
    let provenance = node.get(&format!("/provenance{BASE}"))?;
    let json: serde_json::Value =
        serde_json::from_slice(&provenance.body).with_context(|| provenance.text())?;
    let conflicts = json["conflicts"].as_array().context("conflicts")?;
    ensure!(conflicts.len() == 1, "the old record is evidence: {json}");
    ensure!(
        conflicts[0]["disputed"]["go_mod_h1"]
            == H1Hash::of_go_mod(b"module example.org/big.git\n").to_string(),
        "{json}"
    );
    ensure!(
        json["pinned"]["zip_h1"] == reference.sum.as_deref().unwrap_or(""),
        "{json}"
    );

    // Verified again, nothing is left for the operator.
    let mut again = None;
    let _node = node.restart_with(|data_dir| {
        again = Some(delos(&world, &["verify", "--vcs"], data_dir)?);
        Ok(())
    })?;
    let again = again.context("verify did not run")?;
    ensure!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    Ok(())
}

/// Pins the synthesized `.mod` `.mod`-only, as a damaged clone made the old code do, and
/// signs it with the node's own key.
fn poison(data_dir: &std::path::Path, info: &[u8]) -> Result<()> {
    let index = open_index(&data_dir.join("store"))?;
    let (module, version) = (ModulePath::parse(MODULE)?, Version::parse(VERSION)?);
    let synthesized = b"module example.org/big.git\n";
    let blob = index.blobs().write(&synthesized[..])?;
    let entry = VersionEntry::new(
        info.to_vec(),
        HashedBlob::new(blob, H1Hash::of_go_mod(synthesized)),
        1_767_225_600,
        Source::Vcs,
    );
    index.store(&module, &version, entry.clone())?;
    let keys = NodeKeys::load(data_dir, None)?;
    OwnRecords::new(keys.signing, "direct").sign_and_store(
        &index,
        &module,
        &version,
        &entry,
        None,
        Sharing::Public,
    )?;
    Ok(())
}
