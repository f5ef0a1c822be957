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
