//! Issue 19: when the checksum database vouched for a fill from an upstream proxy, its
//! clients are served the checked bytes at once and the durable half of the fill (fsync,
//! link, index, provenance) waits for a pause in the build's requests, at most a second. A
//! build that never pauses still has its versions pinned, a clean stop pins at once, and a
//! crash before the pin loses nothing a client can tell: the version is filled again, to the
//! same hashes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::support::git::GitWorld;
use crate::support::http::timed_get;
use crate::support::node::TestNode;
use crate::support::pool::wait_until;
use crate::support::sumdb::TestSumdb;
use crate::support::upstream::{TestUpstream, UpstreamLayout};
use crate::upstream_fill::{HELLO, client, fetch_stat, hello_upstream, upstream_node_options};

/// `hello` v1.0.0's files, without the extension.
const BASE: &str = "/example.org/hello.git/@v/v1.0.0";
/// What the burst asks for: `hello`'s version list.
const LIST: &str = "/example.org/hello.git/@v/list";

/// `hello` at v1.0.0 and v1.1.0 on a test upstream, its records in a test database, and a
/// node filling from them that can reach no VCS.
struct Hello {
    world: GitWorld,
    layout: UpstreamLayout,
    db: TestSumdb,
    upstream: TestUpstream,
    no_vcs: GitWorld,
}

impl Hello {
    fn new() -> Result<Hello> {
        let world = GitWorld::new()?;
        let (layout, db) = hello_upstream(&world)?;
        let upstream = TestUpstream::serve(&layout)?;
        Ok(Hello {
            world,
            layout,
            db,
            upstream,
            no_vcs: GitWorld::new()?,
        })
    }

    /// A node on a fresh data dir, or on `dir`.
    fn node(&self, dir: Option<tempfile::TempDir>) -> Result<TestNode> {
        let options = upstream_node_options(&self.upstream.url(), &self.db, &self.no_vcs);
        match dir {
            Some(dir) => options.start_in(dir),
            None => options.start(),
        }
    }

    /// The zip of v1.0.0 as the upstream serves it.
    fn zip(&self) -> Result<Vec<u8>> {
        self.layout.file(&format!("{BASE}.zip"))
    }
}

/// A build that never pauses: threads asking `path` of the node every few milliseconds
/// until told to stop, so the node never sees the pause its durable work waits for.
struct Burst<'scope> {
    stop: &'scope AtomicBool,
    asked: &'scope AtomicUsize,
    threads: Vec<ScopedJoinHandle<'scope, ()>>,
}

impl<'scope> Burst<'scope> {
    const THREADS: usize = 4;
    const EVERY: Duration = Duration::from_millis(5);

    fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        node: SocketAddr,
        path: &'scope str,
        stop: &'scope AtomicBool,
        asked: &'scope AtomicUsize,
    ) -> Burst<'scope> {
        let threads = (0..Self::THREADS)
            .map(|_| {
                scope.spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        // Errors are expected once the node is killed.
                        let _ = timed_get(node, path);
                        asked.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Self::EVERY);
                    }
                })
            })
            .collect();
        Burst {
            stop,
            asked,
            threads,
        }
    }

    /// Stops the threads; whether they were still asking (none had stopped on its own).
    fn stop(mut self) -> bool {
        let running = self.threads.iter().all(|thread| !thread.is_finished());
        self.stop.store(true, Ordering::SeqCst);
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
        running && self.asked.load(Ordering::SeqCst) > 0
    }
}

impl Drop for Burst<'_> {
    /// A test that fails half-way stops its burst too (the scope joins the threads).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_build_that_never_pauses_still_has_its_versions_pinned_within_a_second() -> Result<()> {
    let hello = Hello::new()?;
    let node = hello.node(None)?;
    let (stop, asked) = (AtomicBool::new(false), AtomicUsize::new(0));

    std::thread::scope(|scope| -> Result<()> {
        let burst = Burst::start(scope, node.addr(), LIST, &stop, &asked);
        let zip = timed_get(node.addr(), &format!("{BASE}.zip"))?;
        ensure!(zip.status == 200 && zip.complete, "{}", zip.status);
        assert_eq!(zip.body, hello.zip()?);
        let served = Instant::now();
        // Clients asking while the pin waits get the checked bytes, whole.
        for file in ["zip", "mod", "info"] {
            let again = timed_get(node.addr(), &format!("{BASE}.{file}"))?;
            ensure!(
                again.status == 200 && again.complete,
                "{file}: {}",
                again.status
            );
            assert_eq!(again.body, hello.layout.file(&format!("{BASE}.{file}"))?);
        }
        // A second's wait at most, and far less than these five seconds, while the build's
        // requests go on.
        wait_until(
            Duration::from_secs(5),
            "the version pinned while requests go on",
            || Ok(fetch_stat(&node, "upstream_fills")? == 1),
        )?;
        let pinned_after = served.elapsed();
        ensure!(
            burst.stop(),
            "the requests stopped before the pin ({pinned_after:?} after the zip was served)"
        );
        Ok(())
    })?;
    let record = node.get(&format!("/provenance{BASE}"))?;
    assert_eq!(record.status, 200, "{}", record.text());
    let zip = node.get(&format!("{BASE}.zip"))?;
    assert_eq!(zip.body, hello.zip()?);
    assert_eq!(node.go_processes_started()?, 0);
    Ok(())
}

#[test]
fn a_crash_right_after_a_vouched_zip_was_served_loses_nothing_a_client_can_tell() -> Result<()> {
    let hello = Hello::new()?;
    let node = hello.node(None)?;
    let want = hello.zip()?;
    let (stop, asked) = (AtomicBool::new(false), AtomicUsize::new(0));

    // The zip served in the middle of a build, then kill -9 of the node at once: most likely
    // before its pin, which waits for a pause.
    let addr = node.addr();
    let dir = std::thread::scope(|scope| -> Result<_> {
        let burst = Burst::start(scope, addr, LIST, &stop, &asked);
        let zip = timed_get(addr, &format!("{BASE}.zip"))?;
        let dir = node.kill_tree()?;
        burst.stop();
        ensure!(zip.status == 200 && zip.complete, "{}", zip.status);
        assert_eq!(zip.body, want, "the zip served before the crash");
        Ok(dir)
    })?;
    let zips_asked = || {
        let requests = hello.upstream.requests();
        requests
            .iter()
            .filter(|path| path.ends_with("v1.0.0.zip"))
            .count()
    };
    let before = zips_asked();

    let node = hello.node(Some(dir))?;
    let zip = node.get(&format!("{BASE}.zip"))?;
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(zip.body, want, "the zip served after the crash");
    // `go` checks it against the database through the node, as any client would.
    let got =
        client(&hello.world, &node, &hello.db)?.mod_download(&[&format!("{HELLO}@v1.0.0")])?;
    let direct = hello
        .layout
        .downloads()
        .iter()
        .find(|d| d.version == "v1.0.0")
        .context("no direct download of v1.0.0")?;
    assert_eq!(got.ok(HELLO, "v1.0.0")?.sum, direct.sum);
    wait_until(Duration::from_secs(5), "the version pinned", || {
        Ok(node.get(&format!("/provenance{BASE}"))?.status == 200)
    })?;
    eprintln!(
        "upstream asked for the zip {before} time(s) before the crash and {} after it",
        zips_asked() - before
    );
    Ok(())
}

#[test]
fn a_clean_stop_right_after_a_vouched_zip_was_served_pins_it_first() -> Result<()> {
    let hello = Hello::new()?;
    let node = hello.node(None)?;
    let zip = node.get(&format!("{BASE}.zip"))?;
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(zip.body, hello.zip()?);
    // SIGTERM at once, well within the pause the pin waits for.
    let node = node.restart()?;
    let record = node.get(&format!("/provenance{BASE}"))?;
    assert_eq!(
        record.status,
        200,
        "no record after the stop: {}",
        record.text()
    );
    let zip = node.get(&format!("{BASE}.zip"))?;
    assert_eq!(zip.body, hello.zip()?);
    let asked = hello.upstream.requests();
    let zips = asked.iter().filter(|path| path.ends_with("v1.0.0.zip"));
    assert_eq!(zips.count(), 1, "the zip was fetched again: {asked:?}");
    Ok(())
}
