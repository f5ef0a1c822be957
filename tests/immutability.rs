//! Immutability: once a node served a version, it keeps serving the same bytes, even after the
//! tag moved to another commit (which `GOPROXY=direct` then sees with other hashes).

use anyhow::{Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::go_json::{ModDownload, parse_stream};
use crate::support::shapes;

/// `go mod download -json M@V` with a fresh client cache through `goproxy`.
fn fresh_download(world: &GitWorld, goproxy: &str, arg: &str) -> Result<ModDownload> {
    let go = GoEnv::new(world, goproxy)?;
    let out = go.run(&["mod", "download", "-json", arg])?;
    let mut objects: Vec<ModDownload> = parse_stream(out.as_bytes())?;
    ensure!(objects.len() == 1 && objects[0].error.is_none(), "{out}");
    Ok(objects.remove(0))
}

#[test]
fn a_moved_tag_keeps_the_first_bytes() -> Result<()> {
    let world = GitWorld::new()?;
    let hello = shapes::hello(&world)?;
    let node = app::node_options(&world).start()?;
    let arg = "example.org/hello.git@v1.0.0";
    let first = fresh_download(&world, &node.url(), arg)?;
    let first_zip = node.get("/example.org/hello.git/@v/v1.0.0.zip")?;
    assert_eq!(first_zip.status, 200);
    let started = node.go_processes_started()?;

    hello.repo.move_tag("v1.0.0", &hello.commits[2])?;
    let moved = fresh_download(&world, "direct", arg)?;
    assert_ne!(
        moved.sum, first.sum,
        "the moved tag must change the hashes direct sees"
    );

    let again = fresh_download(&world, &node.url(), arg)?;
    assert_eq!(
        (&again.sum, &again.go_mod_sum),
        (&first.sum, &first.go_mod_sum)
    );
    let again_zip = node.get("/example.org/hello.git/@v/v1.0.0.zip")?;
    assert_eq!(again_zip.body, first_zip.body, "the same zip bytes");
    assert_eq!(
        node.go_processes_started()?,
        started,
        "served from the store, no go run"
    );

    let node = node.restart()?;
    let after_restart = fresh_download(&world, &node.url(), arg)?;
    assert_eq!(after_restart.sum, first.sum);
    Ok(())
}
