//! Sync: paging through a feed, cursors, and refusing a page with a bad record.

use delos_pool_protocol::messages::SyncRequest;

use super::*;
use crate::p2p::sync::{self, SyncVersion};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_pages_through_a_feed_and_refuses_bad_records() {
    let signer = NodeKey::from_secret_bytes([9; 32]);
    let records: Vec<_> = (1..=5).map(|n| record(&signer, n)).collect();
    let a = start(
        1,
        no_discovery("t-sync"),
        MemBlobs::default(),
        MemFeed(records.clone()),
    );
    let mut bad_feed = records.clone();
    bad_feed[1] = forged(&records[1]);
    let liar = start(
        4,
        no_discovery("t-sync"),
        MemBlobs::default(),
        MemFeed(bad_feed),
    );
    let b = plain(2, no_discovery("t-sync"));
    b.handle.dial(a.addr(false).await).await.unwrap();
    b.handle.dial(liar.addr(false).await).await.unwrap();

    let timeout = Duration::from_secs(5);
    let mut cursor = 0;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = b
            .handle
            .sync_page(a.peer_id(), cursor, 2, timeout)
            .await
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
        .unwrap();
    assert!(empty.records.is_empty() && empty.is_last() && empty.next_cursor == 5);

    let err = b
        .handle
        .sync_page(liar.peer_id(), 0, 10, timeout)
        .await
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
        .unwrap();
    assert_eq!(v2.feed_id, Some(MEM_FEED_ID));
    let request = SyncRequest {
        after_seq: 0,
        max_items: 10,
    };
    let v1_protocol = b.handle.sync_protocol_v1.clone();
    let control = b.handle.control.clone();
    let v1 = sync::fetch_page(
        control,
        v1_protocol,
        a.peer_id(),
        request,
        timeout,
        SyncVersion::V1,
    )
    .await
    .unwrap();
    assert_eq!(v1.feed_id, None, "version 1 has no feed id");
    assert_eq!((v1.head_seq, v1.records.len()), (3, 3));
    assert_eq!(v1.records, v2.records);
}
