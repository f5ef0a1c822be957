//! Sync: paging through a feed, cursors, and refusing a page with a bad record.

use std::num::NonZeroUsize;

use delos_pool_protocol::messages::{SyncPageHeader, SyncRequest};
use futures::{AsyncWriteExt, StreamExt};
use libp2p::StreamProtocol;

use super::*;
use crate::p2p::sync::{self, SyncVersion};
use crate::p2p::{UnverifiedPage, frame};

/// A node serving `count` records, one serving the same with those at `forged_at` (0-based)
/// forged, and a plain node dialled to both, in pool `name`; and the genuine records.
async fn honest_liar_and_reader(
    name: &str,
    count: u32,
    forged_at: &[usize],
) -> (Vec<SignedRecord>, TestNode, TestNode, TestNode) {
    let signer = NodeKey::from_secret_bytes([9; 32]);
    let records: Vec<_> = (1..=count).map(|n| record(&signer, n)).collect();
    let mut bad_feed = records.clone();
    for &at in forged_at {
        bad_feed[at] = forged(&records[at]);
    }
    let feed = MemFeed(records.clone());
    let a = start(1, no_discovery(name), MemBlobs::default(), feed);
    let liar = start(
        4,
        no_discovery(name),
        MemBlobs::default(),
        MemFeed(bad_feed),
    );
    let b = plain(2, no_discovery(name));
    b.handle.dial(a.addr(false).await).await.unwrap();
    b.handle.dial(liar.addr(false).await).await.unwrap();
    (records, a, liar, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_pages_through_a_feed_and_refuses_bad_records() {
    let (records, a, liar, b) = honest_liar_and_reader("t-sync", 5, &[1]).await;

    let timeout = Duration::from_secs(5);
    let mut cursor = 0;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = b
            .handle
            .sync_page(a.peer_id(), cursor, 2, timeout)
            .await
            .unwrap()
            .verify()
            .unwrap();
        pages += 1;
        assert!(page.records.len() <= 2);
        assert_eq!(page.head_seq, 5);
        got.extend(
            page.records
                .iter()
                .map(|(seq, r)| (*seq, r.signed().clone())),
        );
        cursor = page.next_cursor;
        if page.is_last() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<_> = records
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, r)| (i as u64 + 1, r))
        .collect();
    assert_eq!(got, expected);
    let empty = b
        .handle
        .sync_page(a.peer_id(), 5, 2, timeout)
        .await
        .unwrap()
        .verify()
        .unwrap();
    assert!(empty.records.is_empty() && empty.is_last() && empty.next_cursor == 5);

    let err = b
        .handle
        .sync_page(liar.peer_id(), 0, 10, timeout)
        .await
        .unwrap()
        .verify()
        .unwrap_err();
    assert!(
        matches!(err, SyncError::BadRecord { seq: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sync_versions_are_served_and_only_version_2_names_the_feed() {
    let signer = NodeKey::from_secret_bytes([9; 32]);
    let records: Vec<_> = (1..=3).map(|n| record(&signer, n)).collect();
    let a = start(
        5,
        no_discovery("t-sync-v"),
        MemBlobs::default(),
        MemFeed(records),
    );
    let b = plain(6, no_discovery("t-sync-v"));
    b.handle.dial(a.addr(false).await).await.unwrap();
    let timeout = Duration::from_secs(5);

    let v2 = b
        .handle
        .sync_page(a.peer_id(), 0, 10, timeout)
        .await
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(v2.feed_id, Some(MEM_FEED_ID));
    assert!(!b.handle.sync_v1_peers.is_marked(&a.peer_id()));
    let request = SyncRequest {
        after_seq: 0,
        max_items: 10,
    };
    let v1_protocol = b.handle.sync_protocol_v1.clone();
    let control = b.handle.control.clone();
    let v1 = sync::fetch_page(
        control,
        &b.handle.gates,
        v1_protocol,
        a.peer_id(),
        request,
        timeout,
        SyncVersion::V1,
    )
    .await
    .unwrap()
    .verify()
    .unwrap();
    assert_eq!(v1.feed_id, None, "version 1 has no feed id");
    assert_eq!((v1.head_seq, v1.records.len()), (3, 3));
    assert_eq!(v1.records, v2.records);
}

/// A peer that speaks only sync version 1, as a node from before feed ids: a swarm with
/// nothing but libp2p-stream, answering every request with the `records` after its cursor as
/// one version 1 page.
async fn v1_only_peer(name: &str, records: Vec<SignedRecord>) -> (PeerId, Multiaddr) {
    let keypair = crate::keys::identity_keypair(&NodeKey::from_secret_bytes([42; 32]));
    let (mut swarm, addr) = noise_only_swarm(keypair, libp2p_stream::Behaviour::new()).await;
    let protocol = StreamProtocol::try_from_owned(pool(name).sync_protocol_v1()).unwrap();
    let mut incoming = swarm.behaviour().new_control().accept(protocol).unwrap();
    let peer = *swarm.local_peer_id();
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    tokio::spawn(async move {
        while let Some((_, mut stream)) = incoming.next().await {
            let request: SyncRequest = frame::read(&mut stream).await.unwrap();
            let head_seq = records.len() as u64;
            let after = request.after_seq.min(head_seq);
            let header = SyncPageHeader {
                items: (head_seq - after) as u32,
                head_seq,
            };
            frame::write(&mut stream, &header).await.unwrap();
            for (seq, record) in (1..).zip(&records).skip(after as usize) {
                let record = record.clone();
                frame::write(&mut stream, &SyncItem { seq, record })
                    .await
                    .unwrap();
            }
            stream.close().await.unwrap();
        }
    });
    (peer, addr.with(Protocol::P2p(peer)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_without_version_2_is_synced_over_version_1() {
    let signer = NodeKey::from_secret_bytes([9; 32]);
    let records: Vec<_> = (1..=2).map(|n| record(&signer, n)).collect();
    let (old, addr) = v1_only_peer("t-sync-old", records.clone()).await;
    let b = plain(7, no_discovery("t-sync-old"));
    b.handle.dial(addr).await.unwrap();
    let page = b
        .handle
        .sync_page(old, 0, 10, Duration::from_secs(5))
        .await
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(page.feed_id, None);
    assert_eq!(page.head_seq, 2);
    let got: Vec<_> = page
        .records
        .iter()
        .map(|(_, r)| r.signed().clone())
        .collect();
    assert_eq!(got, records);
    assert!(
        b.handle.sync_v1_peers.is_marked(&old),
        "the old peer is not remembered as version 1 only"
    );
    // The next page goes to version 1 at once, and still arrives.
    let next = b
        .handle
        .sync_page(old, 1, 10, Duration::from_secs(5))
        .await
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(
        (next.feed_id, next.head_seq, next.records.len()),
        (None, 2, 1)
    );
}

/// A burst of concurrent page requests from one node (its sync rounds overlapping) all get
/// their page at the first attempt: no stream is lost between the server's stream negotiation
/// and its accept loop (see the transfer burst tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_page_requests_from_one_node_loses_no_stream() {
    const PAGES: u64 = 24;
    let signer = NodeKey::from_secret_bytes([9; 32]);
    let records: Vec<_> = (1..=PAGES as u32).map(|n| record(&signer, n)).collect();
    let a = start(
        1,
        no_discovery("t-sync-burst"),
        MemBlobs::default(),
        MemFeed(records.clone()),
    );
    let b = plain(2, no_discovery("t-sync-burst"));
    b.handle.dial(a.addr(false).await).await.unwrap();
    let (handle, server) = (&b.handle, a.peer_id());
    let pages = (0..PAGES).map(|cursor| async move {
        let request = SyncRequest {
            after_seq: cursor,
            max_items: 1,
        };
        let (control, protocol) = (handle.control.clone(), handle.sync_protocol.clone());
        let timeout = Duration::from_secs(10);
        let page = sync::fetch_page(
            control,
            &handle.gates,
            protocol,
            server,
            request,
            timeout,
            SyncVersion::V2,
        );
        (cursor, page.await)
    });
    for (cursor, page) in futures::future::join_all(pages).await {
        let page = page
            .and_then(UnverifiedPage::verify)
            .unwrap_or_else(|err| panic!("page after {cursor}: {err:?}"));
        let seqs: Vec<u64> = page.records.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, [cursor + 1], "page after {cursor}");
        assert_eq!(page.records[0].1.signed(), &records[cursor as usize]);
    }
}

/// Records held byte for byte are left out unverified; every other record is verified, on
/// several threads, and the first bad one in page order refuses the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_is_verified_on_several_threads_except_what_is_held() {
    let (records, a, liar, b) = honest_liar_and_reader("t-sync-par", 100, &[69, 89]).await;
    let (timeout, threads) = (Duration::from_secs(5), NonZeroUsize::new(4).unwrap());
    let held = |record: &SignedRecord| records[..30].contains(record);

    let pages = [a.peer_id(), liar.peer_id()].map(|peer| b.handle.sync_page(peer, 0, 100, timeout));
    let [page, lie] = futures::future::join_all(pages).await.try_into().unwrap();
    let page = page.unwrap().verify_unless_held(held, threads).unwrap();
    assert_eq!((page.held, page.records.len()), (30, 70));
    let seqs: Vec<u64> = page.records.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (31..=100).collect::<Vec<u64>>(), "in page order");

    let err = lie.unwrap().verify_unless_held(held, threads).unwrap_err();
    assert!(
        matches!(err, SyncError::BadRecord { seq: 70, .. }),
        "{err:?}"
    );
}
