//! Sync cursors: per peer, the last sequence number of that peer's feed this node has stored
//! everything up to. A node that restarts (or comes back from a partition) asks each peer for
//! what follows its cursor instead of starting over.
//!
//! Peers are named by opaque bytes (a libp2p PeerId's binary form); this crate does not
//! interpret them. A cursor is 8 bytes, big-endian.

use crate::index::Index;
use crate::meta::{MetaError, Swap};
use crate::schema::SYNC_CURSORS;

/// An error from [`SyncCursors`], naming the peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncCursorError {
    /// The stored cursor is not 8 bytes (the disk was altered or damaged).
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
    /// The cursor stored for `peer`; 0 (the start of its feed) when none is.
    pub fn get(&self, peer: &[u8]) -> Result<u64, SyncCursorError> {
        let meta_err = |source| SyncCursorError::Meta {
            peer: hex(peer),
            source,
        };
        match self
            .index
            .meta()
            .get(SYNC_CURSORS, peer)
            .map_err(meta_err)?
        {
            None => Ok(0),
            Some(value) => decode(peer, &value),
        }
    }

    /// Sets the cursor of `peer` to `seq` (forward, or back to 0 when the peer's feed was
    /// reset) and flushes it to disk.
    pub fn set(&self, peer: &[u8], seq: u64) -> Result<(), SyncCursorError> {
        let meta_err = |source| SyncCursorError::Meta {
            peer: hex(peer),
            source,
        };
        let meta = self.index.meta();
        let new = seq.to_be_bytes();
        let mut current = meta.get(SYNC_CURSORS, peer).map_err(meta_err)?;
        loop {
            match meta
                .compare_and_swap(SYNC_CURSORS, peer, current.as_deref(), &new)
                .map_err(meta_err)?
            {
                Swap::Done => break,
                Swap::Current(now) => current = now,
            }
        }
        meta.flush().map_err(meta_err)
    }
}

fn decode(peer: &[u8], value: &[u8]) -> Result<u64, SyncCursorError> {
    <[u8; 8]>::try_from(value)
        .map(u64::from_be_bytes)
        .map_err(|_| SyncCursorError::Malformed { peer: hex(peer) })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
