//! The transfer protocol: serve a module version's `.info`, `.mod` or `.zip` to peers from a
//! [`BlobSource`], and fetch one from a peer into a file, within a byte limit and a timeout.
//!
//! Nothing here checks content: the fetching side gets bytes a peer claims are the file, and
//! the caller must verify them (recompute `h1:`, validate the zip, ask the trust policy) before
//! using them. Private modules are the [`BlobSource`]'s concern: it must answer `None` for
//! anything that may not leave the node, which peers then see as "not found".

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{TransferHeader, TransferRequest, TransferStatus};
use futures::future::BoxFuture;
use futures::{AsyncReadExt, AsyncWriteExt, FutureExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use libp2p_stream::{Control, IncomingStreams, OpenStreamError};
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::accept::accept_loop;
use super::frame::{self, FrameError};
use super::handshake::{HANDSHAKE_TIMEOUT, HandshakeGates};
use super::pieces::{PIECE_BYTES, PieceRing, PieceSink, RING_PIECES};
use super::retry::{Retry, Retryable};
use super::{ServeLimits, SourceError};

/// The copy buffer for serving transfers, in bytes: each read of a `tokio::fs::File` is a
/// trip to the blocking pool, so a 100 MiB zip is 200 trips rather than 1,600.
const CHUNK_BYTES: usize = 512 << 10;

/// A file ready to be served: its exact length and a reader positioned at its start.
pub struct Blob {
    /// The exact number of bytes `reader` yields.
    pub length: u64,
    /// The file's bytes.
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// Where the transfer server finds the files it serves (the node implements it over its store).
pub trait BlobSource: Send + Sync + 'static {
    /// Opens the file `request` names, or `None` when the node does not hold it **or must not
    /// share it** (private modules: the answer must not reveal that they exist).
    fn open<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<Option<Blob>, SourceError>>;
}

/// Why a fetch from a peer failed. Each variant names the peer asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// No stream could be opened (not reachable, or it does not speak this pool's protocol).
    #[error("cannot open a transfer stream to {peer}")]
    Open {
        /// The peer.
        peer: PeerId,
        /// libp2p's error.
        #[source]
        source: OpenStreamError,
    },
    /// The stream ended or was reset before the response header: typically the peer's
    /// libp2p dropped it before its server took it, in a burst of streams (see
    /// `p2p::handshake`). Asked again at once.
    #[error("transfer stream to {peer} was lost before the answer")]
    Lost {
        /// The peer.
        peer: PeerId,
        /// What failed.
        #[source]
        source: FrameError,
    },
    /// The request or the response header is malformed.
    #[error("transfer with {peer} failed")]
    Frame {
        /// The peer.
        peer: PeerId,
        /// What failed.
        #[source]
        source: FrameError,
    },
    /// The peer does not hold the file (or will not share it).
    #[error("{peer} does not have the file")]
    NotFound {
        /// The peer.
        peer: PeerId,
    },
    /// The peer is at its limit of concurrent transfers.
    #[error("{peer} is busy")]
    Busy {
        /// The peer.
        peer: PeerId,
    },
    /// The peer refused the request.
    #[error("{peer} refused the request")]
    Refused {
        /// The peer.
        peer: PeerId,
    },
    /// The peer announced more bytes than the caller's limit; nothing was read.
    #[error("{peer} announced {length} bytes, more than the limit of {max_bytes}")]
    TooLarge {
        /// The peer.
        peer: PeerId,
        /// The announced length.
        length: u64,
        /// The caller's limit.
        max_bytes: u64,
    },
    /// The stream failed or ended before the announced length.
    #[error("{peer} sent {received} of {length} bytes")]
    Truncated {
        /// The peer.
        peer: PeerId,
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        length: u64,
    },
    /// The whole fetch took longer than the caller allowed. The partial file is removed.
    #[error("fetch from {peer} timed out after {after:?}")]
    TimedOut {
        /// The peer.
        peer: PeerId,
        /// The time allowed.
        after: Duration,
    },
    /// The received bytes could not be written where the caller wanted them.
    #[error("cannot write the bytes received from {peer}")]
    Sink {
        /// The peer.
        peer: PeerId,
        /// The writer's error.
        #[source]
        source: io::Error,
    },
    /// The destination file could not be written.
    #[error("cannot write {path}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl TransferError {
    /// Why the request or the response header could not be moved: a lost stream when the
    /// stream failed, a frame error when the bytes are wrong.
    fn before_answer(peer: PeerId, source: FrameError) -> TransferError {
        match source {
            FrameError::Io(_) => TransferError::Lost { peer, source },
            _ => TransferError::Frame { peer, source },
        }
    }
}

impl Retryable for TransferError {
    /// A lost stream is asked again at once; a stream that could not be opened, broke
    /// mid-body, or a busy peer after a pause. A refusal, a missing file, a malformed answer
    /// or a limit breach would only repeat.
    fn retry(&self) -> Retry {
        match self {
            TransferError::Lost { .. } => Retry::Lost,
            TransferError::Open { .. }
            | TransferError::Truncated { .. }
            | TransferError::Busy { .. } => Retry::Later,
            _ => Retry::Never,
        }
    }
}

/// What one fetch asks for and within which bounds.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The file to ask for.
    pub request: TransferRequest,
    /// Where the bytes go; written as `<dest>.part` and renamed on success. Must not exist.
    pub dest: PathBuf,
    /// The most bytes accepted; a larger announced length is refused before reading.
    pub max_bytes: u64,
    /// The longest the whole fetch may take.
    pub timeout: Duration,
}

/// Fetches `fetch.request` from `peer` into `fetch.dest` once (no retry); returns the number
/// of bytes written. Cancel-safe: dropping the future leaves at most a `.part` file behind.
pub(crate) async fn fetch(
    control: Control,
    gates: &HandshakeGates,
    protocol: StreamProtocol,
    peer: PeerId,
    fetch: &FetchRequest,
) -> Result<u64, TransferError> {
    let part = part_path(&fetch.dest);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&part)
        .map_err(|source| file_error(&part, source))?;
    let bounds = (fetch.max_bytes, fetch.timeout);
    match fetch_to(control, gates, protocol, peer, &fetch.request, bounds, file).await {
        Ok((length, file)) => {
            drop(file);
            tokio::fs::rename(&part, &fetch.dest)
                .await
                .map_err(|source| file_error(&fetch.dest, source))?;
            Ok(length)
        }
        Err(err) => {
            let _ = tokio::fs::remove_file(&part).await;
            Err(err)
        }
    }
}

/// Fetches `request` from `peer` into `sink` once (no retry: the sink is consumed), at most
/// `max_bytes` within `timeout`; returns the number of bytes written and the sink. The sink
/// is written on a blocking thread, in order, while the stream is read, so a slow disk slows
/// the peer down (the fetch's ring of pieces runs dry) and a fast one never waits for the
/// network to be drained first. Cancel-safe: dropping the future drops the sink (a [`StagedBlob`](delos_registry_index::StagedBlob) then deletes
/// its bytes). The bytes are unverified.
pub(crate) async fn fetch_to<W: PieceSink>(
    mut control: Control,
    gates: &HandshakeGates,
    protocol: StreamProtocol,
    peer: PeerId,
    request: &TransferRequest,
    (max_bytes, timeout): (u64, Duration),
    sink: W,
) -> Result<(u64, W), TransferError> {
    let work = fetch_into(
        &mut control,
        gates,
        protocol,
        peer,
        request,
        max_bytes,
        sink,
    );
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(TransferError::TimedOut {
            peer,
            after: timeout,
        }),
    }
}

/// Opens the stream, sends the request, checks the header, and streams the body to `sink`.
async fn fetch_into<W: PieceSink>(
    control: &mut Control,
    gates: &HandshakeGates,
    protocol: StreamProtocol,
    peer: PeerId,
    request: &TransferRequest,
    max_bytes: u64,
    sink: W,
) -> Result<(u64, W), TransferError> {
    let (mut stream, length) =
        handshake(control, gates, protocol, peer, request, max_bytes).await?;
    let (received, sink) = copy_to_sink(&mut stream, sink, length)
        .await
        .map_err(|source| TransferError::Sink { peer, source })?;
    if received != length {
        return Err(TransferError::Truncated {
            peer,
            received,
            length,
        });
    }
    let _ = stream.close().await;
    Ok((length, sink))
}

/// Opens the stream, sends the request and reads the response header, in this node's turn for
/// `peer` (see `p2p::handshake`); returns the stream positioned at the body and its length.
pub(super) async fn handshake<R: delos_pool_protocol::codec::Canonical>(
    control: &mut Control,
    gates: &HandshakeGates,
    protocol: StreamProtocol,
    peer: PeerId,
    request: &R,
    max_bytes: u64,
) -> Result<(Stream, u64), TransferError> {
    let lost = |source| TransferError::before_answer(peer, source);
    let answer = async {
        let mut stream = control
            .open_stream(peer, protocol.clone())
            .await
            .map_err(|source| TransferError::Open { peer, source })?;
        frame::write(&mut stream, request).await.map_err(lost)?;
        let header: TransferHeader = frame::read(&mut stream).await.map_err(lost)?;
        Ok((stream, header))
    };
    let (stream, header) =
        gates
            .run(peer, &protocol, answer)
            .await
            .ok_or(TransferError::TimedOut {
                peer,
                after: HANDSHAKE_TIMEOUT,
            })??;
    Ok((stream, check_header(peer, header, max_bytes)?))
}

/// The announced length, if the header says the file follows and it fits `max_bytes`.
fn check_header(
    peer: PeerId,
    header: TransferHeader,
    max_bytes: u64,
) -> Result<u64, TransferError> {
    match header.status {
        TransferStatus::Found if header.length <= max_bytes => Ok(header.length),
        TransferStatus::Found => Err(TransferError::TooLarge {
            peer,
            length: header.length,
            max_bytes,
        }),
        TransferStatus::NotFound => Err(TransferError::NotFound { peer }),
        TransferStatus::Busy => Err(TransferError::Busy { peer }),
        _ => Err(TransferError::Refused { peer }),
    }
}

/// Copies at most `length` bytes from `stream` into `sink` (written by a blocking thread,
/// piece by piece from this fetch's ring); returns how many came, and the sink. A stream that
/// fails or ends early is not an error here: the count tells.
async fn copy_to_sink<W: PieceSink>(
    stream: &mut Stream,
    sink: W,
    length: u64,
) -> io::Result<(u64, W)> {
    // The ring bounds how many pieces exist, so this queue never holds more than that.
    let (pieces, queue) = tokio::sync::mpsc::channel(RING_PIECES);
    let writer = tokio::task::spawn_blocking(move || write_pieces(queue, sink));
    // `take` makes the announced length a hard bound, whatever the peer sends after it.
    let mut body = stream.take(length);
    let mut ring = PieceRing::new();
    let mut received = 0u64;
    loop {
        let mut buffer = ring.buffer().await;
        let filled = fill(&mut body, &mut buffer).await;
        if filled == 0 {
            break;
        }
        received += filled as u64;
        if pieces.send(ring.piece(buffer, filled)).await.is_err() {
            break; // the writer failed; its error is returned below
        }
    }
    drop(pieces);
    let sink = writer.await.map_err(io::Error::other)??;
    Ok((received, sink))
}

/// Reads into `buffer` until it is full, the body ends or the stream fails; returns how many
/// bytes it holds (fewer than [`PIECE_BYTES`] only at the end).
async fn fill(body: &mut (impl futures::AsyncRead + Unpin), buffer: &mut [u8]) -> usize {
    debug_assert_eq!(buffer.len(), PIECE_BYTES);
    let mut filled = 0;
    while let Some(free) = buffer.get_mut(filled..).filter(|free| !free.is_empty()) {
        match body.read(free).await {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    filled
}

/// Hands every piece from `queue` to `sink`, then finishes it; blocking.
fn write_pieces<W: PieceSink>(
    mut queue: tokio::sync::mpsc::Receiver<super::pieces::Piece>,
    mut sink: W,
) -> io::Result<W> {
    while let Some(piece) = queue.blocking_recv() {
        sink.write_piece(piece)?;
    }
    sink.finish_body()?;
    Ok(sink)
}

/// Serves every incoming transfer stream until `incoming` ends, at most `limits.permits` at
/// once; a stream beyond that is answered [`TransferStatus::Busy`].
pub(crate) async fn serve(
    incoming: IncomingStreams,
    blobs: Arc<dyn BlobSource>,
    limits: ServeLimits,
) {
    let serve = move |peer: PeerId, stream: Stream| {
        let blobs = blobs.clone();
        async move {
            match serve_one(stream, &*blobs).await {
                Ok(()) => tracing::debug!(%peer, "served a transfer"),
                Err(err) => tracing::debug!(%peer, error = %err, "transfer not served"),
            }
        }
        .boxed()
    };
    let busy = |_, stream| answer_busy(stream).boxed();
    accept_loop(
        incoming,
        limits,
        "transfer",
        Box::new(serve),
        Box::new(busy),
    )
    .await;
}

/// Tells a peer the node is busy (the caller bounds how long this may take).
pub(super) async fn answer_busy(mut stream: Stream) {
    let header = TransferHeader {
        status: TransferStatus::Busy,
        length: 0,
    };
    if frame::write(&mut stream, &header).await.is_ok() {
        let _ = stream.close().await;
    }
}

/// Answers one request on `stream`.
async fn serve_one(mut stream: Stream, blobs: &dyn BlobSource) -> Result<(), ServeError> {
    let request: TransferRequest = match frame::read(&mut stream).await {
        Ok(request) => request,
        Err(err) => {
            reply(&mut stream, TransferStatus::Refused, 0).await?;
            return Err(err.into());
        }
    };
    let Some(blob) = blobs.open(&request).await? else {
        return reply(&mut stream, TransferStatus::NotFound, 0).await;
    };
    if blob.length > request.kind().max_bytes() {
        return reply(&mut stream, TransferStatus::Refused, 0).await;
    }
    reply(&mut stream, TransferStatus::Found, blob.length).await?;
    copy_from_blob(blob, &mut stream).await?;
    stream.close().await?;
    Ok(())
}

/// Writes one response header.
pub(super) async fn reply(
    stream: &mut Stream,
    status: TransferStatus,
    length: u64,
) -> Result<(), ServeError> {
    frame::write(stream, &TransferHeader { status, length }).await?;
    if status != TransferStatus::Found {
        stream.close().await?;
    }
    Ok(())
}

/// Copies exactly `blob.length` bytes to the stream.
async fn copy_from_blob(blob: Blob, stream: &mut Stream) -> Result<(), ServeError> {
    let mut reader = blob.reader.take(blob.length);
    let mut buffer = vec![0u8; CHUNK_BYTES];
    let mut sent = 0u64;
    loop {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        stream.write_all(&buffer[..n]).await?;
        sent += n as u64;
    }
    if sent != blob.length {
        return Err(ServeError::ShortBlob {
            length: blob.length,
            sent,
        });
    }
    stream.flush().await?;
    Ok(())
}

/// Why serving one stream failed (logged at debug level; the peer sees a reset or a status).
#[derive(Debug, thiserror::Error)]
pub(super) enum ServeError {
    #[error("stream failed")]
    Io(#[from] io::Error),
    #[error("bad request frame")]
    Frame(#[from] FrameError),
    #[error("blob source failed")]
    Source(#[from] SourceError),
    #[error("blob ended after {sent} of {length} bytes")]
    ShortBlob { length: u64, sent: u64 },
}

/// `<dest>.part`.
fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

fn file_error(path: &Path, source: io::Error) -> TransferError {
    TransferError::File {
        path: path.to_owned(),
        source,
    }
}
