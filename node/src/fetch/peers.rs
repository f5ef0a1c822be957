//! [`PeerSource`]: the pool as the miss path sees it. `fetch` defines it and knows nothing else
//! of the pool or the network; `crate::pool` implements it and is attached with
//! [`Fetcher::attach_peers`](super::Fetcher::attach_peers).

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::version::Version;
use futures::future::BoxFuture;

use super::filled::Filled;

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

/// Fills from pool peers, and tells the pool what the node vouches for. Only ever asked about
/// canonical versions of public modules: the miss path keeps private ones away.
pub(crate) trait PeerSource: std::fmt::Debug + Send + Sync + 'static {
    /// Fills `module@version` from the first peer whose bytes match hashes the trust policy
    /// accepts for a claim of the kind `claim`, pinned in the store (the first entry stays
    /// pinned); `None` when the pool cannot vouch for it or no peer delivered. The result's
    /// `from` is [`FilledFrom::Peer`](super::filled::FilledFrom::Peer).
    fn fill<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
        claim: PeerClaim,
    ) -> BoxFuture<'a, Option<Filled>>;

    /// Whether the stored records give an accepted full claim for `module@version` (so a
    /// recent "not found" must not hide it).
    fn vouches<'a>(&'a self, module: &'a ModulePath, version: &'a Version) -> BoxFuture<'a, bool>;

    /// The versions of `module` the stored records vouch for, in semver order (so `list` and
    /// `@latest` answer on a node without VCS access).
    fn known_versions<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Vec<Version>>;

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
