//! The sync protocol: serve pages of this node's record feed from a [`FeedSource`], and pull a
//! page of a peer's feed after a cursor, verifying every record.
//!
//! A late joiner (or a node back from a partition) asks each peer for the records after the
//! last sequence number it has from that peer, page by page, until [`SyncedPage::is_last`].
//! Persisting that cursor per peer is the caller's job.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{MAX_SYNC_PAGE_ITEMS, SyncItem, SyncPageHeader, SyncRequest};
use delos_pool_protocol::signing::{SigningError, VerifiedRecord};
use futures::future::BoxFuture;
use futures::{AsyncWriteExt, StreamExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use libp2p_stream::{Control, IncomingStreams, OpenStreamError};

use super::frame::{self, FrameError};
use super::{ServeLimits, SourceError};

/// One page of a node's feed, as its [`FeedSource`] gives it.
#[derive(Debug, Clone, Default)]
pub struct FeedPage {
    /// Records with their sequence numbers, in increasing order, all after the requested cursor.
    pub items: Vec<SyncItem>,
    /// The newest sequence number in the feed (0 for an empty feed).
    pub head_seq: u64,
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
    /// The records, each verified, with the peer's sequence numbers, in increasing order.
    pub records: Vec<(u64, VerifiedRecord)>,
    /// The cursor to ask with next (the last sequence number received, or the one asked with).
    pub next_cursor: u64,
    /// The newest sequence number in the peer's feed when it answered.
    pub head_seq: u64,
}

impl SyncedPage {
    /// Whether the peer has nothing after this page.
    pub fn is_last(&self) -> bool {
        self.next_cursor >= self.head_seq
    }
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
        /// Why it does not verify.
        #[source]
        source: SigningError,
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

/// Pulls the page after `request.after_seq` from `peer`, verifying every record.
pub(crate) async fn fetch_page(
    mut control: Control,
    protocol: StreamProtocol,
    peer: PeerId,
    request: SyncRequest,
    timeout: Duration,
) -> Result<SyncedPage, SyncError> {
    let work = async {
        let mut stream = control
            .open_stream(peer, protocol)
            .await
            .map_err(|source| SyncError::Open { peer, source })?;
        let page = read_page(&mut stream, peer, request).await;
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

/// Sends the request and reads, checks and verifies the page.
async fn read_page(
    stream: &mut Stream,
    peer: PeerId,
    request: SyncRequest,
) -> Result<SyncedPage, SyncError> {
    let frame_err = |source| SyncError::Frame { peer, source };
    frame::write(stream, &request).await.map_err(frame_err)?;
    let header: SyncPageHeader = frame::read(stream).await.map_err(frame_err)?;
    if header.items > request.max_items.min(MAX_SYNC_PAGE_ITEMS) {
        return Err(SyncError::Protocol {
            peer,
            problem: "more items than asked for",
        });
    }
    let mut page = SyncedPage {
        records: Vec::with_capacity(header.items as usize),
        next_cursor: request.after_seq,
        head_seq: header.head_seq,
    };
    for _ in 0..header.items {
        let item: SyncItem = frame::read(stream).await.map_err(frame_err)?;
        if item.seq <= page.next_cursor {
            return Err(SyncError::Protocol {
                peer,
                problem: "sequence numbers not increasing past the cursor",
            });
        }
        let verified = item
            .record
            .verify()
            .map_err(|source| SyncError::BadRecord {
                peer,
                seq: item.seq,
                source,
            })?;
        page.next_cursor = item.seq;
        page.records.push((item.seq, verified));
    }
    Ok(page)
}

/// Serves every incoming sync stream until `incoming` ends, at most `limits.permits` at once
/// (shared with transfers); streams beyond that are closed unanswered.
pub(crate) async fn serve(
    mut incoming: IncomingStreams,
    feed: Arc<dyn FeedSource>,
    limits: ServeLimits,
) {
    while let Some((peer, mut stream)) = incoming.next().await {
        let Ok(permit) = limits.permits.clone().try_acquire_owned() else {
            let _ = stream.close().await;
            continue;
        };
        let feed = feed.clone();
        let timeout = limits.timeout;
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(timeout, serve_one(stream, &*feed)).await {
                Ok(Ok(items)) => tracing::debug!(%peer, items, "served a sync page"),
                Ok(Err(err)) => tracing::debug!(%peer, error = %err, "sync page not served"),
                Err(_) => tracing::debug!(%peer, "sync timed out while serving"),
            }
        });
    }
}

/// Answers one page request; returns how many items were sent.
async fn serve_one(mut stream: Stream, feed: &dyn FeedSource) -> Result<u32, ServeError> {
    let request: SyncRequest = frame::read(&mut stream).await?;
    let max_items = request.max_items.min(MAX_SYNC_PAGE_ITEMS);
    let mut page = feed.page(request.after_seq, max_items).await?;
    page.items.truncate(max_items as usize);
    let items = u32::try_from(page.items.len()).unwrap_or(max_items);
    let header = SyncPageHeader {
        items,
        head_seq: page.head_seq,
    };
    frame::write(&mut stream, &header).await?;
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
