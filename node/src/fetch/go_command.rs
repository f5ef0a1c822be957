//! [`GoCommand`]: runs the real `go` command for the fill path, isolated and bounded.
//!
//! Every run starts from an empty environment (the fixed variables below, plus
//! [`FetchConfig::pass_env`]), in an empty directory outside any module, in its own process group, after
//! taking one of `workers` permits. Past the timeout the whole group (`go` and the `git`
//! processes it started) is killed with SIGKILL.
//!
//! Every run has a module cache of its own (`GOPATH` and `GOMODCACHE` in a fresh directory under
//! `runs/`), removed when the caller is done with the files `go` wrote ([`RunCache`]). Nothing a
//! failed, timed-out or killed `go` or `git` left behind is ever read by a later run: a `git
//! fetch` killed half-way leaves a clone without some objects, and `go` then reads `go.mod` as
//! absent. The price is a fresh (shallow, for a tagged version) fetch per fill, once per version
//! for good. The build cache (`gocache/`) is shared; after an unclean stop (the `in-use` marker
//! is still there) it is wiped too, before the first run.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::client;
use super::config::FetchConfig;
use super::error::FetchError;
use super::fair_queue::FairQueue;
use super::stats::Counters;

/// How one run of `go` ended.
#[derive(Debug)]
pub(crate) enum GoRun {
    /// It exited (successfully or not): its output, and the module cache holding the files it
    /// names, which lives as long as this value.
    Finished(Output, RunCache),
    /// It ran past the timeout and its process group was killed (its cache is removed).
    TimedOut(Duration),
}

/// The `go` command as the fill path runs it.
#[derive(Debug)]
pub(crate) struct GoCommand {
    env: Vec<(OsString, OsString)>,
    cwd: PathBuf,
    runs: PathBuf,
    next_run: AtomicU64,
    in_use: PathBuf,
    timeout: Duration,
    permits: FairQueue,
    counters: Arc<Counters>,
}

impl GoCommand {
    /// Prepares the work area under `config.work_dir` (`runs/`, `gocache/`, `empty/`, the
    /// `in-use` marker) and removes every module cache an earlier process left there, and the
    /// build cache too after an unclean stop. `go` refuses a relative GOPATH (and runs in
    /// `empty/`), so a relative work dir is made absolute against the node's current directory.
    pub(crate) fn new(config: &FetchConfig, counters: Arc<Counters>) -> std::io::Result<Self> {
        let work_dir = std::path::absolute(&config.work_dir)?;
        let (runs, gocache, cwd) = (
            work_dir.join("runs"),
            work_dir.join("gocache"),
            work_dir.join("empty"),
        );
        let in_use = work_dir.join("in-use");
        if in_use.exists() {
            tracing::warn!(
                "the node did not stop cleanly: wiping the fill workers' caches in {}",
                work_dir.display()
            );
            remove_all(&gocache)?;
        }
        // Module caches of earlier runs, and the shared cache of versions before per-run ones.
        remove_all(&runs)?;
        remove_all(&work_dir.join("gopath"))?;
        for dir in [&runs, &gocache, &cwd] {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&in_use, format!("{}\n", std::process::id()))?;
        let env = environment(config, &gocache);
        Ok(Self {
            env,
            cwd,
            runs,
            next_run: AtomicU64::new(0),
            in_use,
            timeout: config.timeout,
            permits: FairQueue::new(config.workers),
            counters,
        })
    }

    /// Marks the work area as cleanly released: the next start keeps the build cache. Called on
    /// a graceful shutdown; module caches of runs still going are removed at the next start.
    pub(crate) fn release(&self) {
        if let Err(err) = std::fs::remove_file(&self.in_use) {
            tracing::debug!("removing {}: {err}", self.in_use.display());
        }
    }

    /// Runs `go <args>` once a worker permit is free (in turn with other clients' runs, see
    /// [`FairQueue`]), with a module cache of its own; waits for it to exit or time out.
    /// `GOPROXY` is `goproxy` when given (the rest of the upstream list, once the node walked
    /// its proxies itself), else the configured upstream.
    pub(crate) async fn run_with_goproxy(
        &self,
        args: &[&str],
        goproxy: Option<&str>,
    ) -> Result<GoRun, FetchError> {
        let _permit = self.permits.acquire(client::current()).await?;
        self.run_now(args, goproxy).await.map_err(FetchError::Spawn)
    }

    /// [`Self::run_with_goproxy`] once the permit is held.
    async fn run_now(&self, args: &[&str], goproxy: Option<&str>) -> std::io::Result<GoRun> {
        let number = self.next_run.fetch_add(1, Ordering::Relaxed);
        let cache = RunCache::create(self.runs.join(number.to_string()))?;
        let mut cmd = tokio::process::Command::new("go");
        cmd.args(args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("GOPATH", &cache.dir)
            .env("GOMODCACHE", cache.gomodcache())
            .envs(goproxy.map(|goproxy| ("GOPROXY", goproxy)))
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
                output.map(|output| GoRun::Finished(output, cache))
            }
            Err(_) => {
                Counters::bump(&self.counters.go_processes_timed_out);
                Ok(GoRun::TimedOut(self.timeout))
            }
        }
    }
}

/// The module cache of one `go` run (its `GOPATH`), removed when dropped. With `-modcacherw`
/// the files `go` extracts sit in writable directories, so the whole tree can be removed.
#[derive(Debug)]
pub(crate) struct RunCache {
    dir: PathBuf,
}

impl RunCache {
    fn create(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir(&dir)?;
        Ok(Self { dir })
    }

    /// The run's `GOMODCACHE`.
    pub(crate) fn gomodcache(&self) -> PathBuf {
        self.dir.join("pkg").join("mod")
    }

    /// Removes the cache now, on this thread (a blocking one).
    pub(crate) fn remove(mut self) {
        let dir = std::mem::take(&mut self.dir);
        if let Err(err) = remove_all(&dir) {
            tracing::debug!("removing the run cache {}: {err}", dir.display());
        }
    }
}

impl Drop for RunCache {
    fn drop(&mut self) {
        let dir = std::mem::take(&mut self.dir);
        if dir.as_os_str().is_empty() {
            return;
        }
        let remove = move || {
            if let Err(err) = remove_all(&dir) {
                tracing::debug!("removing the run cache {}: {err}", dir.display());
            }
        };
        // Off the async threads when dropped on one: a clone can be large.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
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
/// (`GOPATH` and `GOMODCACHE` are the run's own, set by [`GoCommand::run`].)
fn environment(config: &FetchConfig, gocache: &Path) -> Vec<(OsString, OsString)> {
    let private = config.private.as_str();
    let fixed: [(&str, OsString); 13] = [
        ("GOPROXY", config.upstream.clone().into()),
        ("GOSUMDB", config.gosumdb.clone().into()),
        ("GOPRIVATE", private.into()),
        ("GONOSUMDB", private.into()),
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
