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
//! per [`SYNC_INTERVAL`]). While a node is far behind, only one peer is pulled from at a time
//! (see the `catch_up` module).
//!
//! A sync is three stages joined by bounded channels: the next page is pulled while the last
//! is verified, and that one while the one before is stored. Verifying a page leaves out the
//! records the node already holds byte for byte (their stored copy was verified when stored:
//! a peer's feed echoes every record it got from this node) and checks the others on several
//! threads; a record that does not verify refuses its page, and the sync of that peer stops. A
//! page is stored as one batch (one engine commit and one flush); the cursor is saved only
//! once its page is stored.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::FeedId;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::signing::{SignedRecord, VerifiedRecord};
use delos_registry_index::{Index, RecordChange, RecordOffer, SyncCursor};
use libp2p::PeerId;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::catch_up::{CatchUp, FAR_BEHIND_RECORDS};
use super::events::is_new;
use super::{PoolStats, RecordLimits};
use crate::p2p::{PoolHandle, SyncError, SyncedPage, UnverifiedPage};
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
/// Pages pulled ahead of the one being verified, and verified ahead of the one being stored
/// (each at most about 1.1 MiB).
const PAGES_AHEAD: usize = 2;
/// The most threads verifying one page (fewer on a machine with fewer cores).
const MAX_VERIFY_THREADS: usize = 4;
/// Queued sync requests; more are dropped (the periodic round catches up).
const REQUEST_CAPACITY: usize = 256;

/// Syncs peers' feeds into the node's store.
#[derive(Debug, Clone)]
pub struct Syncer {
    handle: PoolHandle,
    index: Arc<Index>,
    private: PrivatePatterns,
    limits: Arc<RecordLimits>,
    catch_up: Arc<CatchUp>,
}

/// A page on its way through a sync (unverified, then verified records), with the number of
/// records the peer sent and the cursor to save once it is stored (when it moved).
#[derive(Debug)]
struct Pulled<R> {
    records: R,
    received: usize,
    save: Option<SyncCursor>,
}

/// How one sync of a peer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The peer has nothing more, or the sync failed (logged); the next round tries again.
    Done,
    /// The peer has more after [`MAX_PAGES`] pages: sync it again at once.
    More,
    /// The node is far behind and catching up from another peer: wait for it to finish.
    Deferred,
}

/// Which peers are being synced, which asked again meanwhile, and which wait for the
/// catch-up from another peer.
#[derive(Debug, Default)]
struct Running {
    syncing: HashSet<PeerId>,
    again: HashSet<PeerId>,
    deferred: HashSet<PeerId>,
}

impl Syncer {
    /// A syncer pulling through `handle` into `index`.
    pub fn new(handle: PoolHandle, index: Arc<Index>, private: &PrivatePatterns) -> Syncer {
        Syncer {
            handle,
            index,
            private: private.clone(),
            limits: Arc::new(RecordLimits::unlimited()),
            catch_up: Arc::default(),
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
                    let Ok((peer, outcome)) = done else { continue };
                    self.finished(peer, outcome, &mut running, &mut tasks, &stats);
                }
                _ = tick.tick() => {
                    for peer in self.handle.connected_peers().await.unwrap_or_default() {
                        self.start(peer.peer_id, &mut running, &mut tasks, &stats);
                    }
                }
            }
        }
    }

    /// Follows up the sync of `peer` that ended with `outcome`: a peer with more after
    /// [`MAX_PAGES`] goes on now, not a round later; a peer that finished releases the
    /// catch-up, and the peers that waited for it go on.
    fn finished(
        &self,
        peer: PeerId,
        outcome: Outcome,
        running: &mut Running,
        tasks: &mut JoinSet<(PeerId, Outcome)>,
        stats: &Arc<PoolStats>,
    ) {
        running.syncing.remove(&peer);
        match outcome {
            Outcome::Deferred => {
                running.again.remove(&peer);
                running.deferred.insert(peer);
                return;
            }
            Outcome::Done if self.catch_up.release(peer) => {
                for waiting in std::mem::take(&mut running.deferred) {
                    self.start(waiting, running, tasks, stats);
                }
            }
            Outcome::Done | Outcome::More => {}
        }
        if running.again.remove(&peer) || outcome == Outcome::More {
            self.start(peer, running, tasks, stats);
        }
    }

    /// Starts syncing `peer`, or remembers to sync it again when it is being synced (or when
    /// [`MAX_CONCURRENT_SYNCS`] are running; the next round picks it up).
    fn start(
        &self,
        peer: PeerId,
        running: &mut Running,
        tasks: &mut JoinSet<(PeerId, Outcome)>,
        stats: &Arc<PoolStats>,
    ) {
        if running.syncing.contains(&peer) || running.syncing.len() >= MAX_CONCURRENT_SYNCS {
            running.again.insert(peer);
            return;
        }
        running.deferred.remove(&peer);
        running.syncing.insert(peer);
        let (this, stats) = (self.clone(), Arc::clone(stats));
        tasks.spawn(async move {
            let outcome = this.sync_peer(peer, &stats).await;
            (peer, outcome)
        });
    }

    /// Pulls `peer`'s feed after its cursor, page by page (at most [`MAX_PAGES`]), verifying
    /// each page while the next is pulled and storing it while the next is verified.
    async fn sync_peer(&self, peer: PeerId, stats: &PoolStats) -> Outcome {
        let Some(cursor) = self.cursor(peer).await else {
            return Outcome::Done;
        };
        let (pulled, to_verify) = mpsc::channel(PAGES_AHEAD);
        let (verified, to_store) = mpsc::channel(PAGES_AHEAD);
        let (outcome, (), ()) = tokio::join!(
            self.pull_pages(peer, cursor, stats, pulled),
            self.verify_pages(peer, to_verify, stats, verified),
            self.store_pages(peer, to_store, stats)
        );
        outcome
    }

    /// Pulls pages after `cursor` into `pages`, while the node is not catching up from another
    /// peer.
    async fn pull_pages(
        &self,
        peer: PeerId,
        mut cursor: SyncCursor,
        stats: &PoolStats,
        pages: mpsc::Sender<Pulled<UnverifiedPage>>,
    ) -> Outcome {
        let mut reset = false;
        for _ in 0..MAX_PAGES {
            let Some(page) = self.page(peer, cursor.seq, stats).await else {
                return Outcome::Done;
            };
            if !reset && feed_restarted(cursor, page.feed_id(), page.head_seq()) {
                (cursor, reset) = (
                    start_over(peer, cursor, page.head_seq(), page.feed_id()),
                    true,
                );
                continue;
            }
            let far_behind = page.head_seq().saturating_sub(cursor.seq) > FAR_BEHIND_RECORDS;
            if far_behind && !self.catch_up.claim(peer) {
                tracing::debug!(%peer, cursor = cursor.seq, "catching up from another peer first");
                return Outcome::Deferred;
            }
            let (received, last, next) = (page.len(), page.is_last(), page.next_cursor());
            let feed = page.feed_id().or(cursor.feed);
            let moved = next != cursor.seq || feed != cursor.feed || reset;
            let save = moved.then_some(SyncCursor { feed, seq: next });
            cursor = save.unwrap_or(cursor);
            let pulled = Pulled {
                records: page,
                received,
                save,
            };
            if pages.send(pulled).await.is_err() || last || received == 0 {
                return Outcome::Done;
            }
        }
        Outcome::More
    }

    /// Verifies the pulled pages in order (see [`check_page`](Self::check_page)) and passes
    /// them on; stops at a page that does not verify (dropping the rest).
    async fn verify_pages(
        &self,
        peer: PeerId,
        mut pages: mpsc::Receiver<Pulled<UnverifiedPage>>,
        stats: &PoolStats,
        verified: mpsc::Sender<Pulled<Vec<(u64, VerifiedRecord)>>>,
    ) {
        while let Some(pulled) = pages.recv().await {
            let Some(records) = self.check_page(peer, pulled.records, stats).await else {
                return;
            };
            let checked = Pulled {
                records,
                received: pulled.received,
                save: pulled.save,
            };
            if verified.send(checked).await.is_err() {
                return;
            }
        }
    }

    /// The records of `page` that the node does not hold byte for byte, each verified (on up
    /// to [`MAX_VERIFY_THREADS`] threads); `None` when one does not verify (logged, counted as
    /// a failed sync page).
    async fn check_page(
        &self,
        peer: PeerId,
        page: UnverifiedPage,
        stats: &PoolStats,
    ) -> Option<Vec<(u64, VerifiedRecord)>> {
        let index = Arc::clone(&self.index);
        let checked = tokio::task::spawn_blocking(move || verify_page(&index, page)).await;
        match checked {
            Ok(Ok(page)) => {
                stats.synced((page.records.len() + page.held) as u64);
                stats.synced_held(page.held as u64);
                Some(page.records)
            }
            Ok(Err(err)) => {
                stats.sync_failed();
                tracing::warn!(%peer, error = %err, "refused a synced page");
                None
            }
            Err(err) => {
                tracing::warn!(%peer, error = %err, "verifying a synced page failed");
                None
            }
        }
    }

    /// Stores the verified pages in order, saving each page's cursor once it is stored.
    async fn store_pages(
        &self,
        peer: PeerId,
        mut pages: mpsc::Receiver<Pulled<Vec<(u64, VerifiedRecord)>>>,
        stats: &PoolStats,
    ) {
        while let Some(pulled) = pages.recv().await {
            let received = pulled.received;
            let new = if pulled.records.is_empty() {
                0
            } else {
                self.store_page(pulled.records, stats).await
            };
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
    async fn page(&self, peer: PeerId, cursor: u64, stats: &PoolStats) -> Option<UnverifiedPage> {
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

/// The cursor at the start of a page's feed (`feed_id`, whose head is `head`), logged: the
/// peer's feed restarted.
fn start_over(peer: PeerId, cursor: SyncCursor, head: u64, feed_id: Option<FeedId>) -> SyncCursor {
    let at = cursor.seq;
    tracing::info!(%peer, cursor = at, head, "peer's feed restarted; syncing from its start");
    SyncCursor {
        feed: feed_id,
        seq: 0,
    }
}

/// Whether a page of feed `feed_id` with head `head_seq` comes from another feed than the one
/// `cursor` counts in: the peer names a different feed (or names one for a cursor taken before
/// feed ids, which cannot be matched), or its head is below the cursor (the only sign a peer
/// without feed ids gives).
fn feed_restarted(cursor: SyncCursor, feed_id: Option<FeedId>, head_seq: u64) -> bool {
    let other_feed = match (cursor.feed, feed_id) {
        (Some(ours), Some(theirs)) => ours != theirs,
        (None, Some(_)) => cursor.seq > 0,
        (_, None) => false,
    };
    other_feed || head_seq < cursor.seq
}

/// Verifies every record of `page` except those `index` holds byte for byte (blocking).
pub(super) fn verify_page(index: &Index, page: UnverifiedPage) -> Result<SyncedPage, SyncError> {
    // A store that cannot answer only costs a verification.
    let held = |record: &SignedRecord| index.records().holds(record).unwrap_or(false);
    page.verify_unless_held(held, verify_threads())
}

/// Threads to verify one page on: the cores there are, at most [`MAX_VERIFY_THREADS`].
fn verify_threads() -> NonZeroUsize {
    let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    cores.min(NonZeroUsize::new(MAX_VERIFY_THREADS).unwrap_or(NonZeroUsize::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page's feed id and head.
    fn page(feed: Option<u8>, head_seq: u64) -> (Option<FeedId>, u64) {
        (feed.map(|b| FeedId::from_bytes([b; 16])), head_seq)
    }

    fn restarted(cursor: SyncCursor, (feed_id, head_seq): (Option<FeedId>, u64)) -> bool {
        feed_restarted(cursor, feed_id, head_seq)
    }

    fn cursor(feed: Option<u8>, seq: u64) -> SyncCursor {
        SyncCursor {
            feed: feed.map(|b| FeedId::from_bytes([b; 16])),
            seq,
        }
    }

    #[test]
    fn a_new_feed_or_a_head_below_the_cursor_is_a_restart() {
        assert!(!restarted(cursor(Some(1), 20), page(Some(1), 30)));
        assert!(
            restarted(cursor(Some(1), 20), page(Some(2), 30)),
            "new id, higher head"
        );
        assert!(
            restarted(cursor(None, 20), page(Some(2), 30)),
            "cursor from before ids"
        );
        assert!(
            !restarted(cursor(None, 0), page(Some(2), 30)),
            "nothing synced yet"
        );
        assert!(
            !restarted(cursor(None, 20), page(None, 30)),
            "version 1 peer"
        );
        assert!(
            restarted(cursor(None, 20), page(None, 5)),
            "version 1 peer, reset"
        );
    }
}
