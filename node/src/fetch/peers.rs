//! [`PeerSource`]: the pool as the miss path sees it. `fetch` defines it and knows nothing else
//! of the pool or the network; `crate::pool` implements it and is attached with
//! [`Fetcher::attach_peers`](super::Fetcher::attach_peers). Also how the miss path consults
//! it (`Inner`'s peer methods).

use std::sync::Arc;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::version::Version;
use futures::future::BoxFuture;

use super::Inner;
use super::filled::{Filled, FilledFrom};
use super::from_vcs::Request;
use super::pinned_zips::PinnedZips;

/// Which accepted claim a fill from peers acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerClaim {
    /// A claim with a zip hash: the whole version (what a fill tries before the VCS).
    Full,
    /// A claim without one (what a fill tries when the VCS could not help): the `.mod` and
    /// `.info` are taken, the zip stays unavailable. A full claim is not asked for again
    /// here: its peers were just tried.
    ModOnly,
}

/// What trusted members answered when asked to fill a version for this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RemoteFill {
    /// A member filled it whole; its record is stored: a full fill from peers now works.
    Filled,
    /// A member could take only the `.mod`; its record is stored: a `.mod`-only fill works.
    ModOnly,
    /// A member says there is no such version (why).
    NotFound(String),
}

/// Fills from pool peers, and tells the pool what the node vouches for. Only ever asked about
/// canonical versions of public modules: the miss path keeps private ones away.
pub(crate) trait PeerSource: std::fmt::Debug + Send + Sync + 'static {
    /// Fills `module@version` from the first peer whose bytes match hashes the trust policy
    /// accepts for a claim of the kind `claim`, pinned in the store (the first entry stays
    /// pinned); `None` when the pool cannot vouch for it or no peer delivered. The result's
    /// `from` is [`FilledFrom::Peer`](super::filled::FilledFrom::Peer). The zip it pins goes
    /// to `pinned_zips` (when given), mapped as it was written.
    fn fill<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
        claim: PeerClaim,
        pinned_zips: Option<&'a Arc<dyn PinnedZips>>,
    ) -> BoxFuture<'a, Option<Filled>>;

    /// Whether the stored records give an accepted full claim for `module@version` (so a
    /// recent "not found" must not hide it).
    fn vouches<'a>(&'a self, module: &'a ModulePath, version: &'a Version) -> BoxFuture<'a, bool>;

    /// The versions of `module` the stored records vouch for that are not among `pinned`
    /// (the versions the store holds), in semver order (so `list` and `@latest`, which add
    /// the pinned ones, answer on a node without VCS access).
    fn known_versions<'a>(
        &'a self,
        module: &'a ModulePath,
        pinned: &'a [Version],
    ) -> BoxFuture<'a, Vec<Version>>;

    /// Asks members this node trusts, and that fill for others, to fill `module@version` (as
    /// for their own clients), storing the record of the one that did; `None` when none
    /// could be asked or none answered.
    fn fill_through<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Option<RemoteFill>>;

    /// Asks those members for `module`'s version list: `Err(why)` when one says there is no
    /// such module; `None` when none answered.
    fn list_through<'a>(
        &'a self,
        module: &'a ModulePath,
    ) -> BoxFuture<'a, Option<Result<Vec<Version>, String>>>;

    /// Asks those members what `query` of `module` resolves to.
    fn resolve_through<'a>(
        &'a self,
        module: &'a ModulePath,
        query: &'a str,
    ) -> BoxFuture<'a, Option<Result<Version, String>>>;

    /// Announces the node's own record, just signed and stored, to the pool (publish and
    /// provide). Returns at once; the announcement runs in the background.
    fn announce_own(&self, record: VerifiedRecord);

    /// How many peers are skipped now for having sent mismatching bytes.
    fn bad_peers(&self) -> u64;
}

/// Where the epilogue hands every version a fill left pinned whole: the node's checksum
/// database log, which `crate::checksum_db` implements. Must not block.
pub(crate) trait PinLog: std::fmt::Debug + Send + Sync + 'static {
    /// `module@version` is pinned with its zip (and stays so).
    fn pinned(&self, module: &ModulePath, version: &Version);
}

/// Why the zip of a `.mod`-only entry is unavailable when its pin came from peers (or was
/// held) and the VCS could not build it now.
pub(crate) const ONLY_MOD_VOUCHED: &str = "the pool vouches only for the .mod (its signers \
                                           could not build the zip) and this node could not \
                                           fetch it";

/// How the miss path consults the pool: only when one is attached, for public modules and
/// canonical versions.
impl Inner {
    /// The fill of `request` from peers: when a pool is attached, the module is public and the
    /// request names a canonical version.
    pub(super) async fn fill_from_peers(
        &self,
        request: &Request,
        claim: PeerClaim,
    ) -> Option<Filled> {
        let (peers, version) = self.peer_target(request)?;
        peers
            .fill(&request.module, &version, claim, self.pinned_zips.get())
            .await
    }

    /// What trusted members that fill for others answer for `request`, when this node may ask
    /// them at all: a pool is attached, the module is public, the version canonical, and the
    /// fill is not itself one asked by a member (no member asks on a member's behalf).
    pub(super) async fn fill_through_peers(&self, request: &Request) -> Option<RemoteFill> {
        if request.for_peer {
            return None;
        }
        let (peers, version) = self.peer_target(request)?;
        peers.fill_through(&request.module, &version).await
    }

    /// The pool, when `module` may be asked about over it (attached, public module).
    pub(super) fn peers_for(&self, module: &ModulePath) -> Option<&Arc<dyn PeerSource>> {
        self.peers
            .get()
            .filter(|_| !self.private.matches(module.as_str()))
    }

    /// Whether peers vouch for the whole of `request` (so a recent "not found" must not hide it).
    pub(super) async fn peers_vouch(&self, request: &Request) -> bool {
        match self.peer_target(request) {
            Some((peers, version)) => peers.vouches(&request.module, &version).await,
            None => false,
        }
    }

    /// The versions of `module` the pool vouches for beside the `pinned` ones; none without a
    /// pool or for a private module.
    pub(super) async fn peer_versions(
        &self,
        module: &ModulePath,
        pinned: &[Version],
    ) -> Vec<Version> {
        match self.peers.get() {
            Some(peers) if !self.private.matches(module.as_str()) => {
                peers.known_versions(module, pinned).await
            }
            _ => Vec::new(),
        }
    }

    /// The pool and the canonical version, when `request` may be filled from peers at all.
    pub(super) fn peer_target(&self, request: &Request) -> Option<(&Arc<dyn PeerSource>, Version)> {
        let peers = self.peers.get()?;
        if self.private.matches(request.module.as_str()) {
            return None;
        }
        let version = Version::parse(&request.query)
            .ok()
            .filter(Version::is_canonical)?;
        Some((peers, version))
    }

    /// The `.mod`-only entry the store holds for `request` already: what a `.mod`-only fill
    /// from peers would give again, so no peer is asked and nothing is signed again.
    pub(super) async fn held_mod_only(&self, request: &Request) -> Option<Filled> {
        let version = Version::parse(&request.query)
            .ok()
            .filter(Version::is_canonical)?;
        let entry = self.stored(&request.module, &version).await.ok()??;
        (!entry.is_full()).then(|| Filled {
            version,
            entry,
            zip_problem: Some(ONLY_MOD_VOUCHED.to_owned()),
            from: FilledFrom::Store,
            pinned_is_ours: false,
        })
    }
}
