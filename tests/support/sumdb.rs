//! [`TestSumdb`]: a local checksum database on `127.0.0.1:0`, serving a tiled log the test
//! builds from go.sum lines with `pool-protocol`'s sumdb code, signed with a key made by
//! `SignerKey::generate`. It counts every request, and can lie on demand ([`Lie`]) so tests
//! can show both that the relay refuses a lie and that the real `go` does too.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{
    Hash, KeyName, Lookup, RecordText, SignerKey, Tile, TileLevel, TreeHead, format_data_tile,
    read_tile_data, stored_hashes, tree_hash,
};

use super::git::GitWorld;
use super::go::GoEnv;
use super::http::{read_request_head, serve_connections};

/// How the database answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lie {
    /// Honestly.
    None,
    /// Lookups carry a record text altered after signing (a changed `h1:`).
    Lookup,
    /// Level-0 hash tiles have one bit flipped.
    Tile,
    /// A second history signed with the same key: the last two records swapped, and the
    /// first appended again, so a larger tree that does not contain the honest one.
    Fork,
}

/// A running test checksum database; stops on drop (its port then refuses connections).
#[derive(Debug)]
pub(crate) struct TestSumdb {
    addr: SocketAddr,
    verifier: String,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    signer: SignerKey,
    honest: Log,
    forked: Log,
    lie: Mutex<Lie>,
    requests: Mutex<Vec<String>>,
    /// Added before every answer, to stand for a database across a network.
    delay: Mutex<Duration>,
}

/// A tiled log: records in order, the ids of their `<escaped module>@<version>`, stored hashes.
#[derive(Debug)]
struct Log {
    records: Vec<RecordText>,
    ids: HashMap<String, u64>,
    hashes: Vec<Hash>,
}

impl TestSumdb {
    /// Starts a database named `name` whose log holds `records` (`(escaped module@version,
    /// record)`, in order; at least two).
    pub(crate) fn start(name: &str, records: Vec<(String, RecordText)>) -> Result<TestSumdb> {
        let signer = SignerKey::generate(KeyName::new(name)?)?;
        let verifier = signer.verifier_key().to_string();
        let mut forked_records = records.clone();
        let last = forked_records.len() - 1;
        forked_records.swap(last - 1, last);
        forked_records.push(records[0].clone());
        let shared = Arc::new(Shared {
            signer,
            honest: Log::new(records)?,
            forked: Log::new(forked_records)?,
            lie: Mutex::new(Lie::None),
            requests: Mutex::new(Vec::new()),
            delay: Mutex::new(Duration::ZERO),
        });
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (serving, stopping) = (Arc::clone(&shared), Arc::clone(&stop));
        let thread = std::thread::spawn(move || serve(&listener, &serving, &stopping));
        Ok(TestSumdb {
            addr,
            verifier,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The verifier key, `name+hash+key`: a client's `GOSUMDB` with no URL.
    pub(crate) fn verifier_key(&self) -> &str {
        &self.verifier
    }

    /// `GOSUMDB` pointing straight at this database: `<key> http://127.0.0.1:<port>`.
    pub(crate) fn direct(&self) -> String {
        format!("{} {}", self.verifier, self.url())
    }

    /// The database's base URL, `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes the database lie (or stop lying).
    pub(crate) fn lie(&self, lie: Lie) {
        *lock(&self.shared.lie) = lie;
    }

    /// Waits `delay` before every answer from now on (a database across a network).
    pub(crate) fn set_delay(&self, delay: Duration) {
        *lock(&self.shared.delay) = delay;
    }

    /// Every request path received so far, in order.
    pub(crate) fn requests(&self) -> Vec<String> {
        lock(&self.shared.requests).clone()
    }

    /// Stops serving: new connections are refused and kept-alive ones dropped from now on.
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestSumdb {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The record of `module@version` for a log: the two go.sum lines of a direct, unverified
/// `go mod download` of the real fixture.
pub(crate) fn go_sum_records(
    world: &GitWorld,
    versions: &[(&str, &str)],
) -> Result<Vec<(String, RecordText)>> {
    let go = GoEnv::new(world, "direct")?;
    let queries: Vec<String> = versions.iter().map(|(m, v)| format!("{m}@{v}")).collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let downloads = go.mod_download(&queries)?;
    versions
        .iter()
        .map(|(module, version)| {
            let download = downloads.ok(module, version)?;
            let sum = download.sum.as_deref().context("no Sum")?;
            let go_mod_sum = download.go_mod_sum.as_deref().context("no GoModSum")?;
            let text =
                format!("{module} {version} {sum}\n{module} {version}/go.mod {go_mod_sum}\n");
            let escaped = format!("{}@{version}", ModulePath::parse(module)?.escape());
            Ok((escaped, RecordText::parse(text.as_bytes())?))
        })
        .collect()
}

impl Log {
    fn new(entries: Vec<(String, RecordText)>) -> Result<Log> {
        let mut log = Log {
            records: Vec::new(),
            ids: HashMap::new(),
            hashes: Vec::new(),
        };
        for (id, (key, record)) in entries.into_iter().enumerate() {
            let added = stored_hashes(id as u64, record.hash(), &log.hashes)?;
            log.hashes.extend(added);
            log.ids.insert(key, id as u64);
            log.records.push(record);
        }
        Ok(log)
    }

    fn size(&self) -> u64 {
        self.records.len() as u64
    }

    fn signed_head(&self, signer: &SignerKey) -> Result<Vec<u8>> {
        let head = TreeHead::new(self.size(), tree_hash(self.size(), &self.hashes)?)?;
        Ok(head.sign(signer).to_bytes())
    }
}

fn serve(listener: &TcpListener, shared: &Arc<Shared>, stop: &Arc<AtomicBool>) {
    let (shared, stopping) = (Arc::clone(shared), Arc::clone(stop));
    // One thread per connection, so a delay overlaps as a network's would.
    serve_connections(listener, stop, move |mut stream| {
        let _ = stream.set_nodelay(true);
        let _ = handle_connection(&mut stream, &shared, &stopping);
    });
}

/// Answers requests on one connection until the client closes it, asks for `Connection:
/// close`, or the database stops (a kept-alive connection is then dropped unanswered), as a
/// real database's HTTP/1.1 server keeps connections alive.
fn handle_connection(stream: &mut TcpStream, shared: &Shared, stop: &AtomicBool) -> Result<()> {
    loop {
        let Some(head) = read_request_head(stream)? else {
            return Ok(());
        };
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        // Copied out first: a guard held through the sleep would make the answers wait in turn.
        let delay = *lock(&shared.delay);
        std::thread::sleep(delay);
        let close = head.to_ascii_lowercase().contains("\r\nconnection: close");
        respond(stream, shared, &head, close)?;
        if close {
            return Ok(());
        }
    }
}

/// Answers one request (GETs only: no body to read).
fn respond(stream: &mut TcpStream, shared: &Shared, head: &str, close: bool) -> Result<()> {
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    lock(&shared.requests).push(path.clone());
    let lie = *lock(&shared.lie);
    let (status, content_type, body) = match answer(shared, &path, lie) {
        Ok(Some((content_type, body))) => ("200 OK", content_type, body),
        Ok(None) => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
        Err(err) => (
            "500 Internal Server Error",
            "text/plain",
            format!("{err:#}\n").into_bytes(),
        ),
    };
    let connection = if close { "close" } else { "keep-alive" };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    );
    let mut bytes = response.into_bytes();
    bytes.extend_from_slice(&body);
    stream.write_all(&bytes)?;
    Ok(())
}

/// `record` with its first `h1:` (the zip's) changed in its first base64 character: a
/// record of the same module version that no honest log holds.
pub(crate) fn other_zip_hash(record: &RecordText) -> Result<RecordText> {
    let mut text = record.as_str().to_owned();
    let at = text.find("h1:").context("no h1:")? + 3;
    let other = if text.as_bytes()[at] == b'A' {
        "B"
    } else {
        "A"
    };
    text.replace_range(at..at + 1, other);
    Ok(RecordText::parse(text.as_bytes())?)
}

/// The content type and body for `path`, or `None` for 404.
fn answer(shared: &Shared, path: &str, lie: Lie) -> Result<Option<(&'static str, Vec<u8>)>> {
    const TEXT: &str = "text/plain; charset=UTF-8";
    let log = match lie {
        Lie::Fork => &shared.forked,
        _ => &shared.honest,
    };
    if path == "/latest" {
        return Ok(Some((TEXT, log.signed_head(&shared.signer)?)));
    }
    if let Some(key) = path.strip_prefix("/lookup/") {
        let Some(&id) = log.ids.get(key) else {
            return Ok(None);
        };
        let mut record = log.records[id as usize].clone();
        if lie == Lie::Lookup {
            // Another h1: for the zip; the signed head stays as it was.
            record = other_zip_hash(&record)?;
        }
        let body = Lookup::new(id, record, log.signed_head(&shared.signer)?).to_bytes();
        return Ok(Some((TEXT, body)));
    }
    let Some(tile) = path
        .strip_prefix('/')
        .and_then(|p| Tile::parse_path(p).ok())
    else {
        return Ok(None);
    };
    if !tile.is_in_tree(log.size()) {
        return Ok(None);
    }
    if tile.level() == TileLevel::Data {
        let start = (tile.index() << tile.height()) as usize;
        let records = &log.records[start..start + tile.width() as usize];
        return Ok(Some((TEXT, format_data_tile(records))));
    }
    let mut data = read_tile_data(&tile, &log.hashes)?;
    if lie == Lie::Tile && tile.level() == TileLevel::Hashes(0) {
        data[0] ^= 1;
    }
    Ok(Some(("application/octet-stream", data)))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
