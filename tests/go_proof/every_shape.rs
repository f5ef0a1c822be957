//! Every module shape, asked for every way: what go resolves and downloads passes our checks.

use std::path::PathBuf;

use anyhow::{Result, anyhow, ensure};
use delos_pool_protocol::version::Version;

use super::{check_download, printed};
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::go_json::ModDownload;
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
        "{} of {} cases failed:\n{}\ngo's stderr:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n"),
        downloads.stderr
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

/// The nested module keeps the root LICENSE; the root module leaves `sub/` out.
fn check_mono_layout(root: &Option<PathBuf>, sub: &Option<PathBuf>) -> Result<()> {
    let (root, sub) = (printed("Dir", root)?, printed("Dir", sub)?);
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
