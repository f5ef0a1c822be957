//! [`BadPeers`]: peers that sent bytes which did not match the trusted hashes, left alone for a
//! while.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// A bounded map of peers not to ask until their entry expires.
#[derive(Debug)]
pub(crate) struct BadPeers {
    until: Mutex<HashMap<PeerId, Instant>>,
    penalty: Duration,
    capacity: usize,
}

impl BadPeers {
    /// Peers marked bad are skipped for `penalty`; at most `capacity` are remembered.
    pub(crate) fn new(penalty: Duration, capacity: usize) -> BadPeers {
        BadPeers {
            until: Mutex::new(HashMap::new()),
            penalty,
            capacity: capacity.max(1),
        }
    }

    /// Remembers `peer` as bad from now on. When full, expired entries go first, then the one
    /// closest to expiry.
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
        until.insert(peer, now + self.penalty);
    }

    /// Whether `peer` is marked bad and its entry has not expired.
    pub(crate) fn is_bad(&self, peer: &PeerId) -> bool {
        self.lock()
            .get(peer)
            .is_some_and(|expiry| *expiry > Instant::now())
    }

    /// The number of peers marked bad now.
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
    fn a_marked_peer_is_bad_until_the_penalty_expires() {
        let bad = BadPeers::new(Duration::from_millis(50), 8);
        let (liar, other) = (PeerId::random(), PeerId::random());
        bad.mark(liar);
        assert!(bad.is_bad(&liar) && !bad.is_bad(&other));
        assert_eq!(bad.count(), 1);
        std::thread::sleep(Duration::from_millis(80));
        assert!(!bad.is_bad(&liar));
        assert_eq!(bad.count(), 0);
    }

    #[test]
    fn the_map_stays_within_its_capacity() {
        let bad = BadPeers::new(Duration::from_secs(60), 3);
        let peers: Vec<PeerId> = (0..5).map(|_| PeerId::random()).collect();
        for peer in &peers {
            bad.mark(*peer);
        }
        assert_eq!(bad.count(), 3);
        assert!(bad.is_bad(&peers[4]), "the newest entry is kept");
        assert!(!bad.is_bad(&peers[0]), "the oldest entry made room");
    }
}
