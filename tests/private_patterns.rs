//! `PrivatePatterns` against the real `go`: for each module path, `go` itself shows whether it
//! treats the path as private under a GOPRIVATE list. With `GOPROXY=off` a public module fails
//! with "module lookup disabled by GOPROXY=off", while a private one bypasses the proxy list and
//! goes to version control (which fails differently here: the only HTTPS proxy is a closed port).

use anyhow::{Result, ensure};
use delos_pool_protocol::private::PrivatePatterns;

use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::go_json::{ModDownload, parse_stream};

const LIST: &str = "*.corp.example,rsc.io/private/,[bad,go.example/a?c/[x-z]*,,";

const PATHS: [&str; 10] = [
    "git.corp.example/team/repo",
    "corp.example/x",
    "rsc.io/private",
    "rsc.io/private/quux/v2",
    "rsc.io/privatequux",
    "rsc.io/other",
    "go.example/abc/xylophone/sub",
    "go.example/abc/wall",
    "go.example/a/c",
    "go.example/abc/x",
];

/// Whether `go` treats `path` as private under `GOPRIVATE=list`.
fn go_says_private(go: &GoEnv, path: &str) -> Result<bool> {
    let arg = format!("{path}@v1.0.0");
    let out = go.command(&["mod", "download", "-json", &arg]).output()?;
    let objects: Vec<ModDownload> = parse_stream(&out.stdout)?;
    let error = objects
        .first()
        .and_then(|d| d.error.clone())
        .unwrap_or_default();
    let public = error.contains("module lookup disabled by GOPROXY=off");
    let private = error.contains("go-get=1");
    ensure!(public != private, "{path}: unexpected go error {error:?}");
    Ok(private)
}

#[test]
fn private_patterns_match_what_go_treats_as_private() -> Result<()> {
    let world = GitWorld::new()?;
    let mut go = GoEnv::new(&world, "off")?;
    go.set_var("GOPRIVATE", LIST)
        .set_var("GONOPROXY", LIST)
        .set_var("GONOSUMDB", LIST)
        .set_var("HTTPS_PROXY", "http://127.0.0.1:9")
        .set_var("HTTP_PROXY", "http://127.0.0.1:9");
    let patterns = PrivatePatterns::parse(LIST);
    assert_eq!(patterns.malformed(), ["[bad"]);
    let mut seen = (0, 0);
    for path in PATHS {
        let private = go_says_private(&go, path)?;
        assert_eq!(
            patterns.matches(path),
            private,
            "{path}: go says private={private}"
        );
        if private { seen.0 += 1 } else { seen.1 += 1 }
    }
    assert!(
        seen.0 >= 3 && seen.1 >= 3,
        "both outcomes exercised: {seen:?}"
    );
    Ok(())
}
