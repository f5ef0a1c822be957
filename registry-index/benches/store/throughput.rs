//! Store and read throughput for one blob size, next to `cp` and `cat` of the same files.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::{HashedBlob, Index, Source, VersionEntry};

use crate::{BenchResult, Row, content, shared_go_mod, shell, timed};

/// (label, zip bytes, versions stored).
pub(crate) const CASES: &[(&str, usize, u64)] = &[
    ("1 KiB", 1024, 2000),
    ("1 MiB", 1024 * 1024, 200),
    ("100 MiB", 100 * 1024 * 1024, 3),
];

/// Each measurement runs this many times; the median is reported (the disk is a shared VM's).
const REPEATS: usize = 3;

pub(crate) fn run(root: &Path, label: &str, size: usize, count: u64) -> BenchResult<()> {
    let dir = root.join(label.replace(' ', ""));
    let (src, copy) = (dir.join("src"), dir.join("cp"));
    let sources = write_sources(&src, size, count)?;
    let bytes = size as u64 * count;
    let row = |what, elapsed| Row {
        case: label,
        what,
        ops: count,
        bytes,
        elapsed,
    };

    let mut index = None;
    let store = median(|_| {
        drop(index.take());
        let _ = fs::remove_dir_all(dir.join("index"));
        let opened = Index::open(dir.join("index"))?;
        let (versions, elapsed) = timed(|| store_all(&opened, &sources))?;
        index = Some((opened, versions));
        Ok(elapsed)
    })?;
    row("store (blob write + Index::store, fsync)", store).print();
    let cp = median(|_| {
        let _ = fs::remove_dir_all(&copy);
        Ok(timed(|| shell(r#"cp -r "$1" "$2""#, &[&src, &copy]))?.1)
    })?;
    row("`cp -r` (no fsync)", cp).print();
    let cp_sync = median(|_| {
        let _ = fs::remove_dir_all(&copy);
        Ok(timed(|| shell(r#"cp -r "$1" "$2" && sync -f "$2""#, &[&src, &copy]))?.1)
    })?;
    row("`cp -r` + `sync -f`", cp_sync).print();

    let (index, versions) = index.ok_or("no store run")?;
    let read = median(|_| Ok(timed(|| read_all(&index, &versions, false))?.1))?;
    row("read (get + open_read, page cache warm)", read).print();
    let verified = median(|_| Ok(timed(|| read_all(&index, &versions, true))?.1))?;
    row("read verified (get + open_verified)", verified).print();
    let cat = median(|_| Ok(timed(|| shell(r#"cat "$1"/* > /dev/null"#, &[&copy]))?.1))?;
    row("`cat` (page cache warm)", cat).print();
    drop(index);
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Writes `count` distinct source files of `size` bytes and syncs them out of the way.
fn write_sources(src: &Path, size: usize, count: u64) -> BenchResult<Vec<PathBuf>> {
    fs::create_dir_all(src)?;
    let mut sources = Vec::new();
    for n in 0..count {
        let path = src.join(format!("{n}.zip"));
        fs::write(&path, content(n, size))?;
        sources.push(path);
    }
    shell("sync", &[])?;
    Ok(sources)
}

/// Runs `measure` [`REPEATS`] times and returns the median duration.
fn median(mut measure: impl FnMut(usize) -> BenchResult<Duration>) -> BenchResult<Duration> {
    let mut runs = (0..REPEATS)
        .map(&mut measure)
        .collect::<BenchResult<Vec<_>>>()?;
    runs.sort();
    Ok(runs[REPEATS / 2])
}

/// Stores every source file as the zip of its own version; returns the versions.
fn store_all(index: &Index, sources: &[PathBuf]) -> BenchResult<Vec<Version>> {
    let module = ModulePath::parse("example.com/bench")?;
    let go_mod = shared_go_mod(index)?;
    let mut versions = Vec::new();
    for (n, path) in sources.iter().enumerate() {
        let zip = index.blobs().write(File::open(path)?)?;
        let h1 = H1Hash::from_bytes(*zip.sha256().as_bytes());
        let entry = VersionEntry::new(Vec::new(), go_mod, 0, Source::Import)
            .with_zip(HashedBlob::new(zip, h1));
        let version = Version::parse(&format!("v1.0.{n}"))?;
        index.store(&module, &version, entry)?;
        versions.push(version);
    }
    Ok(versions)
}

/// Streams every version's zip to nowhere.
fn read_all(index: &Index, versions: &[Version], verify: bool) -> BenchResult<()> {
    let module = ModulePath::parse("example.com/bench")?;
    for version in versions {
        let entry = index
            .get(&module, version)?
            .ok_or("stored version is missing")?;
        let zip: &Sha256 = entry
            .zip()
            .ok_or("stored version has no zip")?
            .blob()
            .sha256();
        let mut reader = match verify {
            true => index.blobs().open_verified(zip)?,
            false => index.blobs().open_read(zip)?,
        };
        io::copy(&mut reader, &mut io::sink())?;
    }
    Ok(())
}
