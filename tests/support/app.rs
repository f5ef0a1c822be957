//! What the fill-path scenarios share: the two extra module shapes (`greet`, a transitive
//! dependency, and `big`, ~10 MiB of random data), an application importing a package of every
//! shape, and node options that keep the node's `go` off the internet.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use tempfile::TempDir;

use super::git::GitWorld;
use super::node::NodeOptions;
use super::shapes::{self, Built, DAYS};

/// Size of `big.git`'s random file.
pub(crate) const BIG_BYTES: usize = 10 << 20;

/// Every repository name [`build`] creates.
pub(crate) const REPOS: [&str; 10] = [
    "hello",
    "MixedCase",
    "multi",
    "legacy",
    "pseudo",
    "mono",
    "retract",
    "dirs",
    "greet",
    "big",
];

/// Builds every shape of [`shapes::all`], plus `greet` and `big`, into `world`.
pub(crate) fn build(world: &GitWorld) -> Result<()> {
    shapes::all(world)?;
    greet(world)?;
    big(world)?;
    Ok(())
}

/// `greet`: commits [v1.0.0]; requires `example.org/hello.git v1.1.0`.
pub(crate) fn greet(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("greet")?;
    repo.write_file(
        "go.mod",
        "module example.org/greet.git\n\ngo 1.21\n\nrequire example.org/hello.git v1.1.0\n",
    )?;
    repo.write_file(
        "greet.go",
        "package greet\n\nimport \"example.org/hello.git\"\n\n\
         func Greet() string { return \"greet: \" + hello.Hello() }\n",
    )?;
    let commit = repo.commit("greet", DAYS[0])?;
    repo.tag("v1.0.0")?;
    Ok(Built {
        repo,
        commits: vec![commit],
    })
}

/// `big`: commits [v1.0.0] with `data.bin`, [`BIG_BYTES`] of xorshift output.
pub(crate) fn big(world: &GitWorld) -> Result<Built> {
    random_module(world, "big", BIG_BYTES)
}

/// `name`: commits [v1.0.0] with `data.bin`, `bytes` of xorshift output, and a package of the
/// same name whose `Size` says so.
pub(crate) fn random_module(world: &GitWorld, name: &str, bytes: usize) -> Result<Built> {
    let repo = world.create_repo(name)?;
    repo.write_file(
        "go.mod",
        format!("module example.org/{name}.git\n\ngo 1.21\n"),
    )?;
    repo.write_file(
        &format!("{name}.go"),
        format!("package {name}\n\n// Size is the data file's size.\nconst Size = {bytes}\n"),
    )?;
    repo.write_file("data.bin", random_bytes(bytes))?;
    let commit = repo.commit("big", DAYS[0])?;
    repo.tag("v1.0.0")?;
    Ok(Built {
        repo,
        commits: vec![commit],
    })
}

/// The same incompressible bytes on every run.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The application: imports a package of every shape, with an empty go.mod (`go mod tidy`
/// picks the versions, through whichever GOPROXY runs it).
const APP_MAIN: &str = r#"package main

import (
	"fmt"

	"example.org/MixedCase.git"
	"example.org/big.git"
	"example.org/dirs.git/a/b"
	"example.org/greet.git"
	"example.org/legacy.git"
	"example.org/mono.git"
	"example.org/mono.git/sub"
	"example.org/multi.git/v2"
	"example.org/pseudo.git"
	"example.org/retract.git"
)

func main() {
	fmt.Println(mixedcase.Name(), big.Size, b.C, greet.Greet(), legacy.Legacy())
	fmt.Println(mono.Root(), sub.Sub(), multi.Major(), pseudo.Pseudo(), retract.Version())
}
"#;

/// Writes the application (go.mod without requirements, main.go) into a new temp dir.
pub(crate) fn write_app() -> Result<TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("delos-app-")
        .tempdir()
        .context("creating the app dir")?;
    fs::write(
        dir.path().join("go.mod"),
        "module example.org/app\n\ngo 1.21\n",
    )?;
    fs::write(dir.path().join("main.go"), APP_MAIN)?;
    Ok(dir)
}

/// The application in a new temp dir, resolved and downloaded directly from `world`'s
/// repositories (`go mod tidy` with `GOPROXY=direct`), and the `go.sum` that wrote: the
/// reference builds through nodes are compared with.
pub(crate) fn direct_reference(world: &GitWorld) -> Result<(TempDir, String)> {
    let template = write_app()?;
    super::go::GoEnv::new(world, "direct")?.run_in(template.path(), &["mod", "tidy"])?;
    let go_sum = fs::read_to_string(template.path().join("go.sum"))?;
    Ok((template, go_sum))
}

/// A copy of the application dir `from` (go.mod, go.sum, main.go) in a new temp dir.
pub(crate) fn copy_app(from: &Path) -> Result<TempDir> {
    copy_files(from, &["go.mod", "go.sum", "main.go"])
}

/// A copy of the application's sources (go.mod, main.go) in a new temp dir.
pub(crate) fn copy_app_sources(from: &Path) -> Result<TempDir> {
    copy_files(from, &["go.mod", "main.go"])
}

fn copy_files(from: &Path, names: &[&str]) -> Result<TempDir> {
    let dir = write_app()?;
    for name in names {
        fs::copy(from.join(name), dir.path().join(name))
            .with_context(|| format!("copying {name}"))?;
    }
    Ok(dir)
}

/// Options for a node whose `go` sees only `world`: git config from the world, and HTTP(S)
/// proxies pointing at a closed port, so a path without `.git` (`example.org`) fails fast
/// instead of reaching the internet.
pub(crate) fn node_options(world: &GitWorld) -> NodeOptions {
    NodeOptions::default()
        .git_world(world)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
}
