//! `kill -9` at random moments while a real process stores versions loses nothing it
//! acknowledged and never leaves a version visible in part.
//!
//! This test binary re-executes itself to run [`writer_child`] as the writer: it opens the
//! store, stores versions in a loop (every third one `.mod`-only first, then upgraded) and
//! prints `ACK <n>` (or `ACKMOD <n>`) only after `Index::store` returned. The parent sends
//! SIGKILL at a random moment (`support::crash`), reopens the store, and checks it.

// Helpers here are test code too: a panic is the failure report (as clippy.toml allows in
// `#[test]` functions, which it cannot see these helpers belong to).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::{HashedBlob, Index, Source, VersionEntry};

use crate::support::crash::{KillAt, Rng, Writer, run_and_kill};

/// Tells the re-executed child where to store; without it [`writer_child`] does nothing.
const DIR_VAR: &str = "DELOS_CRASH_WRITER_DIR";
/// The first version number the child stores.
const START_VAR: &str = "DELOS_CRASH_WRITER_START";
const KILLS: usize = 24;
/// Kill delays are drawn from this range: counted from spawn for some kills (they land while
/// the store opens and recovers), from a new acknowledgement for most (they land in writes).
const MAX_DELAY_MS: u64 = 400;

/// What the writer acknowledged for a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Acked {
    ModOnly,
    Full,
}

/// The content of version number `n`; the parent recomputes it to check what it reads.
struct Content {
    module: ModulePath,
    version: Version,
    go_mod: Vec<u8>,
    zip: Vec<u8>,
}

impl Content {
    fn of(n: u64) -> Self {
        let module = format!("example.com/crash/m{}", n % 5);
        // Mostly small zips; every eighth is 1 MiB so kills also land inside a long write.
        let zip_len = if n % 8 == 7 {
            1 << 20
        } else {
            (n * 7919 % 65_536) as usize
        };
        let zip = (0..zip_len)
            .map(|i| (i as u64 ^ n.wrapping_mul(31)) as u8)
            .collect();
        Self {
            go_mod: format!("module {module}\n\n// version {n}\n").into_bytes(),
            module: ModulePath::parse(&module).unwrap(),
            version: Version::parse(&format!("v1.0.{n}")).unwrap(),
            zip,
        }
    }

    fn number(version: &Version) -> u64 {
        version
            .as_str()
            .rsplit('.')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Writes the blobs and builds the entry, full or `.mod`-only.
    fn entry(&self, index: &Index, full: bool) -> VersionEntry {
        let go_mod = index.blobs().write(self.go_mod.as_slice()).unwrap();
        let info = format!(r#"{{"Version":"{}"}}"#, self.version).into_bytes();
        let h1 = H1Hash::of_go_mod(&self.go_mod);
        let entry = VersionEntry::new(info, HashedBlob::new(go_mod, h1), 1, Source::Vcs);
        if !full {
            return entry;
        }
        let zip = index.blobs().write(self.zip.as_slice()).unwrap();
        // A stand-in for the zip's dirhash: the store keeps `h1:` hashes, it never computes them.
        let zip_h1 = H1Hash::from_bytes(*Sha256::digest(&self.zip).as_bytes());
        entry.with_zip(HashedBlob::new(zip, zip_h1))
    }
}

/// The writer process. Does nothing unless re-executed by the parent test.
#[test]
fn writer_child() {
    let Some((index, start)) = crate::support::crash::writer_store(DIR_VAR, START_VAR) else {
        return;
    };
    for n in start.. {
        let content = Content::of(n);
        if n % 3 == 0 {
            index
                .store(
                    &content.module,
                    &content.version,
                    content.entry(&index, false),
                )
                .unwrap();
            println!("ACKMOD {n}");
        }
        index
            .store(
                &content.module,
                &content.version,
                content.entry(&index, true),
            )
            .unwrap();
        println!("ACK {n}");
    }
}

#[test]
fn kill_9_during_stores_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut rng = Rng::seeded();
    let mut acked: BTreeMap<u64, Acked> = BTreeMap::new();
    let mut rounds_in_writes = 0;
    for round in 0..KILLS {
        // Restart one before the highest acknowledged version: re-storing it after a crash
        // must be an idempotent success, never a conflict.
        let start = acked.keys().next_back().map_or(0, |n| n.saturating_sub(1));
        let fresh_from = acked.keys().next_back().map_or(0, |n| n + 1);
        let is_fresh =
            |line: &str| matches!(parse_ack(line), Some((n, Acked::Full)) if n >= fresh_from);
        let delay = rng.delay_below_ms(MAX_DELAY_MS);
        let kill = KillAt::for_round(round as u64, delay, &is_fresh);
        rounds_in_writes += usize::from(kill.waits_for_fresh());
        let writer = Writer {
            test: "crash_safety::writer_child",
            env: vec![
                (DIR_VAR, dir.path().display().to_string()),
                (START_VAR, start.to_string()),
            ],
        };
        let lines = run_and_kill(&writer, kill)
            .unwrap_or_else(|err| panic!("round {round} (seed {}): {err:#}", rng.seed()));
        for (n, kind) in lines.iter().filter_map(|line| parse_ack(line)) {
            let best = acked.entry(n).or_insert(kind);
            *best = (*best).max(kind);
        }
        check_store(dir.path(), &acked, start, round, rng.seed());
    }
    check_store(dir.path(), &acked, 0, KILLS, rng.seed());
    let full = acked.values().filter(|k| **k == Acked::Full).count();
    assert!(
        full >= rounds_in_writes,
        "only {full} versions acknowledged in {rounds_in_writes} rounds that waited for one"
    );
    println!(
        "{KILLS} kills, {full} versions acknowledged, {:?}",
        started.elapsed()
    );
}

fn parse_ack(line: &str) -> Option<(u64, Acked)> {
    let (kind, n) = line.split_once(' ')?;
    let kind = match kind {
        "ACK" => Acked::Full,
        "ACKMOD" => Acked::ModOnly,
        _ => return None,
    };
    Some((n.parse().ok()?, kind))
}

/// Reopens the store and checks it against what was acknowledged. Blob bytes are re-hashed
/// for every version numbered `from` or higher (older ones were checked in earlier rounds).
fn check_store(dir: &Path, acked: &BTreeMap<u64, Acked>, from: u64, round: usize, seed: u64) {
    let ctx = format!("round {round} (seed {seed})");
    let index = crate::support::crash::open_index(dir).unwrap();
    assert!(
        index.open_report().damaged.is_empty(),
        "{ctx}: {:?}",
        index.open_report()
    );
    assert_eq!(
        temp_files(dir),
        Vec::<String>::new(),
        "{ctx}: temp files left after open"
    );
    for (&n, &kind) in acked {
        let content = Content::of(n);
        let entry = index.get(&content.module, &content.version).unwrap();
        let entry = entry.unwrap_or_else(|| panic!("{ctx}: acknowledged version {n} is missing"));
        assert!(
            kind == Acked::ModOnly || entry.is_full(),
            "{ctx}: version {n} lost its zip"
        );
    }
    for item in index.iter().unwrap() {
        let (module, version, entry) = item.unwrap();
        let n = Content::number(&version);
        let content = Content::of(n);
        assert_eq!(
            module, content.module,
            "{ctx}: version {n} under the wrong module"
        );
        if n >= from {
            check_whole(&index, &entry, &content, &ctx);
        }
    }
}

/// Every blob of a visible entry is there and holds exactly the bytes the writer stored.
fn check_whole(index: &Index, entry: &VersionEntry, content: &Content, ctx: &str) {
    let mut expect = vec![(entry.go_mod().blob(), content.go_mod.as_slice())];
    expect.extend(entry.zip().map(|zip| (zip.blob(), content.zip.as_slice())));
    for (blob, bytes) in expect {
        assert_eq!(
            *blob.sha256(),
            Sha256::digest(bytes),
            "{ctx}: {} points at other bytes",
            content.version
        );
        let mut reader = index.blobs().open_verified(blob.sha256()).unwrap();
        let mut read = Vec::new();
        reader.read_to_end(&mut read).unwrap();
        assert!(
            read == bytes,
            "{ctx}: {} reads back other bytes",
            content.version
        );
    }
}

/// Names of temp files anywhere under the data dir.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else if name.ends_with(".part") {
                found.push(name);
            }
        }
    }
    found
}
