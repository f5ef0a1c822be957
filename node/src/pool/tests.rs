//! In-process tests of the node's pool: real stores (sled in temp dirs) and real swarms on
//! loopback, started through [`Pool::start`] as `delos serve` does.

use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{PoolName, SyncItem};
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, Source};
use delos_pool_protocol::signing::{NodeKey, VerifiedRecord};
use delos_pool_protocol::{H1Hash, ModulePath, Version};
use delos_registry_index::{Index, Sharing};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use super::sync::{SYNC_INTERVAL, verify_page};
use super::*;
use crate::p2p::{SyncError, UnverifiedPage};

/// One node: its store, its pool, and the temp dir holding the store.
struct TestNode {
    index: Arc<Index>,
    pool: Pool,
    _dir: tempfile::TempDir,
}

fn key(seed: u8) -> NodeKey {
    NodeKey::from_secret_bytes([seed; 32])
}

/// A record signed by `key` for `example.com/m@v1.0.<n>`.
fn record(key: &NodeKey, n: u32) -> VerifiedRecord {
    let fields = RecordFields {
        module: ModulePath::parse("example.com/m").unwrap(),
        version: Version::parse(&format!("v1.0.{n}")).unwrap(),
        go_mod_h1: H1Hash::of_go_mod(b"module example.com/m\n"),
        zip: None,
        info_time: InfoTime::parse("2026-01-01T00:00:00Z").unwrap(),
        source: Source::Import,
        obtained_at: 1_790_000_000 + u64::from(n),
    };
    let signed = key.sign(&ProvenanceRecord::new(fields).unwrap()).unwrap();
    signed.verify().unwrap()
}

async fn start(seed: u8, index: Arc<Index>, bootstrap: Vec<Multiaddr>) -> Pool {
    let identity = key(seed);
    let config = P2pConfig {
        bootstrap,
        ..P2pConfig::loopback(PoolName::parse("pooltest").unwrap())
    };
    let setup = PoolSetup::new(&identity, &config, index, PrivatePatterns::default());
    Pool::start(setup).await.unwrap()
}

async fn node(seed: u8, bootstrap: Vec<Multiaddr>) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let index = Arc::new(Index::open(dir.path()).unwrap());
    let pool = start(seed, Arc::clone(&index), bootstrap).await;
    TestNode {
        index,
        pool,
        _dir: dir,
    }
}

/// The node's TCP listen address with `/p2p/<PeerId>`.
async fn tcp_addr(pool: &Pool) -> Multiaddr {
    let status = pool.status().await.unwrap();
    let addr = status
        .listen_addrs
        .iter()
        .find(|a| a.iter().any(|p| matches!(p, Protocol::Tcp(_))))
        .unwrap()
        .clone();
    addr.with(Protocol::P2p(pool.handle().local_peer_id()))
}

fn insert(index: &Index, record: &VerifiedRecord) {
    index.records().insert(record, Sharing::Public).unwrap();
}

/// Waits (at most 10 s) until the cursor of `peer` in `index` reaches `seq` (it is saved after
/// the page's records are stored and counted).
async fn wait_for_cursor(index: &Index, peer: &[u8], seq: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while index.sync_cursors().get(peer).unwrap().seq < seq {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cursor never reached {seq}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (at most 10 s) until `index` holds `count` records.
async fn wait_for_records(index: &Index, count: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while index.records().count().unwrap() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out with {} of {count} records",
            index.records().count().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_syncs_the_feed_and_resumes_from_its_cursor() {
    let a = node(1, Vec::new()).await;
    for n in 0..20 {
        insert(&a.index, &record(&key(1), n));
    }
    let a_addr = tcp_addr(&a.pool).await;
    let b = node(2, vec![a_addr.clone()]).await;
    wait_for_records(&b.index, 20).await;
    let a_peer = a.pool.handle().local_peer_id().to_bytes();
    wait_for_cursor(&b.index, &a_peer, 20).await;
    let cursor = b.index.sync_cursors().get(&a_peer).unwrap();
    assert_eq!((cursor.seq, cursor.feed), (20, Some(a.index.feed().id())));
    assert_eq!(b.pool.stats().snapshot().records_synced, 20);
    assert_eq!(
        b.index.feed().last_seq(),
        20,
        "synced records are shared on"
    );

    b.pool.shutdown().await;
    for n in 20..25 {
        insert(&a.index, &record(&key(1), n));
    }
    let again = start(2, Arc::clone(&b.index), vec![a_addr]).await;
    wait_for_records(&b.index, 25).await;
    wait_for_cursor(&b.index, &a_peer, 25).await;
    let synced = again.stats().snapshot().records_synced;
    assert_eq!(synced, 5, "only the records after the cursor are pulled");
    assert_eq!(b.index.sync_cursors().get(&a_peer).unwrap().seq, 25);
}

/// A held record is skipped unverified; one under the same key with a forged signature is
/// verified, and refuses its page, though the store holds a genuine record there.
#[test]
fn only_records_held_byte_for_byte_skip_verification() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path()).unwrap();
    let (held, new) = (record(&key(3), 1), record(&key(3), 2));
    insert(&index, &held);
    let (held, new) = (held.signed().clone(), new.signed().clone());
    let items = |records: [&SignedRecord; 2]| -> Vec<SyncItem> {
        let records = records.into_iter().cloned();
        (1..)
            .zip(records)
            .map(|(seq, record)| SyncItem { seq, record })
            .collect()
    };
    let peer = libp2p::PeerId::random();

    let page = UnverifiedPage::for_tests(peer, items([&held, &new]));
    let page = verify_page(&index, page).unwrap();
    assert_eq!((page.held, page.records.len()), (1, 1));
    assert_eq!((page.records[0].0, page.records[0].1.signed()), (2, &new));

    let mut signature = held.signature();
    signature[7] ^= 1;
    let forged = SignedRecord::from_parts(held.bytes().to_vec(), signature, held.signer());
    let page = UnverifiedPage::for_tests(peer, items([&new, &forged]));
    let err = verify_page(&index, page).unwrap_err();
    assert!(
        matches!(err, SyncError::BadRecord { seq: 2, .. }),
        "{err:?}"
    );
}

/// The late joiner's feed repeats every record it synced from `a`; `a` syncs it back and finds
/// each held byte for byte, so it neither verifies nor stores any of them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_s_echo_of_held_records_is_not_verified_again() {
    let a = node(5, Vec::new()).await;
    for n in 0..20 {
        insert(&a.index, &record(&key(5), n));
    }
    let b = node(6, vec![tcp_addr(&a.pool).await]).await;
    wait_for_records(&b.index, 20).await;
    let b_peer = b.pool.handle().local_peer_id().to_bytes();
    // `a` syncs `b` when `b` identifies and every SYNC_INTERVAL; b's feed may be short the
    // first time.
    let deadline = tokio::time::Instant::now() + SYNC_INTERVAL * 2 + Duration::from_secs(5);
    while a.index.sync_cursors().get(&b_peer).unwrap().seq < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a never synced b's feed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = a.pool.stats().snapshot();
    assert_eq!((stats.records_synced, stats.records_synced_held), (20, 20));
    assert_eq!(stats.records_new, 0);
    assert_eq!(a.index.feed().last_seq(), 20, "nothing was stored again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_record_is_stored_by_a_peer_through_gossip() {
    let a = node(3, Vec::new()).await;
    let b = node(4, vec![tcp_addr(&a.pool).await]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while a.pool.status().await.map_or(0, |s| s.gossip_mesh_peers) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no gossip mesh");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let own = record(&key(3), 1);
    insert(&a.index, &own);
    let (module, version) = (own.record().module(), own.record().version());
    a.pool.announce(own.signed(), module, version).await;
    assert_eq!(a.pool.stats().snapshot().records_announced, 1);
    wait_for_records(&b.index, 1).await;
    let stored = b.index.records().for_version(module, version).unwrap();
    assert_eq!(stored, vec![own]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while b.pool.stats().snapshot().records_received == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not received by gossip"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
