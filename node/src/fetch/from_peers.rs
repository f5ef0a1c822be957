//! Filling a miss from pool peers, before the VCS.
//!
//! 1. The records stored for the module version go through the [`TrustPolicy`]; only an
//!    accepted claim (trusted signer, or a quorum of agreeing signers) is worth asking peers
//!    for, since nothing else could be verified; before the VCS, only one with a zip hash.
//! 2. Candidates are the signers of records that agree with that claim (as PeerIds), then, if
//!    none of them delivers, Kademlia's providers; each list is asked trusted peers first, then
//!    by ping round trip ([`candidates`]). Peers that lied recently are skipped
//!    ([`ExpiringPeers`](crate::p2p::ExpiringPeers)).
//! 3. From one peer at a time, `.mod` and `.info` are streamed into memory and the `.zip`
//!    into the store's temp area (a `StagedBlob`, hashed as it arrives), each within
//!    [`BlobKind::max_bytes`] and a timeout, and checked ([`verify`]): the `.mod`'s `h1:`, the
//!    `.info`'s `Version` and `Time`, the zip's rules and `h1:` (while the disk syncs it). A
//!    peer whose bytes do not match is logged, counted and marked bad; the next one is asked.
//! 4. Verified bytes are stored (`Source::Peer`), pinned like a VCS fill, then the caller signs
//!    the node's own record (source: that peer) and announces it.
//!
//! A claim without a zip hash (its signers could not build the zip: the version needs a newer
//! Go, say) is acted on only after the VCS could not fill the version ([`PeerClaim`]): then
//! the `.mod` and `.info` are taken from peers, checked the same way, and pinned as a
//! `.mod`-only entry, so a node without VCS access still answers the `.mod` that `go` needs
//! for its module graph. A full fill from the VCS stays possible later.

mod candidates;
mod known;
mod peer_fill;
mod pool_hooks;
mod scanning_sink;
mod store;
mod verify;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::Source as RecordSource;
use delos_pool_protocol::trust::TrustPolicy;
use delos_pool_protocol::version::Version;
use delos_registry_index::Sharing;
use futures::future::BoxFuture;
use libp2p::PeerId;

use super::from_vcs::{Filled, Request};
use crate::p2p::PoolHandle;
use crate::telemetry::FillSource;

use candidates::signer_of;
pub(crate) use peer_fill::PeerClaim;
use peer_fill::PeerFill;

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
    /// and the request names a canonical version, acting on accepted claims of the kind
    /// `claim`; then signed as the node's record (source: the peer) and announced. `None`:
    /// the peers could not help.
    pub(super) async fn fill_from_peers(
        self: &Arc<Self>,
        request: &Request,
        claim: PeerClaim,
    ) -> Option<Filled> {
        let (link, version) = self.peer_target(request)?;
        if claim == PeerClaim::ModOnly
            && let Some(held) = self.held_mod_only(&request.module, &version).await
        {
            return Some(held);
        }
        let fill = self.peer_fill(link);
        let (filled, peer) = fill.run(&request.module, &version, claim).await?;
        self.counters.filled(FillSource::Peer);
        tracing::info!("filled {}@{version} from peer {peer}", request.module);
        self.sign_peer_fill(&request.module, &filled, peer).await;
        self.announce(&request.module, &filled);
        Some(filled)
    }

    /// The `.mod`-only entry the store already holds for `module@version`: what a later
    /// `.mod`-only fill would give again, so no peer is asked (and nothing is signed again).
    async fn held_mod_only(&self, module: &ModulePath, version: &Version) -> Option<Filled> {
        let (index, m, v) = (Arc::clone(&self.index), module.clone(), version.clone());
        let held = tokio::task::spawn_blocking(move || index.get(&m, &v)).await;
        let entry = held.ok()?.ok()??;
        (!entry.is_full()).then(|| Filled {
            version: version.clone(),
            entry,
            zip_problem: Some(store::ONLY_MOD_VOUCHED.to_owned()),
            origin: None,
            pinned_is_ours: false,
        })
    }

    /// Whether peers may be asked for `request` now: a pool is attached and `request` is a
    /// canonical version of a public module, and the stored records give an accepted full
    /// claim. A recent "not found" must not hide such a version (its records came since).
    pub(super) async fn pool_vouches(&self, request: &Request) -> bool {
        let Some((link, version)) = self.peer_target(request) else {
            return false;
        };
        let fill = self.peer_fill(link);
        fill.vouched(&request.module, &version).await
    }

    /// The pool and the canonical version, when `request` may be filled from peers at all.
    fn peer_target(&self, request: &Request) -> Option<(&PoolLink, Version)> {
        let link = self.pool.get()?;
        if self.private.matches(request.module.as_str()) {
            return None;
        }
        let version = Version::parse(&request.query)
            .ok()
            .filter(Version::is_canonical)?;
        Some((link, version))
    }

    fn peer_fill<'a>(&'a self, link: &'a PoolLink) -> PeerFill<'a> {
        PeerFill {
            link,
            index: &self.index,
            bad: &self.bad_peers,
            counters: &self.counters,
        }
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
                let error = crate::error_chain::error_chain(&err);
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
