//! Filling from peers: trusted and quorum fills, tampered bytes, liars and fallbacks.

use super::*;
use crate::fetch::PeerClaim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_bytes_from_a_trusted_signer_are_stored_signed_and_announced() {
    let files = honest();
    let (_a, addr) = server(1, files.clone()).await;
    let c = client(&[1], 2, &[record(&key(1), &files)], &[addr]).await;
    let entry = c.get().await.unwrap();
    assert_eq!(entry.source(), &Source::Peer(peer(1).to_string()));
    assert_eq!(entry.info(), &files.info[..]);
    let sent = verify_module_zip(std::io::Cursor::new(&files.zip), &module(), &version()).unwrap();
    let zip = entry.zip().unwrap();
    assert_eq!((zip.h1(), zip.blob().sha256()), (&sent.h1, &sent.sha256));
    let own = c.fetcher.own_signer().unwrap();
    let records = c.fetcher.index().records();
    let mine = records.get(&module(), &version(), &own).unwrap().unwrap();
    assert_eq!(
        mine.record().source(),
        &RecordSource::Peer(key(1).signer_id())
    );
    let stats = c.stats();
    assert_eq!(
        (stats.peer_fills, stats.vcs_fills, stats.fills_stored),
        (1, 0, 1)
    );
    assert_eq!(stats.go_processes_started, 0, "the VCS was not asked");
    assert_eq!(stats.peer_bytes, total_len(&files));
    assert_eq!(c.hooks.bytes.load(Ordering::Relaxed), total_len(&files));
    assert!(c.bad().is_empty());
    for _ in 0..100 {
        if !c.hooks.announced.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        *c.hooks.announced.lock().unwrap(),
        vec![format!("{MODULE}@{VERSION}")]
    );
    c.get().await.unwrap();
    assert_eq!(c.stats().store_hits, 1, "the second request is a store hit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_zip_is_dropped_the_peer_marked_bad_and_the_vcs_asked() {
    let (_a, addr) = server(1, tampered_zip()).await;
    let c = client(&[1], 2, &[record(&key(1), &honest())], &[addr]).await;
    let err = c.get().await.unwrap_err();
    assert!(err.is_not_found(), "GOPROXY=off: {err}");
    assert!(c.stored().is_none(), "no byte of the liar was stored");
    let stats = c.stats();
    assert_eq!((stats.peer_mismatches, stats.bad_peers), (1, 1));
    assert_eq!((stats.peer_fills, stats.fills_stored), (0, 0));
    assert!(stats.go_processes_started >= 1, "the VCS came next");
    assert_eq!(c.bad(), vec![peer(1)]);
    assert!(c.peers.bad.is_marked(&peer(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_liar_asked_first_is_skipped_for_an_honest_peer() {
    let files = honest();
    let (_liar, liar_addr) = server(3, tampered_zip()).await;
    let (_honest, honest_addr) = server(4, files.clone()).await;
    // The liar signed the honest hashes and is trusted, so it is asked first.
    let records = [record(&key(3), &files), record(&key(4), &files)];
    let c = client(&[3], 2, &records, &[liar_addr, honest_addr]).await;
    let entry = c.get().await.unwrap();
    assert_eq!(entry.source(), &Source::Peer(peer(4).to_string()));
    let stats = c.stats();
    assert_eq!((stats.peer_fills, stats.peer_mismatches), (1, 1));
    assert_eq!(c.bad(), vec![peer(3)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_untrusted_signer_is_not_enough_for_a_quorum_of_two() {
    let files = honest();
    let (_a, addr) = server(1, files.clone()).await;
    let c = client(&[], 2, &[record(&key(1), &files)], &[addr]).await;
    let err = c.get().await.unwrap_err();
    assert!(err.is_not_found(), "GOPROXY=off: {err}");
    assert!(c.stored().is_none());
    assert_eq!(c.stats().peer_bytes, 0, "no peer was asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agreeing_untrusted_signers_make_a_quorum_of_two() {
    let files = honest();
    let (_a, addr) = server(1, files.clone()).await;
    // Signer 2 runs no node: asking it fails, and peer 1 delivers.
    let records = [record(&key(1), &files), record(&key(2), &files)];
    let c = client(&[], 2, &records, &[addr]).await;
    let entry = c.get().await.unwrap();
    assert_eq!(entry.source(), &Source::Peer(peer(1).to_string()));
    assert_eq!(c.stats().peer_fills, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_peer_fill() {
    let files = honest();
    let (_a, addr) = server(1, files.clone()).await;
    let c = Arc::new(client(&[1], 2, &[record(&key(1), &files)], &[addr]).await);
    let requests: Vec<_> = (0..8)
        .map(|_| {
            let c = Arc::clone(&c);
            tokio::spawn(async move { c.get().await.map(|e| e.claimed_hashes()) })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap().unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    let stats = c.stats();
    assert_eq!(answers.len(), 8, "every request answered");
    assert_eq!(
        stats.fills_started, 1,
        "waiters share the fill, later ones hit the store"
    );
    assert_eq!(stats.peer_fills, 1, "one fill from the peer");
    assert_eq!(stats.peer_bytes, total_len(&files), "the files moved once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kademlia_provider_is_asked_when_no_signer_is_reachable() {
    let files = honest();
    let (a, addr) = server(1, files.clone()).await;
    a.provide(&module(), &version()).await.unwrap();
    // Signer 7 (trusted) runs no node, say a shared signing key: only Kademlia knows peer 1.
    let c = client(&[7], 2, &[record(&key(7), &files)], &[addr]).await;
    let mut entry = None;
    for _ in 0..50 {
        match c.get().await {
            Ok(found) => {
                entry = Some(found);
                break;
            }
            // Not found until the routing table holds peer 1; the negative cache is per query.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let entry = entry.expect("filled from the provider");
    assert_eq!(entry.source(), &Source::Peer(peer(1).to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_modules_are_never_asked_from_peers() {
    let files = honest();
    let (_a, addr) = server(1, files.clone()).await;
    let records = [record(&key(1), &files)];
    let c = client_with_private(&[1], 2, &records, &[addr], &["example.com"]).await;
    assert!(
        c.fill_from_peers(VERSION.to_owned(), PeerClaim::Full)
            .await
            .is_none()
    );
    assert_eq!(c.stats().peer_bytes, 0);
    assert!(c.stored().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_canonical_query_is_not_asked_from_peers() {
    let files = honest();
    let (_a, addr) = server(1, files.clone()).await;
    let c = client(&[1], 2, &[record(&key(1), &files)], &[addr]).await;
    assert!(
        c.fill_from_peers(String::from("v1.0"), PeerClaim::Full)
            .await
            .is_none()
    );
    assert_eq!(c.stats().peer_bytes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recent_not_found_does_not_hide_a_version_whose_records_came_since() {
    let files = honest();
    let (_a, addr) = server(1, files.clone()).await;
    let c = client(&[1], 2, &[], &[addr]).await;
    assert!(c.get().await.unwrap_err().is_not_found(), "no record yet");
    assert!(c.get().await.unwrap_err().is_not_found(), "remembered");
    assert_eq!(c.stats().negative_cache_hits, 1);
    let records = c.fetcher.index().records();
    records
        .insert(&record(&key(1), &files), Sharing::Public)
        .unwrap();
    let entry = c.get().await.unwrap();
    assert_eq!(entry.source(), &Source::Peer(peer(1).to_string()));
}

/// A client (no VCS) trusting key 1, which vouches for the `.mod` only, connected to a node
/// of key 1 serving `files`; and that node's handle.
async fn mod_only_client(files: Files) -> (Client, PoolHandle) {
    let (a, addr) = server(1, files).await;
    let c = client(&[1], 2, &[mod_record(&key(1), MODULE, VERSION)], &[addr]).await;
    (c, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mod_only_claim_fills_the_mod_from_a_peer_once_the_vcs_failed() {
    let files = honest();
    let (c, _a) = mod_only_client(files.clone()).await;

    let entry = c.get_mod().await.unwrap();
    assert!(!entry.is_full(), "only the .mod is vouched for");
    assert_eq!(entry.source(), &Source::Peer(peer(1).to_string()));
    assert_eq!(entry.info(), &files.info[..]);
    assert_eq!(entry.go_mod().h1(), &H1Hash::of_go_mod(&files.go_mod));
    let stats = c.stats();
    assert!(stats.go_processes_started >= 1, "the VCS was asked first");
    assert_eq!((stats.peer_fills, stats.fills_stored), (1, 1));
    assert_eq!(
        stats.peer_bytes,
        (files.info.len() + files.go_mod.len()) as u64,
        "the zip was not fetched"
    );
    let own = c.fetcher.own_signer().unwrap();
    let mine = c.fetcher.index().records().get(&module(), &version(), &own);
    let mine = mine.unwrap().unwrap();
    assert_eq!(mine.record().fields().zip, None, "signed as .mod-only");

    let zip = c.get().await.unwrap_err();
    assert!(
        zip.to_string().contains("vouches only for the .mod"),
        "{zip}"
    );
    let again = c.stats();
    assert_eq!(
        (again.peer_bytes, again.peer_fills),
        (stats.peer_bytes, 1),
        "the held .mod was not fetched again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mod_only_claim_is_not_filled_from_a_peer_whose_mod_differs() {
    let lying = Files {
        go_mod: b"module example.com/m\n\nrequire example.com/evil v1.0.0\n".to_vec(),
        ..honest()
    };
    let (c, _a) = mod_only_client(lying).await;

    let err = c.get_mod().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(c.stored().is_none(), "nothing of the liar was stored");
    let stats = c.stats();
    assert_eq!((stats.peer_mismatches, stats.peer_fills), (1, 0));
    assert_eq!(c.bad(), vec![peer(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mod_only_claim_is_not_acted_on_before_the_vcs() {
    let (c, _a) = mod_only_client(honest()).await;
    assert!(c.fill_from_peers(VERSION, PeerClaim::Full).await.is_none());
    assert_eq!(c.stats().peer_bytes, 0, "no peer was asked");
}

/// Serves the `.mod` and `.info` but has no zip.
struct WithoutZip(MemBlobs);

impl BlobSource for WithoutZip {
    fn open<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<Option<Blob>, SourceError>> {
        match request.kind() {
            BlobKind::Zip => async { Ok(None) }.boxed(),
            _ => self.0.open(request),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_claim_is_asked_for_once_even_when_the_vcs_fails_after_it() {
    let files = honest();
    let (_a, addr) = server_of(1, Arc::new(WithoutZip(MemBlobs(files.clone())))).await;
    let c = client(&[1], 2, &[record(&key(1), &files)], &[addr]).await;

    let err = c.get_mod().await.unwrap_err();
    assert!(err.is_not_found(), "GOPROXY=off: {err}");
    let stats = c.stats();
    assert!(stats.go_processes_started >= 1, "the VCS was asked");
    assert_eq!(
        stats.peer_bytes,
        (files.info.len() + files.go_mod.len()) as u64,
        "the peer's .mod and .info were fetched once, not again as a .mod-only fill"
    );
    assert!(c.stored().is_none());
}
