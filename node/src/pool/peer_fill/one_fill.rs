//! [`PeerFill`]: one fill from peers — the records and the trust verdict, the candidates in
//! order, and each peer's files downloaded, checked and stored until one peer delivers.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use delos_pool_protocol::messages::{BlobKind, TransferRequest};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::{ClaimedHashes, Verdict};
use delos_pool_protocol::version::Version;
use libp2p::PeerId;

use super::candidates::{Candidate, order};
use super::scanning_sink::ScanningSink;
use super::store::{PeerFiles, SmallFiles, store_mod_only, verify_and_store};
use super::verify::{Expected, Mismatch};
use super::{PROVIDERS_TIMEOUT, PoolPeers, SMALL_FILE_TIMEOUT, ZIP_TIMEOUT};
use crate::fetch::{Counters, FetchError, Filled, PeerClaim, PinnedZips};
use crate::p2p::{TransferError, with_retries};

/// One fill from peers, with what it borrows from the pool's [`PoolPeers`].
pub(super) struct PeerFill<'a> {
    pub(super) link: &'a PoolPeers,
    /// Where the pinned zip goes, mapped as it was written (`None`: nowhere).
    pub(super) pinned_zips: Option<&'a Arc<dyn PinnedZips>>,
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
    /// cannot vouch for it (a claim of the kind `claim` allows) or no peer delivered. Returns
    /// the peer that delivered.
    pub(super) async fn run(
        &self,
        module: &ModulePath,
        version: &Version,
        claim: PeerClaim,
    ) -> Option<Filled> {
        let records = self.records(module, version).await?;
        let expected = self.expected(module, version, &records, claim)?;
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
            Some(records) => self
                .expected(module, version, &records, PeerClaim::Full)
                .is_some(),
            None => false,
        }
    }

    /// The stored records of `module@version`.
    async fn records(&self, module: &ModulePath, version: &Version) -> Option<Vec<VerifiedRecord>> {
        let (index, m, v) = (
            Arc::clone(&self.link.index),
            module.clone(),
            version.clone(),
        );
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

    /// What the files must be, when the trust policy accepts a claim of the kind `claim`.
    fn expected(
        &self,
        module: &ModulePath,
        version: &Version,
        records: &[VerifiedRecord],
        claim: PeerClaim,
    ) -> Option<Expected> {
        match self.link.trust.verdict(module, version, records) {
            Verdict::Accepted {
                hashes, vouched_by, ..
            } if hashes.zip_h1.is_some() == (claim == PeerClaim::Full) => Some(Expected::new(
                module.clone(),
                version.clone(),
                hashes,
                &vouched_by,
                records,
            )),
            verdict => {
                tracing::debug!(%module, %version, ?verdict, ?claim, "the pool cannot vouch for a fill");
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
        let fresh = peers.filter(|p| !tried.contains(p) && !self.link.bad.is_marked(p));
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
    ) -> Option<Filled> {
        let (module, version) = (&expected.module, &expected.version);
        for candidate in candidates {
            let peer = candidate.peer;
            tried.insert(peer);
            match self.try_peer(peer, expected).await {
                Ok(filled) => {
                    tracing::info!(%module, %version, %peer, "filled from a peer");
                    return Some(filled);
                }
                Err(PeerFailure::Unavailable(err)) => {
                    let error = crate::error_chain::error_chain(&err);
                    tracing::debug!(%module, %version, %peer, %error, "peer could not deliver");
                }
                Err(PeerFailure::Mismatch(err)) => {
                    Counters::bump(&self.link.counters.peer_mismatches);
                    self.link.bad.mark(peer);
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

    /// Downloads and checks the three files from `peer` (the `.mod` and `.info` only when
    /// only they are vouched for), then stores them.
    async fn try_peer(&self, peer: PeerId, expected: &Expected) -> Result<Filled, PeerFailure> {
        let started = Instant::now();
        let go_mod = self
            .download(peer, expected, BlobKind::Mod, in_memory)
            .await?;
        let go_mod_h1 = expected
            .check_go_mod(&go_mod)
            .map_err(PeerFailure::Mismatch)?;
        let info = self
            .download(peer, expected, BlobKind::Info, in_memory)
            .await?;
        expected.check_info(&info).map_err(PeerFailure::Mismatch)?;
        let small = SmallFiles {
            info,
            go_mod,
            go_mod_h1,
            peer,
        };
        if expected.hashes.zip_h1.is_none() {
            let (index, checked) = (Arc::clone(&self.link.index), expected.clone());
            return tokio::task::spawn_blocking(move || store_mod_only(&index, &checked, small))
                .await
                .map_err(|_| PeerFailure::Local(FetchError::TaskFailed))?
                .map_err(PeerFailure::Local);
        }
        let blobs = self.link.index.blobs();
        let zip = self.download(peer, expected, BlobKind::Zip, || ScanningSink::new(blobs));
        let zip = zip.await?;
        let transfer = started.elapsed();
        let files = PeerFiles { small, zip };
        let (index, checked) = (Arc::clone(&self.link.index), expected.clone());
        let zips = self.pinned_zips.cloned();
        let (filled, timings) =
            tokio::task::spawn_blocking(move || verify_and_store(&index, &checked, files, zips))
                .await
                .map_err(|_| PeerFailure::Local(FetchError::TaskFailed))??;
        self.link
            .counters
            .peer_fill_time(transfer, timings.verify, timings.store);
        tracing::debug!(module = %expected.module, version = %expected.version, %peer,
            ?transfer, verify = ?timings.verify, store = ?timings.store, "peer fill timings");
        Ok(filled)
    }

    /// One transfer from `peer` into a fresh sink from `sink` per attempt, asked again as the
    /// pool's one retry policy says (`p2p::retry`: a stream lost in a burst at once, a busy
    /// peer or a broken stream after a pause). A sink that cannot be made is this node's
    /// failure and ends the attempts.
    async fn fetch_with_retries<W, E>(
        &self,
        peer: PeerId,
        request: &TransferRequest,
        bounds: (u64, Duration),
        sink: impl Fn() -> Result<W, E>,
    ) -> Result<(u64, W), PeerFailure>
    where
        W: crate::p2p::PieceSink,
        E: Into<FetchError>,
    {
        let (handle, sink) = (&self.link.handle, &sink);
        let attempt = || async move {
            match sink() {
                Ok(sink) => handle.fetch_to(peer, request, bounds, sink).await.map(Ok),
                // Not the peer's failure: handed out of the retry loop as an answer.
                Err(err) => Ok(Err(err.into())),
            }
        };
        match with_retries(attempt).await {
            Ok(Ok(fetched)) => Ok(fetched),
            Ok(Err(local)) => Err(PeerFailure::Local(local)),
            Err(err) => Err(PeerFailure::Unavailable(err)),
        }
    }

    /// Fetches one file of `expected`'s version from `peer` into a sink made by `sink`.
    async fn download<W, E>(
        &self,
        peer: PeerId,
        expected: &Expected,
        kind: BlobKind,
        sink: impl Fn() -> Result<W, E>,
    ) -> Result<W, PeerFailure>
    where
        W: crate::p2p::PieceSink,
        E: Into<FetchError>,
    {
        let request = TransferRequest::new(expected.module.clone(), expected.version.clone(), kind)
            .map_err(|err| PeerFailure::Local(FetchError::WorkArea(std::io::Error::other(err))))?;
        let timeout = match kind {
            BlobKind::Zip => ZIP_TIMEOUT,
            _ => SMALL_FILE_TIMEOUT,
        };
        let bounds = (kind.max_bytes(), timeout);
        let (received, written) = self
            .fetch_with_retries(peer, &request, bounds, sink)
            .await?;
        self.link.counters.peer_bytes.inc_by(received);
        self.link.hooks.bytes_from_peers(received);
        Ok(written)
    }
}

/// A sink for a `.mod` or `.info`, which the transfer already bounds to a few MiB.
fn in_memory() -> Result<Vec<u8>, FetchError> {
    Ok(Vec::new())
}
