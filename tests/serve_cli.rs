//! `delos serve` as a process: its listen line and `/healthz`, configuration layering (flag >
//! `DELOS_*` env > `--config` file > default), graceful SIGTERM, and the HTTP details of the
//! download answers (types, caching, `Content-Length`, gzip, `HEAD`).

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::http::HttpResponse;
use crate::support::node::TestNode;
use crate::support::shapes;

const HELLO: &str = "/example.org/hello.git";

#[test]
fn serve_logs_one_listen_line_and_answers_healthz() -> Result<()> {
    let node = TestNode::start()?;
    let health = node.get("/healthz")?;
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    let log = node.log();
    let listening: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("listening http="))
        .collect();
    assert_eq!(listening.len(), 1, "{log}");
    let addr = node.url().replace("http://", "");
    assert!(listening[0].ends_with(&format!("http={addr}")), "{log}");
    Ok(())
}

/// A request that makes a non-offline node start `go` (which fails: GOPROXY=off).
const PROBE: &str = "/example.org/nothing.git/@v/list";

#[test]
fn config_layers_flag_over_env_over_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("delos.toml");
    fs::write(
        &file,
        "offline = true\nupstream = \"off\"\nfetch_workers = 2\n",
    )?;
    let config = ["--config".into(), file.clone().into_os_string()];

    // The file alone: offline, so no `go` runs.
    let from_file = TestNode::options().args(config.clone()).start()?;
    let answer = from_file.get(PROBE)?;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert!(
        answer.text().starts_with("not found: "),
        "{}",
        answer.text()
    );
    assert_eq!(from_file.go_processes_started()?, 0);

    // The environment beats the file: not offline, so `go` runs with the file's upstream.
    let env_wins = TestNode::options()
        .args(config.clone())
        .env("DELOS_OFFLINE", "false")
        .start()?;
    let answer = env_wins.get(PROBE)?;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert!(env_wins.go_processes_started()? >= 1);
    assert!(answer.text().contains("GOPROXY=off"), "{}", answer.text());

    // The flag beats the environment.
    let flag_wins = TestNode::options()
        .args(config)
        .args(["--offline"])
        .env("DELOS_OFFLINE", "false")
        .start()?;
    assert_eq!(flag_wins.get(PROBE)?.status, 404);
    assert_eq!(flag_wins.go_processes_started()?, 0);
    Ok(())
}

#[test]
fn a_bad_config_file_stops_serve_with_its_name() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("bad.toml");
    fs::write(&file, "fetch_wrokers = 3\n")?;
    let output = Command::new(env!("CARGO_BIN_EXE_delos"))
        .args(["serve", "--http-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&file)
        .env_remove("DELOS_CONFIG")
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("fetch_wrokers"), "{stderr}");
    Ok(())
}

/// SIGTERM while a fill runs: the node stops accepting, the fill finishes, the waiting client
/// gets its 200, and the process exits 0. The fill is of `big.git` (10 MiB of random data), so
/// it runs long enough to be caught in flight.
#[test]
fn sigterm_lets_an_in_flight_fill_finish() -> Result<()> {
    let world = GitWorld::new()?;
    app::big(&world)?;
    let mut node = TestNode::options().git_world(&world).start()?;
    let response = std::thread::scope(|scope| -> Result<HttpResponse> {
        let request = scope.spawn(|| node.get("/example.org/big.git/@v/v1.0.0.info"));
        wait_until(|| {
            ensure!(
                !request.is_finished(),
                "the fill ended before SIGTERM was sent"
            );
            Ok(node.status()?["fetch"]["fills_in_flight"].as_u64() >= Some(1))
        })?;
        node.terminate()?;
        request
            .join()
            .map_err(|_| anyhow::anyhow!("request thread panicked"))?
    })?;
    assert_eq!(response.status, 200, "{}\n{}", response.text(), node.log());
    let info: serde_json::Value = serde_json::from_slice(&response.body)?;
    assert_eq!(info["Version"], "v1.0.0");
    let status = node.wait_exit()?;
    assert!(status.success(), "{status}\n{}", node.log());
    assert!(node.log().contains("stopped"), "{}", node.log());
    Ok(())
}

/// The README's `scripts/run-node serve --data-dir ./data`: a relative data dir must still
/// fill from VCS (`go` refuses a relative GOPATH).
#[test]
fn a_node_with_a_relative_data_dir_fills_from_vcs() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let node = TestNode::options()
        .git_world(&world)
        .relative_data_dir()
        .start()?;
    let go_mod = node.get(&format!("{HELLO}/@v/v1.0.0.mod"))?;
    ensure!(go_mod.status == 200, "{}: {}", go_mod.text(), node.log());
    assert_eq!(go_mod.text(), shapes::HELLO_V1_GO_MOD);
    Ok(())
}

#[test]
fn download_answers_carry_types_caching_and_lengths() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    let node = TestNode::options().git_world(&world).start()?;
    let gzip = [("Accept-Encoding", "gzip")];

    let info = node.request("GET", &format!("{HELLO}/@v/v1.0.0.info"), &gzip)?;
    expect(&info, 200, "application/json", IMMUTABLE)?;
    assert_eq!(
        info.header("content-encoding"),
        None,
        "an answer under 1 KiB is sent as it is: gzip would make it longer"
    );
    let info: serde_json::Value = serde_json::from_slice(&info.body)?;
    assert_eq!(info["Version"], "v1.0.0");

    let go_mod = node.get(&format!("{HELLO}/@v/v1.0.0.mod"))?;
    expect(&go_mod, 200, "text/plain; charset=utf-8", IMMUTABLE)?;
    assert_eq!(go_mod.text(), shapes::HELLO_V1_GO_MOD);

    let zip = node.request("GET", &format!("{HELLO}/@v/v1.0.0.zip"), &gzip)?;
    expect(&zip, 200, "application/zip", IMMUTABLE)?;
    assert_eq!(
        zip.header("content-encoding"),
        None,
        "a zip is never gzipped"
    );
    assert_eq!(
        zip.header("content-length"),
        Some(zip.body.len().to_string().as_str())
    );
    let go = GoEnv::new(&world, "direct")?;
    let direct = go.mod_download(&["example.org/hello.git@v1.0.0"])?;
    let direct_zip = direct.ok("example.org/hello.git", "v1.0.0")?.zip.clone();
    let direct_zip = fs::read(direct_zip.context("go downloaded no zip")?)?;
    assert_eq!(zip.body, direct_zip, "the node serves the bytes go made");

    let head = node.request("HEAD", &format!("{HELLO}/@v/v1.0.0.zip"), &[])?;
    expect(&head, 200, "application/zip", IMMUTABLE)?;
    assert_eq!(head.header("content-length"), zip.header("content-length"));
    assert!(head.body.is_empty());

    let list = node.get(&format!("{HELLO}/@v/list"))?;
    expect(&list, 200, "text/plain; charset=utf-8", SHORT)?;
    let mut versions: Vec<&str> = list
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).unwrap_or("?"))
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, ["v1.0.0", "v1.1.0"]);
    assert!(list.body.ends_with(b"\n"));

    let latest = node.get(&format!("{HELLO}/@latest"))?;
    expect(&latest, 200, "application/json", SHORT)?;
    let query = node.get(&format!("{HELLO}/@v/main.info"))?;
    expect(&query, 200, "application/json", SHORT)?;
    let query: serde_json::Value = serde_json::from_slice(&query.body)?;
    let resolved = query["Version"].as_str().context("no Version")?;
    assert!(resolved.starts_with("v1.1.1-0."), "{resolved}");

    // A graceful restart keeps everything stored: the zip comes back without `go`.
    assert!(node.data_dir().join("data/store").is_dir());
    let node = node.restart()?;
    let again = node.get(&format!("{HELLO}/@v/v1.0.0.zip"))?;
    assert_eq!((again.status, &again.body), (200, &zip.body));
    assert_eq!(node.go_processes_started()?, 0);
    Ok(())
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=60";

fn expect(response: &HttpResponse, status: u16, content_type: &str, cache: &str) -> Result<()> {
    ensure!(
        response.status == status,
        "status {} (want {status}): {}",
        response.status,
        response.text()
    );
    ensure!(
        response.header("content-type") == Some(content_type),
        "content-type {:?}",
        response.header("content-type")
    );
    ensure!(
        response.header("cache-control") == Some(cache),
        "cache-control {:?}",
        response.header("cache-control")
    );
    Ok(())
}

/// Polls `ready` every 5 ms for up to 30 s.
fn wait_until(mut ready: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if ready()? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    anyhow::bail!("condition not reached within 30s")
}
