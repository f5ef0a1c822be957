//! [`PeerFill`]: one fill from peers — the records and the trust verdict, the candidates in
//! order, and each peer's files downloaded, checked and stored until one peer delivers.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use delos_pool_protocol::messages::{BlobKind, TransferRequest};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::{ClaimedHashes, Verdict};
use delos_pool_protocol::version::Version;
use delos_registry_index::Index;
use libp2p::PeerId;

use super::bad_peers::BadPeers;
use super::candidates::{Candidate, order};
use super::store::{PeerFiles, WorkDir, check_zip, read_small, store};
use super::verify::{Expected, Mismatch};
use super::{PROVIDERS_TIMEOUT, PoolLink, SMALL_FILE_TIMEOUT, ZIP_TIMEOUT};
use crate::fetch::error::FetchError;
use crate::fetch::from_vcs::Filled;
use crate::fetch::stats::Counters;
use crate::p2p::TransferError;

/// Pauses before asking the same peer again after a transient transfer failure; one entry per
/// retry, so a flaky stream costs at most their sum before the next peer (or the VCS) is tried.
const TRANSIENT_RETRIES: [std::time::Duration; 2] = [
    std::time::Duration::from_millis(200),
    std::time::Duration::from_millis(800),
];

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
pub(super) enum PeerFailure {
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

    /// Whether the stored records give an accepted full claim for `module@version`.
    pub(super) async fn vouched(&self, module: &ModulePath, version: &Version) -> bool {
        match self.records(module, version).await {
            Some(records) => self.expected(module, version, &records).is_some(),
            None => false,
        }
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
                    let error = crate::error_chain::error_chain(&err);
                    tracing::debug!(%module, %version, %peer, %error, "peer could not deliver");
                }
                Err(PeerFailure::Mismatch(err)) => {
                    Counters::bump(&self.counters.peer_mismatches);
                    self.bad.mark(peer);
                    self.link.hooks.bad_peer(peer);
                    let error = crate::error_chain::error_chain(&err);
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

    /// One transfer from `peer`, asked again (after a short pause) when the stream broke or
    /// the peer was busy: a stream opened just as a connection comes up can fail without the
    /// peer being at fault, and giving up on it would send the miss to the VCS, or to a 404.
    async fn fetch_with_retries(
        &self,
        peer: PeerId,
        request: TransferRequest,
        dest: &Path,
        kind: BlobKind,
        timeout: std::time::Duration,
    ) -> Result<u64, TransferError> {
        let mut attempt = 0;
        loop {
            let result = self
                .link
                .handle
                .fetch_file(
                    peer,
                    request.clone(),
                    dest.to_path_buf(),
                    kind.max_bytes(),
                    timeout,
                )
                .await;
            match result {
                Err(err) if err.is_transient() && attempt < TRANSIENT_RETRIES.len() => {
                    let error = crate::error_chain::error_chain(&err);
                    tracing::debug!(%peer, %error, attempt, "transfer failed; asking the same peer again");
                    tokio::time::sleep(TRANSIENT_RETRIES[attempt]).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
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
        let received = self
            .fetch_with_retries(peer, request, &dest, kind, timeout)
            .await
            .map_err(PeerFailure::Unavailable)?;
        self.counters
            .peer_bytes
            .fetch_add(received, Ordering::Relaxed);
        self.link.hooks.bytes_from_peers(received);
        Ok(dest)
    }
}
