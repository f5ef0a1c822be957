//! Which peers to ask for a module version, and in which order: trusted signers first, then
//! peers by their last measured round trip (connected peers without a measurement next, peers
//! not connected last).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

use delos_pool_protocol::signing::SignerId;
use delos_pool_protocol::trust::TrustPolicy;
use libp2p::PeerId;
use libp2p::multihash::Multihash;

use crate::p2p::ConnectedPeer;

/// The multihash code of an inline ("identity") digest, which ed25519 PeerIds use.
const IDENTITY_MULTIHASH: u64 = 0;

/// A peer that may hold the module version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// The peer.
    pub(crate) peer: PeerId,
    /// Whether the trust policy believes the peer's key on its own.
    pub(crate) trusted: bool,
    /// The last ping round trip, if the peer is connected and was measured.
    pub(crate) round_trip: Option<Duration>,
    /// Whether the peer is connected now.
    pub(crate) connected: bool,
}

impl Candidate {
    /// `peer` judged by `trust` and by what `connected` says about it.
    pub(crate) fn new(peer: PeerId, trust: &TrustPolicy, connected: &[ConnectedPeer]) -> Self {
        let link = connected.iter().find(|c| c.peer_id == peer);
        Candidate {
            peer,
            trusted: signer_of(&peer).is_some_and(|signer| trust.is_trusted(&signer)),
            round_trip: link.and_then(|c| c.round_trip),
            connected: link.is_some(),
        }
    }
}

/// Sorts `candidates` best first and drops repeated peers (the first one wins).
pub(crate) fn order(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut seen = HashMap::new();
    candidates.retain(|c| seen.insert(c.peer, ()).is_none());
    candidates.sort_by(compare);
    candidates
}

/// Trusted before untrusted; then measured (fastest first), connected, not connected.
fn compare(a: &Candidate, b: &Candidate) -> Ordering {
    let rank = |c: &Candidate| match (c.round_trip, c.connected) {
        (Some(_), _) => 0,
        (None, true) => 1,
        (None, false) => 2,
    };
    b.trusted
        .cmp(&a.trusted)
        .then_with(|| rank(a).cmp(&rank(b)))
        .then_with(|| a.round_trip.cmp(&b.round_trip))
}

/// The signer key of `peer` when its PeerId inlines an ed25519 public key (every Delos node's
/// does): the key its records name when it signs with its identity key.
pub(crate) fn signer_of(peer: &PeerId) -> Option<SignerId> {
    let hash: &Multihash<64> = peer.as_ref();
    if hash.code() != IDENTITY_MULTIHASH {
        return None;
    }
    let public = libp2p_identity::PublicKey::try_decode_protobuf(hash.digest()).ok()?;
    let bytes: [u8; 32] = public.try_into_ed25519().ok()?.to_bytes();
    Some(SignerId::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    use delos_pool_protocol::signing::NodeKey;
    use std::num::NonZeroU8;

    fn key(seed: u8) -> NodeKey {
        NodeKey::from_secret_bytes([seed; 32])
    }

    fn peer(seed: u8) -> PeerId {
        crate::keys::peer_id(&key(seed))
    }

    fn connected(seed: u8, millis: Option<u64>) -> ConnectedPeer {
        ConnectedPeer {
            peer_id: peer(seed),
            round_trip: millis.map(Duration::from_millis),
        }
    }

    #[test]
    fn a_peer_id_gives_back_the_signer_of_its_identity_key() {
        for seed in [1, 2, 200] {
            assert_eq!(signer_of(&peer(seed)), Some(key(seed).signer_id()));
            assert_eq!(
                crate::keys::peer_id_of(&key(seed).signer_id()),
                Some(peer(seed))
            );
        }
        assert_eq!(signer_of(&PeerId::random()), None, "not an inlined key");
    }

    #[test]
    fn trusted_peers_come_first_then_by_round_trip() {
        let trust = TrustPolicy::new(key(9).signer_id(), [key(4).signer_id()], NonZeroU8::MIN);
        let links = [
            connected(1, Some(30)),
            connected(2, Some(5)),
            connected(3, None),
            connected(4, Some(90)),
        ];
        let all = [5, 3, 1, 4, 2]
            .into_iter()
            .map(|seed| Candidate::new(peer(seed), &trust, &links))
            .collect();
        let ordered: Vec<PeerId> = order(all).into_iter().map(|c| c.peer).collect();
        let expected: Vec<PeerId> = [4, 2, 1, 3, 5].into_iter().map(peer).collect();
        assert_eq!(
            ordered, expected,
            "trusted 4; 5 ms, 30 ms; connected; unknown"
        );
    }

    #[test]
    fn repeated_peers_are_asked_once() {
        let trust = TrustPolicy::new(key(9).signer_id(), [], NonZeroU8::MIN);
        let all = [1, 2, 1, 1]
            .into_iter()
            .map(|seed| Candidate::new(peer(seed), &trust, &[]))
            .collect();
        assert_eq!(order(all).len(), 2);
    }
}
