//! The status page (issue 20, deliverable 1): a node with a pool peer fills one version from
//! that peer and one from its VCS while `go` downloads through it; its `/` page, loaded in
//! headless Chromium (Debian's `chromium`, installed here when missing and possible), shows
//! the `GOPROXY` line, the peer, and both fills with their sources. Screenshots at phone and
//! desktop widths are written under the test's target tmp dir (the paths are printed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};

/// The flags that let Chromium run headless as root on a machine without network.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

/// `chromium`, installed from Debian's packages when missing (root only); `Err` says why not.
fn chromium() -> Result<PathBuf, String> {
    let found = || {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.is_file())
    };
    if let Some(path) = found() {
        return Ok(path);
    }
    let installed = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output();
    match installed {
        Ok(out) if out.status.success() => {
            found().ok_or_else(|| "apt installed no chromium".into())
        }
        Ok(out) => Err(format!(
            "apt-get install chromium failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(err) => Err(format!("apt-get could not run: {err}")),
    }
}

/// Runs Chromium on `url` with `args` and a fresh profile; returns stdout.
fn run_chromium(browser: &Path, url: &str, args: &[&str]) -> Result<String> {
    let profile = tempfile::tempdir()?;
    let out = Command::new(browser)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .context("running chromium")?;
    ensure!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn fill_zip(node: &PoolNode, module: &str) -> Result<()> {
    let answer = node.http().get(&format!("/{module}/@v/v1.0.0.zip"))?;
    ensure!(answer.status == 200, "filling {module}: {}", answer.status);
    Ok(())
}

/// What a person must see on the page: the GOPROXY line, the node's signing key, its pool,
/// the peer, both fills and their sources.
fn check_page(page: &str, b: &PoolNode, a: &PoolNode) -> Result<()> {
    let pool = b.http().status()?["pool"]["name"]
        .as_str()
        .context("no pool.name in /status")?
        .to_owned();
    for needle in [
        format!("id=\"pool-name\">{pool}</code>"),
        format!("GOPROXY={}", b.url()),
        a.peer_id().to_owned(),
        b.signing_key().to_owned(),
        "example.org/peerfed.git".to_owned(),
        "example.org/vcsfed.git".to_owned(),
    ] {
        ensure!(page.contains(&needle), "the page lacks {needle:?}:\n{page}");
    }
    let row_of = |module: &str| {
        page.split("<tr>")
            .find(|row| row.contains(module) && row.contains("v1.0.0"))
            .map(str::to_owned)
    };
    let peer_row = row_of("example.org/peerfed.git").context("no recent fill of peerfed")?;
    ensure!(
        peer_row.contains("<td>peer</td>"),
        "peerfed's source: {peer_row}"
    );
    let vcs_row = row_of("example.org/vcsfed.git").context("no recent fill of vcsfed")?;
    ensure!(
        vcs_row.contains("<td>vcs</td>"),
        "vcsfed's source: {vcs_row}"
    );
    Ok(())
}

#[test]
fn the_status_page_shows_goproxy_the_peer_and_recent_fills_in_chromium() -> Result<()> {
    let world = GitWorld::new()?;
    app::random_module(&world, "peerfed", 2048)?;
    app::random_module(&world, "vcsfed", 2048)?;
    let a = PoolOptions::new(app::node_options(&world)).start()?;
    fill_zip(&a, "example.org/peerfed.git")?;
    let b = PoolOptions::new(app::node_options(&world))
        .bootstrap(&a)?
        .trust(&a)
        .start()?;
    wait_until(
        Duration::from_secs(60),
        "B knows A's record of peerfed",
        || b.has_record("example.org/peerfed.git", "v1.0.0", a.signing_key()),
    )?;
    let go = GoEnv::new(&world, &b.url())?;
    go.run(&[
        "mod",
        "download",
        "example.org/peerfed.git@v1.0.0",
        "example.org/vcsfed.git@v1.0.0",
    ])
    .with_context(|| format!("downloading through B:\n{}", b.log()))?;

    // Without a browser the page is still checked as served.
    let served = b.http().get("/")?;
    ensure!(served.status == 200, "/ answered {}", served.status);
    ensure!(
        served.header("content-type") == Some("text/html; charset=utf-8"),
        "{:?}",
        served.headers
    );
    check_page(&served.text(), &b, &a)?;

    let browser = match chromium() {
        Ok(browser) => browser,
        Err(why) => {
            println!("SKIPPED the Chromium part: {why}");
            return Ok(());
        }
    };
    let url = format!("{}/", b.url());
    let dom = run_chromium(&browser, &url, &["--dump-dom"])?;
    check_page(&dom, &b, &a)?;
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page");
    std::fs::create_dir_all(&shots)?;
    for (name, size) in [("phone", "390,1600"), ("desktop", "1280,1100")] {
        let path = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&path);
        run_chromium(
            &browser,
            &url,
            &[
                &format!("--screenshot={}", path.display()),
                &format!("--window-size={size}"),
            ],
        )?;
        let written = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        ensure!(written > 1000, "no screenshot at {}", path.display());
        println!("status page screenshot ({name}): {}", path.display());
    }
    Ok(())
}
