//! Filling a miss from pool peers: [`PoolPeers`], the pool's [`PeerSource`] (the trait the
//! fill path defines; it keeps the order of sources and the epilogue, see `crate::fetch`).
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
//! 4. Verified bytes are stored (`Source::Peer`), pinned like a VCS fill, and handed back to
//!    the fill path, whose epilogue signs the node's own record (source: that peer) and gives
//!    it to [`PeerSource::announce_own`].
//!
//! A claim without a zip hash (its signers could not build the zip: the version needs a newer
//! Go, say) is acted on only after the VCS could not fill the version ([`PeerClaim`]): then
//! the `.mod` and `.info` are taken from peers, checked the same way, and pinned as a
//! `.mod`-only entry, so a node without VCS access still answers the `.mod` that `go` needs
//! for its module graph. A full fill from the VCS stays possible later.

mod candidates;
pub(crate) use candidates::signer_of;
mod known;
mod one_fill;
mod scanning_sink;
mod store;
mod verify;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::TrustPolicy;
use delos_pool_protocol::version::Version;
use delos_registry_index::Index;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use libp2p::PeerId;

use crate::fetch::{Counters, Filled, PeerClaim, PeerSource, PinnedZips, RemoteFill};
use crate::p2p::{ExpiringPeers, PoolHandle};
use crate::pool::fill_requests::MemberFills;

use one_fill::PeerFill;

/// The longest a `.info` or `.mod` transfer may take.
const SMALL_FILE_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest a zip transfer may take.
const ZIP_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest to wait for Kademlia's providers.
const PROVIDERS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a peer that sent mismatching bytes is not asked again.
const BAD_PEER_PENALTY: Duration = Duration::from_secs(600);
/// The most peers remembered as bad.
const BAD_PEER_CAPACITY: usize = 1024;

/// What a peer fill tells the rest of the node's pool; [`super::Pool`] implements it.
pub(crate) trait PoolHooks: std::fmt::Debug + Send + Sync + 'static {
    /// Announces the node's own record (publish on the pool's topic, provide in Kademlia), in
    /// the background. Never called for private modules.
    fn announce(&self, record: VerifiedRecord);

    /// `peer` sent bytes that do not match the hashes it was asked for.
    fn bad_peer(&self, peer: PeerId);

    /// `bytes` were received from a peer by a transfer (verified or not).
    fn bytes_from_peers(&self, bytes: u64);
}

/// The pool as a source of fills: where to fetch from, whose hashes to believe, whom to tell.
#[derive(Debug)]
pub(crate) struct PoolPeers {
    handle: PoolHandle,
    trust: TrustPolicy,
    index: Arc<Index>,
    counters: Arc<Counters>,
    hooks: Arc<dyn PoolHooks>,
    /// Peers that sent mismatching bytes, not asked again for a while.
    bad: ExpiringPeers,
    /// Trusted members asked to fill what this node cannot (`None`: never asked).
    members: Option<MemberFills>,
}

impl PoolPeers {
    /// Peers reached through `handle`, believed for hashes `trust` accepts; fills are stored
    /// in `index` and counted in the fill path's `counters`; `hooks` hears the rest.
    pub(crate) fn new(
        handle: PoolHandle,
        trust: TrustPolicy,
        index: Arc<Index>,
        counters: Arc<Counters>,
        hooks: Arc<dyn PoolHooks>,
    ) -> Self {
        PoolPeers {
            handle,
            trust,
            index,
            counters,
            hooks,
            bad: ExpiringPeers::new(BAD_PEER_PENALTY, BAD_PEER_CAPACITY),
            members: None,
        }
    }

    /// Asks trusted members through `members` to fill what this node cannot.
    pub(crate) fn with_member_fills(mut self, members: MemberFills) -> Self {
        self.members = Some(members);
        self
    }

    fn one_fill<'a>(&'a self, pinned_zips: Option<&'a Arc<dyn PinnedZips>>) -> PeerFill<'a> {
        PeerFill {
            link: self,
            pinned_zips,
        }
    }
}

impl PeerSource for PoolPeers {
    fn fill<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
        claim: PeerClaim,
        pinned_zips: Option<&'a Arc<dyn PinnedZips>>,
    ) -> BoxFuture<'a, Option<Filled>> {
        async move { self.one_fill(pinned_zips).run(module, version, claim).await }.boxed()
    }

    fn vouches<'a>(&'a self, module: &'a ModulePath, version: &'a Version) -> BoxFuture<'a, bool> {
        async move { self.one_fill(None).vouched(module, version).await }.boxed()
    }

    fn known_versions<'a>(
        &'a self,
        module: &'a ModulePath,
        pinned: &'a [Version],
    ) -> BoxFuture<'a, Vec<Version>> {
        known::versions(&self.index, &self.trust, module, pinned).boxed()
    }

    fn fill_through<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Option<RemoteFill>> {
        async move { self.members.as_ref()?.fill(module, version).await }.boxed()
    }

    fn list_through<'a>(
        &'a self,
        module: &'a ModulePath,
    ) -> BoxFuture<'a, Option<Result<Vec<Version>, String>>> {
        async move { self.members.as_ref()?.list(module).await }.boxed()
    }

    fn resolve_through<'a>(
        &'a self,
        module: &'a ModulePath,
        query: &'a str,
    ) -> BoxFuture<'a, Option<Result<Version, String>>> {
        async move { self.members.as_ref()?.resolve(module, query).await }.boxed()
    }

    fn announce_own(&self, record: VerifiedRecord) {
        self.hooks.announce(record);
    }

    fn bad_peers(&self) -> u64 {
        self.bad.count()
    }
}
