//! The download protocol end to end: the real `go` builds an application depending on every
//! module shape through a real `delos serve` node with a fresh client cache, and records exactly
//! the `go.sum` a `GOPROXY=direct` build records; again with the repositories deleted (served
//! from the store) and after a restart. Queries, fallthrough and prefix probing work too.

use std::fs;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::support::app::{self, REPOS};
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::go_json::{ModDownload, parse_stream};
use crate::support::shapes;

/// `go mod tidy` then `go build` of a copy of the app; returns (go.mod, go.sum).
fn tidy_and_build(go: &GoEnv, app_dir: &std::path::Path) -> Result<(String, String)> {
    go.run_in(app_dir, &["mod", "tidy"])?;
    go.run_in(app_dir, &["build", "-o", "app", "."])?;
    read_mod_sum(app_dir)
}

fn read_mod_sum(dir: &std::path::Path) -> Result<(String, String)> {
    let go_mod = fs::read_to_string(dir.join("go.mod")).context("reading go.mod")?;
    let go_sum = fs::read_to_string(dir.join("go.sum")).context("reading go.sum")?;
    Ok((go_mod, go_sum))
}

#[test]
fn an_app_of_every_shape_builds_through_the_node_with_direct_hashes() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    let template = app::write_app()?;

    let direct_app = app::copy_app_sources(template.path())?;
    let direct = GoEnv::new(&world, "direct")?;
    let (direct_mod, direct_sum) = tidy_and_build(&direct, direct_app.path())?;
    for needle in [
        "example.org/legacy.git v3.0.0+incompatible",
        "example.org/retract.git v1.2.0",
        "example.org/hello.git v1.1.0 // indirect",
        "example.org/pseudo.git v0.0.0-20260105000000-",
    ] {
        ensure!(
            direct_mod.contains(needle),
            "direct go.mod lacks {needle}:\n{direct_mod}"
        );
    }

    let node = app::node_options(&world).start()?;
    let via_node_app = app::copy_app_sources(template.path())?;
    let via_node = GoEnv::new(&world, &node.url())?;
    let (node_mod, node_sum) = tidy_and_build(&via_node, via_node_app.path())
        .with_context(|| format!("node log:\n{}", node.log()))?;
    assert_eq!(node_mod, direct_mod, "go.mod through the node");
    assert_eq!(node_sum, direct_sum, "go.sum through the node");

    for repo in REPOS {
        world.delete_repo(repo)?;
    }
    let from_store = app::copy_app(via_node_app.path())?;
    let fresh = GoEnv::new(&world, &node.url())?;
    fresh.run_in(from_store.path(), &["build", "-o", "app", "."])?;
    assert_eq!(
        read_mod_sum(from_store.path())?,
        (direct_mod.clone(), direct_sum.clone())
    );

    let node = node.restart()?;
    let after_restart = app::copy_app(via_node_app.path())?;
    let fresh = GoEnv::new(&world, &node.url())?;
    fresh
        .run_in(after_restart.path(), &["build", "-o", "app", "."])
        .with_context(|| format!("node log:\n{}", node.log()))?;
    assert_eq!(
        read_mod_sum(after_restart.path())?,
        (direct_mod, direct_sum)
    );
    Ok(())
}

/// `go mod download -json M@Q` through `go`; the one object it printed, which must succeed.
fn download(go: &GoEnv, arg: &str) -> Result<ModDownload> {
    let out = go.run(&["mod", "download", "-json", arg])?;
    let mut objects: Vec<ModDownload> = parse_stream(out.as_bytes())?;
    ensure!(objects.len() == 1, "one object for {arg}: {out}");
    Ok(objects.remove(0))
}

/// `go list -m -json <args>`, parsed.
fn list_json(go: &GoEnv, args: &[&str]) -> Result<serde_json::Value> {
    let mut full = vec!["list", "-m", "-json"];
    full.extend_from_slice(args);
    Ok(serde_json::from_str(&go.run(&full)?)?)
}

#[test]
fn queries_resolve_through_the_node_as_they_do_direct() -> Result<()> {
    let world = GitWorld::new()?;
    let hello = shapes::hello(&world)?;
    shapes::legacy(&world)?;
    shapes::retract(&world)?;
    shapes::pseudo(&world)?;
    let node = app::node_options(&world).start()?;
    let direct = GoEnv::new(&world, "direct")?;
    let via_node = GoEnv::new(&world, &node.url())?;

    let versions = ["-versions", "-retracted", "example.org/retract.git"];
    let listed = list_json(&via_node, &versions)?;
    assert_eq!(
        listed["Versions"],
        list_json(&direct, &versions)?["Versions"]
    );
    assert_eq!(
        listed["Versions"][1], "v1.1.0",
        "retracted versions are listed"
    );
    for query in [
        "example.org/retract.git@latest",
        "example.org/pseudo.git@latest",
    ] {
        let through = list_json(&via_node, &[query])?;
        assert_eq!(
            through["Version"],
            list_json(&direct, &[query])?["Version"],
            "{query}"
        );
    }
    let hash = &hello.commits[1][..12];
    for arg in [
        "example.org/hello.git@main".to_owned(),
        format!("example.org/hello.git@{hash}"),
        "example.org/legacy.git@v3.0.0".to_owned(),
    ] {
        let (through, straight) = (download(&via_node, &arg)?, download(&direct, &arg)?);
        assert_eq!(through.version, straight.version, "{arg}");
        assert_eq!(through.sum, straight.sum, "{arg}");
        assert_eq!(through.go_mod_sum, straight.go_mod_sum, "{arg}");
    }
    let legacy = download(&via_node, "example.org/legacy.git@v3.0.0")?;
    assert_eq!(legacy.version, "v3.0.0+incompatible");
    Ok(())
}

#[test]
fn refused_modules_fall_through_and_prefix_probes_get_fast_404s() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::mono(&world)?;
    let offline = app::node_options(&world).args(["--offline"]).start()?;
    let chained = GoEnv::new(&world, &format!("{},direct", offline.url()))?;
    let hello = download(&chained, "example.org/hello.git@v1.0.0")?;
    ensure!(
        hello.error.is_none() && hello.sum.is_some(),
        "fell through to direct: {hello:?}"
    );
    let refused = offline.get("/example.org/hello.git/@v/v1.0.0.info")?;
    assert_eq!(refused.status, 404);
    assert!(
        refused.text().starts_with("not found: "),
        "{}",
        refused.text()
    );
    assert_eq!(
        offline.go_processes_started()?,
        0,
        "an offline node never runs go"
    );

    let node = app::node_options(&world).start()?;
    let go = GoEnv::new(&world, &node.url())?;
    let app_dir = app::write_app()?;
    fs::write(
        app_dir.path().join("main.go"),
        "package main\n\nimport _ \"example.org/mono.git/sub\"\n\nfunc main() {}\n",
    )?;
    go.run_in(app_dir.path(), &["get", "example.org/mono.git/sub"])?;
    let probe = node.get("/example.org/@v/list")?;
    assert_eq!(probe.status, 404, "{}", probe.text());
    let started = node.go_processes_started()?;
    let clock = Instant::now();
    for _ in 0..20 {
        assert_eq!(node.get("/example.org/@v/list")?.status, 404);
    }
    assert!(
        clock.elapsed() < Duration::from_secs(2),
        "20 probes took {:?}",
        clock.elapsed()
    );
    assert_eq!(
        node.go_processes_started()?,
        started,
        "probes answered from the negative cache"
    );
    Ok(())
}
