//! Health and logs (issue 20, deliverable 4): `/readyz` reports the store, the swarm (in a
//! pool) and each relayed checksum database as fields; `--log-format json` writes one JSON
//! object per line; every request runs in a span with its request id (answered back in
//! `X-Request-Id`) and the module and version its path names.

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::node::{NodeOptions, TestNode};
use crate::support::pool::PoolOptions;

fn readyz(node: &TestNode) -> Result<(u16, Value)> {
    let answer = node.get("/readyz")?;
    let body = serde_json::from_slice(&answer.body).context("parsing /readyz")?;
    Ok((answer.status, body))
}

#[test]
fn readyz_reports_store_pool_and_relay_as_fields() -> Result<()> {
    // The relay's database is out of reach (its proxy is a closed port): reported, not fatal.
    let alone = TestNode::options()
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .start()?;
    let (status, body) = readyz(&alone)?;
    ensure!(status == 200, "/readyz answered {status}: {body}");
    ensure!(
        body["ready"] == true && body["store_open"] == true,
        "{body}"
    );
    ensure!(body["pool"]["enabled"] == false, "{body}");
    ensure!(
        body["relay"]["sum.golang.org"]["reachable"] == false,
        "an unreachable database is not reported: {body}"
    );

    let options = NodeOptions::default().env("HTTPS_PROXY", "http://127.0.0.1:9");
    let pooled = PoolOptions::new(options).start()?;
    let (status, body) = readyz(pooled.http())?;
    ensure!(
        status == 200,
        "/readyz of a pool node answered {status}: {body}"
    );
    ensure!(
        body["pool"]["enabled"] == true && body["pool"]["swarm_started"] == true,
        "{body}"
    );
    Ok(())
}

#[test]
fn json_logs_carry_the_request_id_module_and_version() -> Result<()> {
    let world = GitWorld::new()?;
    app::random_module(&world, "logged", 1024)?;
    let node = app::node_options(&world)
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info,delos_node=debug,tower_http=debug")
        .start()?;
    let path = "/example.org/logged.git/@v/v1.0.0.info";
    let answer = node.request("GET", path, &[("X-Request-Id", "test-request-1")])?;
    ensure!(answer.status == 200, "{path} answered {}", answer.status);
    ensure!(
        answer.header("x-request-id") == Some("test-request-1"),
        "{:?}",
        answer.headers
    );
    let fresh = node.get("/healthz")?;
    let id = fresh
        .header("x-request-id")
        .context("no X-Request-Id on /healthz")?;
    let (start, n) = id.split_once('-').context("an id without '-'")?;
    ensure!(
        u64::from_str_radix(start, 16).is_ok() && n.parse::<u64>().is_ok(),
        "a made-up request id looks like {id}"
    );

    let log = node.log();
    let mut in_request = Vec::new();
    for line in log.lines().filter(|line| !line.trim().is_empty()) {
        let value: Value = serde_json::from_str(line)
            .with_context(|| format!("a log line is not JSON: {line}"))?;
        if value["span"]["request_id"] == "test-request-1" {
            in_request.push(value);
        }
    }
    ensure!(
        !in_request.is_empty(),
        "no log line inside the request's span:\n{log}"
    );
    let named = in_request.iter().any(|line| {
        line["span"]["module"] == "example.org/logged.git" && line["span"]["version"] == "v1.0.0"
    });
    ensure!(
        named,
        "no line of the request names its module and version:\n{in_request:#?}"
    );
    Ok(())
}
