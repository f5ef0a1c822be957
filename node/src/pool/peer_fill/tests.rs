//! In-process tests of the peer fill: real swarms on loopback (a serving node with its files
//! in memory, honest or tampered), and a real [`Fetcher`] over a real [`Index`] in a temp
//! directory. The VCS fallback runs the real `go` with `GOPROXY=off`, so it never reaches the
//! network and answers "not found".

use std::num::NonZeroU8;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use delos_pool_protocol::provenance::{InfoTime, ProvenanceRecord, RecordFields, ZipFacts};
use delos_pool_protocol::signing::{NodeKey, SignerId};
use delos_pool_protocol::zip::verify_module_zip;
use futures::FutureExt;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::messages::{BlobKind, TransferRequest};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::provenance::Source as RecordSource;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::{ClaimedHashes, TrustPolicy};
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, Sharing, Source, VersionEntry};
use futures::future::BoxFuture;
use libp2p::PeerId;

use super::verify::{Expected, Mismatch};
use super::{PoolHooks, PoolPeers, known};
use crate::fetch::FetchError;
use crate::fetch::{FetchConfig, FetchStats, Fetcher, Want};
use crate::p2p::PoolHandle;
use crate::p2p::{Blob, BlobSource, FeedPage, FeedSource, P2pConfig, SourceError};
use crate::provenance::OwnRecords;

mod checks;
mod fill;
mod known_versions;
mod scanning;

const MODULE: &str = "example.com/m";
const VERSION: &str = "v1.0.0";
const TIME: &str = "2026-01-02T03:04:05Z";
/// The seed of the fetching node's key.
const CLIENT: u8 = 100;

/// A module version's three files.
#[derive(Clone)]
struct Files {
    info: Vec<u8>,
    go_mod: Vec<u8>,
    zip: Vec<u8>,
}

fn module() -> ModulePath {
    ModulePath::parse(MODULE).unwrap()
}

fn version() -> Version {
    Version::parse(VERSION).unwrap()
}

fn key(seed: u8) -> NodeKey {
    NodeKey::from_secret_bytes([seed; 32])
}

fn peer(seed: u8) -> PeerId {
    crate::keys::peer_id(&key(seed))
}

/// A module zip whose `m.go` holds `body`.
fn module_zip(body: &str) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let prefix = format!("{MODULE}@{VERSION}");
    writer
        .start_file(format!("{prefix}/go.mod"), options)
        .unwrap();
    writer.write_all(b"module example.com/m\n").unwrap();
    writer
        .start_file(format!("{prefix}/m.go"), options)
        .unwrap();
    writer.write_all(body.as_bytes()).unwrap();
    writer.finish().unwrap().into_inner()
}

fn honest() -> Files {
    Files {
        info: format!(r#"{{"Version":"{VERSION}","Time":"{TIME}"}}"#).into_bytes(),
        go_mod: b"module example.com/m\n".to_vec(),
        zip: module_zip("package m\n\nconst Answer = 42\n"),
    }
}

/// The honest files with another (valid) zip: its `h1:` differs.
fn tampered_zip() -> Files {
    Files {
        zip: module_zip("package m\n\nconst Answer = 666\n"),
        ..honest()
    }
}

/// `key`'s record vouching for `files`.
fn record(key: &NodeKey, files: &Files) -> VerifiedRecord {
    let zip = verify_module_zip(std::io::Cursor::new(&files.zip), &module(), &version()).unwrap();
    let fields = RecordFields {
        module: module(),
        version: version(),
        go_mod_h1: H1Hash::of_go_mod(&files.go_mod),
        zip: Some(ZipFacts {
            h1: zip.h1,
            sha256: zip.sha256,
            size: zip.size,
        }),
        info_time: InfoTime::parse(TIME).unwrap(),
        source: RecordSource::Import,
        obtained_at: 1_790_000_000,
    };
    let record = ProvenanceRecord::new(fields).unwrap();
    key.sign(&record).unwrap().verify().unwrap()
}

/// Serves one module version's files from memory.
struct MemBlobs(Files);

impl BlobSource for MemBlobs {
    fn open<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<Option<Blob>, SourceError>> {
        let bytes = match request.kind() {
            BlobKind::Info => self.0.info.clone(),
            BlobKind::Mod => self.0.go_mod.clone(),
            BlobKind::Zip => self.0.zip.clone(),
        };
        let blob = Blob {
            length: bytes.len() as u64,
            reader: Box::pin(std::io::Cursor::new(bytes)),
        };
        async move { Ok(Some(blob)) }.boxed()
    }
}

/// An empty feed.
struct NoFeed;

impl FeedSource for NoFeed {
    fn page(&self, _after: u64, _max: u32) -> BoxFuture<'_, Result<FeedPage, SourceError>> {
        let page = FeedPage::default();
        async move { Ok(page) }.boxed()
    }
}

/// What the fill path told the pool.
#[derive(Debug, Default)]
struct Hooks {
    announced: Mutex<Vec<String>>,
    bad: Mutex<Vec<PeerId>>,
    bytes: AtomicU64,
}

impl PoolHooks for Hooks {
    fn announce(&self, record: VerifiedRecord) {
        let (module, version) = (record.record().module(), record.record().version());
        self.announced
            .lock()
            .unwrap()
            .push(format!("{module}@{version}"));
    }

    fn bad_peer(&self, peer: PeerId) {
        self.bad.lock().unwrap().push(peer);
    }

    fn bytes_from_peers(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

fn config() -> P2pConfig {
    P2pConfig::loopback(delos_pool_protocol::messages::PoolName::parse("peerfill-test").unwrap())
}

/// Starts a node with identity `seed` serving `files`; returns its handle and TCP address.
async fn server(seed: u8, files: Files) -> (PoolHandle, Multiaddr) {
    server_of(seed, Arc::new(MemBlobs(files))).await
}

/// [`server`] serving from `blobs`.
async fn server_of(seed: u8, blobs: Arc<dyn BlobSource>) -> (PoolHandle, Multiaddr) {
    let keypair = crate::keys::identity_keypair(&key(seed));
    let (handle, _events, event_loop) =
        crate::p2p::spawn(&keypair, &config(), blobs, Arc::new(NoFeed)).unwrap();
    tokio::spawn(event_loop.run());
    for _ in 0..200 {
        let status = handle.status().await.unwrap();
        let tcp = status
            .listen_addrs
            .iter()
            .find(|a| a.iter().any(|p| matches!(p, Protocol::Tcp(_))));
        if let Some(addr) = tcp {
            let addr = addr.clone().with(Protocol::P2p(handle.local_peer_id()));
            return (handle, addr);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("node {seed} never listened");
}

/// The fetching node: a fetcher over a fresh store holding `records`, attached to a pool
/// connected to `servers`.
struct Client {
    fetcher: Fetcher,
    hooks: Arc<Hooks>,
    peers: Arc<PoolPeers>,
    _handle: PoolHandle,
    _dir: tempfile::TempDir,
}

async fn client(
    trusted: &[u8],
    quorum: u8,
    records: &[VerifiedRecord],
    servers: &[Multiaddr],
) -> Client {
    client_with_private(trusted, quorum, records, servers, &[]).await
}

/// [`client`] with the node's private patterns.
async fn client_with_private(
    trusted: &[u8],
    quorum: u8,
    records: &[VerifiedRecord],
    servers: &[Multiaddr],
    private: &[&str],
) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let index = Arc::new(Index::open(dir.path().join("store")).unwrap());
    for record in records {
        index.records().insert(record, Sharing::Public).unwrap();
    }
    let mut fetch = FetchConfig::new(dir.path().join("work"));
    fetch.upstream = String::from("off");
    fetch.gosumdb = String::from("off");
    fetch.private = PrivatePatterns::from_patterns(private);
    let own = OwnRecords::new(key(CLIENT), "off");
    let fetcher = Fetcher::with_own_records(index, fetch, Some(own)).unwrap();
    let keypair = crate::keys::identity_keypair(&key(CLIENT));
    let (handle, _events, event_loop) =
        crate::p2p::spawn(&keypair, &config(), Arc::new(NoBlobs), Arc::new(NoFeed)).unwrap();
    tokio::spawn(event_loop.run());
    for addr in servers {
        handle.dial(addr.clone()).await.unwrap();
    }
    let trusted: Vec<SignerId> = trusted.iter().map(|s| key(*s).signer_id()).collect();
    let quorum = NonZeroU8::new(quorum).unwrap();
    let trust = TrustPolicy::new(key(CLIENT).signer_id(), trusted, quorum);
    let hooks = Arc::new(Hooks::default());
    let peers = Arc::new(PoolPeers::new(
        handle.clone(),
        trust,
        Arc::clone(fetcher.index()),
        Arc::clone(fetcher.counters()),
        Arc::clone(&hooks) as Arc<dyn PoolHooks>,
    ));
    assert!(fetcher.attach_peers(Arc::clone(&peers) as Arc<dyn crate::fetch::PeerSource>));
    Client {
        fetcher,
        hooks,
        peers,
        _handle: handle,
        _dir: dir,
    }
}

/// Serves nothing.
struct NoBlobs;

impl BlobSource for NoBlobs {
    fn open<'a>(
        &'a self,
        _request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<Option<Blob>, SourceError>> {
        async { Ok(None) }.boxed()
    }
}

impl Client {
    async fn get(&self) -> Result<VersionEntry, FetchError> {
        self.fetcher.version(&module(), &version(), Want::Zip).await
    }

    /// The version as a `.mod` request asks for it (no zip needed).
    async fn get_mod(&self) -> Result<VersionEntry, FetchError> {
        self.fetcher
            .version(&module(), &version(), Want::Metadata)
            .await
    }

    /// The fill of `query` from peers alone, acting on claims of the kind `claim`.
    async fn fill_from_peers(
        &self,
        query: impl Into<String>,
        claim: crate::fetch::PeerClaim,
    ) -> Option<crate::fetch::Filled> {
        let query = query.into();
        self.fetcher
            .fill_from_peers_only(&module(), &query, claim)
            .await
    }

    fn stored(&self) -> Option<VersionEntry> {
        self.fetcher.index().get(&module(), &version()).unwrap()
    }

    fn stats(&self) -> FetchStats {
        self.fetcher.stats()
    }

    fn bad(&self) -> Vec<PeerId> {
        self.hooks.bad.lock().unwrap().clone()
    }
}

fn total_len(files: &Files) -> u64 {
    (files.info.len() + files.go_mod.len() + files.zip.len()) as u64
}

/// `key`'s `.mod`-only record for `module@version`.
fn mod_record(key: &NodeKey, module: &str, version: &str) -> VerifiedRecord {
    let fields = RecordFields {
        module: ModulePath::parse(module).unwrap(),
        version: Version::parse(version).unwrap(),
        go_mod_h1: H1Hash::of_go_mod(format!("module {module}\n").as_bytes()),
        zip: None,
        info_time: InfoTime::parse(TIME).unwrap(),
        source: RecordSource::Import,
        obtained_at: 1_790_000_000,
    };
    let record = ProvenanceRecord::new(fields).unwrap();
    key.sign(&record).unwrap().verify().unwrap()
}
