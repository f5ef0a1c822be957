//! Transfer: 20 MiB byte-exact over TCP and QUIC, size limits, not found, busy.

use super::*;

/// 20 MiB of bytes that are not all alike.
fn big_blob() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..20 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn zip_request(version: &str) -> TransferRequest {
    TransferRequest::new(
        ModulePath::parse("example.com/big").unwrap(),
        Version::parse(version).unwrap(),
        BlobKind::Zip,
    )
    .unwrap()
}

/// Transfers a 20 MiB blob A→B over one transport, then checks the limits.
async fn transfer_over(quic: bool) {
    let blob = Arc::new(big_blob());
    let mut blobs = MemBlobs::default();
    let key = (
        "example.com/big".to_owned(),
        "v1.0.0".to_owned(),
        BlobKind::Zip,
    );
    blobs.0.insert(key, blob.clone());
    let mut config = no_discovery("t-transfer");
    config.listen.retain(|addr| is_quic(addr) == quic);
    let a = start(1, config.clone(), blobs, MemFeed::default());
    let b = plain(2, config);
    b.handle.dial(a.addr(quic).await).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let fetch = FetchRequest {
        request: zip_request("v1.0.0"),
        dest: dir.path().join("got.zip"),
        max_bytes: BlobKind::Zip.max_bytes(),
        timeout: Duration::from_secs(20),
    };
    let length = b.handle.fetch(a.peer_id(), &fetch).await.unwrap();
    assert_eq!(length, blob.len() as u64);
    assert!(std::fs::read(&fetch.dest).unwrap() == *blob, "bytes differ");

    let small = FetchRequest {
        dest: dir.path().join("refused.zip"),
        max_bytes: (blob.len() - 1) as u64,
        ..fetch.clone()
    };
    let err = b.handle.fetch(a.peer_id(), &small).await.unwrap_err();
    assert!(matches!(err, TransferError::TooLarge { length, .. } if length == blob.len() as u64));
    let missing = FetchRequest {
        request: zip_request("v9.9.9"),
        dest: dir.path().join("missing.zip"),
        ..fetch
    };
    let err = b.handle.fetch(a.peer_id(), &missing).await.unwrap_err();
    assert!(matches!(err, TransferError::NotFound { .. }), "{err:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the fetched file remains: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mib_blob_crosses_tcp_byte_exact_within_limits() {
    transfer_over(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mib_blob_crosses_quic_byte_exact_within_limits() {
    transfer_over(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_its_serving_limit_answers_busy() {
    let mut blobs = MemBlobs::default();
    let key = (
        "example.com/big".to_owned(),
        "v1.0.0".to_owned(),
        BlobKind::Zip,
    );
    blobs.0.insert(key, Arc::new(vec![1, 2, 3]));
    let config = P2pConfig {
        max_concurrent_serves: 0,
        ..no_discovery("t-busy")
    };
    let a = start(1, config, blobs, MemFeed::default());
    let b = plain(2, no_discovery("t-busy"));
    b.handle.dial(a.addr(false).await).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fetch = FetchRequest {
        request: zip_request("v1.0.0"),
        dest: dir.path().join("busy.zip"),
        max_bytes: 10,
        timeout: Duration::from_secs(5),
    };
    let err = b.handle.fetch(a.peer_id(), &fetch).await.unwrap_err();
    assert!(matches!(err, TransferError::Busy { .. }), "{err:?}");
    assert!(!fetch.dest.exists());
}

/// `n` distinct small zips of `example.com/big`, as `v1.0.<i>`; returns them in order too.
fn many_blobs(n: u8) -> (MemBlobs, Vec<Arc<Vec<u8>>>) {
    let mut blobs = MemBlobs::default();
    let mut contents = Vec::new();
    for i in 0..n {
        let bytes = Arc::new(vec![i; 4096 + usize::from(i) * 1000]);
        let key = (
            "example.com/big".to_owned(),
            format!("v1.0.{i}"),
            BlobKind::Zip,
        );
        blobs.0.insert(key, bytes.clone());
        contents.push(bytes);
    }
    (blobs, contents)
}

/// Fetches every file of `contents` from `server` at once, through `client`'s handle
/// (retrying as the pool layer does) or `once` (a single attempt each, so a lost stream is a
/// failure); asserts that every fetch delivered its exact bytes.
async fn fetch_all_at_once(
    client: &TestNode,
    server: PeerId,
    contents: &[Arc<Vec<u8>>],
    once: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let fetches = (0..contents.len()).map(|i| {
        let fetch = FetchRequest {
            request: zip_request(&format!("v1.0.{i}")),
            dest: dir.path().join(format!("{i}.zip")),
            max_bytes: BlobKind::Zip.max_bytes(),
            timeout: Duration::from_secs(20),
        };
        let handle = &client.handle;
        async move {
            let result = if once {
                let protocol = handle.transfer_protocol.clone();
                let control = handle.control.clone();
                crate::p2p::transfer::fetch(control, &handle.gates, protocol, server, &fetch).await
            } else {
                handle.fetch(server, &fetch).await
            };
            (result, fetch.dest)
        }
    });
    let results = futures::future::join_all(fetches).await;
    let failed: Vec<_> = results
        .iter()
        .enumerate()
        .filter_map(|(i, (r, _))| r.as_ref().err().map(|e| format!("{i}: {e:?}")))
        .collect();
    let total = contents.len();
    assert!(
        failed.is_empty(),
        "{} of {total} failed: {failed:#?}",
        failed.len()
    );
    for ((_, dest), expected) in results.iter().zip(contents) {
        assert!(
            std::fs::read(dest).unwrap() == **expected,
            "bytes differ in {dest:?}"
        );
    }
}

/// A burst of concurrent fetches from one node right after connecting (what `go build` causes
/// through a node filling many modules at once): each delivers its exact bytes at the first
/// attempt. libp2p-stream drops an inbound stream that arrives before the server's accept loop
/// took the previous one; one handshake at a time per peer keeps a node from colliding with
/// itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_fetches_from_one_node_loses_no_stream() {
    let (blobs, contents) = many_blobs(32);
    let a = start(
        1,
        no_discovery("t-transfer-burst"),
        blobs,
        MemFeed::default(),
    );
    let b = plain(2, no_discovery("t-transfer-burst"));
    b.handle.dial(a.addr(false).await).await.unwrap();
    fetch_all_at_once(&b, a.peer_id(), &contents, true).await;
}

/// Bursts from three nodes at one server at once can still collide there; the streams lost
/// that way are asked again, and every fetch delivers its exact bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_from_several_nodes_at_once_all_deliver() {
    let (blobs, contents) = many_blobs(16);
    let a = start(
        1,
        no_discovery("t-transfer-bursts"),
        blobs,
        MemFeed::default(),
    );
    let clients: Vec<_> = (2..5)
        .map(|seed| plain(seed, no_discovery("t-transfer-bursts")))
        .collect();
    let addr = a.addr(false).await;
    for client in &clients {
        client.handle.dial(addr.clone()).await.unwrap();
    }
    let bursts = clients
        .iter()
        .map(|client| fetch_all_at_once(client, a.peer_id(), &contents, false));
    futures::future::join_all(bursts).await;
}
