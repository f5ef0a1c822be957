//! What the fill path answers beyond plain versions: a version whose zip `go` cannot build
//! (it needs a newer Go) still serves `.info` and `.mod` and 404s the zip with the reason; a
//! `list` is cached for `--list-ttl`, then served stale while it is refreshed, and kept when the
//! repository disappears.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::shapes::{self, DAYS};

#[test]
fn a_zip_go_cannot_build_is_404_while_info_and_mod_are_served() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::too_new(&world)?;
    let node = app::node_options(&world).start()?;
    let base = "/example.org/toonew.git/@v/v1.0.0";

    let go_mod = node.get(&format!("{base}.mod"))?;
    assert_eq!(
        (go_mod.status, go_mod.text()),
        (200, shapes::TOO_NEW_GO_MOD.to_owned())
    );
    let info = node.get(&format!("{base}.info"))?;
    assert_eq!(info.status, 200);
    assert!(
        info.text().contains("\"Version\":\"v1.0.0\""),
        "{}",
        info.text()
    );
    let zip = node.get(&format!("{base}.zip"))?;
    assert_eq!(zip.status, 404);
    let reason = zip.text();
    assert!(
        reason.starts_with("not found: ") && reason.contains("requires go"),
        "{reason}"
    );

    let started = node.go_processes_started()?;
    assert_eq!(node.get(&format!("{base}.zip"))?.status, 404);
    assert_eq!(node.get(&format!("{base}.mod"))?.status, 200);
    assert_eq!(
        node.go_processes_started()?,
        started,
        "answered without running go again"
    );
    Ok(())
}

#[test]
fn lists_are_cached_served_stale_and_kept_when_the_vcs_is_gone() -> Result<()> {
    let world = GitWorld::new()?;
    let retract = shapes::retract(&world)?;
    let node = app::node_options(&world)
        .args(["--list-ttl", "1s"])
        .start()?;
    let list = || -> Result<String> {
        let answer = node.get("/example.org/retract.git/@v/list")?;
        ensure!(
            answer.status == 200,
            "list: {} {}",
            answer.status,
            answer.text()
        );
        Ok(answer.text())
    };
    let first = "v1.0.0\nv1.1.0\nv1.2.0\n";
    assert_eq!(list()?, first);

    retract.repo.write_file("later.go", "package retract\n")?;
    retract.repo.commit("v1.3.0", DAYS[3])?;
    retract.repo.tag("v1.3.0")?;
    assert_eq!(list()?, first, "fresh for --list-ttl");
    thread::sleep(Duration::from_millis(1100));
    let clock = Instant::now();
    assert_eq!(list()?, first, "stale answer first");
    assert!(
        clock.elapsed() < Duration::from_millis(500),
        "the stale answer waited"
    );
    let refreshed = format!("{first}v1.3.0\n");
    wait_until(|| Ok(list()? == refreshed))?;

    world.delete_repo("retract")?;
    thread::sleep(Duration::from_millis(1100));
    for _ in 0..3 {
        assert_eq!(list()?, refreshed, "kept while the VCS is gone");
        thread::sleep(Duration::from_millis(300));
    }
    Ok(())
}

fn wait_until(mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done()? {
        ensure!(Instant::now() < deadline, "condition not met within 10 s");
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

#[test]
fn latest_and_list_fall_back_to_the_store_when_the_vcs_is_gone() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let node = app::node_options(&world).start()?;
    for version in ["v1.0.0", "v1.1.0"] {
        let info = node.get(&format!("/example.org/hello.git/@v/{version}.info"))?;
        assert_eq!(info.status, 200, "{}", info.text());
    }
    world.delete_repo("hello")?;
    let node = node.restart()?;
    let latest = node.get("/example.org/hello.git/@latest")?;
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert!(
        latest.text().contains("\"Version\":\"v1.1.0\""),
        "{}",
        latest.text()
    );
    let list = node.get("/example.org/hello.git/@v/list")?;
    assert_eq!(
        (list.status, list.text()),
        (200, "v1.0.0\nv1.1.0\n".to_owned())
    );
    let unknown = node.get("/example.org/gone.git/@latest")?;
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    Ok(())
}
