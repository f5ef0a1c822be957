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

#[test]
fn company_node_fills_public_from_the_proxy_private_from_vcs_with_its_own_checksum_db() {
    let config = load("company-node.toml");
    assert!(config.p2p.is_none(), "company-node.toml runs alone");
    assert_eq!(config.upstream, "https://proxy.golang.org,direct");
    assert_eq!(config.private, ["git.corp.example", "*.internal.example"]);
    assert_eq!(config.checksum_db.as_deref(), Some("sum.corp.example"));
    assert_eq!(config.log_format, delos_node::logging::LogFormat::Json);
    assert_eq!(config.connections.max_connections, 4096);
}

/// The repository's `deploy/` directory.
fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Why a check with `tool` is skipped here (it does not run `tool --version`), if it is.
fn missing(tool: &str) -> Option<String> {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    (!found).then(|| format!("SKIPPED: {tool} is not installed here"))
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if let Some(why) = missing("systemd-analyze") {
        println!("{why}");
        return;
    }
    // The unit names /usr/local/bin/delos; verify it against the binary this build made.
    let unit = std::fs::read_to_string(deploy_dir().join("delos.service")).unwrap();
    let unit = unit.replace("/usr/local/bin/delos", env!("CARGO_BIN_EXE_delos"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("delos.service");
    std::fs::write(&path, unit).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    assert!(
        !said.contains("delos.service:"),
        "systemd-analyze warned: {said}"
    );
}

#[test]
fn the_alert_rules_name_metrics_a_node_exports_and_pass_promtool() {
    let rules = deploy_dir().join("prometheus/alerts.yml");
    let text = std::fs::read_to_string(&rules).unwrap();
    let node = crate::support::node::TestNode::options()
        .args(["--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
        .args(["--checksum-db", "sum.test.example"])
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .start()
        .unwrap();
    let metrics = node.get("/metrics").unwrap().text();
    let exported: std::collections::BTreeSet<&str> = metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .collect();
    let named = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("delos_"));
    for name in named {
        assert!(
            exported.contains(name),
            "{name} is in alerts.yml but not in /metrics"
        );
    }
    if let Some(why) = missing("promtool") {
        println!("{why}");
    } else {
        let out = std::process::Command::new("promtool")
            .args(["check", "rules"])
            .arg(&rules)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
