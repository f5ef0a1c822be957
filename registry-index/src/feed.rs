//! The local feed: every public record that took a slot, in the order this node stored it,
//! numbered 1, 2, 3, … without gaps, for peers to sync from.
//!
//! Items are appended in the same atomic commit as the record itself (see
//! [`crate::records`]), so the feed and the records tree never disagree after a crash. A record
//! that disagrees with the pinned entry is in the feed too (it took its signer's slot): peers
//! judge it by their own pins and trust policy, and the evidence travels.
//!
//! # Never showing a number that a crash could reuse
//!
//! A commit is visible before it is flushed. If a peer were shown item `n` and the node then
//! crashed before the flush, item `n` would be lost and the next record would get `n` again;
//! the peer, already past `n`, would never see it. So [`Feed::page`] and [`Feed::last_seq`]
//! show only items up to the last sequence number known to be flushed: an insert raises it
//! after its own flush (which also covers every earlier commit), and on open everything the
//! engine recovered counts as flushed.

use delos_pool_protocol::messages::FeedId;
use delos_pool_protocol::signing::{SignedRecord, SigningError};

use crate::index::Index;
use crate::records::RecordError;
use crate::schema::{FEED, feed_key, parse_feed_key};

/// One feed item: its sequence number and the signed record as stored (not verified again:
/// whoever receives it verifies it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedItem {
    /// The sequence number (from 1).
    pub seq: u64,
    /// The signed record.
    pub record: SignedRecord,
}

/// The feed of an [`Index`]: `index.feed()`.
#[derive(Debug, Clone, Copy)]
pub struct Feed<'a> {
    pub(crate) index: &'a Index,
}

impl Feed<'_> {
    /// The feed's id: drawn at random when the store was created, so the same node (same key)
    /// with a wiped store has another. Peers keep it with their cursor ([`crate::SyncCursor`])
    /// and start over when it changes.
    pub fn id(&self) -> FeedId {
        self.index.feed_id()
    }

    /// The newest durable sequence number (0 for an empty feed).
    pub fn last_seq(&self) -> u64 {
        self.index.records_state().durable_seq()
    }

    /// At most `max_items` items with sequence numbers greater than `after_seq`, oldest first.
    pub fn page(&self, after_seq: u64, max_items: usize) -> Result<Vec<FeedItem>, RecordError> {
        let last = self.last_seq();
        if after_seq >= last {
            return Ok(Vec::new());
        }
        let start = feed_key(after_seq + 1);
        let mut items = Vec::new();
        for item in self.index.meta().scan_from(FEED, &start)? {
            let (key, wire) = item?;
            let Some(seq) = parse_feed_key(&key).filter(|seq| *seq <= last) else {
                break;
            };
            if items.len() >= max_items {
                break;
            }
            let record =
                SignedRecord::from_wire(&wire).map_err(|source| RecordError::UnreadableRecord {
                    tree: FEED.as_str(),
                    key: seq.to_string(),
                    source: SigningError::from(source),
                })?;
            items.push(FeedItem { seq, record });
        }
        Ok(items)
    }
}
