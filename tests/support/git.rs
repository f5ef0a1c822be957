//! Real git repositories in a temp dir, reachable by the `go` command as `example.org/<name>.git`.
//!
//! A [`GitWorld`] owns one temp dir with a `repos/` folder and a git config file that rewrites
//! `https://example.org/` to `file://<dir>/repos/`. Every `git` it runs, and every process given
//! [`GitWorld::git_env`], reads only that config: no system config, no user config, `HOME` inside
//! the temp dir. Commits take their date from the caller, so commit hashes and pseudo-versions are
//! the same on every run.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use tempfile::TempDir;

/// The host every test module lives under; `git` rewrites it to the local `repos/` folder.
pub(crate) const HOST: &str = "example.org";

/// The identity every test commit is made with.
const IDENTITY_NAME: &str = "Delos Test";
const IDENTITY_EMAIL: &str = "test@example.org";

/// A temp dir of git repositories plus the git configuration that makes `go` find them.
#[derive(Debug)]
pub(crate) struct GitWorld {
    root: TempDir,
}

impl GitWorld {
    /// Creates an empty world: `repos/`, `home/` and the global git config file.
    pub(crate) fn new() -> Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("delos-git-")
            .tempdir()
            .context("creating the git world temp dir")?;
        let world = Self { root };
        fs::create_dir_all(world.repos_dir()).context("creating repos/")?;
        // Go telemetry off (what `go telemetry off` writes): otherwise go counts into $HOME and
        // may leave a detached uploader that recreates the directory after the world is gone.
        let telemetry = world.home_dir().join(".config/go/telemetry");
        fs::create_dir_all(&telemetry).context("creating home/")?;
        fs::write(telemetry.join("mode"), "off").context("turning go telemetry off")?;
        let repos_url = format!("file://{}/", world.repos_dir().display());
        let config = format!(
            "[url \"{repos_url}\"]\n\tinsteadOf = https://{HOST}/\n\
             [protocol \"file\"]\n\tallow = always\n\
             [init]\n\tdefaultBranch = main\n\
             [advice]\n\tdetachedHead = false\n"
        );
        fs::write(world.git_config_global(), config).context("writing the git config")?;
        Ok(world)
    }

    /// The folder holding one directory per repository.
    pub(crate) fn repos_dir(&self) -> PathBuf {
        self.root.path().join("repos")
    }

    /// The `HOME` given to git and go: empty, inside the world.
    pub(crate) fn home_dir(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// The file `GIT_CONFIG_GLOBAL` points at.
    pub(crate) fn git_config_global(&self) -> PathBuf {
        self.root.path().join("gitconfig")
    }

    /// The module path `go` uses for the repository `name`: `example.org/<name>.git`.
    pub(crate) fn module_path(name: &str) -> String {
        format!("{HOST}/{name}.git")
    }

    /// Environment variables that make git (run directly or by `go`) see only this world.
    ///
    /// Meant for `Command::envs` after `env_clear`, next to `PATH`.
    pub(crate) fn git_env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("HOME", self.home_dir().into_os_string()),
            (
                "GIT_CONFIG_GLOBAL",
                self.git_config_global().into_os_string(),
            ),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("GIT_TERMINAL_PROMPT", "0".into()),
            ("GCM_INTERACTIVE", "never".into()),
        ]
    }

    /// Creates a new, empty (non-bare) repository `repos/<name>` on branch `main`.
    pub(crate) fn create_repo(&self, name: &str) -> Result<GitRepo> {
        let dir = self.repos_dir().join(name);
        ensure!(!dir.exists(), "repository {name} already exists");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let repo = GitRepo {
            dir,
            env: self.git_env(),
        };
        repo.git(&["init", "--quiet"])?;
        Ok(repo)
    }

    /// Opens the existing repository `repos/<name>`.
    pub(crate) fn repo(&self, name: &str) -> Result<GitRepo> {
        let dir = self.repos_dir().join(name);
        ensure!(
            dir.join(".git").is_dir(),
            "no repository {name} in {}",
            self.repos_dir().display()
        );
        Ok(GitRepo {
            dir,
            env: self.git_env(),
        })
    }

    /// Deletes the repository `repos/<name>`, so `go` can no longer fetch from it.
    pub(crate) fn delete_repo(&self, name: &str) -> Result<()> {
        let dir = self.repos_dir().join(name);
        fs::remove_dir_all(&dir).with_context(|| format!("deleting {}", dir.display()))
    }
}

/// One non-bare repository of a [`GitWorld`].
#[derive(Debug)]
pub(crate) struct GitRepo {
    dir: PathBuf,
    env: Vec<(&'static str, OsString)>,
}

impl GitRepo {
    /// The repository's work tree.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `contents` to `rel` in the work tree, creating parent directories.
    pub(crate) fn write_file(&self, rel: &str, contents: impl AsRef<[u8]>) -> Result<&Self> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        Ok(self)
    }

    /// Removes the file or directory `rel` from the work tree.
    pub(crate) fn remove(&self, rel: &str) -> Result<&Self> {
        let path = self.dir.join(rel);
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.with_context(|| format!("removing {}", path.display()))?;
        Ok(self)
    }

    /// Stages everything and commits it with both author and committer date set to `date`
    /// (anything git accepts, e.g. `2026-01-01T00:00:00Z`). Returns the full commit hash.
    pub(crate) fn commit(&self, message: &str, date: &str) -> Result<String> {
        self.git(&["add", "--all"])?;
        let mut cmd = self.command(&["commit", "--quiet", "--allow-empty", "-m", message]);
        cmd.env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date);
        run(&mut cmd)?;
        self.rev_parse("HEAD")
    }

    /// Creates the lightweight tag `name` (e.g. `v1.0.0` or `sub/v1.0.0`) at HEAD.
    pub(crate) fn tag(&self, name: &str) -> Result<()> {
        self.git(&["tag", name]).map(drop)
    }

    /// Points the existing tag `name` at `rev` instead.
    pub(crate) fn move_tag(&self, name: &str, rev: &str) -> Result<()> {
        self.rev_parse(&format!("refs/tags/{name}"))?;
        self.git(&["tag", "--force", name, rev]).map(drop)
    }

    /// Creates the branch `name` at `rev` (without switching to it).
    pub(crate) fn branch(&self, name: &str, rev: &str) -> Result<()> {
        self.git(&["branch", name, rev]).map(drop)
    }

    /// The full commit hash `rev` names.
    pub(crate) fn rev_parse(&self, rev: &str) -> Result<String> {
        let commit = format!("{rev}^{{commit}}");
        let out = self.git(&["rev-parse", "--verify", "--quiet", &commit])?;
        Ok(out.trim().to_owned())
    }

    /// Runs `git <args>` in the work tree and returns its stdout.
    pub(crate) fn git(&self, args: &[&str]) -> Result<String> {
        run(&mut self.command(args))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(&self.dir)
            .env_clear()
            .envs(self.env.iter().cloned())
            .args(args);
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("GIT_AUTHOR_NAME", IDENTITY_NAME)
            .env("GIT_AUTHOR_EMAIL", IDENTITY_EMAIL)
            .env("GIT_COMMITTER_NAME", IDENTITY_NAME)
            .env("GIT_COMMITTER_EMAIL", IDENTITY_EMAIL)
            .env("LC_ALL", "C");
        cmd
    }
}

/// Runs `cmd`; on failure the error carries the command line, exit status and stderr.
fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("starting {cmd:?} (is git installed?)"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("{cmd:?} printed non-UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY1: &str = "2026-01-01T00:00:00Z";
    const DAY2: &str = "2026-01-02T00:00:00Z";

    fn world_with_repo() -> Result<(GitWorld, GitRepo)> {
        let world = GitWorld::new()?;
        let repo = world.create_repo("demo")?;
        repo.write_file("go.mod", "module example.org/demo.git\n")?
            .write_file("a/b.go", "package b\n")?;
        Ok((world, repo))
    }

    #[test]
    fn commits_with_a_fixed_date_are_reproducible() -> Result<()> {
        let (_w1, first) = world_with_repo()?;
        let (_w2, second) = world_with_repo()?;
        let hash = first.commit("initial", DAY1)?;
        assert_eq!(
            hash,
            second.commit("initial", DAY1)?,
            "same content and date, same hash"
        );
        assert_eq!(hash.len(), 40);
        let dates = first.git(&["log", "-1", "--format=%cI %aI %an"])?;
        assert_eq!(
            dates.trim(),
            "2026-01-01T00:00:00+00:00 2026-01-01T00:00:00+00:00 Delos Test"
        );
        Ok(())
    }

    #[test]
    fn tags_move_and_branches_resolve() -> Result<()> {
        let (world, repo) = world_with_repo()?;
        let first = repo.commit("one", DAY1)?;
        repo.tag("v1.0.0")?;
        repo.tag("sub/v1.0.0")?;
        repo.remove("a")?.write_file("c.go", "package c\n")?;
        let second = repo.commit("two", DAY2)?;
        assert_ne!(first, second);
        assert_eq!(repo.rev_parse("v1.0.0")?, first);
        assert_eq!(repo.rev_parse("refs/tags/sub/v1.0.0")?, first);
        repo.move_tag("v1.0.0", "HEAD")?;
        assert_eq!(repo.rev_parse("v1.0.0")?, second);
        assert!(
            repo.move_tag("v9.9.9", "HEAD").is_err(),
            "moving a missing tag must fail"
        );
        repo.branch("feature", &first)?;
        assert_eq!(repo.rev_parse("feature")?, first);
        assert!(repo.rev_parse("no-such-ref").is_err());
        assert_eq!(world.repo("demo")?.dir(), repo.dir());
        Ok(())
    }

    #[test]
    fn the_insteadof_rewrite_reaches_the_repo_and_delete_removes_it() -> Result<()> {
        let (world, repo) = world_with_repo()?;
        let hash = repo.commit("one", DAY1)?;
        let url = format!("https://{HOST}/demo");
        let heads = repo.git(&["ls-remote", &url, "refs/heads/main"])?;
        assert_eq!(heads, format!("{hash}\trefs/heads/main\n"));
        assert!(
            world.create_repo("demo").is_err(),
            "creating a repo twice must fail"
        );
        let other = world.create_repo("other")?;
        world.delete_repo("demo")?;
        assert!(
            other.git(&["ls-remote", &url]).is_err(),
            "a deleted repo must be unreachable"
        );
        assert!(world.repo("demo").is_err());
        assert_eq!(GitWorld::module_path("demo"), "example.org/demo.git");
        Ok(())
    }
}
