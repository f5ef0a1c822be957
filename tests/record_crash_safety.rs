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
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, Source, ZipFacts};
use delos_pool_protocol::signing::{NodeKey, VerifiedRecord};
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, Sharing};

/// Tells the re-executed child where to store; without it the child does nothing.
const DIR_VAR: &str = "DELOS_RECORD_WRITER_DIR";
/// The first record number the child inserts.
const START_VAR: &str = "DELOS_RECORD_WRITER_START";
const KILLS: u64 = 10;
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
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let start: u64 = std::env::var(START_VAR).unwrap().parse().unwrap();
    let index = Index::open(&dir).unwrap();
    println!("\nREADY");
    for n in start.. {
        let stored = index.records().insert(&record(n), at(n).2).unwrap();
        println!("ACK {n} {}", stored.seq.unwrap_or(0));
    }
}

#[test]
fn kill_9_during_record_inserts_keeps_records_and_feed_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    // Acknowledged sequence numbers: seq -> record number.
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    // Every acknowledged record number, private ones included.
    let mut acked_records = BTreeSet::new();
    let mut highest = 0;
    for round in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(50 + seed % MAX_DELAY_MS);
        for (n, seq) in run_and_kill(dir.path(), highest, delay) {
            highest = highest.max(n);
            acked_records.insert(n);
            if seq > 0 {
                let previous = acked.insert(seq, n);
                assert!(
                    previous.is_none_or(|p| p == n),
                    "seq {seq} given to {previous:?} and {n} (seed {seed})"
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
        acked.len() as u64 >= KILLS,
        "only {} records acknowledged",
        acked.len()
    );
}

/// Runs one writer from record `start`, SIGKILLs it after `delay`, returns its acks.
fn run_and_kill(dir: &Path, start: u64, delay: Duration) -> Vec<(u64, u64)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "record_crash_safety::record_writer_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir)
        .env(START_VAR, start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    std::thread::sleep(delay);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the writer exited by itself"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = reader.join().unwrap();
    lines
        .iter()
        .filter_map(|line| {
            let mut parts = line.strip_prefix("ACK ")?.split(' ');
            Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .collect()
}

/// Reopens the store and checks records and feed against each other and the acks.
fn check(dir: &Path, acks: (&BTreeMap<u64, u64>, &BTreeSet<u64>), up_to: u64, round: u64) {
    let (acked, acked_records) = acks;
    let index = Index::open(dir).unwrap();
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
