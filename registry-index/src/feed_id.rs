//! The feed's id: 16 random bytes drawn the first time a store's feed is opened and kept for
//! as long as the store (`feed-id-v1`). A node that wipes its store but keeps its key starts a
//! new feed from sequence number 1 with a new id, which tells its peers that their cursors into
//! the old feed no longer apply.

use delos_pool_protocol::messages::FeedId;

use crate::meta::{MetaError, MetaStore, Swap};
use crate::schema::{FEED_ID, FEED_ID_KEY};

/// Why the feed id could not be read or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedIdError {
    /// The operating system's random number generator failed.
    #[error("no randomness for a new feed id")]
    Randomness(#[source] getrandom::Error),
    /// The stored id is not 16 bytes (the disk was altered or damaged).
    #[error("stored feed id is {len} bytes, not 16")]
    Malformed {
        /// Its length.
        len: usize,
    },
    /// The metadata engine failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// The stored feed id, or a new random one, stored and flushed before it is returned.
pub(crate) fn load_or_create(meta: &dyn MetaStore) -> Result<FeedId, FeedIdError> {
    if let Some(stored) = meta.get(FEED_ID, FEED_ID_KEY)? {
        return decode(&stored);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(FeedIdError::Randomness)?;
    match meta.compare_and_swap(FEED_ID, FEED_ID_KEY, None, &bytes)? {
        Swap::Done => {
            meta.flush()?;
            Ok(FeedId::from_bytes(bytes))
        }
        Swap::Current(Some(stored)) => decode(&stored),
        Swap::Current(None) => Err(FeedIdError::Malformed { len: 0 }),
    }
}

fn decode(stored: &[u8]) -> Result<FeedId, FeedIdError> {
    <[u8; 16]>::try_from(stored)
        .map(FeedId::from_bytes)
        .map_err(|_| FeedIdError::Malformed { len: stored.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store::MemoryStore;

    #[test]
    fn an_id_is_made_once_and_a_new_store_gets_another() {
        let store = MemoryStore::default();
        let first = load_or_create(&store).unwrap();
        assert_eq!(load_or_create(&store).unwrap(), first);
        let wiped = MemoryStore::default();
        assert_ne!(load_or_create(&wiped).unwrap(), first);
    }
}
