//! `Syncer`: pulls the records a node missed from its peers' feeds. When a peer identifies
//! itself (and every [`SYNC_INTERVAL`] for every connected peer), the records after the cursor
//! persisted for that peer (`index.sync_cursors()`) are pulled in pages of at most
//! [`PAGE_ITEMS`], each stored like a gossiped one, and the cursor is saved after each page.
//!
//! A cursor belongs to one feed of the peer. A peer that wiped its store (keeping its key)
//! starts a new feed at 1 with a new feed id; when a page names another feed than the cursor
//! (or, from a peer without feed ids, a head below the cursor), the sync starts that peer over
//! from 0 in the new feed. Records already held are idempotent, so starting over costs pages,
//! never duplicates.
//! At most [`MAX_CONCURRENT_SYNCS`] peers are synced at once, and one sync pulls at most
//! [`MAX_PAGES`] pages; when the peer has more, its sync starts again at once from the saved
//! cursor (so other peers get their turn, and a late joiner is not held to one round's pages
//! per [`SYNC_INTERVAL`]). A page is stored as one batch (one engine commit and one flush),
//! while the next page is pulled and its signatures checked; the cursor is saved only once
//! its page is stored.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_registry_index::{Index, RecordChange, RecordOffer, SyncCursor};
use libp2p::PeerId;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::events::is_new;
use super::{PoolStats, RecordLimits};
use crate::p2p::{PoolHandle, SyncedPage};
use crate::provenance::{sharing_of, warn_conflicts};

/// How often every connected peer is synced, besides when it identifies itself.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(10);
/// How often one page is asked for before the sync of that peer waits for the next round.
const PAGE_ATTEMPTS: u32 = 3;
/// The pause after the first failed attempt (doubled after each further one).
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// The most records asked for in one page.
pub const PAGE_ITEMS: u32 = 256;
/// The most pages one sync of one peer pulls.
pub const MAX_PAGES: usize = 64;
/// The most peers synced at once.
pub const MAX_CONCURRENT_SYNCS: usize = 4;
/// How long one page may take.
const PAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// Pages pulled and verified ahead of the one being stored (each at most about 1.1 MiB).
const PAGES_AHEAD: usize = 2;
/// Queued sync requests; more are dropped (the periodic round catches up).
const REQUEST_CAPACITY: usize = 256;

/// Syncs peers' feeds into the node's store.
#[derive(Debug, Clone)]
pub struct Syncer {
    handle: PoolHandle,
    index: Arc<Index>,
    private: PrivatePatterns,
    limits: Arc<RecordLimits>,
}

/// A verified page waiting to be stored, and the cursor to save once it is (when it moved).
#[derive(Debug)]
struct Pulled {
    records: Vec<(u64, VerifiedRecord)>,
    save: Option<SyncCursor>,
}

/// Which peers are being synced, and which asked again meanwhile.
#[derive(Debug, Default)]
struct Running {
    syncing: HashSet<PeerId>,
    again: HashSet<PeerId>,
}

impl Syncer {
    /// A syncer pulling through `handle` into `index`.
    pub fn new(handle: PoolHandle, index: Arc<Index>, private: &PrivatePatterns) -> Syncer {
        Syncer {
            handle,
            index,
            private: private.clone(),
            limits: Arc::new(RecordLimits::unlimited()),
        }
    }

    /// Caps the records kept from untrusted signers (records over the cap are skipped).
    pub fn with_record_limits(mut self, limits: Arc<RecordLimits>) -> Syncer {
        self.limits = limits;
        self
    }

    /// Runs the sync task; send a PeerId to the returned sender to sync that peer soon.
    pub fn spawn(self, stats: Arc<PoolStats>) -> (mpsc::Sender<PeerId>, JoinHandle<()>) {
        let (requests, receiver) = mpsc::channel(REQUEST_CAPACITY);
        let task = tokio::spawn(self.run(receiver, stats));
        (requests, task)
    }

    async fn run(self, mut requests: mpsc::Receiver<PeerId>, stats: Arc<PoolStats>) {
        let mut running = Running::default();
        let mut tasks = JoinSet::new();
        let mut tick = tokio::time::interval(SYNC_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(peer) => self.start(peer, &mut running, &mut tasks, &stats),
                    None => break,
                },
                Some(done) = tasks.join_next() => {
                    let Ok((peer, more)) = done else { continue };
                    running.syncing.remove(&peer);
                    // A peer with more after MAX_PAGES goes on now, not a round later.
                    if running.again.remove(&peer) || more {
                        self.start(peer, &mut running, &mut tasks, &stats);
                    }
                }
                _ = tick.tick() => {
                    for peer in self.handle.connected_peers().await.unwrap_or_default() {
                        self.start(peer.peer_id, &mut running, &mut tasks, &stats);
                    }
                }
            }
        }
    }

    /// Starts syncing `peer`, or remembers to sync it again when it is being synced (or when
    /// [`MAX_CONCURRENT_SYNCS`] are running; the next round picks it up).
    fn start(
        &self,
        peer: PeerId,
        running: &mut Running,
        tasks: &mut JoinSet<(PeerId, bool)>,
        stats: &Arc<PoolStats>,
    ) {
        if running.syncing.contains(&peer) || running.syncing.len() >= MAX_CONCURRENT_SYNCS {
            running.again.insert(peer);
            return;
        }
        running.syncing.insert(peer);
        let (this, stats) = (self.clone(), Arc::clone(stats));
        tasks.spawn(async move {
            let more = this.sync_peer(peer, &stats).await;
            (peer, more)
        });
    }

    /// Pulls `peer`'s feed after its cursor, page by page (at most [`MAX_PAGES`]), storing
    /// each page while the next is pulled and verified; true when the peer has more after
    /// them (pages arrived and none was the last).
    async fn sync_peer(&self, peer: PeerId, stats: &PoolStats) -> bool {
        let Some(cursor) = self.cursor(peer).await else {
            return false;
        };
        let (pages, pulled) = mpsc::channel(PAGES_AHEAD);
        let (more, ()) = tokio::join!(
            self.pull_pages(peer, cursor, stats, pages),
            self.store_pages(peer, pulled, stats)
        );
        more
    }

    /// Pulls pages after `cursor` into `pages`; true when the peer has more after them.
    async fn pull_pages(
        &self,
        peer: PeerId,
        mut cursor: SyncCursor,
        stats: &PoolStats,
        pages: mpsc::Sender<Pulled>,
    ) -> bool {
        let mut reset = false;
        for _ in 0..MAX_PAGES {
            let Some(page) = self.page(peer, cursor.seq, stats).await else {
                return false;
            };
            if !reset && feed_restarted(cursor, &page) {
                (cursor, reset) = (start_over(peer, cursor, &page), true);
                continue;
            }
            let (received, last, next) = (page.records.len(), page.is_last(), page.next_cursor);
            let feed = page.feed_id.or(cursor.feed);
            let moved = next != cursor.seq || feed != cursor.feed || reset;
            let save = moved.then_some(SyncCursor { feed, seq: next });
            cursor = save.unwrap_or(cursor);
            let pulled = Pulled {
                records: page.records,
                save,
            };
            if pages.send(pulled).await.is_err() || last || received == 0 {
                return false;
            }
        }
        true
    }

    /// Stores the pulled pages in order, saving each page's cursor once it is stored.
    async fn store_pages(
        &self,
        peer: PeerId,
        mut pages: mpsc::Receiver<Pulled>,
        stats: &PoolStats,
    ) {
        while let Some(pulled) = pages.recv().await {
            let received = pulled.records.len();
            let new = self.store_page(pulled.records, stats).await;
            if let Some(cursor) = pulled.save {
                self.save_cursor(peer, cursor).await;
            }
            if received > 0 {
                let cursor = pulled.save.map(|c| c.seq);
                tracing::debug!(%peer, received, new, ?cursor, "synced a feed page");
            }
        }
    }

    /// The page of `peer`'s feed after `cursor`, asked up to [`PAGE_ATTEMPTS`] times (a busy
    /// peer or a connection still settling should not delay a late joiner to the next round);
    /// `None` when every attempt failed (each logged and counted).
    async fn page(&self, peer: PeerId, cursor: u64, stats: &PoolStats) -> Option<SyncedPage> {
        let mut pause = RETRY_PAUSE;
        for attempt in 1..=PAGE_ATTEMPTS {
            let page = self
                .handle
                .sync_page(peer, cursor, PAGE_ITEMS, PAGE_TIMEOUT)
                .await;
            match page {
                Ok(page) => return Some(page),
                Err(err) => {
                    stats.sync_failed();
                    tracing::debug!(%peer, attempt, error = %err, "feed sync failed");
                }
            }
            if attempt < PAGE_ATTEMPTS {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        None
    }

    /// Stores a page's records as one batch (one flush for the page, each record still its own
    /// atomic commit); returns how many were new to this node.
    async fn store_page(&self, records: Vec<(u64, VerifiedRecord)>, stats: &PoolStats) -> usize {
        stats.synced(records.len() as u64);
        let (index, private, limits) = (
            Arc::clone(&self.index),
            self.private.clone(),
            Arc::clone(&self.limits),
        );
        let stored = tokio::task::spawn_blocking(move || {
            let offers: Vec<RecordOffer<'_>> = records
                .iter()
                .map(|(_, record)| RecordOffer {
                    record,
                    sharing: sharing_of(&private, record.record().module()),
                    cap: limits.cap_for(&record.signer()),
                })
                .collect();
            index.records().insert_batch(&offers)
        })
        .await;
        let stored = match stored {
            Ok(Ok(stored)) => stored,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "could not store a synced page");
                return 0;
            }
            Err(err) => {
                tracing::warn!(error = %err, "storing a synced page failed");
                return 0;
            }
        };
        let mut new = 0;
        for stored in &stored {
            warn_conflicts(&stored.new_conflicts);
            if is_new(stored) {
                stats.new_record();
                new += 1;
            } else if stored.change == RecordChange::OverCap {
                stats.over_cap();
            }
        }
        new
    }

    /// The persisted cursor of `peer` (0 when none); `None` when the store failed (logged).
    async fn cursor(&self, peer: PeerId) -> Option<SyncCursor> {
        let index = Arc::clone(&self.index);
        let read =
            tokio::task::spawn_blocking(move || index.sync_cursors().get(&peer.to_bytes())).await;
        match read {
            Ok(Ok(cursor)) => Some(cursor),
            Ok(Err(err)) => {
                tracing::warn!(%peer, error = %err, "sync cursor unreadable; syncing from the start");
                Some(SyncCursor::default())
            }
            Err(err) => {
                tracing::warn!(%peer, error = %err, "reading the sync cursor failed");
                None
            }
        }
    }

    /// Persists `peer`'s cursor; a failure is logged (the next sync repeats some records).
    async fn save_cursor(&self, peer: PeerId, cursor: SyncCursor) {
        let index = Arc::clone(&self.index);
        let saved =
            tokio::task::spawn_blocking(move || index.sync_cursors().set(&peer.to_bytes(), cursor))
                .await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(%peer, error = %err, "sync cursor not saved"),
            Err(err) => tracing::warn!(%peer, error = %err, "saving the sync cursor failed"),
        }
    }
}

/// The cursor at the start of `page`'s feed, logged: the peer's feed restarted.
fn start_over(peer: PeerId, cursor: SyncCursor, page: &SyncedPage) -> SyncCursor {
    let (at, head) = (cursor.seq, page.head_seq);
    tracing::info!(%peer, cursor = at, head, "peer's feed restarted; syncing from its start");
    SyncCursor {
        feed: page.feed_id,
        seq: 0,
    }
}

/// Whether `page` comes from another feed than the one `cursor` counts in: the peer names a
/// different feed (or names one for a cursor taken before feed ids, which cannot be matched),
/// or its head is below the cursor (the only sign a peer without feed ids gives).
fn feed_restarted(cursor: SyncCursor, page: &SyncedPage) -> bool {
    let other_feed = match (cursor.feed, page.feed_id) {
        (Some(ours), Some(theirs)) => ours != theirs,
        (None, Some(_)) => cursor.seq > 0,
        (_, None) => false,
    };
    other_feed || page.head_seq < cursor.seq
}

#[cfg(test)]
mod tests {
    use delos_pool_protocol::messages::FeedId;

    use super::*;

    fn page(feed: Option<u8>, head_seq: u64) -> SyncedPage {
        SyncedPage {
            records: Vec::new(),
            next_cursor: 0,
            head_seq,
            feed_id: feed.map(|b| FeedId::from_bytes([b; 16])),
        }
    }

    fn cursor(feed: Option<u8>, seq: u64) -> SyncCursor {
        SyncCursor {
            feed: feed.map(|b| FeedId::from_bytes([b; 16])),
            seq,
        }
    }

    #[test]
    fn a_new_feed_or_a_head_below_the_cursor_is_a_restart() {
        assert!(!feed_restarted(cursor(Some(1), 20), &page(Some(1), 30)));
        assert!(
            feed_restarted(cursor(Some(1), 20), &page(Some(2), 30)),
            "new id, higher head"
        );
        assert!(
            feed_restarted(cursor(None, 20), &page(Some(2), 30)),
            "cursor from before ids"
        );
        assert!(
            !feed_restarted(cursor(None, 0), &page(Some(2), 30)),
            "nothing synced yet"
        );
        assert!(
            !feed_restarted(cursor(None, 20), &page(None, 30)),
            "version 1 peer"
        );
        assert!(
            feed_restarted(cursor(None, 20), &page(None, 5)),
            "version 1 peer, reset"
        );
    }
}
