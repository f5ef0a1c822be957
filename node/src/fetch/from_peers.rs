//! Filling a miss from pool peers, before the VCS.
//!
//! 1. The records stored for the module version go through the [`TrustPolicy`]; only an
//!    accepted claim with a zip hash (trusted signer, or a quorum of agreeing signers) is worth
//!    asking peers for, since nothing else could be verified.
//! 2. Candidates are the signers of records that agree with that claim (as PeerIds), then, if
//!    none of them delivers, Kademlia's providers; each list is asked trusted peers first, then
//!    by ping round trip ([`candidates`]). Peers that lied recently are skipped ([`BadPeers`]).
//! 3. From one peer at a time, `.mod`, `.info` and `.zip` are streamed into a private work
//!    directory within [`BlobKind::max_bytes`] and a timeout, and checked ([`verify`]): the
//!    `.mod`'s `h1:`, the `.info`'s `Version` and `Time`, the zip's rules and `h1:`. A peer
//!    whose bytes do not match is logged, counted and marked bad; the next one is asked.
//! 4. Verified bytes are stored (`Source::Peer`), pinned like a VCS fill, then the caller signs
//!    the node's own record (source: that peer) and announces it.

mod bad_peers;
mod candidates;
mod known;
mod pool_hooks;
mod verify;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::messages::{BlobKind, TransferRequest};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::Source as RecordSource;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::{ClaimedHashes, TrustPolicy, Verdict};
use delos_pool_protocol::version::Version;
use delos_pool_protocol::zip::{MAX_ZIP_BYTES, VerifiedZip};
use delos_registry_index::{HashedBlob, Index, IndexError, Sharing, Source, VersionEntry};
use futures::future::BoxFuture;
use libp2p::PeerId;

use super::error::FetchError;
use super::from_vcs::{Filled, Request};
use super::stats::Counters;
use crate::p2p::{PoolHandle, TransferError};

pub(crate) use bad_peers::BadPeers;
pub(crate) use candidates::signer_of;
use candidates::{Candidate, order};
use verify::{Expected, Mismatch};

/// The directory under the fetch work area where peers' files wait to be verified.
const WORK_DIR: &str = "peer-fills";
/// The longest a `.info` or `.mod` transfer may take.
const SMALL_FILE_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest a zip transfer may take.
const ZIP_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest to wait for Kademlia's providers.
const PROVIDERS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a peer that sent mismatching bytes is not asked again.
pub(crate) const BAD_PEER_PENALTY: Duration = Duration::from_secs(600);
/// The most peers remembered as bad.
pub(crate) const BAD_PEER_CAPACITY: usize = 1024;

/// What the fill path tells the pool; the node's pool (`crate::pool::Pool`) implements it.
pub trait PeerFillHooks: std::fmt::Debug + Send + Sync + 'static {
    /// Announces the node's own stored record of `module@version`: publish it on the pool's
    /// topic and provide the version in Kademlia. Never called for private modules.
    fn announce_own<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, ()>;

    /// `peer` sent bytes that do not match the hashes it was asked for.
    fn bad_peer(&self, peer: PeerId);

    /// `bytes` were received from a peer by a transfer (verified or not).
    fn bytes_from_peers(&self, bytes: u64);
}

/// The pool as the fill path sees it: where to fetch from, whose hashes to believe, and whom
/// to tell. Attach it with [`Fetcher::attach_pool`](super::Fetcher::attach_pool).
#[derive(Debug, Clone)]
pub struct PoolLink {
    handle: PoolHandle,
    trust: TrustPolicy,
    hooks: Arc<dyn PeerFillHooks>,
}

impl PoolLink {
    /// Peers are reached through `handle`; their bytes are accepted only for hashes `trust`
    /// accepts; fills are announced and counted through `hooks`.
    pub fn new(handle: PoolHandle, trust: TrustPolicy, hooks: Arc<dyn PeerFillHooks>) -> Self {
        PoolLink {
            handle,
            trust,
            hooks,
        }
    }

    /// The pool handle.
    pub fn handle(&self) -> &PoolHandle {
        &self.handle
    }

    /// The trust policy.
    pub fn trust(&self) -> &TrustPolicy {
        &self.trust
    }

    /// The hooks.
    pub(crate) fn hooks(&self) -> &Arc<dyn PeerFillHooks> {
        &self.hooks
    }
}

impl super::Inner {
    /// The fill of `request` from peers, when a pool is attached, the module is not private
    /// and the request names a canonical version; then signed as the node's record (source:
    /// the peer) and announced. `None`: the VCS is next.
    pub(super) async fn fill_from_peers(self: &Arc<Self>, request: &Request) -> Option<Filled> {
        let link = self.pool.get()?;
        if self.private.matches(request.module.as_str()) {
            return None;
        }
        let version = Version::parse(&request.query)
            .ok()
            .filter(Version::is_canonical)?;
        let work_dir = self.config.work_dir.join(WORK_DIR);
        let fill = PeerFill {
            link,
            index: &self.index,
            work_dir: &work_dir,
            bad: &self.bad_peers,
            counters: &self.counters,
        };
        let (filled, peer) = fill.run(&request.module, &version).await?;
        Counters::bump(&self.counters.fills_stored);
        Counters::bump(&self.counters.peer_fills);
        tracing::info!("filled {}@{version} from peer {peer}", request.module);
        self.sign_peer_fill(&request.module, &filled, peer).await;
        self.announce(&request.module, &filled);
        Some(filled)
    }

    /// Signs and stores the node's record of a peer fill, naming the peer as its source.
    async fn sign_peer_fill(&self, module: &ModulePath, filled: &Filled, peer: PeerId) {
        let (Some(own), Some(signer)) = (self.own_records.clone(), signer_of(&peer)) else {
            return;
        };
        if !filled.pinned_is_ours {
            return;
        }
        let (index, module) = (Arc::clone(&self.index), module.clone());
        let (version, entry) = (filled.version.clone(), filled.entry.clone());
        let signed = tokio::task::spawn_blocking(move || {
            let source = RecordSource::Peer(signer);
            let stored =
                own.sign_and_store_from(&index, &module, &version, &entry, source, Sharing::Public);
            if let Err(err) = stored {
                let error = crate::provenance::error_chain(&err);
                tracing::warn!(%module, %version, %error, "could not record provenance");
            }
        })
        .await;
        if let Err(err) = signed {
            tracing::warn!(error = %err, "provenance task ended abnormally");
        }
    }

    /// Announces the node's record of `filled` in the background (pool attached, module not
    /// private, and the node signed a record for it).
    pub(super) fn announce(&self, module: &ModulePath, filled: &Filled) {
        let Some(link) = self.pool.get() else {
            return;
        };
        if !filled.pinned_is_ours
            || self.own_records.is_none()
            || self.private.matches(module.as_str())
        {
            return;
        }
        let (hooks, module, version) = (
            Arc::clone(link.hooks()),
            module.clone(),
            filled.version.clone(),
        );
        tokio::spawn(async move { hooks.announce_own(&module, &version).await });
    }
}

/// Removes what peer fills left in the work area (a crash, a kill); blocking, at start.
pub(super) fn sweep_work_area(work_dir: &Path) {
    let dir = work_dir.join(WORK_DIR);
    if let Err(err) = std::fs::remove_dir_all(&dir)
        && err.kind() != std::io::ErrorKind::NotFound
    {
        tracing::debug!(dir = %dir.display(), error = %err, "cannot sweep the peer fill area");
    }
}

/// One fill from peers, with what it borrows from the fetcher.
pub(crate) struct PeerFill<'a> {
    pub(crate) link: &'a PoolLink,
    pub(crate) index: &'a Arc<Index>,
    /// Where the per-fill work directories are made.
    pub(crate) work_dir: &'a Path,
    pub(crate) bad: &'a BadPeers,
    pub(crate) counters: &'a Counters,
}

/// Why one peer did not deliver.
enum PeerFailure {
    /// It could not (not reachable, does not have it, busy, too slow): not its fault.
    Unavailable(TransferError),
    /// It sent bytes other than those vouched for.
    Mismatch(Mismatch),
    /// This node failed (work area, store).
    Local(FetchError),
}

impl PeerFill<'_> {
    /// Fills `module@version` from the first peer whose bytes verify; `None` when the pool
    /// cannot vouch for it or no peer delivered. Returns the peer that delivered.
    pub(crate) async fn run(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Option<(Filled, PeerId)> {
        let records = self.records(module, version).await?;
        let expected = self.expected(module, version, &records)?;
        let connected = self.link.handle.connected_peers().await.ok()?;
        let own = self.link.handle.local_peer_id();
        let signers = records
            .iter()
            .filter(|r| !ClaimedHashes::of(r.record()).conflicts(&expected.hashes))
            .filter_map(|r| crate::keys::peer_id_of(&r.signer()));
        let mut tried = HashSet::from([own]);
        let first = self.candidates(signers, &tried, &connected);
        if let Some(done) = self.try_each(first, &expected, &mut tried).await {
            return Some(done);
        }
        let find = self.link.handle.find_providers(module, version);
        let providers = tokio::time::timeout(PROVIDERS_TIMEOUT, find).await;
        let providers = providers.ok()?.ok()?;
        let next = self.candidates(providers.into_iter(), &tried, &connected);
        self.try_each(next, &expected, &mut tried).await
    }

    /// The stored records of `module@version`.
    async fn records(&self, module: &ModulePath, version: &Version) -> Option<Vec<VerifiedRecord>> {
        let (index, m, v) = (Arc::clone(self.index), module.clone(), version.clone());
        let read = tokio::task::spawn_blocking(move || index.records().for_version(&m, &v)).await;
        match read {
            Ok(Ok(records)) if !records.is_empty() => Some(records),
            Ok(Ok(_)) => None,
            Ok(Err(err)) => {
                tracing::warn!(%module, %version, error = %err, "cannot read provenance records");
                None
            }
            Err(_) => None,
        }
    }

    /// What the files must be, when the trust policy accepts a full claim.
    fn expected(
        &self,
        module: &ModulePath,
        version: &Version,
        records: &[VerifiedRecord],
    ) -> Option<Expected> {
        match self.link.trust.verdict(module, version, records) {
            Verdict::Accepted {
                hashes, vouched_by, ..
            } if hashes.zip_h1.is_some() => Some(Expected::new(
                module.clone(),
                version.clone(),
                hashes,
                &vouched_by,
                records,
            )),
            verdict => {
                tracing::debug!(%module, %version, ?verdict, "the pool cannot vouch for a full fill");
                None
            }
        }
    }

    /// `peers` not tried yet and not marked bad, best first.
    fn candidates(
        &self,
        peers: impl Iterator<Item = PeerId>,
        tried: &HashSet<PeerId>,
        connected: &[crate::p2p::ConnectedPeer],
    ) -> Vec<Candidate> {
        let fresh = peers.filter(|p| !tried.contains(p) && !self.bad.is_bad(p));
        order(
            fresh
                .map(|p| Candidate::new(p, &self.link.trust, connected))
                .collect(),
        )
    }

    /// Asks each candidate in turn until one delivers verified bytes.
    async fn try_each(
        &self,
        candidates: Vec<Candidate>,
        expected: &Expected,
        tried: &mut HashSet<PeerId>,
    ) -> Option<(Filled, PeerId)> {
        let (module, version) = (&expected.module, &expected.version);
        for candidate in candidates {
            let peer = candidate.peer;
            tried.insert(peer);
            match self.try_peer(peer, expected).await {
                Ok(filled) => return Some((filled, peer)),
                Err(PeerFailure::Unavailable(err)) => {
                    tracing::debug!(%module, %version, error = %err, "peer could not deliver");
                }
                Err(PeerFailure::Mismatch(err)) => {
                    Counters::bump(&self.counters.peer_mismatches);
                    self.bad.mark(peer);
                    self.link.hooks.bad_peer(peer);
                    let error = crate::provenance::error_chain(&err);
                    tracing::warn!(%module, %version, %peer, %error, "peer sent bytes that do not match the trusted hashes; not asking it again for a while");
                }
                Err(PeerFailure::Local(err)) => {
                    tracing::warn!(%module, %version, error = %err, "storing a peer's files failed");
                    return None;
                }
            }
        }
        None
    }

    /// Downloads and checks the three files from `peer`, then stores them.
    async fn try_peer(&self, peer: PeerId, expected: &Expected) -> Result<Filled, PeerFailure> {
        let dir = WorkDir::create(self.work_dir).map_err(PeerFailure::Local)?;
        let go_mod = self.download(peer, expected, BlobKind::Mod, &dir).await?;
        let go_mod = read_small(&go_mod)?;
        let go_mod_h1 = expected
            .check_go_mod(&go_mod)
            .map_err(PeerFailure::Mismatch)?;
        let info = self.download(peer, expected, BlobKind::Info, &dir).await?;
        let info = read_small(&info)?;
        expected.check_info(&info).map_err(PeerFailure::Mismatch)?;
        let zip = self.download(peer, expected, BlobKind::Zip, &dir).await?;
        let checked = expected.clone();
        let files = PeerFiles {
            info,
            go_mod,
            go_mod_h1,
            zip,
            peer,
        };
        let index = Arc::clone(self.index);
        tokio::task::spawn_blocking(move || {
            let verified = check_zip(&checked, &files.zip)?;
            store(&index, &checked, files, verified).map_err(PeerFailure::Local)
        })
        .await
        .map_err(|_| PeerFailure::Local(FetchError::TaskFailed))?
    }

    /// Fetches one file of `expected`'s version from `peer` into `dir`; returns its path.
    async fn download(
        &self,
        peer: PeerId,
        expected: &Expected,
        kind: BlobKind,
        dir: &WorkDir,
    ) -> Result<PathBuf, PeerFailure> {
        let request = TransferRequest::new(expected.module.clone(), expected.version.clone(), kind)
            .map_err(|err| PeerFailure::Local(FetchError::WorkArea(std::io::Error::other(err))))?;
        let dest = dir.0.join(kind.extension());
        let timeout = match kind {
            BlobKind::Zip => ZIP_TIMEOUT,
            _ => SMALL_FILE_TIMEOUT,
        };
        let handle = &self.link.handle;
        let received = handle
            .fetch_file(peer, request, dest.clone(), kind.max_bytes(), timeout)
            .await
            .map_err(PeerFailure::Unavailable)?;
        self.counters
            .peer_bytes
            .fetch_add(received, Ordering::Relaxed);
        self.link.hooks.bytes_from_peers(received);
        Ok(dest)
    }
}

/// The verified small files and the downloaded zip of one peer.
struct PeerFiles {
    info: Vec<u8>,
    go_mod: Vec<u8>,
    go_mod_h1: H1Hash,
    zip: PathBuf,
    peer: PeerId,
}

/// Checks the downloaded zip against the accepted zip hash; blocking.
fn check_zip(expected: &Expected, zip: &Path) -> Result<VerifiedZip, PeerFailure> {
    let Some(want) = expected.hashes.zip_h1 else {
        let missing = std::io::Error::other("no accepted zip hash");
        return Err(PeerFailure::Local(FetchError::WorkArea(missing)));
    };
    expected.check_zip(zip, want).map_err(PeerFailure::Mismatch)
}

/// Stores verified files and pins the entry (the first entry ever pinned wins); blocking.
fn store(
    index: &Index,
    expected: &Expected,
    files: PeerFiles,
    verified: VerifiedZip,
) -> Result<Filled, FetchError> {
    let go_mod_blob = index.blobs().write(&files.go_mod[..])?;
    let zip = File::open(&files.zip).map_err(FetchError::WorkArea)?;
    let zip_blob = index.blobs().write_limited(zip, MAX_ZIP_BYTES)?;
    if zip_blob.sha256() != &verified.sha256 {
        let changed = std::io::Error::other("the zip changed while it was being stored");
        return Err(FetchError::WorkArea(changed));
    }
    let entry = VersionEntry::new(
        files.info,
        HashedBlob::new(go_mod_blob, files.go_mod_h1),
        now_unix_secs(),
        Source::Peer(files.peer.to_string()),
    )
    .with_zip(HashedBlob::new(zip_blob, verified.h1));
    let produced = entry.claimed_hashes();
    let (module, version) = (&expected.module, &expected.version);
    let entry = match index.store(module, version, entry) {
        Ok(stored) => stored.entry,
        Err(IndexError::Conflict(conflict)) => conflict.existing,
        Err(err) => return Err(err.into()),
    };
    Ok(Filled {
        version: version.clone(),
        pinned_is_ours: !entry.claimed_hashes().conflicts(&produced),
        entry,
        zip_problem: None,
        origin: None,
    })
}

/// Reads a `.info` or `.mod` the transfer already bounded in size.
fn read_small(path: &Path) -> Result<Vec<u8>, PeerFailure> {
    std::fs::read(path).map_err(|err| PeerFailure::Local(FetchError::WorkArea(err)))
}

/// A fresh directory for one peer's files, removed (with what is left in it) when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create(parent: &Path) -> Result<WorkDir, FetchError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(FetchError::WorkArea)?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.0) {
            tracing::debug!(dir = %self.0.display(), error = %err, "cannot remove a peer fill directory");
        }
    }
}

fn now_unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}
