//! Issue 19: misses under load. One client floods the node with misses for modules that do
//! not exist (each starts a `go` run on a node filling from `direct`); another client's real
//! misses are answered within twice their time on an idle node, because the `go` workers are handed
//! out in turn among clients; and the flood beyond its queue bound is refused at once with 503
//! and `Retry-After`. The two clients are the node's IPv4 and IPv6 loopback addresses. The
//! idle node runs beside the flooded one and is asked in turn with it, so the machine's other
//! load (other tests, the flood's own processes on a 2-core machine) weighs on both sides and
//! the comparison measures the queueing.

use std::net::{Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::http::http_exchange;
use crate::support::node::TestNode;
use crate::support::pool::wait_until;
use crate::support::shapes;

/// Connections of the flooding client: more than its queue may hold.
const FLOOD: usize = 96;

/// A node filling from `world`'s VCS with one `go` worker, reachable over IPv4 and IPv6.
fn node(world: &GitWorld) -> Result<TestNode> {
    app::node_options(world)
        .http_listen("[::]:0")
        .args(["--fetch-workers", "1"])
        .start()
}

/// The real misses, each a version of its own (a second ask would be a store hit): asked in
/// turn of an idle node and of the flooded one, so that whatever else the machine runs
/// slows both sides alike.
const REAL_MISSES: [&str; 5] = [
    "/example.org/hello.git/@v/v1.0.0.info",
    "/example.org/hello.git/@v/v1.1.0.info",
    "/example.org/retract.git/@v/v1.0.0.info",
    "/example.org/retract.git/@v/v1.1.0.info",
    "/example.org/retract.git/@v/v1.2.0.info",
];

/// One real miss, asked from the IPv6 client; its time.
fn real_miss(node: &TestNode, path: &str) -> Result<Duration> {
    let addr = SocketAddr::from((Ipv6Addr::LOCALHOST, node.addr().port()));
    let started = Instant::now();
    let answer = http_exchange(addr, "GET", path, &[])?;
    ensure!(answer.status == 200, "{} {}", answer.status, answer.text());
    Ok(started.elapsed())
}

/// What the flood got.
#[derive(Debug, Default)]
struct Flooded {
    not_found: AtomicU64,
    refused_with_retry_after: AtomicU64,
    other: AtomicU64,
}

#[test]
fn a_flood_of_absent_misses_does_not_starve_another_clients_real_miss() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::retract(&world)?;
    let idle_node = node(&world)?;
    let node = node(&world)?;
    let (stop, flooded) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Flooded::default()),
    );
    let flood: Vec<_> = (0..FLOOD)
        .map(|thread| {
            let (addr, stop, flooded) = (node.addr(), Arc::clone(&stop), Arc::clone(&flooded));
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let path = format!("/absent.example/m{thread}x{n}/@v/list");
                    let counter = match http_exchange(addr, "GET", &path, &[]) {
                        Ok(a) if a.status == 404 => &flooded.not_found,
                        Ok(a) if a.status == 503 && a.header("retry-after").is_some() => {
                            // Back off a little, as any client does, so that the test's own
                            // threads do not take the machine's two cores from the node.
                            std::thread::sleep(Duration::from_millis(200));
                            &flooded.refused_with_retry_after
                        }
                        _ => &flooded.other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let filled = wait_until(Duration::from_secs(30), "the flood fills the queue", || {
        Ok(flooded.refused_with_retry_after.load(Ordering::Relaxed) > 0
            && flooded.not_found.load(Ordering::Relaxed) > 0)
    });
    if let Err(err) = filled {
        stop.store(true, Ordering::Relaxed);
        anyhow::bail!("{err}: {flooded:?}\n{}", node.status()?);
    }
    let times = || -> Result<(Duration, Duration)> {
        let (mut idle, mut loaded) = (Duration::ZERO, Duration::ZERO);
        for path in REAL_MISSES {
            idle += real_miss(&idle_node, path)?;
            loaded += real_miss(&node, path)?;
        }
        Ok((idle, loaded))
    };
    let times = times();
    stop.store(true, Ordering::Relaxed);
    for thread in flood {
        let _ = thread.join();
    }
    let (idle, loaded) = times?;
    ensure!(
        loaded <= idle * 2,
        "the real misses took {loaded:?} under the flood, {idle:?} idle; flood: {flooded:?}"
    );
    assert_eq!(flooded.other.load(Ordering::Relaxed), 0, "{flooded:?}");
    Ok(())
}

/// A host name that never resolves (RFC 2606).
const NOWHERE: &str = "nowhere.invalid";

/// Whether this machine's resolver says "no such host" for [`NOWHERE`], as `go` reports it
/// (a machine without any resolver says something else, and the test cannot run there).
fn resolver_says_no_such_host(world: &GitWorld) -> Result<bool> {
    let go = crate::support::go::GoEnv::new(world, "direct")?;
    let out = go
        .command(&[
            "mod",
            "download",
            "-json",
            &format!("{NOWHERE}/probe@v1.0.0"),
        ])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).contains("no such host"))
}

#[test]
fn misses_under_a_host_that_does_not_resolve_are_answered_at_once_without_go() -> Result<()> {
    let world = GitWorld::new()?;
    if !resolver_says_no_such_host(&world)? {
        println!("skipped: this machine's resolver does not answer \"no such host\" for {NOWHERE}");
        return Ok(());
    }
    // No HTTP proxy: the node's `go` asks the resolver, as in production.
    let node = TestNode::options().start()?;
    let first = node.get(&format!("/{NOWHERE}/first/@v/v1.0.0.info"))?;
    ensure!(first.status == 404, "{}: {}", first.status, first.text());
    let go_runs = node.go_processes_started()?;
    for n in 0..40 {
        let path = match n % 3 {
            0 => format!("/{NOWHERE}/random{n}/@v/v1.0.0.info"),
            1 => format!("/{NOWHERE}/random{n}/@v/list"),
            _ => format!("/{NOWHERE}/random{n}/deeper/@latest"),
        };
        let started = Instant::now();
        let answer = node.get(&path)?;
        ensure!(
            answer.status == 404 && answer.text().contains("does not resolve"),
            "{path}: {} {}",
            answer.status,
            answer.text()
        );
        ensure!(
            started.elapsed() < Duration::from_secs(1),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    ensure!(
        node.go_processes_started()? == go_runs,
        "misses under {NOWHERE} started go again"
    );
    Ok(())
}
