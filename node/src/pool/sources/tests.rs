//! `StoreSources` over a real store: public files are served exactly, private modules and
//! missing zips answer "not found", and private records never leave through the feed.

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, Source};
use delos_pool_protocol::signing::NodeKey;
use delos_pool_protocol::version::Version;
use delos_registry_index::{HashedBlob, Sharing};
use tokio::io::AsyncReadExt;

use super::*;

const INFO: &[u8] = br#"{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}"#;

fn module(path: &str) -> delos_pool_protocol::module_path::ModulePath {
    delos_pool_protocol::module_path::ModulePath::parse(path).unwrap()
}

/// Pins a `.mod`-only `path@v1.0.0` whose go.mod is `module <path>`.
fn pin_mod_only(index: &Index, path: &str) -> Vec<u8> {
    let go_mod = format!("module {path}\n").into_bytes();
    let blob = index.blobs().write(go_mod.as_slice()).unwrap();
    let entry = VersionEntry::new(
        INFO.to_vec(),
        HashedBlob::new(blob, H1Hash::of_go_mod(&go_mod)),
        1_767_225_600,
        delos_registry_index::Source::Vcs,
    );
    let version = Version::parse("v1.0.0").unwrap();
    index.store(&module(path), &version, entry).unwrap();
    go_mod
}

fn record_of(path: &str) -> delos_pool_protocol::signing::VerifiedRecord {
    let fields = RecordFields {
        module: module(path),
        version: Version::parse("v1.0.0").unwrap(),
        go_mod_h1: H1Hash::of_go_mod(format!("module {path}\n").as_bytes()),
        zip: None,
        info_time: InfoTime::parse("2026-01-01T00:00:00Z").unwrap(),
        source: Source::Import,
        obtained_at: 1_767_225_600,
    };
    let key = NodeKey::from_secret_bytes([3; 32]);
    let signed = key.sign(&ProvenanceRecord::new(fields).unwrap()).unwrap();
    signed.verify().unwrap()
}

async fn read(sources: &StoreSources, path: &str, kind: BlobKind) -> Option<Vec<u8>> {
    let version = Version::parse("v1.0.0").unwrap();
    let request = TransferRequest::new(module(path), version, kind).unwrap();
    let blob = sources.open(&request).await.unwrap()?;
    let mut bytes = Vec::new();
    let mut reader = blob.reader;
    reader.read_to_end(&mut bytes).await.unwrap();
    assert_eq!(bytes.len() as u64, blob.length);
    Some(bytes)
}

#[tokio::test]
async fn public_files_are_served_and_private_ones_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let index = Arc::new(Index::open(dir.path()).unwrap());
    let go_mod = pin_mod_only(&index, "example.com/m");
    pin_mod_only(&index, "corp.example/secret");
    let private = PrivatePatterns::from_patterns(["corp.example"]);
    let sources = StoreSources::new(Arc::clone(&index), private);
    assert_eq!(
        read(&sources, "example.com/m", BlobKind::Mod).await,
        Some(go_mod)
    );
    let info = read(&sources, "example.com/m", BlobKind::Info).await;
    assert_eq!(info.as_deref(), Some(INFO));
    assert_eq!(read(&sources, "example.com/m", BlobKind::Zip).await, None);
    assert_eq!(
        read(&sources, "example.com/none", BlobKind::Mod).await,
        None
    );
    for kind in [BlobKind::Info, BlobKind::Mod] {
        assert_eq!(read(&sources, "corp.example/secret", kind).await, None);
    }
}

#[tokio::test]
async fn the_feed_leaves_out_records_of_private_modules() {
    let dir = tempfile::tempdir().unwrap();
    let index = Arc::new(Index::open(dir.path()).unwrap());
    // Stored as public before the module became private (patterns changed since).
    for path in ["corp.example/secret", "example.com/m"] {
        index
            .records()
            .insert(&record_of(path), Sharing::Public)
            .unwrap();
    }
    let private = PrivatePatterns::from_patterns(["corp.example"]);
    let sources = StoreSources::new(Arc::clone(&index), private);
    let page = sources.page(0, 10).await.unwrap();
    assert_eq!(page.head_seq, 2);
    let seqs: Vec<u64> = page.items.iter().map(|item| item.seq).collect();
    assert_eq!(seqs, vec![2]);
    assert_eq!(page.items[0].record, *record_of("example.com/m").signed());
}
