//! Git repositories of every module shape the `go` command knows, each a small valid Go package,
//! built with fixed commit dates so their versions and hashes are the same on every run.
//!
//! | repository      | module path(s)                                | versions                          |
//! |-----------------|-----------------------------------------------|-----------------------------------|
//! | `hello`         | `example.org/hello.git`                       | v1.0.0 (the documented worked example), v1.1.0, then an untagged commit on `main` |
//! | `MixedCase`     | `example.org/MixedCase.git`                   | v1.0.0-RC1, an untagged commit, v1.0.0 |
//! | `multi`         | `example.org/multi.git`, `…/multi.git/v2`     | v1.5.0 (no suffix), v2.0.0 (`/v2` in go.mod) |
//! | `legacy`        | `example.org/legacy.git`                      | v3.0.0, untagged tip; no go.mod (`+incompatible`) |
//! | `pseudo`        | `example.org/pseudo.git`                      | two untagged commits only          |
//! | `mono`          | `example.org/mono.git`, `…/mono.git/sub`      | v1.0.0 and sub/v1.0.0; root LICENSE only |
//! | `retract`       | `example.org/retract.git`                     | v1.0.0, v1.1.0, v1.2.0 (retracts v1.1.0) |
//! | `dirs`          | `example.org/dirs.git`                        | v1.0.0: no go.mod, no file at the root |
//! | `big` (opt-in)  | `example.org/big.git`                         | v1.0.0 with N bytes of random data |

use anyhow::Result;

use super::git::{GitRepo, GitWorld};

/// Commit dates, one day apart; a pseudo-version's timestamp is `yyyymmdd000000` of one of them.
pub(crate) const DAYS: [&str; 6] = [
    "2026-01-01T00:00:00Z",
    "2026-01-02T00:00:00Z",
    "2026-01-03T00:00:00Z",
    "2026-01-04T00:00:00Z",
    "2026-01-05T00:00:00Z",
    "2026-01-06T00:00:00Z",
];

/// The `go.mod` of `hello.git@v1.0.0`, exactly as in the protocol doc's worked example (§4).
pub(crate) const HELLO_V1_GO_MOD: &str = "module example.org/hello.git\n\ngo 1.21\n";
/// The `hello.go` of `hello.git@v1.0.0`, exactly as in the protocol doc's worked example (§4).
pub(crate) const HELLO_V1_GO: &str =
    "package hello\n\nfunc Hello() string { return \"hello v1.0.0\" }\n";

/// A repository and the commits made in it, oldest first.
#[derive(Debug)]
pub(crate) struct Built {
    /// The repository, for moving tags or adding commits later.
    pub(crate) repo: GitRepo,
    /// Full hashes of the commits, in the order the builder's doc lists them.
    pub(crate) commits: Vec<String>,
}

/// Every shape of the table above, built into `world`.
#[derive(Debug)]
pub(crate) struct AllShapes {
    /// `hello`, see [`hello`].
    pub(crate) hello: Built,
    /// `MixedCase`, see [`mixed_case`].
    pub(crate) mixed_case: Built,
    /// `multi`, see [`multi`].
    pub(crate) multi: Built,
    /// `legacy`, see [`legacy`].
    pub(crate) legacy: Built,
    /// `pseudo`, see [`pseudo`].
    pub(crate) pseudo: Built,
    /// `mono`, see [`mono`].
    pub(crate) mono: Built,
    /// `retract`, see [`retract`].
    pub(crate) retract: Built,
    /// `dirs`, see [`dirs`].
    pub(crate) dirs: Built,
}

/// Builds every shape into `world`.
pub(crate) fn all(world: &GitWorld) -> Result<AllShapes> {
    Ok(AllShapes {
        hello: hello(world)?,
        mixed_case: mixed_case(world)?,
        multi: multi(world)?,
        legacy: legacy(world)?,
        pseudo: pseudo(world)?,
        mono: mono(world)?,
        retract: retract(world)?,
        dirs: dirs(world)?,
    })
}

/// `hello`: commits [v1.0.0, v1.1.0, untagged tip of `main`].
pub(crate) fn hello(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("hello")?;
    repo.write_file("go.mod", HELLO_V1_GO_MOD)?
        .write_file("hello.go", HELLO_V1_GO)?;
    let v100 = tagged(&repo, "v1.0.0", DAYS[0])?;
    repo.write_file("hello.go", go_func("hello", "Hello", "hello v1.1.0"))?;
    let v110 = tagged(&repo, "v1.1.0", DAYS[1])?;
    repo.write_file("hello.go", go_func("hello", "Hello", "hello from main"))?;
    let tip = repo.commit("work in progress", DAYS[2])?;
    Ok(Built {
        repo,
        commits: vec![v100, v110, tip],
    })
}

/// `MixedCase`: commits [v1.0.0-RC1, untagged, v1.0.0].
pub(crate) fn mixed_case(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("MixedCase")?;
    repo.write_file("go.mod", "module example.org/MixedCase.git\n\ngo 1.21\n")?;
    repo.write_file("name.go", go_func("mixedcase", "Name", "RC1"))?;
    let rc = tagged(&repo, "v1.0.0-RC1", DAYS[0])?;
    repo.write_file("name.go", go_func("mixedcase", "Name", "after RC1"))?;
    let between = repo.commit("after RC1", DAYS[1])?;
    repo.write_file("name.go", go_func("mixedcase", "Name", "MixedCase v1.0.0"))?;
    let v100 = tagged(&repo, "v1.0.0", DAYS[2])?;
    Ok(Built {
        repo,
        commits: vec![rc, between, v100],
    })
}

/// `multi`: commits [v1.5.0 with `module example.org/multi.git`, v2.0.0 with `…/v2`].
pub(crate) fn multi(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("multi")?;
    repo.write_file("go.mod", "module example.org/multi.git\n\ngo 1.21\n")?;
    repo.write_file("multi.go", go_func("multi", "Major", "v1"))?;
    let v150 = tagged(&repo, "v1.5.0", DAYS[0])?;
    repo.write_file("go.mod", "module example.org/multi.git/v2\n\ngo 1.21\n")?;
    repo.write_file("multi.go", go_func("multi", "Major", "v2"))?;
    let v200 = tagged(&repo, "v2.0.0", DAYS[1])?;
    Ok(Built {
        repo,
        commits: vec![v150, v200],
    })
}

/// `legacy`: commits [v3.0.0, untagged tip of `main`], neither with a go.mod.
pub(crate) fn legacy(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("legacy")?;
    repo.write_file(
        "legacy.go",
        go_func("legacy", "Legacy", "v3 without go.mod"),
    )?;
    let v300 = tagged(&repo, "v3.0.0", DAYS[0])?;
    repo.write_file("legacy.go", go_func("legacy", "Legacy", "after v3"))?;
    let tip = repo.commit("after v3", DAYS[1])?;
    Ok(Built {
        repo,
        commits: vec![v300, tip],
    })
}

/// `pseudo`: commits [untagged, untagged tip of `main`]; no tags at all.
pub(crate) fn pseudo(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("pseudo")?;
    repo.write_file("go.mod", "module example.org/pseudo.git\n\ngo 1.21\n")?;
    repo.write_file("pseudo.go", go_func("pseudo", "Pseudo", "first"))?;
    let first = repo.commit("first", DAYS[3])?;
    repo.write_file("pseudo.go", go_func("pseudo", "Pseudo", "second"))?;
    let second = repo.commit("second", DAYS[4])?;
    Ok(Built {
        repo,
        commits: vec![first, second],
    })
}

/// `mono`: commits [tagged both v1.0.0 and sub/v1.0.0]. `sub/` has its own go.mod and no
/// LICENSE, so go copies the root LICENSE into the nested module's zip and leaves `sub/` out of
/// the root module's zip.
pub(crate) fn mono(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("mono")?;
    repo.write_file("go.mod", "module example.org/mono.git\n\ngo 1.21\n")?;
    repo.write_file("LICENSE", "Copyright 2026 Delos Test. Do what you like.\n")?;
    repo.write_file("mono.go", go_func("mono", "Root", "mono root"))?;
    repo.write_file("sub/go.mod", "module example.org/mono.git/sub\n\ngo 1.21\n")?;
    repo.write_file("sub/sub.go", go_func("sub", "Sub", "mono sub"))?;
    let commit = tagged(&repo, "v1.0.0", DAYS[0])?;
    repo.tag("sub/v1.0.0")?;
    Ok(Built {
        repo,
        commits: vec![commit],
    })
}

/// `retract`: commits [v1.0.0, v1.1.0, v1.2.0 whose go.mod retracts v1.1.0].
pub(crate) fn retract(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("retract")?;
    let go_mod = "module example.org/retract.git\n\ngo 1.21\n";
    repo.write_file("go.mod", go_mod)?;
    let mut commits = Vec::new();
    for (i, version) in ["v1.0.0", "v1.1.0", "v1.2.0"].into_iter().enumerate() {
        if version == "v1.2.0" {
            repo.write_file("go.mod", format!("{go_mod}\nretract v1.1.0 // broken\n"))?;
        }
        repo.write_file("retract.go", go_func("retract", "Version", version))?;
        commits.push(tagged(&repo, version, DAYS[i])?);
    }
    Ok(Built { repo, commits })
}

/// `dirs`: commits [v1.0.0]. Nothing at the root but directories: no go.mod (go synthesizes
/// one), names that sort differently bytewise and case-folded, the unusual characters
/// CheckFilePath allows, non-ASCII letters, and an `export-ignore` attribute go must ignore.
pub(crate) fn dirs(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("dirs")?;
    repo.write_file(
        "a/b/c.go",
        "package b\n\n// C is nested two levels deep.\nconst C = 1\n",
    )?;
    repo.write_file("a/B.txt", "capital B sorts before lowercase a bytewise\n")?;
    repo.write_file("a/a.txt", "lowercase\n")?;
    repo.write_file(
        "x/we!rd name+@(1)~,=[]^{}#$%&.txt",
        "CheckFilePath allows these\n",
    )?;
    repo.write_file(
        "x/ünïcødé.txt",
        "unicode letters are allowed in file paths\n",
    )?;
    repo.write_file("x/.gitattributes", "* export-ignore\n")?;
    let commit = tagged(&repo, "v1.0.0", DAYS[0])?;
    Ok(Built {
        repo,
        commits: vec![commit],
    })
}

/// The go.mod of `toonew`: no installed Go can build its zip.
pub(crate) const TOO_NEW_GO_MOD: &str = "module example.org/toonew.git\n\ngo 1.999\n";

/// `toonew`: commits [v1.0.0], a module that needs a Go from the future, so `go mod download`
/// gives its `.mod` and `.info` but no zip.
pub(crate) fn too_new(world: &GitWorld) -> Result<Built> {
    let repo = world.create_repo("toonew")?;
    repo.write_file("go.mod", TOO_NEW_GO_MOD)?
        .write_file("n.go", "package n\n")?;
    let commit = tagged(&repo, "v1.0.0", DAYS[0])?;
    Ok(Built {
        repo,
        commits: vec![commit],
    })
}

/// `big`: commits [v1.0.0], a package plus `data/random.bin` of `size` pseudo-random (so
/// incompressible) bytes, the same bytes on every run.
pub(crate) fn big(world: &GitWorld, size: usize) -> Result<Built> {
    let repo = world.create_repo("big")?;
    repo.write_file("go.mod", "module example.org/big.git\n\ngo 1.21\n")?;
    repo.write_file("big.go", go_func("big", "Big", "random data in data/"))?;
    repo.write_file("data/random.bin", random_bytes(size))?;
    let commit = tagged(&repo, "v1.0.0", DAYS[0])?;
    Ok(Built {
        repo,
        commits: vec![commit],
    })
}

/// `size` bytes from a fixed-seed xorshift64 generator.
fn random_bytes(size: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

/// Commits everything and tags the commit `tag`; returns the commit hash.
fn tagged(repo: &GitRepo, tag: &str, date: &str) -> Result<String> {
    let commit = repo.commit(tag, date)?;
    repo.tag(tag)?;
    Ok(commit)
}

/// A Go file of package `package` with `func name() string { return "<value>" }`.
fn go_func(package: &str, name: &str, value: &str) -> String {
    format!("package {package}\n\nfunc {name}() string {{ return {value:?} }}\n")
}
