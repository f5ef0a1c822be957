//! The node's [`Pool`] as the fill path's [`PeerFillHooks`]: announcements go to the pool. The
//! fill path counts bad peers and bytes from peers itself (once); the pool section of
//! `/status` and `/metrics` reports those counts.

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::PeerId;

use super::PeerFillHooks;
use crate::pool::Pool;

impl PeerFillHooks for Pool {
    fn announce_own<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, ()> {
        Pool::announce_own(self, module, version).boxed()
    }

    fn bad_peer(&self, _peer: PeerId) {
        // Counted by the fill path already; the pool keeps no list of bad peers.
    }

    fn bytes_from_peers(&self, _bytes: u64) {
        // Counted by the fill path already.
    }
}
