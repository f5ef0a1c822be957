//! The tree-head gossip (`delos/<pool>/heads/v1`): members publish the signed heads of the
//! checksum logs they write, and the proof of any fork they find, so every member can compare
//! what each log shows to different nodes.

use serde::{Deserialize, Serialize};

use crate::codec::Canonical;
use crate::sumdb::MAX_FORK_PROOF_TILE_BYTES;

/// The largest signed note a head message carries (a head with a few cosignatures is well
/// under 1 KiB).
pub const MAX_GOSSIPED_NOTE_BYTES: usize = 4 << 10;

/// One message of the heads topic. Receivers check it themselves: nothing here is believed
/// because of who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HeadGossip {
    /// A log's signed tree head.
    Head {
        /// The log's verifier key, `name+hash+key`.
        verifier: String,
        /// The signed note of the head, as its writer signed it.
        note: Vec<u8>,
        /// The publisher's republish round (its clock's Unix time divided by its republish
        /// interval): an unchanged head published again in a new round is a new message, so
        /// it travels the pool again for members that joined since. Not trusted for anything
        /// else.
        round: u64,
    },
    /// Two heads of one size that the key signed with different hashes: a fork anyone can
    /// check with the key alone.
    Fork {
        /// The log's verifier key.
        verifier: String,
        /// One signed head.
        first: Vec<u8>,
        /// The other.
        second: Vec<u8>,
    },
    /// Two heads of different sizes that the key signed, with the tiles of the larger tree
    /// that show it does not extend the smaller
    /// ([`check_fork_with_tiles`](crate::sumdb::check_fork_with_tiles)).
    ForkAcross {
        /// The log's verifier key.
        verifier: String,
        /// One signed head.
        first: Vec<u8>,
        /// The other.
        second: Vec<u8>,
        /// The larger tree's tiles, in [`fork_proof_tiles`](crate::sumdb::fork_proof_tiles)
        /// order.
        tiles: Vec<Vec<u8>>,
    },
}

impl HeadGossip {
    /// The log's verifier key text.
    pub fn verifier(&self) -> &str {
        match self {
            HeadGossip::Head { verifier, .. }
            | HeadGossip::Fork { verifier, .. }
            | HeadGossip::ForkAcross { verifier, .. } => verifier,
        }
    }

    /// Whether every note is within [`MAX_GOSSIPED_NOTE_BYTES`] (and a fork proof's tiles
    /// within [`MAX_FORK_PROOF_TILE_BYTES`]).
    pub fn notes_fit(&self) -> bool {
        match self {
            HeadGossip::Head { note, .. } => note.len() <= MAX_GOSSIPED_NOTE_BYTES,
            HeadGossip::Fork { first, second, .. } => {
                first.len() <= MAX_GOSSIPED_NOTE_BYTES && second.len() <= MAX_GOSSIPED_NOTE_BYTES
            }
            HeadGossip::ForkAcross {
                first,
                second,
                tiles,
                ..
            } => {
                first.len() <= MAX_GOSSIPED_NOTE_BYTES
                    && second.len() <= MAX_GOSSIPED_NOTE_BYTES
                    && tiles.iter().map(Vec::len).sum::<usize>() <= MAX_FORK_PROOF_TILE_BYTES
            }
        }
    }
}

impl Canonical for HeadGossip {
    /// Two notes, a verifier key and a fork proof's tiles, with room for the encoding (within
    /// one gossip message).
    const MAX_BYTES: usize = 2 * MAX_GOSSIPED_NOTE_BYTES + MAX_FORK_PROOF_TILE_BYTES + 2048;
    const NAME: &'static str = "head gossip";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    #[test]
    fn head_gossip_round_trips_and_is_bounded() {
        let head = HeadGossip::Head {
            verifier: String::from("sum.test+01234567+AQ"),
            note: b"go.sum database tree\n3\nabc=\n\n\xe2\x80\x94 sum.test x\n".to_vec(),
            round: 5_889_000,
        };
        let wire = codec::encode(&head).unwrap();
        assert_eq!(codec::decode::<HeadGossip>(&wire).unwrap(), head);
        assert!(head.notes_fit());
        let big = HeadGossip::Fork {
            verifier: String::from("k"),
            first: vec![b'a'; MAX_GOSSIPED_NOTE_BYTES + 1],
            second: Vec::new(),
        };
        assert!(!big.notes_fit());
    }
}
