//! [`TestNode`]: a real `delos serve` process on `127.0.0.1:0` with a temp data dir and its own
//! log file; it reads the listen address from the node's `listening http=` log line, waits for
//! `/healthz`, and kills the process on drop.
//!
//! [`TestNode::get`] sends the raw request path byte for byte (see [`super::http`]).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use tempfile::TempDir;

use super::git::GitWorld;
use super::go::go_binary;
pub(crate) use super::http::HttpResponse;
use super::http::http_exchange;

/// How long a node may take to log its address and answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start a [`TestNode`]: extra flags and environment variables, an existing data dir.
#[derive(Debug, Default, Clone)]
pub(crate) struct NodeOptions {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    /// Start the node in its temp dir with `--data-dir data`, as the README's command does.
    relative_data_dir: bool,
    /// `--gosumdb` of the node (`None`: `off`).
    gosumdb: Option<OsString>,
    /// `--http-listen` of the node (`None`: `127.0.0.1:0`).
    http_listen: Option<String>,
}

impl NodeOptions {
    /// Adds command-line arguments after `serve`.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable of the node process (e.g. `GIT_CONFIG_GLOBAL`).
    pub(crate) fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Lets the node's `go` see only `world`'s repositories (its git config and `HOME`).
    pub(crate) fn git_world(mut self, world: &GitWorld) -> Self {
        for (key, value) in world.git_env() {
            self.env.push((key.into(), value));
        }
        self
    }

    /// Gives the node's fill workers `--gosumdb value` instead of `off`.
    pub(crate) fn gosumdb(mut self, value: impl Into<OsString>) -> Self {
        self.gosumdb = Some(value.into());
        self
    }

    /// Listens on `addr` (a port of 0) instead of `127.0.0.1:0`, e.g. `[::]:0` to be reached
    /// over IPv4 and IPv6 loopback, as two different clients.
    pub(crate) fn http_listen(mut self, addr: &str) -> Self {
        self.http_listen = Some(addr.to_owned());
        self
    }

    /// Names the data dir relatively (`--data-dir data`, the node started in its temp dir), as
    /// a user following the README does.
    pub(crate) fn relative_data_dir(mut self) -> Self {
        self.relative_data_dir = true;
        self
    }

    /// Starts a node with these options and a fresh temp data dir.
    pub(crate) fn start(self) -> Result<TestNode> {
        let dir = tempfile::Builder::new()
            .prefix("delos-node-")
            .tempdir()
            .context("creating the node's temp dir")?;
        TestNode::spawn(dir, self)
    }

    /// Starts a node with these options on the data dir a node left in `dir` (see
    /// [`TestNode::kill_tree`]).
    pub(crate) fn start_in(self, dir: TempDir) -> Result<TestNode> {
        TestNode::spawn(dir, self)
    }
}

/// A running `delos serve` process.
#[derive(Debug)]
pub(crate) struct TestNode {
    child: Option<Child>,
    addr: SocketAddr,
    dir: Option<TempDir>,
    options: NodeOptions,
    log: PathBuf,
}

impl TestNode {
    /// A node with default options, `--gosumdb off` (unless [`NodeOptions::gosumdb`]) and a
    /// fresh temp data dir.
    pub(crate) fn start() -> Result<TestNode> {
        NodeOptions::default().start()
    }

    /// Options for a node with extra flags or environment.
    pub(crate) fn options() -> NodeOptions {
        NodeOptions::default()
    }

    fn spawn(dir: TempDir, options: NodeOptions) -> Result<TestNode> {
        let log = dir.path().join(format!("node-{}.log", unique_suffix()));
        let mut child = node_command(dir.path(), &options, &log)?
            .spawn()
            .context("starting delos serve")?;
        let addr = match wait_for_address(&mut child, &log) {
            // A node listening on every address is reached on loopback.
            Ok(addr) if addr.ip().is_unspecified() => {
                SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
            }
            Ok(addr) => addr,
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(err);
            }
        };
        let node = TestNode {
            child: Some(child),
            addr,
            dir: Some(dir),
            options,
            log,
        };
        node.wait_healthy()?;
        Ok(node)
    }

    /// The process id of the running `delos serve`, if it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A `kB` field of the running process's `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
    pub(crate) fn proc_status_kib(&self, field: &str) -> Result<u64> {
        let pid = self.pid().context("the node is not running")?;
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} line"))
    }

    /// The address the node's HTTP server listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, for `GOPROXY`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The node's data directory.
    pub(crate) fn data_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |dir| dir.path())
    }

    /// Everything the node logged so far.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path`, with `path` sent exactly as given.
    pub(crate) fn get(&self, path: &str) -> Result<HttpResponse> {
        self.request("GET", path, &[])
    }

    /// One request on a fresh connection; `path` and headers are sent exactly as given.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpResponse> {
        http_exchange(self.addr, method, path, headers)
            .with_context(|| format!("{method} {path} on {}", self.addr))
    }

    /// The `/status` JSON.
    pub(crate) fn status(&self) -> Result<serde_json::Value> {
        let response = self.get("/status")?;
        ensure!(
            response.status == 200,
            "/status answered {}",
            response.status
        );
        serde_json::from_slice(&response.body).context("parsing /status")
    }

    /// How many `go` processes the node has started (from `/status`).
    pub(crate) fn go_processes_started(&self) -> Result<u64> {
        self.status()?["fetch"]["go_processes_started"]
            .as_u64()
            .ok_or_else(|| anyhow!("no fetch.go_processes_started in /status"))
    }

    /// Sends SIGTERM (the node drains and exits; see [`Self::wait_exit`]).
    pub(crate) fn terminate(&self) -> Result<()> {
        let child = self.child.as_ref().context("the node is not running")?;
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .context("running kill -TERM")?;
        ensure!(status.success(), "kill -TERM failed: {status}");
        Ok(())
    }

    /// Waits (at most 30 s) for the process to exit.
    pub(crate) fn wait_exit(&mut self) -> Result<ExitStatus> {
        let mut child = self.child.take().context("the node is not running")?;
        wait_with_timeout(&mut child, START_TIMEOUT)
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub(crate) fn stop(&mut self) -> Result<ExitStatus> {
        self.terminate()?;
        self.wait_exit()
    }

    /// Stops the node gracefully and starts it again on the same data dir and options
    /// (a new port).
    pub(crate) fn restart(mut self) -> Result<TestNode> {
        let status = self.stop()?;
        ensure!(status.success(), "the node exited with {status} on SIGTERM");
        let dir = self.dir.take().context("the node has no data dir")?;
        TestNode::spawn(dir, self.options.clone())
    }

    /// Stops the node gracefully, runs `offline` on its data dir (the `--data-dir` it was
    /// started with, while nothing holds the store's lock), and starts it again (a new port).
    pub(crate) fn restart_with(
        mut self,
        offline: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<TestNode> {
        let status = self.stop()?;
        ensure!(status.success(), "the node exited with {status} on SIGTERM");
        let dir = self.dir.take().context("the node has no data dir")?;
        offline(&dir.path().join("data"))?;
        TestNode::spawn(dir, self.options.clone())
    }

    /// The dir of a stopped node (see [`Self::stop`]), for [`NodeOptions::start_in`].
    pub(crate) fn into_dir(mut self) -> Result<TempDir> {
        ensure!(self.child.is_none(), "the node is still running");
        self.dir.take().context("the node has no data dir")
    }

    /// Kills the node together with every process it started (its `go` and `git` children),
    /// all at once with SIGKILL, as a control-group kill does, and returns its dir for a
    /// restart with [`NodeOptions::start_in`].
    pub(crate) fn kill_tree(mut self) -> Result<TempDir> {
        let mut child = self.child.take().context("the node is not running")?;
        super::process_tree::kill_tree(child.id())?;
        child.wait().context("reaping the killed node")?;
        self.dir.take().context("the node has no data dir")
    }

    fn wait_healthy(&self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.get("/healthz") {
                Ok(response) if response.status == 200 => return Ok(()),
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                other => bail!("/healthz never answered 200: {other:?}\n{}", self.log()),
            }
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `delos serve` on port 0 in `dir`, logging to `log`, with `go` on its PATH.
fn node_command(dir: &Path, options: &NodeOptions, log: &Path) -> Result<Command> {
    let go_dir = go_binary()?.parent().context("go has no parent dir")?;
    let mut paths = vec![go_dir.to_path_buf()];
    paths.extend(
        std::env::var_os("PATH").map_or_else(Vec::new, |p| std::env::split_paths(&p).collect()),
    );
    let log_file = File::create(log).context("creating the node log")?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_delos"));
    cmd.env_clear()
        .env("PATH", std::env::join_paths(paths)?)
        .env("HOME", dir)
        .env("RUST_LOG", "info,delos_node=debug")
        .arg("serve")
        .arg("--data-dir")
        .arg(match options.relative_data_dir {
            true => PathBuf::from("data"),
            false => dir.join("data"),
        })
        .current_dir(dir)
        .arg("--http-listen")
        .arg(options.http_listen.as_deref().unwrap_or("127.0.0.1:0"))
        .arg("--gosumdb")
        .arg(options.gosumdb.as_deref().unwrap_or("off".as_ref()))
        .args(&options.args)
        .envs(options.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    Ok(cmd)
}

/// Polls the log for the `listening http=<addr>` line.
fn wait_for_address(child: &mut Child, log: &Path) -> Result<SocketAddr> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        let file = File::open(log).context("opening the node log")?;
        for line in BufReader::new(file).lines() {
            if let Some(addr) = parse_listen_line(&line?) {
                return Ok(addr);
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "delos serve exited with {status}:\n{}",
                fs::read_to_string(log)?
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "no `listening http=` line within {START_TIMEOUT:?}:\n{}",
        fs::read_to_string(log)?
    )
}

/// The address in a `... listening http=127.0.0.1:43123` log line, or in its JSON form
/// (`--log-format json`: `"fields":{"message":"listening","http":"127.0.0.1:43123"}`).
fn parse_listen_line(line: &str) -> Option<SocketAddr> {
    if let Some((_, rest)) = line.split_once("listening http=") {
        return rest.split_whitespace().next()?.parse().ok();
    }
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = &json["fields"];
    match fields["message"].as_str() {
        Some("listening") => fields["http"].as_str()?.parse().ok(),
        _ => None,
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Result<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("the node did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[test]
fn listen_line_is_parsed() {
    let line = "2026-01-01T00:00:00.000000Z  INFO delos: listening http=127.0.0.1:43123";
    assert_eq!(
        parse_listen_line(line),
        Some(SocketAddr::from(([127, 0, 0, 1], 43123)))
    );
    assert_eq!(parse_listen_line("INFO delos: stopped"), None);
}
