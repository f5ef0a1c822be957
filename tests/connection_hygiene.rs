//! Connection hygiene (issue 20, deliverable 5): thousands of connections that never finish
//! their request head are closed within `--header-timeout` while `/healthz` and a warm
//! download keep answering; a kept-alive connection lives until `--idle-timeout`, not the
//! header timeout; connections over `--max-connections` are refused at once.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::node::TestNode;

/// The slow connections the first test opens (capped by the test's own file limit).
const SLOW_CONNECTIONS: u64 = 3000;
/// Descriptors the test process keeps for itself (its node client, `go`, logs).
const TEST_RESERVED_FILES: u64 = 200;
/// How late past its deadline the node may close a connection (a busy 2-core machine).
const SLACK: Duration = Duration::from_secs(3);

/// Raises this process's soft open-file limit to the hard one and returns it.
fn raise_own_file_limit() -> Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard)
}

/// Whether the node closed `stream` (EOF, a reset, or a 503 then EOF); `false` while it is
/// still open and silent.
fn is_closed(stream: &mut TcpStream) -> Result<bool> {
    stream.set_nonblocking(true)?;
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(_) => continue,
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(err) if err.kind() == ErrorKind::ConnectionReset => return Ok(true),
            Err(err) => return Err(err.into()),
        }
    }
}

/// Opens a connection and sends `bytes` (half a request line, or nothing).
fn open(node: &TestNode, bytes: &[u8]) -> Result<TcpStream> {
    let mut stream = TcpStream::connect(node.addr()).context("connecting")?;
    stream.write_all(bytes)?;
    Ok(stream)
}

#[test]
fn half_request_lines_are_closed_within_the_header_timeout_while_the_node_answers() -> Result<()> {
    let header_timeout = Duration::from_secs(4);
    let world = GitWorld::new()?;
    app::random_module(&world, "warm", 64 << 10)?;
    let node = app::node_options(&world)
        .args(["--header-timeout", "4s", "--idle-timeout", "30s"])
        .start()?;
    let zip_path = "/example.org/warm.git/@v/v1.0.0.zip";
    let warm = node.get(zip_path)?;
    ensure!(warm.status == 200, "warming the zip: {}", warm.status);

    let count = SLOW_CONNECTIONS.min(raise_own_file_limit()?.saturating_sub(TEST_RESERVED_FILES));
    println!("opening {count} connections that send half a request line");
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let prober = thread::scope(|scope| -> Result<Prober> {
        let probing = scope.spawn(|| probe_until(&node, zip_path, &warm.body, &stop));
        let mut slow = Vec::new();
        let opened = (|| -> Result<Duration> {
            for _ in 0..count {
                slow.push(open(&node, b"GET /healthz HT")?);
            }
            let opened = started.elapsed();
            println!("opened {count} in {opened:?}");
            // Until every slow connection's deadline (and a little past it) the node answers.
            thread::sleep((opened + header_timeout + SLACK).saturating_sub(started.elapsed()));
            Ok(opened)
        })();
        stop.store(true, Ordering::SeqCst);
        let prober = probing
            .join()
            .map_err(|_| anyhow::anyhow!("the prober panicked"))??;
        opened?;
        let mut open_still = 0;
        for stream in &mut slow {
            if !is_closed(stream)? {
                open_still += 1;
            }
        }
        ensure!(
            open_still == 0,
            "{open_still} of {count} slow connections still open {:?} after the first was \
             opened (header timeout {header_timeout:?})",
            started.elapsed()
        );
        Ok(prober)
    })?;
    let timed_out = node.status()?["http"]["connections_timed_out"]
        .as_u64()
        .unwrap_or(0);
    ensure!(
        timed_out >= count,
        "/status counts {timed_out} timed-out connections of {count}"
    );
    println!(
        "all {count} closed; meanwhile the node answered {} rounds of /healthz + zip, the \
         slowest in {:?}",
        prober.rounds, prober.slowest
    );
    Ok(())
}

/// What [`probe_until`] saw.
#[derive(Debug)]
struct Prober {
    rounds: u32,
    slowest: Duration,
}

/// Asks `/healthz` and the warm zip every 200 ms until `stop`; each round must answer right,
/// within 2 s.
fn probe_until(node: &TestNode, zip_path: &str, zip: &[u8], stop: &AtomicBool) -> Result<Prober> {
    let mut prober = Prober {
        rounds: 0,
        slowest: Duration::ZERO,
    };
    while !stop.load(Ordering::SeqCst) {
        let asked = Instant::now();
        let health = node.get("/healthz")?;
        ensure!(health.status == 200, "/healthz answered {}", health.status);
        let answer = node.get(zip_path)?;
        ensure!(
            answer.status == 200 && answer.body == zip,
            "the warm zip changed"
        );
        let took = asked.elapsed();
        ensure!(
            took < Duration::from_secs(2),
            "/healthz and the warm zip took {took:?}"
        );
        prober.rounds += 1;
        prober.slowest = prober.slowest.max(took);
        thread::sleep(Duration::from_millis(200));
    }
    Ok(prober)
}
#[test]
fn a_kept_alive_connection_lives_until_the_idle_timeout() -> Result<()> {
    let node = TestNode::options()
        .args(["--header-timeout", "1s", "--idle-timeout", "5s"])
        .start()?;
    let mut stream = open(
        &node,
        format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", node.addr()).as_bytes(),
    )?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [0u8; 1024];
    let read = stream.read(&mut buf)?;
    let head = String::from_utf8_lossy(&buf[..read]);
    ensure!(head.starts_with("HTTP/1.1 200"), "answer: {head}");
    let answered = Instant::now();

    thread::sleep(Duration::from_secs(2));
    ensure!(
        !is_closed(&mut stream)?,
        "closed after {:?}: the header timeout cut an idle kept-alive connection",
        answered.elapsed()
    );
    while !is_closed(&mut stream)? {
        if answered.elapsed() > Duration::from_secs(5) + SLACK {
            bail!("still open {:?} after its answer", answered.elapsed());
        }
        thread::sleep(Duration::from_millis(100));
    }
    let closed = answered.elapsed();
    ensure!(
        closed >= Duration::from_millis(4500),
        "closed after {closed:?}, before the idle timeout"
    );
    Ok(())
}

#[test]
fn connections_over_the_cap_are_refused_at_once() -> Result<()> {
    let node = TestNode::options()
        .args(["--max-connections", "20", "--header-timeout", "30s"])
        .start()?;
    let held: Vec<TcpStream> = (0..20).map(|_| open(&node, b"")).collect::<Result<_>>()?;
    // The node accepts in order; give it a moment to take all twenty.
    thread::sleep(Duration::from_millis(500));
    let mut extra = open(&node, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")?;
    extra.set_read_timeout(Some(Duration::from_secs(2)))?;
    let asked = Instant::now();
    let mut answer = Vec::new();
    match extra.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
        Err(err) => bail!("the 21st connection was not refused at once: {err}"),
    }
    let answer = String::from_utf8_lossy(&answer);
    ensure!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
        "the 21st connection got {answer:?}"
    );
    ensure!(
        asked.elapsed() < Duration::from_secs(1),
        "refusal took {:?}",
        asked.elapsed()
    );

    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match node.get("/status") {
            Ok(status) if status.status == 200 => {
                let body: serde_json::Value = serde_json::from_slice(&status.body)?;
                let refused = body["http"]["connections_refused"].as_u64().unwrap_or(0);
                ensure!(refused >= 1, "/status counts {refused} refused connections");
                return Ok(());
            }
            _ if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            other => bail!("/status after the held connections closed: {other:?}"),
        }
    }
}

#[test]
fn a_download_slower_than_both_timeouts_is_not_cut() -> Result<()> {
    let world = GitWorld::new()?;
    app::big(&world)?;
    let node = app::node_options(&world)
        .args(["--header-timeout", "1s", "--idle-timeout", "1s"])
        .start()?;
    let path = "/example.org/big.git/@v/v1.0.0.zip";
    let whole = node.get(path)?;
    ensure!(whole.status == 200, "filling the zip: {}", whole.status);

    // Read the zip at about 2 MiB/s: far longer than either timeout, so the connection is busy
    // (a response in flight) long after both would have fired on an idle one.
    let mut stream = open(
        &node,
        format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", node.addr()).as_bytes(),
    )?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let started = Instant::now();
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    while received.len() < whole.body.len() + 200 {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == ErrorKind::WouldBlock => break,
            Err(err) => return Err(err.into()),
        }
        thread::sleep(Duration::from_millis(30));
        if received.ends_with(&whole.body[whole.body.len() - 64..]) {
            break;
        }
    }
    let took = started.elapsed();
    ensure!(took > Duration::from_secs(2), "the read took only {took:?}");
    ensure!(
        received.ends_with(&whole.body),
        "the download was cut after {} of {} bytes ({took:?})",
        received.len(),
        whole.body.len()
    );
    Ok(())
}
