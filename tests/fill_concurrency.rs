//! The fill path under concurrency: 50 concurrent requests for one uncached version start
//! exactly one `go` process; cache hits are answered while 4 slow fills occupy every worker; a
//! fill past the timeout is killed with its whole process group and answered 404.
//!
//! Slow fills are real: the node's PATH starts with a `git` wrapper that, for repositories
//! named `slow*`, records its pid and sleeps before running the real git.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use tempfile::TempDir;

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::go_binary;
use crate::support::http::HttpResponse;
use crate::support::node::TestNode;
use crate::support::shapes::{self, DAYS};

#[test]
fn fifty_concurrent_requests_start_one_go_process() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let node = app::node_options(&world).start()?;
    let before = node.go_processes_started()?;
    let answers = concurrently(&node, 50, |_| {
        "/example.org/hello.git/@v/v1.0.0.info".to_owned()
    })?;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert!(
            answer.text().contains("\"Version\":\"v1.0.0\""),
            "{}",
            answer.text()
        );
    }
    // The run's own module cache is gone once the version is stored.
    let runs = node.data_dir().join("data/fetch/runs");
    ensure!(runs.is_dir(), "no worker run dir {runs:?}");
    let left: Vec<_> = std::fs::read_dir(&runs)?.collect::<Result<_, _>>()?;
    ensure!(
        left.is_empty(),
        "left in the worker module caches: {:?}",
        left.iter().map(|e| e.path()).collect::<Vec<_>>()
    );
    assert_eq!(
        node.go_processes_started()? - before,
        1,
        "one go mod download for 50 requests"
    );
    Ok(())
}

#[test]
fn hits_are_answered_while_slow_fills_run_and_a_stuck_fill_is_killed() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    for name in ["slow1", "slow2", "slow3", "slow4", "slow5"] {
        tiny_module(&world, name)?;
    }
    let wrapper = SlowGit::new(Duration::from_secs(8))?;
    let node = app::node_options(&world)
        .env("PATH", wrapper.path_var()?)
        .args(["--fetch-workers", "4", "--fetch-timeout", "4s"])
        .start()?;
    assert_eq!(
        node.get("/example.org/hello.git/@v/v1.0.0.zip")?.status,
        200
    );

    let slow_node = &node;
    thread::scope(|scope| -> Result<()> {
        let fills: Vec<_> = (1..=4)
            .map(|i| {
                scope.spawn(move || {
                    slow_node.get(&format!("/example.org/slow{i}.git/@v/v1.0.0.info"))
                })
            })
            .collect();
        wrapper.wait_for_sleepers(4)?;
        let clock = Instant::now();
        let hit = node.get("/example.org/hello.git/@v/v1.0.0.zip")?;
        let info = node.get("/example.org/hello.git/@v/v1.0.0.info")?;
        assert_eq!((hit.status, info.status), (200, 200));
        assert!(
            clock.elapsed() < Duration::from_secs(1),
            "hits waited {:?}",
            clock.elapsed()
        );
        assert_eq!(
            node.status()?["fetch"]["fills_in_flight"],
            4,
            "{}",
            node.status()?
        );
        for fill in fills {
            let answer = fill
                .join()
                .map_err(|_| anyhow::anyhow!("fill thread panicked"))??;
            assert_eq!(answer.status, 404, "killed after 4s: {}", answer.text());
            assert!(
                answer.text().starts_with("not found: "),
                "{}",
                answer.text()
            );
        }
        Ok(())
    })?;
    assert_eq!(node.status()?["fetch"]["go_processes_timed_out"], 4);
    for pid in wrapper.pids()? {
        ensure!(ends_soon(&pid), "slow git {pid} survived the kill");
    }
    Ok(())
}

/// Whether process `pid` is gone (or a zombie waiting to be reaped) within 3 s.
fn ends_soon(pid: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if matches!(state, None | Some('Z' | 'X')) {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `count` GETs of `path(i)` at once, each on its own connection; the answers in order.
fn concurrently(
    node: &TestNode,
    count: usize,
    path: impl Fn(usize) -> String + Sync,
) -> Result<Vec<HttpResponse>> {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                let path = path(i);
                scope.spawn(move || node.get(&path))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("request thread panicked"))?
            })
            .collect()
    })
}

/// A module `example.org/<name>.git` with one commit tagged v1.0.0.
fn tiny_module(world: &GitWorld, name: &str) -> Result<()> {
    let repo = world.create_repo(name)?;
    repo.write_file(
        "go.mod",
        format!("module example.org/{name}.git\n\ngo 1.21\n"),
    )?;
    repo.write_file("tiny.go", "package tiny\n")?;
    repo.commit(name, DAYS[0])?;
    repo.tag("v1.0.0")
}

/// A directory holding a `git` wrapper that sleeps for `slow*` repositories.
struct SlowGit {
    dir: TempDir,
}

impl SlowGit {
    fn new(delay: Duration) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("delos-slowgit-")
            .tempdir()?;
        let real_git = which("git")?;
        let pids = dir.path().join("pids");
        let script = format!(
            "#!/bin/sh\ncase \"$*\" in *slow*) echo $$ >> '{}'; sleep {};; esac\nexec '{}' \"$@\"\n",
            pids.display(),
            delay.as_secs(),
            real_git.display()
        );
        let git = dir.path().join("git");
        fs::write(&git, script)?;
        fs::set_permissions(&git, fs::Permissions::from_mode(0o755))?;
        Ok(Self { dir })
    }

    /// PATH for the node: the wrapper first, then go's directory and the test's PATH.
    fn path_var(&self) -> Result<std::ffi::OsString> {
        let go_dir = go_binary()?
            .parent()
            .context("go has no directory")?
            .to_path_buf();
        let mut paths = vec![self.dir.path().to_path_buf(), go_dir];
        paths.extend(
            std::env::var_os("PATH").map_or_else(Vec::new, |p| std::env::split_paths(&p).collect()),
        );
        Ok(std::env::join_paths(paths)?)
    }

    /// Pids of the wrapper processes that started sleeping.
    fn pids(&self) -> Result<Vec<String>> {
        let text = fs::read_to_string(self.dir.path().join("pids")).unwrap_or_default();
        Ok(text.lines().map(str::to_owned).collect())
    }

    fn wait_for_sleepers(&self, count: usize) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.pids()?.len() < count {
            ensure!(
                Instant::now() < deadline,
                "only {:?} slow gits started",
                self.pids()?
            );
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// The first `name` on PATH.
fn which(name: &str) -> Result<PathBuf> {
    let paths = std::env::var_os("PATH").context("no PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("no {name} on PATH"))
}
