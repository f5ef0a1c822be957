//! `FeedId`: the random name a node gives its feed when it creates it, so a peer can tell a
//! feed that restarted from 1 (the node wiped its store but kept its key) from the one it has
//! a cursor into.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The random 16 bytes that name one feed for as long as it exists. A node's feed gets a new
/// id whenever it starts from an empty store; the same key (PeerId) with another feed id means
/// the sequence numbers start over, and any cursor into the old feed is meaningless.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct FeedId([u8; 16]);

impl FeedId {
    /// The id made of these bytes (the caller draws them at random).
    pub const fn from_bytes(bytes: [u8; 16]) -> FeedId {
        FeedId(bytes)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for FeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for FeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FeedId({self})")
    }
}
