//! The node's [`Pool`] as the fill path's [`PeerFillHooks`]: announcements and peer counters go
//! to the pool (`PoolStats`), which `/status` and `/metrics` show.

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
        self.stats().record_bad_peer();
    }

    fn bytes_from_peers(&self, bytes: u64) {
        self.stats().add_bytes_from_peers(bytes);
    }
}
