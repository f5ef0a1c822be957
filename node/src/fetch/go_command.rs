//! [`GoCommand`]: runs the real `go` command for the fill path, isolated and bounded.
//!
//! Every run starts from an empty environment (the fixed variables below, plus
//! [`FetchConfig::pass_env`]), in an empty directory outside any module, in its own process group, after
//! taking one of `workers` permits. Past the timeout the whole group (`go` and the `git`
//! processes it started) is killed with SIGKILL.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::Semaphore;

use super::config::FetchConfig;
use super::stats::Counters;

/// How one run of `go` ended.
#[derive(Debug)]
pub(crate) enum GoRun {
    /// It exited (successfully or not); its output.
    Finished(Output),
    /// It ran past the timeout and its process group was killed.
    TimedOut(Duration),
}

/// The `go` command as the fill path runs it.
#[derive(Debug)]
pub(crate) struct GoCommand {
    env: Vec<(OsString, OsString)>,
    cwd: PathBuf,
    gomodcache: PathBuf,
    timeout: Duration,
    permits: Semaphore,
    counters: Arc<Counters>,
}

impl GoCommand {
    /// Prepares the work area (`gopath/`, `gocache/`, `empty/` under `config.work_dir`), and
    /// sweeps what an earlier run left in the module cache (see [`sweep_module_cache`]).
    /// `go` refuses a relative GOPATH (and runs in `empty/`), so a relative work dir is made
    /// absolute against the node's current directory first.
    pub(crate) fn new(config: &FetchConfig, counters: Arc<Counters>) -> std::io::Result<Self> {
        let work_dir = std::path::absolute(&config.work_dir)?;
        let gopath = work_dir.join("gopath");
        let gomodcache = gopath.join("pkg").join("mod");
        let gocache = work_dir.join("gocache");
        let cwd = work_dir.join("empty");
        for dir in [&gomodcache, &gocache, &cwd] {
            std::fs::create_dir_all(dir)?;
        }
        sweep_module_cache(&gomodcache)?;
        let env = environment(config, &gopath, &gomodcache, &gocache);
        Ok(Self {
            env,
            cwd,
            gomodcache,
            timeout: config.timeout,
            permits: Semaphore::new(config.workers.max(1)),
            counters,
        })
    }

    /// The workers' module cache (`GOMODCACHE`).
    pub(crate) fn gomodcache(&self) -> &Path {
        &self.gomodcache
    }

    /// Runs `go <args>` once a worker permit is free; waits for it to exit or time out.
    pub(crate) async fn run(&self, args: &[&str]) -> std::io::Result<GoRun> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| std::io::Error::other("go worker pool closed"))?;
        let mut cmd = tokio::process::Command::new("go");
        cmd.args(args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn()?;
        Counters::bump(&self.counters.go_processes_started);
        let mut group = GroupGuard(child.id());
        match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(output) => {
                group.disarm();
                output.map(GoRun::Finished)
            }
            Err(_) => {
                Counters::bump(&self.counters.go_processes_timed_out);
                Ok(GoRun::TimedOut(self.timeout))
            }
        }
    }
}

/// Removes everything from the workers' module cache but the VCS clones (`cache/vcs`, which
/// make later fetches from the same repositories faster): extracted trees and downloads a crash
/// or a query left behind. With `-modcacherw` the read-only files sit in writable directories,
/// so they can be removed. Runs at start, before any `go` process uses the cache.
fn sweep_module_cache(gomodcache: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(gomodcache)? {
        let path = entry?.path();
        if path.file_name() == Some("cache".as_ref()) {
            remove_all(&path.join("download"))?;
        } else {
            remove_all(&path)?;
        }
    }
    Ok(())
}

/// Removes a file or a directory tree; absent is fine.
fn remove_all(path: &Path) -> std::io::Result<()> {
    let removed = match path.is_dir() {
        true => std::fs::remove_dir_all(path),
        false => std::fs::remove_file(path),
    };
    match removed {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Kills a process group with SIGKILL when dropped, unless disarmed after a normal exit.
/// Dropping the run (timeout or cancellation) thus never leaves `go` or `git` behind.
#[derive(Debug)]
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let Some(pid) = self.0.and_then(|pid| i32::try_from(pid).ok()) else {
            return;
        };
        // The group may already be gone (ESRCH); nothing else can be done about a failure.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// The complete environment of every `go` run.
fn environment(
    config: &FetchConfig,
    gopath: &Path,
    gomodcache: &Path,
    gocache: &Path,
) -> Vec<(OsString, OsString)> {
    let private = config.private.join(",");
    let fixed: [(&str, OsString); 15] = [
        ("GOPROXY", config.upstream.clone().into()),
        ("GOSUMDB", config.gosumdb.clone().into()),
        ("GOPRIVATE", private.clone().into()),
        ("GONOSUMDB", private.into()),
        ("GOPATH", gopath.into()),
        ("GOMODCACHE", gomodcache.into()),
        ("GOCACHE", gocache.into()),
        ("GOFLAGS", "-modcacherw".into()),
        ("GOTOOLCHAIN", "local".into()),
        ("GOENV", "off".into()),
        ("GOWORK", "off".into()),
        ("GO111MODULE", "on".into()),
        ("GIT_TERMINAL_PROMPT", "0".into()),
        ("GCM_INTERACTIVE", "never".into()),
        ("GOTELEMETRY", "off".into()),
    ];
    let mut env: Vec<(OsString, OsString)> = fixed
        .into_iter()
        .map(|(key, value)| (OsString::from(key), value))
        .collect();
    env.extend(config.pass_env.iter().cloned());
    env
}
