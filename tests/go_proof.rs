//! Proof against the real `go` command: for git repositories of every module shape, the `.mod`
//! and `.zip` files that `go mod download -json` (GOPROXY=direct) produces must pass our checks,
//! and our `h1:` hashes, escaping, version rules and ordering must agree with what `go` printed
//! in the same run. Where `go` refuses a path/version pair, `check_path_version` must refuse it
//! too. The expected values come from `go`, except the worked example vectors documented in
//! `goproxy-protocol.md` §4, which `go` must reproduce here as well.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, ensure};
use delos_pool_protocol::gomod::declared_module_path;
use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::{Version, check_path_version};

use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::go_json::{ModDownload, parse_stream};
use crate::support::shapes::{self, AllShapes, DAYS};

/// What a query must resolve to.
#[derive(Debug)]
enum Expect<'a> {
    /// This exact canonical version.
    Exact(&'a str),
    /// A pseudo-version for the case's commit, made on `day` (one of [`DAYS`]), derived from
    /// `base`.
    Pseudo { day: &'a str, base: Option<&'a str> },
}

/// One `module@query` that must download, what it resolves to, and where it came from.
#[derive(Debug)]
struct Case<'a> {
    module: &'a str,
    query: String,
    expect: Expect<'a>,
    commit: &'a str,
    subdir: Option<&'a str>,
}

impl<'a> Case<'a> {
    /// A tagged version, asked for by its name.
    fn tag(module: &'a str, version: &'a str, commit: &'a str) -> Self {
        Self::resolving(module, version, version, commit)
    }

    /// A query go must answer with `version`.
    fn resolving(module: &'a str, query: &str, version: &'a str, commit: &'a str) -> Self {
        let (query, expect) = (query.to_owned(), Expect::Exact(version));
        Self {
            module,
            query,
            expect,
            commit,
            subdir: None,
        }
    }

    /// A query go must answer with a pseudo-version for `commit`.
    fn pseudo(
        module: &'a str,
        query: &str,
        commit: &'a str,
        day: &'a str,
        base: Option<&'a str>,
    ) -> Self {
        let (query, expect) = (query.to_owned(), Expect::Pseudo { day, base });
        Self {
            module,
            query,
            expect,
            commit,
            subdir: None,
        }
    }

    /// The module sits in this subdirectory of its repository.
    fn in_subdir(self, subdir: &'a str) -> Self {
        Self {
            subdir: Some(subdir),
            ..self
        }
    }
}

/// Every shape, asked for by tag, by branch, by hash prefix, by `latest` and by a tag that
/// needs `+incompatible`.
fn cases(s: &AllShapes) -> Vec<Case<'_>> {
    let (hello, mixed, pseudo) = (&s.hello.commits, &s.mixed_case.commits, &s.pseudo.commits);
    let (mono, retract) = (&s.mono.commits[0], &s.retract.commits);
    vec![
        Case::tag("example.org/hello.git", "v1.0.0", &hello[0]),
        Case::tag("example.org/hello.git", "v1.1.0", &hello[1]),
        Case::pseudo(
            "example.org/hello.git",
            "main",
            &hello[2],
            DAYS[2],
            Some("v1.1.0"),
        ),
        Case::tag("example.org/MixedCase.git", "v1.0.0-RC1", &mixed[0]),
        Case::tag("example.org/MixedCase.git", "v1.0.0", &mixed[2]),
        Case::pseudo(
            "example.org/MixedCase.git",
            &mixed[1][..12],
            &mixed[1],
            DAYS[1],
            Some("v1.0.0-RC1"),
        ),
        Case::tag("example.org/multi.git", "v1.5.0", &s.multi.commits[0]),
        Case::tag("example.org/multi.git/v2", "v2.0.0", &s.multi.commits[1]),
        Case::resolving(
            "example.org/legacy.git",
            "v3.0.0",
            "v3.0.0+incompatible",
            &s.legacy.commits[0],
        ),
        Case::pseudo(
            "example.org/legacy.git",
            "main",
            &s.legacy.commits[1],
            DAYS[1],
            Some("v3.0.0+incompatible"),
        ),
        Case::pseudo(
            "example.org/pseudo.git",
            "latest",
            &pseudo[1],
            DAYS[4],
            None,
        ),
        Case::pseudo(
            "example.org/pseudo.git",
            &pseudo[0][..12],
            &pseudo[0],
            DAYS[3],
            None,
        ),
        Case::tag("example.org/mono.git", "v1.0.0", mono),
        Case::tag("example.org/mono.git/sub", "v1.0.0", mono).in_subdir("sub"),
        Case::tag("example.org/dirs.git", "v1.0.0", &s.dirs.commits[0]),
        Case::tag("example.org/retract.git", "v1.0.0", &retract[0]),
        Case::tag("example.org/retract.git", "v1.1.0", &retract[1]),
        Case::tag("example.org/retract.git", "v1.2.0", &retract[2]),
    ]
}

#[test]
fn go_and_pool_protocol_agree_on_every_module_shape() -> Result<()> {
    let world = GitWorld::new()?;
    let shapes = shapes::all(&world)?;
    let cases = cases(&shapes);
    let go = GoEnv::new(&world, "direct")?;
    let args: Vec<String> = cases
        .iter()
        .map(|c| format!("{}@{}", c.module, c.query))
        .collect();
    let downloads = go.mod_download(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let checked = downloads
                .ok(case.module, &case.query)
                .and_then(|d| check_case(case, d).and_then(|()| check_download(&go, d)));
            checked
                .err()
                .map(|e| format!("{}@{}: {e:#}", case.module, case.query))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    check_mono_layout(
        &downloads.ok("example.org/mono.git", "v1.0.0")?.dir,
        &downloads.ok("example.org/mono.git/sub", "v1.0.0")?.dir,
    )
}

/// The version `go` resolved `case` to is the one expected, from the expected commit.
fn check_case(case: &Case<'_>, d: &ModDownload) -> Result<()> {
    let version = Version::parse(&d.version)?;
    match &case.expect {
        Expect::Exact(expected) => ensure!(
            d.version == *expected,
            "go resolved {}, not {expected}",
            d.version
        ),
        Expect::Pseudo { day, base } => check_pseudo(&version, case.commit, day, *base)?,
    }
    let origin = d
        .origin
        .as_ref()
        .ok_or_else(|| anyhow!("go printed no Origin"))?;
    ensure!(
        origin.hash.as_deref() == Some(case.commit),
        "Origin.Hash {:?} is not {}",
        origin.hash,
        case.commit
    );
    ensure!(
        origin.subdir.as_deref() == case.subdir,
        "Origin.Subdir {:?}",
        origin.subdir
    );
    Ok(())
}

/// Our reading of a pseudo-version names the commit, date and base tag it was made from.
fn check_pseudo(version: &Version, commit: &str, day: &str, base: Option<&str>) -> Result<()> {
    let pseudo = version
        .pseudo()
        .ok_or_else(|| anyhow!("{version} is not a pseudo-version to us"))?;
    let revision = pseudo.revision();
    ensure!(
        revision == &commit[..12],
        "revision {revision} is not {commit}"
    );
    let stamp: String = day.chars().filter(char::is_ascii_digit).collect();
    ensure!(
        pseudo.timestamp() == stamp,
        "timestamp {} is not {day}",
        pseudo.timestamp()
    );
    let time = pseudo.time()?;
    let date = format!("{:04}{:02}{:02}", time.year, time.month, time.day);
    ensure!(date == stamp[..8], "time {time:?} is not {day}");
    let ours = pseudo.base()?.map(Version::into_string);
    ensure!(ours.as_deref() == base, "base {ours:?}, expected {base:?}");
    Ok(())
}

/// Everything we can check about one download `go` made, against what `go` printed.
fn check_download(go: &GoEnv, d: &ModDownload) -> Result<()> {
    let path = ModulePath::parse(&d.path)?;
    let version = Version::parse(&d.version)?;
    ensure!(
        version.is_canonical() && version.canonical() == version,
        "{version} is not canonical to us"
    );
    check_path_version(&path, &version)?;
    ensure!(
        ModulePath::unescape(&path.escape())? == path,
        "path escape round trip"
    );
    ensure!(
        Version::unescape(&version.escape())? == version,
        "version escape round trip"
    );

    // go names its cache files with its own escaping: a vector for ours.
    let stem = go
        .gomodcache()
        .join("cache/download")
        .join(path.escape())
        .join("@v")
        .join(version.escape());
    for (file, ext) in [(&d.info, "info"), (&d.go_mod, "mod"), (&d.zip, "zip")] {
        ensure!(
            file.as_deref() == Some(with_ext(&stem, ext).as_path()),
            "go's {ext} is at {file:?}, we expect {}",
            stem.display()
        );
    }
    let info: serde_json::Value = serde_json::from_slice(&fs::read(with_ext(&stem, "info"))?)?;
    ensure!(
        info["Version"] == d.version.as_str(),
        ".info says {}",
        info["Version"]
    );

    let go_mod = fs::read(with_ext(&stem, "mod"))?;
    ensure_same("GoModSum", H1Hash::of_go_mod(&go_mod), &d.go_mod_sum)?;
    ensure!(
        declared_module_path(&go_mod)? == d.path,
        "the .mod declares another module path"
    );

    Ok(())
}

/// Our hash, printed, equals what go printed, and go's text parses back to it.
fn ensure_same(field: &str, ours: H1Hash, go: &Option<String>) -> Result<()> {
    let go = go
        .as_deref()
        .ok_or_else(|| anyhow!("go printed no {field}"))?;
    ensure!(ours.to_string() == go, "{field}: ours {ours}, go {go}");
    ensure!(
        H1Hash::parse(go)? == ours,
        "{field}: {go} does not parse back"
    );
    Ok(())
}

/// The nested module keeps the root LICENSE; the root module leaves `sub/` out.
fn check_mono_layout(root: &Option<PathBuf>, sub: &Option<PathBuf>) -> Result<()> {
    let (root, sub) = (dir(root)?, dir(sub)?);
    ensure!(
        root.join("LICENSE").is_file() && !root.join("sub").exists(),
        "root module tree {}",
        root.display()
    );
    ensure!(
        sub.join("LICENSE").is_file() && sub.join("sub.go").is_file(),
        "nested module tree {}",
        sub.display()
    );
    Ok(())
}

/// `stem` plus `.ext` (`Path::with_extension` would cut `v1.0.0` at its last dot).
fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    name.into()
}

fn dir(dir: &Option<PathBuf>) -> Result<&Path> {
    dir.as_deref().ok_or_else(|| anyhow!("go printed no Dir"))
}

#[test]
fn go_and_check_path_version_refuse_the_same_major_mismatches() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::multi(&world)?;
    shapes::legacy(&world)?;
    let refused = [
        ("example.org/multi.git", "v2.0.0"),
        ("example.org/multi.git/v2", "v1.5.0"),
        ("example.org/hello.git", "v1.0.0+incompatible"),
        ("example.org/multi.git/v2", "v2.0.0+incompatible"),
    ];
    let mut args: Vec<String> = refused.iter().map(|(m, v)| format!("{m}@{v}")).collect();
    args.push("example.org/legacy.git@v3.0.0".into());
    let go = GoEnv::new(&world, "direct")?;
    let got = go.mod_download(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    for (module, version) in refused {
        let go_error = got.get(module, version)?.error.as_deref();
        let go_error = go_error.ok_or_else(|| anyhow!("go accepted {module}@{version}"))?;
        let ours = check_path_version(&ModulePath::parse(module)?, &Version::parse(version)?);
        ensure!(
            ours.is_err(),
            "go refused {module}@{version} ({go_error}), check_path_version did not"
        );
    }
    // go answers the query v3.0.0 with v3.0.0+incompatible: only the latter fits the path.
    let legacy = got.ok("example.org/legacy.git", "v3.0.0")?;
    let path = ModulePath::parse(&legacy.path)?;
    ensure!(
        check_path_version(&path, &Version::parse("v3.0.0")?).is_err(),
        "v3.0.0 fits {path}"
    );
    check_path_version(&path, &Version::parse(&legacy.version)?)?;
    Ok(())
}

/// Tags of every kind on one commit of `hello.git`; `go list -m -versions` keeps some and sorts
/// them, and we must keep the same ones in the same order.
const TAGS: &[&str] = &[
    "v0.0.1",
    "v0.1.0",
    "v0.9.9",
    "v1.0.0-alpha",
    "v1.0.0-alpha.1",
    "v1.0.0-alpha.beta",
    "v1.0.0-beta",
    "v1.0.0-beta.2",
    "v1.0.0-beta.11",
    "v1.0.0-rc.1",
    "v1.0.0-RC2",
    "v1.0.0-0",
    "v1.0.0-1",
    "v1.0.0-9",
    "v1.0.0-10",
    "v1.0.0-x-y",
    "v1.0.0-0a",
    "v1.0.1",
    "v1.2.0",
    "v1.9.99",
    "v1.10.0",
    "v1.3",
    "v1",
    "1.4.0",
    "v1.5.0+meta",
    "v1.0.0-01",
    "v01.0.0",
    "v1.0.1-0.20260101000000-abcdefabcdef",
    "v2.0.0",
    "v2.1.0-beta",
    "release",
    "v1.6.0-",
    "v1.7.0-a.+b",
    "V1.8.0",
];

#[test]
fn go_lists_the_versions_we_accept_in_our_order() -> Result<()> {
    let world = GitWorld::new()?;
    let hello = shapes::hello(&world)?;
    shapes::retract(&world)?;
    for tag in TAGS {
        hello.repo.tag(tag)?;
    }
    let go = GoEnv::new(&world, "direct")?;
    let printed = go.run(&[
        "list",
        "-m",
        "-versions",
        "-retracted",
        "-json",
        "example.org/hello.git",
        "example.org/retract.git",
    ])?;
    let listed: Vec<serde_json::Value> = parse_stream(printed.as_bytes())?;
    let go_versions = |module: &str| -> Result<Vec<String>> {
        let found = listed
            .iter()
            .find(|m| m["Path"] == module)
            .ok_or_else(|| anyhow!("go listed no {module}"))?;
        Ok(serde_json::from_value(found["Versions"].clone())?)
    };
    let hello_tags = TAGS.iter().copied().chain(["v1.0.0", "v1.1.0"]);
    ensure_eq(
        go_versions("example.org/hello.git")?,
        our_list("example.org/hello.git", hello_tags)?,
    )?;
    let retract_tags = ["v1.2.0", "v1.0.0", "v1.1.0"].into_iter();
    ensure_eq(
        go_versions("example.org/retract.git")?,
        our_list("example.org/retract.git", retract_tags)?,
    )
}

/// The tags a module's version list holds by our rules, sorted by our `Ord`.
fn our_list<'a>(module: &str, tags: impl Iterator<Item = &'a str>) -> Result<Vec<String>> {
    let path = ModulePath::parse(module)?;
    let mut versions: Vec<Version> = tags
        .filter_map(|tag| Version::parse(tag).ok())
        .filter(|v| v.is_canonical() && !v.is_pseudo() && check_path_version(&path, v).is_ok())
        .collect();
    versions.sort();
    Ok(versions.into_iter().map(Version::into_string).collect())
}

fn ensure_eq(go: Vec<String>, ours: Vec<String>) -> Result<()> {
    ensure!(go == ours, "go listed\n  {go:?}\nwe would list\n  {ours:?}");
    Ok(())
}

/// `goproxy-protocol.md` §4: the `h1:` hashes go printed for `hello.git@v1.0.0`.
const DOC_HELLO_SUM: &str = "h1:OTavDhu2+htbSCou3/NNW4Jc96pqnEISq/z/wq3Vxvo=";
const DOC_HELLO_GO_MOD_SUM: &str = "h1:QJ+/gTmvQBuUneasCzJSE+xoq4qt4XbqZ6dJE1/ib7w=";
/// `goproxy-protocol.md` §1.1 and §4: the go.mod go synthesizes for `legacy.git`, and its hash.
const DOC_LEGACY_GO_MOD: &str = "module example.org/legacy.git\n";
const DOC_LEGACY_GO_MOD_SUM: &str = "h1:vGq8iPZ1LHCfg9oPoO320Fp+VM+MFIvR3c/53RXZPU4=";

#[test]
fn go_reproduces_the_documented_vectors_and_so_do_we() -> Result<()> {
    ensure!(
        H1Hash::of_go_mod(shapes::HELLO_V1_GO_MOD.as_bytes()).to_string() == DOC_HELLO_GO_MOD_SUM
    );
    ensure!(H1Hash::of_go_mod(DOC_LEGACY_GO_MOD.as_bytes()).to_string() == DOC_LEGACY_GO_MOD_SUM);
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::legacy(&world)?;
    let go = GoEnv::new(&world, "direct")?;
    let got = go.mod_download(&[
        "example.org/hello.git@v1.0.0",
        "example.org/legacy.git@v3.0.0+incompatible",
    ])?;
    let hello = got.ok("example.org/hello.git", "v1.0.0")?;
    ensure!(
        hello.sum.as_deref() == Some(DOC_HELLO_SUM),
        "go printed Sum {:?}",
        hello.sum
    );
    ensure!(
        hello.go_mod_sum.as_deref() == Some(DOC_HELLO_GO_MOD_SUM),
        "go printed GoModSum {:?}",
        hello.go_mod_sum
    );
    check_download(&go, hello)?;
    let legacy = got.ok("example.org/legacy.git", "v3.0.0+incompatible")?;
    ensure!(
        fs::read(dir(&legacy.go_mod)?)? == DOC_LEGACY_GO_MOD.as_bytes(),
        "go's synthesized go.mod differs"
    );
    ensure!(
        legacy.go_mod_sum.as_deref() == Some(DOC_LEGACY_GO_MOD_SUM),
        "go printed GoModSum {:?}",
        legacy.go_mod_sum
    );
    check_download(&go, legacy)
}
