//! Fill requests (issue 18): A reaches the VCS; B and C do not, and trust A; A trusts them
//! and fills for them. With A cold (nothing filled), the app builds through B, every version
//! filled by A at B's request and then fetched and verified by B, `go.sum` equal to a direct
//! build's; then through C. `go get …@latest` of a module nobody filled resolves through B as
//! directly. A member A does not trust is refused without work (A starts no `go`), private
//! modules are neither asked about nor filled for a member, and a flood of requests from one
//! trusted member stays within A's limits, as A's metrics show.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::node::NodeOptions;
use crate::support::pool::{PoolNode, PoolOptions, node_key_in, wait_until};
use crate::support::shapes::DAYS;

/// A module nobody fills before `go get …@latest` asks for it.
const TOOL: &str = "example.org/tool.git";
/// A module private to A (its `--private`), public to B.
const SECRET_OF_A: &str = "example.org/secret.git";
/// A module private to B.
const SECRET_OF_B: &str = "example.org/mine.git";

/// Every fill request `node` answered or refused.
fn fill_asks_seen(node: &PoolNode) -> Result<u64> {
    let mut seen = node.pool_stat("fill_requests_answered")?;
    for why in ["untrusted", "private", "rate", "busy"] {
        seen += node.pool_stat(&format!("fill_requests_refused_{why}"))?;
    }
    Ok(seen)
}

/// How long members may take to connect.
const CONNECT_WITHIN: Duration = Duration::from_secs(30);

/// `tool`: tags v0.1.0 and v0.2.0, then an untagged commit.
fn tool(world: &GitWorld) -> Result<()> {
    let repo = world.create_repo("tool")?;
    repo.write_file("go.mod", format!("module {TOOL}\n\ngo 1.21\n"))?;
    for (n, tag) in ["v0.1.0", "v0.2.0"].iter().enumerate() {
        repo.write_file("tool.go", format!("package tool\n\nconst V = {tag:?}\n"))?;
        repo.commit(tag, DAYS[n])?;
        repo.tag(tag)?;
    }
    repo.write_file("tool.go", "package tool\n\nconst V = \"tip\"\n")?;
    repo.commit("tip", DAYS[2])?;
    Ok(())
}

/// Waits until `node` is connected to `count` peers.
fn wait_peers(node: &PoolNode, count: usize) -> Result<()> {
    wait_until(CONNECT_WITHIN, "members connected", || {
        let status = node.http().status()?;
        Ok(status["pool"]["peers"]
            .as_array()
            .is_some_and(|peers| peers.len() >= count))
    })
    .with_context(|| node.log())?;
    Ok(())
}

/// Builds a copy of the app (go.mod and go.sum complete) through `node` with a fresh module
/// cache; the go.sum `go` left.
fn build_through(world: &GitWorld, node: &PoolNode, template: &Path) -> Result<String> {
    let app_dir = app::copy_app(template)?;
    GoEnv::new(world, &node.url())?
        .run_in(app_dir.path(), &["build", "-o", "app", "."])
        .with_context(|| node.log())?;
    Ok(fs::read_to_string(app_dir.path().join("go.sum"))?)
}

/// The requirement line `go get module@latest` writes through `goproxy`.
fn get_latest(world: &GitWorld, goproxy: &str, module: &str) -> Result<String> {
    let dir = tempfile::tempdir()?;
    fs::write(
        dir.path().join("go.mod"),
        "module example.org/x\n\ngo 1.21\n",
    )?;
    GoEnv::new(world, goproxy)?.run_in(dir.path(), &["get", &format!("{module}@latest")])?;
    let go_mod = fs::read_to_string(dir.path().join("go.mod"))?;
    go_mod
        .lines()
        .find(|line| line.contains(module))
        .map(|line| {
            let line = line.trim().trim_start_matches("require ");
            line.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .with_context(|| format!("no requirement of {module}:\n{go_mod}"))
}

#[test]
fn vcs_less_members_build_through_a_trusted_filler_from_cold() -> Result<()> {
    let world = GitWorld::new()?;
    app::build(&world)?;
    tool(&world)?;
    let (template, direct_sum) = app::direct_reference(&world)?;
    let (b_dir, b_key) = node_key_in()?;
    let (c_dir, c_key) = node_key_in()?;
    let a = PoolOptions::new(app::node_options(&world))
        .arg("--trusted-signer")
        .arg(&b_key)
        .arg("--trusted-signer")
        .arg(&c_key)
        .start()?;
    let member = || PoolOptions::new(NodeOptions::default()).trust(&a);
    let b = member().bootstrap(&a)?.start_in(b_dir)?;
    let c = member().bootstrap(&a)?.start_in(c_dir)?;
    wait_peers(&a, 2)?;
    ensure!(a.http().go_processes_started()? == 0, "A is not cold");

    let through_b = build_through(&world, &b, template.path())?;
    ensure!(
        through_b == direct_sum,
        "through B:\n{through_b}\ndirect:\n{direct_sum}"
    );
    ensure!(
        a.pool_stat("fill_requests_answered")? > 0,
        "B did not ask A: {}",
        b.log()
    );
    let through_c = build_through(&world, &c, template.path())?;
    ensure!(through_c == direct_sum, "through C:\n{through_c}");

    let direct = get_latest(&world, "direct", TOOL)?;
    ensure!(direct == format!("{TOOL} v0.2.0"), "{direct}");
    let via_b = get_latest(&world, &b.url(), TOOL).with_context(|| b.log())?;
    ensure!(via_b == direct, "through B: {via_b}, directly: {direct}");
    Ok(())
}

#[test]
fn untrusted_askers_are_refused_without_work_and_floods_stay_within_limits() -> Result<()> {
    let world = GitWorld::new()?;
    crate::support::shapes::hello(&world)?;
    let (b_dir, b_key) = node_key_in()?;
    let a = PoolOptions::new(app::node_options(&world))
        .arg("--trusted-signer")
        .arg(&b_key)
        .arg("--private")
        .arg(SECRET_OF_A)
        .start()?;
    // D trusts A, A does not trust D.
    let d = PoolOptions::new(NodeOptions::default())
        .trust(&a)
        .bootstrap(&a)?
        .start()?;
    let b = PoolOptions::new(NodeOptions::default())
        .trust(&a)
        .bootstrap(&a)?
        .arg("--private")
        .arg(SECRET_OF_B)
        .start_in(b_dir)?;
    wait_peers(&a, 2)?;

    let before = a.http().go_processes_started()?;
    let refused = d.http().get("/example.org/hello.git/@v/v1.0.0.info")?;
    ensure!(
        refused.status == 404,
        "{}: {}",
        refused.status,
        refused.text()
    );
    ensure!(
        a.pool_stat("fill_requests_refused_untrusted")? >= 1,
        "{}",
        a.log()
    );
    ensure!(
        a.http().go_processes_started()? == before,
        "A started go for an untrusted asker"
    );

    // Private modules: A fills none of its own for a member, even a trusted one; B never asks
    // about one of its own.
    let go_before = a.http().go_processes_started()?;
    let asked_before = fill_asks_seen(&a)?;
    let secret = b.http().get(&format!("/{SECRET_OF_A}/@v/v1.0.0.info"))?;
    ensure!(secret.status == 404, "{}: {}", secret.status, secret.text());
    ensure!(
        a.pool_stat("fill_requests_refused_private")? == 1,
        "{}",
        a.log()
    );
    let own = b.http().get(&format!("/{SECRET_OF_B}/@v/v1.0.0.info"))?;
    ensure!(own.status == 404, "{}: {}", own.status, own.text());
    ensure!(
        fill_asks_seen(&a)? == asked_before + 1,
        "B asked A about its private module"
    );
    ensure!(
        a.http().go_processes_started()? == go_before,
        "A filled a private module for B"
    );

    // B floods A with asks for versions that do not exist, all at once.
    let asks = 120;
    let node = b.http();
    std::thread::scope(|scope| {
        for n in 0..asks {
            scope.spawn(move || {
                let _ = node.get(&format!("/example.org/hello.git/@v/v0.0.{n}.info"));
            });
        }
    });
    let answered = a.pool_stat("fill_requests_answered")?;
    let limited =
        a.pool_stat("fill_requests_refused_rate")? + a.pool_stat("fill_requests_refused_busy")?;
    ensure!(
        limited > 0,
        "A answered {answered} and refused none of {asks} asks at once"
    );
    ensure!(answered < asks, "A answered all {answered} asks of a flood");
    Ok(())
}
