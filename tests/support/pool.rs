//! [`PoolNode`]: a real `delos serve` process that joins a pool on loopback — listening on
//! OS-chosen ports (TCP, QUIC or both), its listen addresses taken as external (so Kademlia
//! serves at once), mDNS off unless asked for — wired to other nodes through `--bootstrap`
//! addresses, with `--trusted-signer` and `--quorum` from the test.
//!
//! The PeerId and listen addresses come from the node's `pool listening` log lines, the
//! signing key from `delos id`; what a node knows about a module version comes from
//! `GET /provenance/...`, so the checks do not depend on any one status format.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use delos_pool_protocol::{ModulePath, Version};
use serde_json::Value;

use super::app;
use super::git::GitWorld;
use super::node::{NodeOptions, TestNode};

/// How long a node may take to log its pool listen addresses.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

/// A libp2p transport of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// TCP with TLS (noise for peers without it) and yamux.
    Tcp,
    /// QUIC v1.
    Quic,
}

impl Transport {
    /// The listen address on an OS-chosen port: loopback, or every interface.
    fn listen_addr(self, all_interfaces: bool) -> String {
        let ip = if all_interfaces {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        match self {
            Transport::Tcp => format!("/ip4/{ip}/tcp/0"),
            Transport::Quic => format!("/ip4/{ip}/udp/0/quic-v1"),
        }
    }

    /// Whether `addr` (a logged listen address) is of this transport.
    fn matches(self, addr: &str) -> bool {
        match self {
            Transport::Tcp => addr.contains("/tcp/"),
            Transport::Quic => addr.contains("/quic-v1"),
        }
    }
}

/// How to start a [`PoolNode`].
#[derive(Debug, Clone)]
pub(crate) struct PoolOptions {
    node: NodeOptions,
    transports: Vec<Transport>,
    all_interfaces: bool,
    extra: Vec<String>,
}

impl PoolOptions {
    /// A pool node over TCP with `node`'s options (e.g. [`super::app::node_options`]).
    pub(crate) fn new(node: NodeOptions) -> PoolOptions {
        PoolOptions {
            node,
            transports: vec![Transport::Tcp],
            all_interfaces: false,
            extra: vec!["--p2p-listen-is-external".to_owned()],
        }
    }

    /// Listens on exactly these transports.
    pub(crate) fn transports(mut self, transports: &[Transport]) -> PoolOptions {
        self.transports = transports.to_vec();
        self
    }

    /// Listens on every interface instead of loopback only (mDNS advertises only addresses of
    /// the interface it runs on, never loopback ones).
    pub(crate) fn all_interfaces(mut self) -> PoolOptions {
        self.all_interfaces = true;
        self
    }

    /// Dials `peer` on start, over the first transport this node listens on.
    pub(crate) fn bootstrap(self, peer: &PoolNode) -> Result<PoolOptions> {
        let transport = *self.transports.first().context("no transport")?;
        let addr = peer.addr(transport)?;
        Ok(self.arg("--bootstrap").arg(&addr))
    }

    /// Believes records signed by `peer`'s signing key on their own.
    pub(crate) fn trust(self, peer: &PoolNode) -> PoolOptions {
        let key = peer.signing_key().to_owned();
        self.arg("--trusted-signer").arg(&key)
    }

    /// Believes records of untrusted signers once `n` distinct signers agree.
    pub(crate) fn quorum(self, n: u8) -> PoolOptions {
        self.arg("--quorum").arg(&n.to_string())
    }

    /// Adds one command-line argument.
    pub(crate) fn arg(mut self, arg: &str) -> PoolOptions {
        self.extra.push(arg.to_owned());
        self
    }

    /// Starts the node and waits for its pool listen addresses.
    pub(crate) fn start(self) -> Result<PoolNode> {
        self.start_with(|node| node.start())
    }

    /// Starts the node on the data dir in `dir` (see [`node_key_in`]).
    pub(crate) fn start_in(self, dir: tempfile::TempDir) -> Result<PoolNode> {
        self.start_with(|node| node.start_in(dir))
    }

    fn start_with(self, start: impl FnOnce(NodeOptions) -> Result<TestNode>) -> Result<PoolNode> {
        let mut args = self.extra.clone();
        if !args.iter().any(|a| a == "--mdns") {
            args.push("--no-mdns".to_owned());
        }
        for transport in &self.transports {
            args.push("--p2p-listen".to_owned());
            args.push(transport.listen_addr(self.all_interfaces));
        }
        let node = start(self.node.clone().args(args))?;
        PoolNode::from_running(node, self)
    }
}

/// A running `delos serve` process in a pool.
#[derive(Debug)]
pub(crate) struct PoolNode {
    node: TestNode,
    options: PoolOptions,
    peer_id: String,
    addrs: Vec<String>,
    signing_key: String,
}

impl PoolNode {
    fn from_running(node: TestNode, options: PoolOptions) -> Result<PoolNode> {
        let (peer_id, addrs) = wait_for_listen_addrs(&node, &options.transports)?;
        let signing_key = signing_key(&node)?;
        Ok(PoolNode {
            node,
            options,
            peer_id,
            addrs,
            signing_key,
        })
    }

    /// The HTTP side of the node.
    pub(crate) fn http(&self) -> &TestNode {
        &self.node
    }

    /// `http://127.0.0.1:<port>`, for `GOPROXY`.
    pub(crate) fn url(&self) -> String {
        self.node.url()
    }

    /// The node's PeerId.
    pub(crate) fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// The key that signs the node's records, as `delos id` prints it (`ed25519:<hex>`).
    pub(crate) fn signing_key(&self) -> &str {
        &self.signing_key
    }

    /// The node's listen address of `transport`, ending in `/p2p/<PeerId>`.
    pub(crate) fn addr(&self, transport: Transport) -> Result<String> {
        let addr = self
            .addrs
            .iter()
            .find(|a| transport.matches(a))
            .with_context(|| format!("the node does not listen on {transport:?}"))?;
        Ok(format!("{addr}/p2p/{}", self.peer_id))
    }

    /// Stops the node gracefully, runs `offline` while it is down, and starts it again on the
    /// same data dir and flags (new ports, same PeerId and signing key).
    pub(crate) fn restart_with(self, offline: impl FnOnce() -> Result<()>) -> Result<PoolNode> {
        let node = self.node.restart_with(|_| offline())?;
        PoolNode::from_running(node, self.options)
    }

    /// Stops the node gracefully (its data dir stays until the node is dropped).
    pub(crate) fn stop(&mut self) -> Result<()> {
        self.node.stop()?;
        Ok(())
    }

    /// A pool counter of `/status` (`pool.<name>`).
    pub(crate) fn pool_stat(&self, name: &str) -> Result<u64> {
        let status = self.node.status()?;
        status["pool"][name]
            .as_u64()
            .with_context(|| format!("no pool.{name} in /status: {status}"))
    }

    /// The records the node knows for `module@version` (`/provenance`; none when it answers
    /// 404). `module` and `version` are given unescaped.
    pub(crate) fn records(&self, module: &str, version: &str) -> Result<Vec<Value>> {
        let escaped = ModulePath::parse(module)?.escape();
        let escaped_version = Version::parse(version)?.escape();
        let path = format!("/provenance/{escaped}/@v/{escaped_version}");
        let response = self.node.get(&path)?;
        if response.status == 404 {
            return Ok(Vec::new());
        }
        ensure!(
            response.status == 200,
            "/provenance of {module}@{version}: {} {}",
            response.status,
            response.text()
        );
        let json: Value = serde_json::from_slice(&response.body)?;
        Ok(json["records"].as_array().cloned().unwrap_or_default())
    }

    /// Whether the node knows a record of `module@version` signed by `signer`.
    pub(crate) fn has_record(&self, module: &str, version: &str, signer: &str) -> Result<bool> {
        let records = self.records(module, version)?;
        Ok(records.iter().any(|r| r["signer"] == signer))
    }

    /// Everything the node logged so far.
    pub(crate) fn log(&self) -> String {
        self.node.log()
    }
}

/// A temp dir holding a node's data dir with its node key already made (`delos id`), and
/// that key's signing key (`ed25519:<hex>`): for trusting a node before it starts.
pub(crate) fn node_key_in() -> Result<(tempfile::TempDir, String)> {
    let dir = tempfile::Builder::new().prefix("delos-node-").tempdir()?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_delos"))
        .args(["id", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout)?;
    let key = stdout
        .lines()
        .find_map(|line| line.strip_prefix("signing-key: "))
        .context("no signing-key line from delos id")?;
    Ok((dir, key.to_owned()))
}

/// Two members in one mesh: A, filling from `world`'s repositories, and B, with no VCS
/// (`no_vcs`: an empty world), bootstrapped from A and trusting it: B's misses fill from A.
pub(crate) fn member_and_one_trusting_it(
    world: &GitWorld,
    no_vcs: &GitWorld,
) -> Result<(PoolNode, PoolNode)> {
    let a = PoolOptions::new(app::node_options(world)).start()?;
    let b = PoolOptions::new(app::node_options(no_vcs))
        .bootstrap(&a)?
        .trust(&a)
        .start()?;
    wait_until(Duration::from_secs(30), "A and B in one mesh", || {
        Ok(a.pool_stat("gossip_mesh_peers")? == 1 && b.pool_stat("gossip_mesh_peers")? == 1)
    })?;
    Ok((a, b))
}

/// Polls `check` every 50 ms until it is true or `timeout` passes; `what` names the condition.
pub(crate) fn wait_until(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<bool>,
) -> Result<Duration> {
    let start = Instant::now();
    loop {
        if check()? {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            bail!("not within {timeout:?}: {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The PeerId and listen addresses from `pool listening peer_id=… address=…` log lines, once
/// there is one for every transport.
fn wait_for_listen_addrs(
    node: &TestNode,
    transports: &[Transport],
) -> Result<(String, Vec<String>)> {
    let mut found = (String::new(), Vec::new());
    let waited = wait_until(LISTEN_TIMEOUT, "pool listen addresses logged", || {
        found = parse_listen_lines(&node.log());
        Ok(transports
            .iter()
            .all(|t| found.1.iter().any(|addr| t.matches(addr))))
    });
    waited.with_context(|| node.log())?;
    Ok(found)
}

/// The `peer_id=` and every `address=` of the log's `pool listening` lines.
fn parse_listen_lines(log: &str) -> (String, Vec<String>) {
    let mut peer_id = String::new();
    let mut addrs = Vec::new();
    for line in log.lines().filter(|l| l.contains("pool listening")) {
        for field in line.split_whitespace() {
            if let Some(id) = field.strip_prefix("peer_id=") {
                peer_id = id.to_owned();
            } else if let Some(addr) = field.strip_prefix("address=") {
                addrs.push(addr.to_owned());
            }
        }
    }
    (peer_id, addrs)
}

/// The node's signing key as `delos id` prints it (reads the key file only, so it may run
/// while the node holds the store).
pub(crate) fn signing_key(node: &TestNode) -> Result<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_delos"))
        .args(["id", "--data-dir"])
        .arg(node.data_dir().join("data"))
        .env_remove("DELOS_SIGNING_KEY")
        .env_remove("DELOS_DATA_DIR")
        .output()
        .context("running delos id")?;
    ensure!(out.status.success(), "delos id: {out:?}");
    String::from_utf8(out.stdout)?
        .lines()
        .find_map(|line| line.strip_prefix("signing-key: ").map(str::to_owned))
        .ok_or_else(|| anyhow!("no signing-key line from delos id"))
}

#[test]
fn listen_lines_are_parsed() {
    let log = "2026-01-01T00:00:00Z  INFO delos_node::p2p::event_loop: pool listening \
               peer_id=12D3KooWabc address=/ip4/127.0.0.1/tcp/4001\n\
               2026-01-01T00:00:00Z  INFO delos_node::p2p::event_loop: pool listening \
               peer_id=12D3KooWabc address=/ip4/127.0.0.1/udp/4002/quic-v1\n";
    let (peer, addrs) = parse_listen_lines(log);
    assert_eq!(peer, "12D3KooWabc");
    assert_eq!(
        addrs,
        ["/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4002/quic-v1"]
    );
    assert!(Transport::Quic.matches(&addrs[1]) && !Transport::Quic.matches(&addrs[0]));
}
