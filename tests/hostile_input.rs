//! Hostile request paths (issue 5's "Done when" list and more) each get a 4xx, start no `go`
//! process, touch nothing outside the store, and leave the node serving.
//!
//! The node can fill from a real git world, so a request that slipped through validation would
//! start `go` and show up in the `go_processes_started` counter, which this test proves moves.

use anyhow::{Result, ensure};

use crate::support::git::GitWorld;
use crate::support::node::TestNode;
use crate::support::shapes;

/// Each hostile raw path with a label; sent byte for byte.
const HOSTILE: &[(&str, &str)] = &[
    ("dot-dot", "/example.org/../etc/passwd/@v/list"),
    ("dot-dot at root", "/../../etc/passwd"),
    ("dot-dot version", "/example.org/hello.git/@v/...info"),
    ("dot-dot file", "/example.org/hello.git/@v/../../../x.zip"),
    ("escaped dot-dot", "/example.org/%2E%2E/hello.git/@v/list"),
    ("leading dot", "/example.org/.x/@v/list"),
    ("trailing dot", "/example.org/x./@v/list"),
    ("double slash", "/example.org//hello.git/@v/list"),
    ("leading double slash", "//example.org/hello.git/@v/list"),
    ("trailing slash", "/example.org/hello.git//@v/list"),
    (
        "trailing slash after latest",
        "/example.org/hello.git/@latest/",
    ),
    (
        "trailing slash after list",
        "/example.org/hello.git/@v/list/",
    ),
    ("raw capitals", "/example.org/Hello.git/@v/list"),
    (
        "raw capital version",
        "/example.org/hello.git/@v/v1.0.0-RC1.info",
    ),
    ("bang before digit", "/example.org/!1x/@v/list"),
    ("bang before capital", "/example.org/%21Hello.git/@v/list"),
    ("trailing bang", "/example.org/hello.git%21/@v/list"),
    (
        "bang in version",
        "/example.org/hello.git/@v/v1.0.0-%211.info",
    ),
    ("escaped slash", "/example.org%2Fhello.git/@v/list"),
    (
        "escaped slash in version",
        "/example.org/hello.git/@v/feature%2Fx.info",
    ),
    ("at in path", "/example.org/hello.git@v1.0.0/@v/list"),
    ("escaped at", "/example.org/hello.git%40v1/@v/list"),
    ("short name", "/example.org/x~1/@v/list"),
    ("device name", "/example.org/con/@v/list"),
    ("device name with extension", "/example.org/aux.go/@v/list"),
    ("escaped non-ascii", "/example.org/h%C3%A9llo.git/@v/list"),
    ("raw non-ascii", "/example.org/héllo.git/@v/list"),
    ("empty version info", "/example.org/hello.git/@v/.info"),
    ("empty version mod", "/example.org/hello.git/@v/.mod"),
    ("empty version zip", "/example.org/hello.git/@v/.zip"),
    ("non-canonical mod", "/example.org/hello.git/@v/v1.0.mod"),
    ("branch zip", "/example.org/hello.git/@v/main.zip"),
    ("major mismatch", "/example.org/hello.git/@v/v2.0.0.zip"),
    ("bad escape", "/example.org/hello%zz.git/@v/list"),
    ("nul byte", "/example.org/hello.git%00/@v/list"),
    ("no host dot", "/localhost/hello.git/@v/list"),
    ("unknown file", "/example.org/hello.git/@v/v1.0.0.tar"),
    ("not a proxy path", "/example.org/hello.git"),
];

#[test]
fn hostile_paths_get_4xx_and_start_no_go() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let node = TestNode::options().git_world(&world).start()?;
    let long = format!("/example.org/{}/@v/list", "a".repeat(8 << 10));
    let cases = HOSTILE.iter().map(|(l, p)| (*l, (*p).to_owned()));
    for (label, path) in cases.chain([("8 KiB path", long)]) {
        let response = node.get(&path)?;
        ensure!(
            (400..500).contains(&response.status),
            "{label}: {path:?} answered {}: {}",
            response.status,
            response.text()
        );
        if response.status == 404 {
            let body = response.text();
            ensure!(body.starts_with("not found: "), "{label}: body {body:?}");
            ensure!(body.lines().count() == 1, "{label}: body {body:?}");
            let content_type = response.header("content-type");
            ensure!(
                content_type == Some("text/plain; charset=utf-8"),
                "{label}: {content_type:?}"
            );
        }
    }
    assert_eq!(
        node.go_processes_started()?,
        0,
        "a hostile request started go"
    );
    assert_eq!(node.get("/healthz")?.status, 200);

    // The counter is live: a valid request for the same module does start `go`.
    let info = node.get("/example.org/hello.git/@v/v1.0.0.info")?;
    assert_eq!(info.status, 200, "{}", info.text());
    assert!(node.go_processes_started()? >= 1);
    Ok(())
}

#[test]
fn methods_other_than_get_and_head_are_refused() -> Result<()> {
    let node = TestNode::options().args(["--offline"]).start()?;
    for method in ["POST", "PUT", "DELETE"] {
        let response = node.request(method, "/example.org/hello.git/@v/list", &[])?;
        assert_eq!(response.status, 405, "{method}");
    }
    assert_eq!(node.get("/healthz")?.status, 200);
    Ok(())
}
