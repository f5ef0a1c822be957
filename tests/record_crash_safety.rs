//! `kill -9` at random moments while a real process inserts signed provenance records: the
//! records tree and the feed always agree (every public record stored is in the feed, every
//! feed item is a stored record), feed sequence numbers stay contiguous from 1, and no number
//! acknowledged to the writer is ever given to another record.
//!
//! Like `crash_safety`, this test binary re-executes itself to run [`record_writer_child`],
//! which prints `ACK <n> <seq>` only after `Records::insert` returned (`seq` 0: private).

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, Source, ZipFacts};
use delos_pool_protocol::signing::{NodeKey, VerifiedRecord};
use delos_pool_protocol::version::Version;
use delos_registry_index::Sharing;

use crate::support::crash::{KillAt, Rng, Writer, run_and_kill};

/// Tells the re-executed child where to store; without it the child does nothing.
const DIR_VAR: &str = "DELOS_RECORD_WRITER_DIR";
/// The first record number the child inserts.
const START_VAR: &str = "DELOS_RECORD_WRITER_START";
const KILLS: u64 = 12;
const MAX_DELAY_MS: u64 = 300;

/// Record number `n`: its module version, and whether it is private (every fourth).
fn at(n: u64) -> (ModulePath, Version, Sharing) {
    let module = ModulePath::parse(&format!("example.com/rc/m{}", n % 3)).unwrap();
    let version = Version::parse(&format!("v1.0.{n}")).unwrap();
    let sharing = if n % 4 == 3 {
        Sharing::Private
    } else {
        Sharing::Public
    };
    (module, version, sharing)
}

/// Record number `n`, signed by the writer's fixed key (ed25519 signatures are deterministic,
/// so re-inserting `n` after a crash offers the same bytes). Memoised: signing is slow in
/// debug builds and the checks ask for every record each round.
fn record(n: u64) -> VerifiedRecord {
    static MEMO: Mutex<BTreeMap<u64, VerifiedRecord>> = Mutex::new(BTreeMap::new());
    let mut memo = MEMO.lock().unwrap();
    memo.entry(n).or_insert_with(|| sign_record(n)).clone()
}

fn sign_record(n: u64) -> VerifiedRecord {
    let (module, version, _) = at(n);
    let zip = format!("zip of {n}").into_bytes();
    let record = ProvenanceRecord::new(RecordFields {
        go_mod_h1: H1Hash::of_go_mod(format!("module {module}\n").as_bytes()),
        zip: Some(ZipFacts {
            h1: H1Hash::from_bytes(*Sha256::digest(&zip).as_bytes()),
            sha256: Sha256::digest(&zip),
            size: zip.len() as u64,
        }),
        module,
        version,
        info_time: InfoTime::parse("2026-01-01T00:00:00Z").unwrap(),
        source: Source::Import,
        obtained_at: n,
    })
    .unwrap();
    let key = NodeKey::from_secret_bytes([5; 32]);
    key.sign(&record).unwrap().verify().unwrap()
}

/// The writer process. Does nothing unless re-executed by the parent test.
#[test]
fn record_writer_child() {
    let Some((index, start)) = crate::support::crash::writer_store(DIR_VAR, START_VAR) else {
        return;
    };
    for n in start.. {
        let stored = index.records().insert(&record(n), at(n).2).unwrap();
        println!("ACK {n} {}", stored.seq.unwrap_or(0));
    }
}

#[test]
fn kill_9_during_record_inserts_keeps_records_and_feed_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::seeded();
    // Acknowledged sequence numbers: seq -> record number.
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    // Every acknowledged record number, private ones included.
    let mut acked_records = BTreeSet::new();
    let mut highest = 0;
    let mut rounds_in_writes = 0;
    for round in 0..KILLS {
        let fresh_from = acked_records.last().map_or(0, |n| n + 1);
        let is_fresh = |line: &str| parse_ack(line).is_some_and(|(n, _)| n >= fresh_from);
        let delay = rng.delay_below_ms(MAX_DELAY_MS);
        let kill = KillAt::for_round(round, delay, &is_fresh);
        rounds_in_writes += usize::from(kill.waits_for_fresh());
        let writer = Writer {
            test: "record_crash_safety::record_writer_child",
            env: vec![
                (DIR_VAR, dir.path().display().to_string()),
                (START_VAR, highest.to_string()),
            ],
        };
        let lines = run_and_kill(&writer, kill)
            .unwrap_or_else(|err| panic!("round {round} (seed {}): {err:#}", rng.seed()));
        for (n, seq) in lines.iter().filter_map(|line| parse_ack(line)) {
            highest = highest.max(n);
            acked_records.insert(n);
            if seq > 0 {
                let previous = acked.insert(seq, n);
                assert!(
                    previous.is_none_or(|p| p == n),
                    "seq {seq} given to {previous:?} and {n} (seed {})",
                    rng.seed()
                );
            }
        }
        check(dir.path(), (&acked, &acked_records), highest + 20, round);
    }
    println!(
        "{KILLS} kills, {} records acknowledged, {} in the feed",
        acked_records.len(),
        acked.len()
    );
    assert!(
        acked_records.len() >= rounds_in_writes,
        "only {} records acknowledged in {rounds_in_writes} rounds that waited for one",
        acked_records.len()
    );
}

/// `ACK <n> <seq>`: record `n` was inserted and given feed number `seq` (0: private).
fn parse_ack(line: &str) -> Option<(u64, u64)> {
    let mut parts = line.strip_prefix("ACK ")?.split(' ');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Reopens the store and checks records and feed against each other and the acks.
fn check(dir: &Path, acks: (&BTreeMap<u64, u64>, &BTreeSet<u64>), up_to: u64, round: u64) {
    let (acked, acked_records) = acks;
    let index = crate::support::crash::open_index(dir).unwrap();
    let feed = index.feed().page(0, usize::MAX).unwrap();
    let seqs: Vec<u64> = feed.iter().map(|item| item.seq).collect();
    assert_eq!(
        seqs,
        (1..=feed.len() as u64).collect::<Vec<_>>(),
        "round {round}: gaps"
    );
    assert_eq!(index.feed().last_seq(), feed.len() as u64);
    let mut in_feed = BTreeMap::new();
    for item in &feed {
        let verified = item.record.verify().unwrap();
        let n: u64 = verified
            .record()
            .version()
            .as_str()
            .rsplit('.')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            item.record,
            *record(n).signed(),
            "round {round}: feed item {} is not record {n}",
            item.seq
        );
        assert!(
            in_feed.insert(n, item.seq).is_none(),
            "round {round}: record {n} twice in the feed"
        );
    }
    for (seq, n) in acked {
        assert_eq!(
            in_feed.get(n),
            Some(seq),
            "round {round}: acknowledged record {n} lost seq {seq}"
        );
    }
    for n in 0..=up_to {
        let (module, version, sharing) = at(n);
        let signer = record(n).signer();
        let stored = index.records().get(&module, &version, &signer).unwrap();
        let public_and_stored = stored.is_some() && sharing == Sharing::Public;
        assert_eq!(
            public_and_stored,
            in_feed.contains_key(&n),
            "round {round}: record {n} and the feed disagree"
        );
        if acked_records.contains(&n) {
            assert!(
                stored.is_some(),
                "round {round}: acknowledged record {n} lost"
            );
        }
    }
}
