//! The sync protocol: serve pages of this node's record feed from a [`FeedSource`], and pull a
//! page of a peer's feed after a cursor as an [`UnverifiedPage`], whose records must be verified
//! (on several threads, leaving out those the node holds byte for byte) before they are used.
//!
//! A late joiner (or a node back from a partition) asks each peer for the records after the
//! last sequence number it has from that peer, page by page, until [`SyncedPage::is_last`].
//! Persisting that cursor per peer is the caller's job, with the page's feed id: a different
//! id means the peer started a new feed and the cursor no longer applies.
//!
//! Both protocol versions are served (`SyncVersion`); version 1 answers carry no feed id.

use std::io;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{
    FeedId, MAX_SYNC_PAGE_ITEMS, SyncItem, SyncPageHeader, SyncPageHeaderV2, SyncRequest,
};
use delos_pool_protocol::signing::{SignedRecord, SigningError, VerifiedRecord};
use futures::future::BoxFuture;
use futures::{AsyncWriteExt, FutureExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use libp2p_stream::{Control, IncomingStreams, OpenStreamError};

use super::accept::accept_loop;
use super::frame::{self, FrameError};
use super::handshake::{HANDSHAKE_TIMEOUT, HandshakeGates};
use super::retry::{Retry, Retryable};
use super::{ServeLimits, SourceError};

/// One page of a node's feed, as its [`FeedSource`] gives it.
#[derive(Debug, Clone, Default)]
pub struct FeedPage {
    /// Records with their sequence numbers, in increasing order, all after the requested cursor.
    pub items: Vec<SyncItem>,
    /// The newest sequence number in the feed (0 for an empty feed).
    pub head_seq: u64,
    /// The feed's id (sent to peers that speak sync version 2).
    pub feed_id: FeedId,
}

/// Which sync protocol a stream speaks: its answer header differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncVersion {
    /// `/delos/<pool>/sync/1`: [`SyncPageHeader`], no feed id.
    V1,
    /// `/delos/<pool>/sync/2`: [`SyncPageHeaderV2`], with the feed id.
    V2,
}

/// Where the sync server finds the node's feed (the node implements it over its store).
pub trait FeedSource: Send + Sync + 'static {
    /// At most `max_items` records with sequence numbers greater than `after_seq`, oldest
    /// first. Records of private modules must not be in the feed.
    fn page(&self, after_seq: u64, max_items: u32) -> BoxFuture<'_, Result<FeedPage, SourceError>>;
}

/// A verified page of a peer's feed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncedPage {
    /// The records, each verified, with the peer's sequence numbers, in increasing order
    /// (without the records left out as [`held`](Self::held)).
    pub records: Vec<(u64, VerifiedRecord)>,
    /// How many records of the page were left out, unverified, because this node already holds
    /// their exact bytes (verified when they were stored).
    pub held: usize,
    /// The cursor to ask with next (the last sequence number received, or the one asked with).
    pub next_cursor: u64,
    /// The newest sequence number in the peer's feed when it answered.
    pub head_seq: u64,
    /// The id of the peer's feed (`None` from a peer that speaks only sync version 1).
    pub feed_id: Option<FeedId>,
}

impl SyncedPage {
    /// Whether the peer has nothing after this page.
    pub fn is_last(&self) -> bool {
        self.next_cursor >= self.head_seq
    }
}

/// A page of a peer's feed as it arrived: its shape is checked (no more items than asked for,
/// sequence numbers increasing past the cursor), its records are not. Only
/// [`verify`](Self::verify) and [`verify_unless_held`](Self::verify_unless_held) make a
/// [`SyncedPage`] of it.
#[derive(Debug, Clone)]
pub struct UnverifiedPage {
    peer: PeerId,
    items: Vec<SyncItem>,
    next_cursor: u64,
    head_seq: u64,
    feed_id: Option<FeedId>,
}

impl UnverifiedPage {
    /// How many records the page holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page holds no record.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The cursor to ask with next (the last sequence number received, or the one asked with).
    pub fn next_cursor(&self) -> u64 {
        self.next_cursor
    }

    /// The newest sequence number in the peer's feed when it answered.
    pub fn head_seq(&self) -> u64 {
        self.head_seq
    }

    /// The id of the peer's feed (`None` from a peer that speaks only sync version 1).
    pub fn feed_id(&self) -> Option<FeedId> {
        self.feed_id
    }

    /// Whether the peer has nothing after this page.
    pub fn is_last(&self) -> bool {
        self.next_cursor >= self.head_seq
    }

    /// A page of `items` from `peer` (whose last item is its feed's head), as if received.
    #[cfg(test)]
    pub(crate) fn for_tests(peer: PeerId, items: Vec<SyncItem>) -> UnverifiedPage {
        let head_seq = items.last().map_or(0, |item| item.seq);
        UnverifiedPage {
            peer,
            items,
            next_cursor: head_seq,
            head_seq,
            feed_id: None,
        }
    }

    /// Verifies every record, on this thread; the first that does not verify refuses the page.
    pub fn verify(self) -> Result<SyncedPage, SyncError> {
        self.verify_unless_held(|_| false, NonZeroUsize::MIN)
    }

    /// Verifies every record for which `held` is false, split over up to `threads` threads
    /// (blocking: call it where blocking is allowed). `held` must be true only for a record
    /// whose exact bytes the node already stores (they were verified when stored); such a
    /// record is left out of the page and counted. The first record in page order that does not
    /// verify refuses the whole page.
    pub fn verify_unless_held(
        self,
        held: impl Fn(&SignedRecord) -> bool + Sync,
        threads: NonZeroUsize,
    ) -> Result<SyncedPage, SyncError> {
        let peer = self.peer;
        let check = |items: &[SyncItem]| check_items(peer, items, &held);
        let chunk = self
            .items
            .len()
            .div_ceil(threads.get())
            .max(MIN_ITEMS_PER_THREAD);
        let parts: Vec<Checked> = if self.items.len() <= chunk {
            vec![check(&self.items)?]
        } else {
            std::thread::scope(|scope| {
                let mut parts = self.items.chunks(chunk);
                let first = parts.next().unwrap_or_default();
                let others: Vec<_> = parts.map(|part| scope.spawn(move || check(part))).collect();
                let mut checked = vec![check(first)];
                checked.extend(others.into_iter().map(|thread| {
                    thread
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                }));
                checked.into_iter().collect::<Result<Vec<_>, _>>()
            })?
        };
        let mut page = SyncedPage {
            records: Vec::with_capacity(self.items.len()),
            held: 0,
            next_cursor: self.next_cursor,
            head_seq: self.head_seq,
            feed_id: self.feed_id,
        };
        for (records, held) in parts {
            page.records.extend(records);
            page.held += held;
        }
        Ok(page)
    }
}

/// The fewest records worth a thread of their own (a check takes tens of microseconds; a
/// thread costs a few).
const MIN_ITEMS_PER_THREAD: usize = 16;

/// Records verified from part of a page, and how many were left out as held.
type Checked = (Vec<(u64, VerifiedRecord)>, usize);

/// Verifies each of `items` that `held` is false for, stopping at the first that fails.
fn check_items(
    peer: PeerId,
    items: &[SyncItem],
    held: &(impl Fn(&SignedRecord) -> bool + Sync),
) -> Result<Checked, SyncError> {
    let mut verified = Vec::with_capacity(items.len());
    let mut skipped = 0;
    for item in items {
        if held(&item.record) {
            skipped += 1;
            continue;
        }
        let record = item
            .record
            .verify()
            .map_err(|source| SyncError::BadRecord {
                peer,
                seq: item.seq,
                source: Box::new(source),
            })?;
        verified.push((item.seq, record));
    }
    Ok((verified, skipped))
}

/// Why pulling a page from a peer failed. Each variant names the peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// No stream could be opened.
    #[error("cannot open a sync stream to {peer}")]
    Open {
        /// The peer.
        peer: PeerId,
        /// libp2p's error.
        #[source]
        source: OpenStreamError,
    },
    /// The stream ended or was reset before the page header: typically the peer's libp2p
    /// dropped it before its server took it, in a burst of streams (see `p2p::handshake`), or
    /// the peer was at its serving limit. Asked again at once.
    #[error("sync stream to {peer} was lost before the answer")]
    Lost {
        /// The peer.
        peer: PeerId,
        /// What failed.
        #[source]
        source: FrameError,
    },
    /// A frame could not be moved or is malformed.
    #[error("sync with {peer} failed")]
    Frame {
        /// The peer.
        peer: PeerId,
        /// What failed.
        #[source]
        source: FrameError,
    },
    /// The page breaks the protocol: more items than asked for, or sequence numbers not
    /// increasing past the cursor.
    #[error("{peer} sent a page that breaks the sync protocol: {problem}")]
    Protocol {
        /// The peer.
        peer: PeerId,
        /// What was wrong.
        problem: &'static str,
    },
    /// A record in the page does not verify; the whole page is refused.
    #[error("{peer} sent record {seq} that does not verify")]
    BadRecord {
        /// The peer.
        peer: PeerId,
        /// The record's sequence number in the peer's feed.
        seq: u64,
        /// Why it does not verify (boxed: the error travels through every page's result).
        #[source]
        source: Box<SigningError>,
    },
    /// The page took longer than allowed.
    #[error("sync with {peer} timed out after {after:?}")]
    TimedOut {
        /// The peer.
        peer: PeerId,
        /// The time allowed.
        after: Duration,
    },
}

impl Retryable for SyncError {
    /// Only a lost stream is asked again here; the caller decides about the rest.
    fn retry(&self) -> Retry {
        match self {
            SyncError::Lost { .. } => Retry::Lost,
            _ => Retry::Never,
        }
    }
}

/// Pulls the page after `request.after_seq` from `peer` once (no retry), its shape checked and
/// its records not yet verified.
pub(crate) async fn fetch_page(
    mut control: Control,
    gates: &HandshakeGates,
    protocol: StreamProtocol,
    peer: PeerId,
    request: SyncRequest,
    timeout: Duration,
    version: SyncVersion,
) -> Result<UnverifiedPage, SyncError> {
    let work = async {
        let asked = (protocol, peer, request, version);
        let (mut stream, header) = handshake(&mut control, gates, asked).await?;
        let page = read_page(&mut stream, peer, request, version, header).await;
        let _ = stream.close().await;
        page
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(page) => page,
        Err(_) => Err(SyncError::TimedOut {
            peer,
            after: timeout,
        }),
    }
}

/// Opens the stream, sends the request and reads the page header, in this node's turn for
/// `peer` (see `p2p::handshake`).
async fn handshake(
    control: &mut Control,
    gates: &HandshakeGates,
    (protocol, peer, request, version): (StreamProtocol, PeerId, SyncRequest, SyncVersion),
) -> Result<(Stream, SyncPageHeaderV2), SyncError> {
    let lost = |source| match source {
        FrameError::Io(_) => SyncError::Lost { peer, source },
        _ => SyncError::Frame { peer, source },
    };
    let answer = async {
        let mut stream = control
            .open_stream(peer, protocol.clone())
            .await
            .map_err(|source| SyncError::Open { peer, source })?;
        frame::write(&mut stream, &request).await.map_err(lost)?;
        let header = read_header(&mut stream, version).await.map_err(lost)?;
        Ok((stream, header))
    };
    let timed_out = SyncError::TimedOut {
        peer,
        after: HANDSHAKE_TIMEOUT,
    };
    gates.run(peer, &protocol, answer).await.ok_or(timed_out)?
}

/// Reads the page `header` announced and checks its shape (its records are verified later).
async fn read_page(
    stream: &mut Stream,
    peer: PeerId,
    request: SyncRequest,
    version: SyncVersion,
    header: SyncPageHeaderV2,
) -> Result<UnverifiedPage, SyncError> {
    let frame_err = |source| SyncError::Frame { peer, source };
    if header.items > request.max_items.min(MAX_SYNC_PAGE_ITEMS) {
        return Err(SyncError::Protocol {
            peer,
            problem: "more items than asked for",
        });
    }
    let mut page = UnverifiedPage {
        peer,
        items: Vec::with_capacity(header.items as usize),
        next_cursor: request.after_seq,
        head_seq: header.head_seq,
        feed_id: Some(header.feed_id).filter(|_| version == SyncVersion::V2),
    };
    for _ in 0..header.items {
        let item: SyncItem = frame::read(stream).await.map_err(frame_err)?;
        if item.seq <= page.next_cursor {
            return Err(SyncError::Protocol {
                peer,
                problem: "sequence numbers not increasing past the cursor",
            });
        }
        page.next_cursor = item.seq;
        page.items.push(item);
    }
    Ok(page)
}

/// Reads the answer header of `version` (a version 1 header as one with a zero feed id).
async fn read_header(
    stream: &mut Stream,
    version: SyncVersion,
) -> Result<SyncPageHeaderV2, FrameError> {
    Ok(match version {
        SyncVersion::V2 => frame::read(stream).await?,
        SyncVersion::V1 => {
            let old: SyncPageHeader = frame::read(stream).await?;
            SyncPageHeaderV2 {
                items: old.items,
                head_seq: old.head_seq,
                feed_id: FeedId::default(),
            }
        }
    })
}

/// Serves every incoming sync stream of `version` until `incoming` ends, at most
/// `limits.permits` at once (shared with transfers); streams beyond that are closed unanswered
/// (their dialers retry them as lost streams).
pub(crate) async fn serve(
    incoming: IncomingStreams,
    feed: Arc<dyn FeedSource>,
    limits: ServeLimits,
    version: SyncVersion,
) {
    let serve = move |peer: PeerId, stream: Stream| {
        let feed = feed.clone();
        async move {
            match serve_one(stream, &*feed, version).await {
                Ok(items) => tracing::debug!(%peer, items, "served a sync page"),
                Err(err) => tracing::debug!(%peer, error = %err, "sync page not served"),
            }
        }
        .boxed()
    };
    let refuse = |_, mut stream: Stream| async move { drop(stream.close().await) }.boxed();
    accept_loop(incoming, limits, "sync", Box::new(serve), Box::new(refuse)).await;
}

/// Answers one page request; returns how many items were sent.
async fn serve_one(
    mut stream: Stream,
    feed: &dyn FeedSource,
    version: SyncVersion,
) -> Result<u32, ServeError> {
    let request: SyncRequest = frame::read(&mut stream).await?;
    let max_items = request.max_items.min(MAX_SYNC_PAGE_ITEMS);
    let mut page = feed.page(request.after_seq, max_items).await?;
    page.items.truncate(max_items as usize);
    let items = u32::try_from(page.items.len()).unwrap_or(max_items);
    let head_seq = page.head_seq;
    match version {
        SyncVersion::V1 => frame::write(&mut stream, &SyncPageHeader { items, head_seq }).await?,
        SyncVersion::V2 => {
            let feed_id = page.feed_id;
            let header = SyncPageHeaderV2 {
                items,
                head_seq,
                feed_id,
            };
            frame::write(&mut stream, &header).await?;
        }
    }
    for item in &page.items {
        frame::write(&mut stream, item).await?;
    }
    stream.close().await?;
    Ok(items)
}

/// Why serving one sync stream failed (logged at debug level).
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("stream failed")]
    Io(#[from] io::Error),
    #[error("frame failed")]
    Frame(#[from] FrameError),
    #[error("feed source failed")]
    Source(#[from] SourceError),
}
