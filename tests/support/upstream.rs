//! A local upstream proxy: [`UpstreamLayout`] is a GOPROXY file layout (`cache/download` of a
//! module cache) filled by a real `go mod download` from git fixtures, and [`TestUpstream`]
//! serves one over HTTP on `127.0.0.1:0`, as a proxy would. It counts every request, and can
//! fail every request with a status or serve other bytes for one path, so tests can show how
//! the node walks a GOPROXY list and that it never pins what fails a check.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use delos_node::airgap::find_versions;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::RecordText;
use delos_pool_protocol::version::Version;

use super::git::GitWorld;
use super::go::GoEnv;
use super::go_json::{ModDownload, parse_stream};
use super::http::{read_request_path, serve_connections, write_response};

/// A module cache filled straight from the fixtures' VCS, whose `cache/download` is served.
#[derive(Debug)]
pub(crate) struct UpstreamLayout {
    go: GoEnv,
    downloads: Vec<ModDownload>,
    /// Versions the layout serves beyond `downloads`, completed with their zips (see
    /// [`Self::tidy`]).
    also_served: Vec<ModDownload>,
}

impl UpstreamLayout {
    /// Runs `go mod download -json queries` against `world`'s VCS; every query must succeed.
    pub(crate) fn fill(world: &GitWorld, queries: &[&str]) -> Result<UpstreamLayout> {
        let go = GoEnv::new(world, "direct")?;
        let got = go.mod_download(queries)?;
        for download in &got.modules {
            ensure!(
                download.error.is_none(),
                "{}: {:?}",
                download.path,
                download.error
            );
        }
        ensure!(got.modules.len() == queries.len(), "{}", got.stderr);
        Ok(UpstreamLayout {
            go,
            downloads: got.modules,
            also_served: Vec::new(),
        })
    }

    /// Runs `go mod tidy` of the application in `app` against `world`'s VCS (leaving its
    /// go.mod and go.sum there), then `go mod download -json` in it: a layout holding every
    /// module version a build of the application needs. The versions tidy only looked at
    /// (the latest of a module, fetched to look for a package or read for retractions) are
    /// downloaded whole too, so that, as at a real proxy, every version served has its zip
    /// and its record.
    pub(crate) fn tidy(world: &GitWorld, app: &Path) -> Result<UpstreamLayout> {
        let go = GoEnv::new(world, "direct")?;
        go.run_in(app, &["mod", "tidy"])?;
        let printed = go.run_in(app, &["mod", "download", "-json"])?;
        let downloads: Vec<ModDownload> = parse_stream(printed.as_bytes())?;
        ensure!(!downloads.is_empty(), "go mod download printed nothing");
        let needed: Vec<String> = downloads
            .iter()
            .map(|d| format!("{}@{}", d.path, d.version))
            .collect();
        let (served, unreadable) = find_versions(&go.gomodcache())?;
        ensure!(unreadable.is_empty(), "{unreadable:?}");
        let looked_at: Vec<String> = served
            .iter()
            .map(|found| format!("{}@{}", found.module, found.version))
            .filter(|v| !needed.contains(v))
            .collect();
        let queries: Vec<&str> = looked_at.iter().map(String::as_str).collect();
        let mut also_served = Vec::new();
        if !queries.is_empty() {
            also_served = go.mod_download(&queries)?.modules;
        }
        for download in &also_served {
            ensure!(
                download.error.is_none(),
                "{}: {:?}",
                download.path,
                download.error
            );
        }
        Ok(UpstreamLayout {
            go,
            downloads,
            also_served,
        })
    }

    /// What `go` printed for each query, in order (canonical versions, `Sum`, `GoModSum`).
    pub(crate) fn downloads(&self) -> &[ModDownload] {
        &self.downloads
    }

    /// The directory served: `$GOMODCACHE/cache/download`.
    pub(crate) fn root(&self) -> PathBuf {
        self.go.gomodcache().join("cache").join("download")
    }

    /// Each version's checksum-database record (`(escaped module@version, both go.sum
    /// lines)`), in download order, for a [`super::sumdb::TestSumdb`].
    pub(crate) fn records(&self) -> Result<Vec<(String, RecordText)>> {
        self.downloads
            .iter()
            .chain(&self.also_served)
            .map(|d| {
                let sum = d.sum.as_deref().context("no Sum")?;
                let go_mod_sum = d.go_mod_sum.as_deref().context("no GoModSum")?;
                let (module, version) = (&d.path, &d.version);
                let text =
                    format!("{module} {version} {sum}\n{module} {version}/go.mod {go_mod_sum}\n");
                let escaped = format!(
                    "{}@{}",
                    ModulePath::parse(module)?.escape(),
                    Version::parse(version)?.escape()
                );
                Ok((escaped, RecordText::parse(text.as_bytes())?))
            })
            .collect()
    }

    /// The bytes this layout serves at `path` (`/<escaped module>/@v/<file>`).
    pub(crate) fn file(&self, path: &str) -> Result<Vec<u8>> {
        let file = self.root().join(path.trim_start_matches('/'));
        std::fs::read(&file).with_context(|| format!("reading {}", file.display()))
    }
}

/// A running upstream proxy; stops on drop.
#[derive(Debug)]
pub(crate) struct TestUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    root: PathBuf,
    /// Every request answers this status, when set.
    fail_with: Mutex<Option<u16>>,
    /// Other bytes served for these paths.
    tampered: Mutex<HashMap<String, Vec<u8>>>,
    requests: Mutex<Vec<String>>,
    /// Waited before every answer.
    delay: Mutex<Duration>,
    /// How fast zips are sent, when limited.
    zip_rate: Mutex<Option<u64>>,
    /// Paths answered with their head only: the connection closes before the first body byte.
    cut_after_head: Mutex<HashSet<String>>,
}

impl TestUpstream {
    /// Serves `layout` on a fresh port.
    pub(crate) fn serve(layout: &UpstreamLayout) -> Result<TestUpstream> {
        let shared = Arc::new(Shared {
            root: layout.root(),
            fail_with: Mutex::new(None),
            tampered: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            delay: Mutex::new(Duration::ZERO),
            zip_rate: Mutex::new(None),
            cut_after_head: Mutex::new(HashSet::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (serving, stopping) = (Arc::clone(&shared), Arc::clone(&stop));
        let thread = std::thread::spawn(move || serve(&listener, &serving, &stopping));
        Ok(TestUpstream {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`, a GOPROXY entry.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers every request with `status` from now on (`None`: serve again).
    pub(crate) fn fail_with(&self, status: Option<u16>) {
        *lock(&self.shared.fail_with) = status;
    }

    /// Serves `bytes` at `path` instead of the layout's file (`None`: the file again).
    pub(crate) fn tamper(&self, path: &str, bytes: Option<Vec<u8>>) {
        let mut tampered = lock(&self.shared.tampered);
        match bytes {
            Some(bytes) => tampered.insert(path.to_owned(), bytes),
            None => tampered.remove(path),
        };
    }

    /// Waits `delay` before every answer from now on (a proxy across a slow network).
    pub(crate) fn set_delay(&self, delay: Duration) {
        *lock(&self.shared.delay) = delay;
    }

    /// Sends zips at most `bytes_per_second` fast from now on (`None`: at once).
    pub(crate) fn set_zip_rate(&self, bytes_per_second: Option<u64>) {
        *lock(&self.shared.zip_rate) = bytes_per_second;
    }

    /// Answers `path` with its status and headers (its real `Content-Length`), then closes the
    /// connection before the first body byte, from now on (`false`: whole again).
    pub(crate) fn cut_after_head(&self, path: &str, cut: bool) {
        let mut paths = lock(&self.shared.cut_after_head);
        match cut {
            true => paths.insert(path.to_owned()),
            false => paths.remove(path),
        };
    }

    /// Every request path received so far, in order (`%21` read as `!`).
    pub(crate) fn requests(&self) -> Vec<String> {
        lock(&self.shared.requests).clone()
    }
}

impl Drop for TestUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A valid module zip with the same file names as `zip` and one byte more in every `.go`
/// file: it passes every zip rule, and has another `h1:`.
pub(crate) fn altered_zip(zip: &[u8]) -> Result<Vec<u8>> {
    let mut input = zip::ZipArchive::new(Cursor::new(zip))?;
    let mut output = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..input.len() {
        let mut entry = input.by_index(i)?;
        let name = entry.name()?.into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content)?;
        if name.ends_with(".go") {
            content.extend_from_slice(b"\n");
        }
        output.start_file(name, zip::write::SimpleFileOptions::default())?;
        output.write_all(&content)?;
    }
    Ok(output.finish()?.into_inner())
}

fn serve(listener: &TcpListener, shared: &Arc<Shared>, stop: &AtomicBool) {
    let shared = Arc::clone(shared);
    serve_connections(listener, stop, move |mut stream| {
        let _ = handle(&mut stream, &shared);
    });
}

/// One request on one connection (`Connection: close`).
fn handle(stream: &mut TcpStream, shared: &Shared) -> Result<()> {
    let path = read_request_path(stream)?.replace("%21", "!");
    lock(&shared.requests).push(path.clone());
    // Copied out first: a guard held through the sleep would make the answers wait in turn.
    let delay = *lock(&shared.delay);
    std::thread::sleep(delay);
    let (status, body) = match answer(shared, &path) {
        Ok(answer) => answer,
        Err(err) => (500, format!("{err:#}\n").into_bytes()),
    };
    let status_line = match status {
        200 => "200 OK".to_owned(),
        404 => "404 Not Found".to_owned(),
        410 => "410 Gone".to_owned(),
        other => format!("{other} Error"),
    };
    let content_type = match path.ends_with(".zip") && status == 200 {
        true => "application/zip",
        false => "text/plain; charset=utf-8",
    };
    let rate = match path.ends_with(".zip") {
        true => *lock(&shared.zip_rate),
        false => None,
    };
    if lock(&shared.cut_after_head).contains(&path) {
        let head = format!(
            "HTTP/1.1 {status_line}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        return Ok(()); // the connection closes as the stream is dropped
    }
    write_response(stream, &status_line, content_type, &body, rate)
}

/// The status and body for `path`.
fn answer(shared: &Shared, path: &str) -> Result<(u16, Vec<u8>)> {
    if let Some(status) = *lock(&shared.fail_with) {
        return Ok((status, format!("failing with {status}\n").into_bytes()));
    }
    if let Some(bytes) = lock(&shared.tampered).get(path) {
        return Ok((200, bytes.clone()));
    }
    let relative = path.trim_start_matches('/');
    if relative
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return Ok((404, b"not found\n".to_vec()));
    }
    if let Some(module) = relative.strip_suffix("/@latest") {
        return latest(&shared.root.join(module).join("@v"));
    }
    match std::fs::read(shared.root.join(relative)) {
        Ok(bytes) => Ok((200, bytes)),
        Err(_) => Ok((404, b"not found\n".to_vec())),
    }
}

/// What a proxy answers for `@latest` (a cache layout has no such file): the `.info` with the
/// latest `Time` in the module's `@v` directory, else 404.
fn latest(dir: &Path) -> Result<(u16, Vec<u8>)> {
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(rename = "Time")]
        time: String,
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok((404, format!("no {}\n", dir.display()).into_bytes()));
    };
    let mut newest: Option<(String, Vec<u8>)> = None;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|ext| ext != "info") {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let info: Info = serde_json::from_slice(&bytes)?;
        if newest.as_ref().is_none_or(|(time, _)| info.time > *time) {
            newest = Some((info.time, bytes));
        }
    }
    Ok(match newest {
        Some((_, bytes)) => (200, bytes),
        None => (404, b"not found\n".to_vec()),
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
