//! The node's checksum log: appends per second when a burst of pinned versions is appended in
//! batches, each batch durable (one commit, one flush with fsync) and its head signed and
//! stored before the next batch, against a baseline measured in the same run: a plain file
//! that gets one 32-byte hash and one `fdatasync` per record (a log made durable record by
//! record).
//!
//! `cargo bench -p delos-registry-index --bench checksum_log`; set `DELOS_BENCH_DIR` to
//! measure on another disk than the system temp dir. Prints one Markdown table.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::io::Write;
use std::time::Instant;

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{KeyName, SignerKey, TreeHead};
use delos_pool_protocol::version::Version;
use delos_registry_index::{HashedBlob, Index, Source, VersionEntry};

/// Versions appended per batch size measured.
const VERSIONS: u64 = 4_096;
const BATCHES: [usize; 4] = [1, 16, 256, 1024];

fn h1(n: u64, salt: u8) -> H1Hash {
    let mut bytes = [salt; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    H1Hash::from_bytes(bytes)
}

/// Pins `count` whole versions of a module of its own (blobs shared: the log reads hashes only).
fn pin(index: &Index, module: &ModulePath, count: u64) -> Vec<(ModulePath, Version)> {
    let go_mod = index
        .blobs()
        .write(&b"module example.com/bench\n"[..])
        .unwrap();
    let zip = index.blobs().write(&b"PK stand-in"[..]).unwrap();
    (0..count)
        .map(|n| {
            let version = Version::parse(&format!("v1.0.{n}")).unwrap();
            let info = format!(r#"{{"Version":"{version}","Time":"2026-01-01T00:00:00Z"}}"#);
            let entry = VersionEntry::new(
                info.into_bytes(),
                HashedBlob::new(go_mod, h1(n, 1)),
                1_767_225_600,
                Source::Vcs,
            )
            .with_zip(HashedBlob::new(zip, h1(n, 2)));
            index.store(module, &version, entry).unwrap();
            (module.clone(), version)
        })
        .collect()
}

fn main() {
    let base = std::env::var_os("DELOS_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = match &base {
        Some(base) => tempfile::tempdir_in(base).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let index = Index::open(dir.path().join("store")).unwrap();
    let key = SignerKey::from_seed(KeyName::new("sum.bench.example").unwrap(), [9; 32]);
    println!("| appended in batches of | versions | appends/s (batch durable, head signed) |");
    println!("|---|---|---|");
    for (at, batch) in BATCHES.into_iter().enumerate() {
        let module = ModulePath::parse(&format!("example.com/bench/b{at}")).unwrap();
        let versions = pin(&index, &module, VERSIONS);
        let log = index.checksum_log();
        let started = Instant::now();
        for chunk in versions.chunks(batch) {
            let size = log.append(chunk).unwrap().size;
            let head = TreeHead::new(size, log.tree_hash(size).unwrap()).unwrap();
            log.store_head(size, &head.sign(&key).to_bytes()).unwrap();
        }
        let rate = VERSIONS as f64 / started.elapsed().as_secs_f64();
        println!("| {batch} | {VERSIONS} | {rate:.0} |");
    }
    let mut file = std::fs::File::create(dir.path().join("baseline.log")).unwrap();
    let started = Instant::now();
    for n in 0..VERSIONS {
        file.write_all(h1(n, 3).as_bytes()).unwrap();
        file.sync_data().unwrap();
    }
    let rate = VERSIONS as f64 / started.elapsed().as_secs_f64();
    println!(
        "| baseline: a plain file, 32 bytes + fdatasync per record | {VERSIONS} | {rate:.0} |"
    );
}
