//! [`ExpiringPeers`]: a bounded set of peers, each remembered for a while. The fetcher keeps
//! the peers that sent bytes which did not match the trusted hashes in one (not asked again
//! until their entry expires); the pool handle keeps the peers that do not speak sync
//! version 2 in another (asked over version 1 at once).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// A bounded map of peers to when their entry expires.
#[derive(Debug)]
pub(crate) struct ExpiringPeers {
    until: Mutex<HashMap<PeerId, Instant>>,
    lifetime: Duration,
    capacity: usize,
}

impl ExpiringPeers {
    /// Peers are remembered for `lifetime` after they were marked; at most `capacity` at once.
    pub(crate) fn new(lifetime: Duration, capacity: usize) -> ExpiringPeers {
        ExpiringPeers {
            until: Mutex::new(HashMap::new()),
            lifetime,
            capacity: capacity.max(1),
        }
    }

    /// Remembers `peer` from now on (again, if it was). When full, expired entries go first,
    /// then the one closest to expiry.
    pub(crate) fn mark(&self, peer: PeerId) {
        let now = Instant::now();
        let mut until = self.lock();
        if until.len() >= self.capacity && !until.contains_key(&peer) {
            until.retain(|_, expiry| *expiry > now);
            if until.len() >= self.capacity {
                let soonest = until.iter().min_by_key(|(_, e)| **e).map(|(p, _)| *p);
                if let Some(soonest) = soonest {
                    until.remove(&soonest);
                }
            }
        }
        until.insert(peer, now + self.lifetime);
    }

    /// Forgets `peer`.
    pub(crate) fn unmark(&self, peer: &PeerId) {
        self.lock().remove(peer);
    }

    /// Whether `peer` is marked and its entry has not expired.
    pub(crate) fn is_marked(&self, peer: &PeerId) -> bool {
        self.lock()
            .get(peer)
            .is_some_and(|expiry| *expiry > Instant::now())
    }

    /// The number of peers marked now.
    pub(crate) fn count(&self) -> u64 {
        let now = Instant::now();
        self.lock().values().filter(|expiry| **expiry > now).count() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PeerId, Instant>> {
        // The map stays consistent even if a holder panicked: every update is one call.
        self.until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_peer_is_remembered_until_its_entry_expires() {
        let bad = ExpiringPeers::new(Duration::from_millis(50), 8);
        let (liar, other) = (PeerId::random(), PeerId::random());
        bad.mark(liar);
        assert!(bad.is_marked(&liar) && !bad.is_marked(&other));
        assert_eq!(bad.count(), 1);
        std::thread::sleep(Duration::from_millis(80));
        assert!(!bad.is_marked(&liar));
        assert_eq!(bad.count(), 0);
    }

    #[test]
    fn an_unmarked_peer_is_forgotten() {
        let peers = ExpiringPeers::new(Duration::from_secs(60), 8);
        let peer = PeerId::random();
        peers.mark(peer);
        peers.unmark(&peer);
        assert!(!peers.is_marked(&peer));
        assert_eq!(peers.count(), 0);
    }

    #[test]
    fn the_map_stays_within_its_capacity() {
        let bad = ExpiringPeers::new(Duration::from_secs(60), 3);
        let peers: Vec<PeerId> = (0..5).map(|_| PeerId::random()).collect();
        for peer in &peers {
            bad.mark(*peer);
        }
        assert_eq!(bad.count(), 3);
        assert!(bad.is_marked(&peers[4]), "the newest entry is kept");
        assert!(!bad.is_marked(&peers[0]), "the oldest entry made room");
    }
}
