//! Which tags become versions, and in what order: `go list -m -versions` against our rules.

use anyhow::{Result, anyhow, ensure};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::{Version, check_path_version};

use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::go_json::parse_stream;
use crate::support::shapes;

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
