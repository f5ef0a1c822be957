//! Sync cursors: per peer, the last sequence number of that peer's feed this node has stored
//! everything up to, and the id of the feed that number counts in. A node that restarts (or
//! comes back from a partition) asks each peer for what follows its cursor instead of starting
//! over; when the peer answers with another feed id (it wiped its store and started a new feed
//! at 1), the cursor no longer applies and the caller starts that peer over from 0.
//!
//! Peers are named by opaque bytes (a libp2p PeerId's binary form); this crate does not
//! interpret them. Cursors are kept in `sync-cursors-v2` (8-byte big-endian sequence number,
//! then the 16-byte feed id when known); a cursor written before feed ids existed is read from
//! `sync-cursors-v1` (8 bytes) with no feed id, and moves to v2 when next set.

use delos_pool_protocol::messages::FeedId;

use crate::index::Index;
use crate::meta::{MetaError, Swap};
use crate::schema::{SYNC_CURSORS, SYNC_CURSORS_V2};

/// Where this node stands in one peer's feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCursor {
    /// The feed the sequence number counts in (`None`: not known, a cursor from before feed
    /// ids, or a peer that does not send one).
    pub feed: Option<FeedId>,
    /// The last sequence number synced (0: none yet).
    pub seq: u64,
}

/// An error from [`SyncCursors`], naming the peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncCursorError {
    /// The stored cursor is neither 8 nor 24 bytes (the disk was altered or damaged).
    #[error("stored sync cursor of peer {peer} is malformed")]
    Malformed {
        /// The peer's bytes, as hex.
        peer: String,
    },
    /// The metadata engine failed.
    #[error("sync cursor of peer {peer}")]
    Meta {
        /// The peer's bytes, as hex.
        peer: String,
        /// The engine's error.
        #[source]
        source: MetaError,
    },
}

/// The sync cursors of an [`Index`]: `index.sync_cursors()`.
#[derive(Debug, Clone, Copy)]
pub struct SyncCursors<'a> {
    pub(crate) index: &'a Index,
}

impl SyncCursors<'_> {
    /// The cursor stored for `peer`; sequence number 0 and no feed when none is.
    pub fn get(&self, peer: &[u8]) -> Result<SyncCursor, SyncCursorError> {
        let meta = self.index.meta();
        let meta_err = |source| SyncCursorError::Meta {
            peer: hex(peer),
            source,
        };
        if let Some(value) = meta.get(SYNC_CURSORS_V2, peer).map_err(meta_err)? {
            return decode(peer, &value);
        }
        match meta.get(SYNC_CURSORS, peer).map_err(meta_err)? {
            Some(legacy) if legacy.len() == 8 => decode(peer, &legacy),
            Some(_) => Err(SyncCursorError::Malformed { peer: hex(peer) }),
            None => Ok(SyncCursor::default()),
        }
    }

    /// Sets the cursor of `peer` (forward, or back to 0 in a new feed when the peer's feed was
    /// reset) and flushes it to disk.
    pub fn set(&self, peer: &[u8], cursor: SyncCursor) -> Result<(), SyncCursorError> {
        let meta_err = |source| SyncCursorError::Meta {
            peer: hex(peer),
            source,
        };
        let meta = self.index.meta();
        let new = encode(cursor);
        let mut current = meta.get(SYNC_CURSORS_V2, peer).map_err(meta_err)?;
        loop {
            match meta
                .compare_and_swap(SYNC_CURSORS_V2, peer, current.as_deref(), &new)
                .map_err(meta_err)?
            {
                Swap::Done => break,
                Swap::Current(now) => current = now,
            }
        }
        meta.flush().map_err(meta_err)
    }
}

fn encode(cursor: SyncCursor) -> Vec<u8> {
    let mut value = cursor.seq.to_be_bytes().to_vec();
    if let Some(feed) = cursor.feed {
        value.extend_from_slice(feed.as_bytes());
    }
    value
}

fn decode(peer: &[u8], value: &[u8]) -> Result<SyncCursor, SyncCursorError> {
    let malformed = || SyncCursorError::Malformed { peer: hex(peer) };
    let (seq, feed) = value.split_at_checked(8).ok_or_else(malformed)?;
    let seq = u64::from_be_bytes(<[u8; 8]>::try_from(seq).map_err(|_| malformed())?);
    let feed = match feed.len() {
        0 => None,
        16 => <[u8; 16]>::try_from(feed).ok().map(FeedId::from_bytes),
        _ => return Err(malformed()),
    };
    Ok(SyncCursor { feed, seq })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
