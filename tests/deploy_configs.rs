//! The example configurations in `deploy/config/` are what operators copy: each must load
//! through the same path as `delos serve --config FILE` and mean what its comments say.

use std::path::PathBuf;

use delos_node::cli::ServeArgs;
use delos_node::config::{Config, FileConfig};

fn load(name: &str) -> Config {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/config")
        .join(name);
    let file = FileConfig::read(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
    Config::layer(ServeArgs::default(), file).unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

#[test]
fn single_node_runs_alone_and_fills_from_vcs() {
    let config = load("single-node.toml");
    assert!(
        config.p2p.is_none(),
        "single-node.toml must not join a pool"
    );
    assert_eq!(config.upstream, "direct");
    assert_eq!(config.gosumdb, "sum.golang.org");
    assert!(!config.offline);
}

#[test]
fn public_pool_joins_through_a_bootstrap_node_and_trusts_one_signer() {
    let config = load("public-pool.toml");
    let p2p = config.p2p.expect("public-pool.toml joins a pool");
    assert_eq!(p2p.pool.as_str(), "public");
    assert_eq!(p2p.bootstrap.len(), 1);
    assert!(p2p.bootstrap[0].to_string().contains("/p2p/12D3KooW"));
    assert!(!p2p.mdns);
    assert_eq!(config.trusted_signers.len(), 1);
    assert_eq!(config.quorum.get(), 2);
}

#[test]
fn private_pool_keeps_corp_modules_private_and_shares_a_signing_key() {
    let config = load("private-pool.toml");
    let p2p = config.p2p.expect("private-pool.toml joins a pool");
    assert_eq!(p2p.pool.as_str(), "corp-example");
    assert!(p2p.mdns);
    assert_eq!(config.private, ["corp.example", "*.internal.example"]);
    assert!(config.signing_key.is_some());
    assert_eq!(config.trusted_signers.len(), 1);
}
