//! [`CatchUp`]: the one peer a node far behind pulls from, so each record is verified once.
//!
//! A node that joins late (or returns from a long partition) finds the same records in every
//! peer's feed. Synced from several peers at once, each record would arrive, and be verified,
//! once per peer before the first copy is stored; the later copies are cheap only once the
//! first is stored (they are then held byte for byte and skipped). So while a sync finds more
//! than [`FAR_BEHIND_RECORDS`] after its cursor, it claims the catch-up; the sync of another
//! peer that is also far behind stops and waits until the claim is released (the claimant's
//! sync reached the end of its peer's feed, or failed), then goes on from its own cursor.

use std::sync::{Mutex, PoisonError};

use libp2p::PeerId;

use super::sync::{MAX_PAGES, PAGE_ITEMS};

/// How far behind a peer's head a sync must be to need the catch-up claim: more than one
/// sync's worth of pages.
pub(crate) const FAR_BEHIND_RECORDS: u64 = MAX_PAGES as u64 * PAGE_ITEMS as u64;

/// The claim on catching up: held by at most one peer's sync at a time.
#[derive(Debug, Default)]
pub(crate) struct CatchUp {
    from: Mutex<Option<PeerId>>,
}

impl CatchUp {
    /// Whether a sync of `peer` that is far behind may go on: true when `peer` holds the claim
    /// or nobody did (then `peer` now holds it).
    pub(crate) fn claim(&self, peer: PeerId) -> bool {
        let mut from = self.from.lock().unwrap_or_else(PoisonError::into_inner);
        *from.get_or_insert(peer) == peer
    }

    /// Releases the claim if `peer` holds it; true when it did.
    pub(crate) fn release(&self, peer: PeerId) -> bool {
        let mut from = self.from.lock().unwrap_or_else(PoisonError::into_inner);
        let held = *from == Some(peer);
        if held {
            *from = None;
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_peer_holds_the_claim_until_it_releases_it() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let catch_up = CatchUp::default();
        assert!(catch_up.claim(a));
        assert!(catch_up.claim(a), "the holder goes on");
        assert!(!catch_up.claim(b), "another peer waits");
        assert!(!catch_up.release(b), "only the holder releases");
        assert!(catch_up.release(a));
        assert!(catch_up.claim(b));
    }
}
