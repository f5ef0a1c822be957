//! Provenance records in the store: inserts per second (each one a sled transaction across the
//! records and feed trees, then a flush with fsync), feed pages and per-version reads.
//!
//! `cargo bench -p delos-registry-index --bench records`; set `DELOS_BENCH_DIR` to measure on
//! another disk than the system temp dir. Prints one Markdown table.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::time::Instant;

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::{
    InfoTime, ProvenanceRecord, RecordFields, Source, VcsOrigin, ZipFacts,
};
use delos_pool_protocol::signing::{NodeKey, VerifiedRecord};
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, Sharing};

const RECORDS: u64 = 2_000;
const PAGE: usize = 500;

fn record(key: &NodeKey, n: u64) -> VerifiedRecord {
    let zip = n.to_le_bytes();
    let origin = VcsOrigin {
        vcs: "git".into(),
        url: format!("https://example.com/bench/m{}", n % 50),
        subdir: None,
        hash: format!("{:040x}", n),
        ref_name: Some(format!("refs/tags/v1.0.{n}")),
    };
    let record = ProvenanceRecord::new(RecordFields {
        module: ModulePath::parse(&format!("example.com/bench/m{}", n % 50)).unwrap(),
        version: Version::parse(&format!("v1.0.{n}")).unwrap(),
        go_mod_h1: H1Hash::from_bytes(*Sha256::digest(&zip).as_bytes()),
        zip: Some(ZipFacts {
            h1: H1Hash::from_bytes(*Sha256::digest(&zip.repeat(2)).as_bytes()),
            sha256: Sha256::digest(&zip),
            size: 4096,
        }),
        info_time: InfoTime::parse("2026-01-01T00:00:00Z").unwrap(),
        source: Source::Vcs(origin),
        obtained_at: 1_767_225_600 + n,
    })
    .unwrap();
    key.sign(&record).unwrap().verify().unwrap()
}

fn per_second(count: u64, started: Instant) -> f64 {
    count as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let base = std::env::var_os("DELOS_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = match &base {
        Some(base) => tempfile::tempdir_in(base).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let index = Index::open(dir.path()).unwrap();
    let key = NodeKey::from_secret_bytes([3; 32]);
    let records: Vec<VerifiedRecord> = (0..RECORDS).map(|n| record(&key, n)).collect();

    let started = Instant::now();
    for verified in &records {
        index.records().insert(verified, Sharing::Public).unwrap();
    }
    let inserts = per_second(RECORDS, started);

    let started = Instant::now();
    let (mut after, mut read) = (0, 0);
    loop {
        let page = index.feed().page(after, PAGE).unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        read += page.len() as u64;
    }
    assert_eq!(read, RECORDS);
    let feed = per_second(read, started);

    let started = Instant::now();
    for verified in &records {
        let r = verified.record();
        assert_eq!(
            index
                .records()
                .for_version(r.module(), r.version())
                .unwrap()
                .len(),
            1
        );
    }
    let lookups = per_second(RECORDS, started);

    println!("| operation ({RECORDS} records, one thread) | per second |");
    println!("|---|---|");
    println!("| insert (transaction + flush + fsync, into the feed) | {inserts:.0} |");
    println!("| feed pages of {PAGE} (decoded, not verified) | {feed:.0} records |");
    println!("| records of one version (read and verified) | {lookups:.0} |");
}
