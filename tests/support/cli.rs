//! Running the `delos` maintenance commands (`verify`, `repin`, `import`, `export`) on a
//! stopped node's data dir, with the environment the node runs with.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result};

use super::git::GitWorld;

/// `delos` with the node's environment: `go` on the PATH, `world`'s git config, HTTP(S)
/// proxies at a closed port (nothing reaches the internet), `HOME` in `data_dir`.
pub(crate) fn delos_command(world: &GitWorld, data_dir: &Path) -> Result<Command> {
    let go = super::go::go_binary()?;
    let go_dir = go.parent().context("go has no directory")?;
    let path = std::env::join_paths(std::iter::once(go_dir.to_path_buf()).chain(
        std::env::var_os("PATH").map_or_else(Vec::new, |p| std::env::split_paths(&p).collect()),
    ))?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_delos"));
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", data_dir)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .envs(world.git_env());
    Ok(cmd)
}

/// `delos <args> --data-dir <dir> --gosumdb off`, for the commands that take the node's flags.
pub(crate) fn delos(world: &GitWorld, args: &[&str], data_dir: &Path) -> Result<Output> {
    delos_command(world, data_dir)?
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--gosumdb", "off"])
        .output()
        .context("running delos")
}
